//! `enable`, `disable` and `types` on real clusters, with upstream's `enable -o yaml` output as
//! golden vectors.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use kube::discovery::ApiResource;
use kubefedctl::api::FederatedTypeConfig;
use serde_json::{Value, json};

use crate::federation::repo;
use crate::util::{DEFAULT_TYPES, client, init, kf, kubefedctl, run, unique, yaml_stream};

fn reference(file: &str) -> String {
    repo()
        .join("tests/fixtures/kubefed-v0.10.0")
        .join(file)
        .display()
        .to_string()
}

fn by_name(docs: &[Value], name: &str) -> Value {
    docs.iter()
        .find(|d| d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the golden file"))
        .clone()
}

fn enable(ns: &str, args: &[&str]) -> crate::util::Run {
    kf(ns, &[&["enable"], args].concat())
}

/// The ten upstream directives through `enable -f ... -o yaml` give exactly the FederatedTypeConfigs
/// and CRDs upstream generated with the Go tool (compared as parsed YAML).
#[test]
fn enable_output_matches_upstream_golden_vectors() {
    let golden_ftcs =
        yaml_stream(&std::fs::read_to_string(reference("federatedtypeconfigs.yaml")).unwrap());
    let golden_crds =
        yaml_stream(&std::fs::read_to_string(reference("federated-type-crds.yaml")).unwrap());
    for t in DEFAULT_TYPES {
        let directive = reference(&format!("enabletypedirectives/{t}.yaml"));
        let out = run(kubefedctl().args([
            "enable",
            "--host-cluster-context",
            "fedhost",
            "-f",
            &directive,
            "-o",
            "yaml",
        ]));
        assert_eq!(out.code, 0, "{t}: {}", out.stderr);
        let docs = yaml_stream(&out.stdout);
        assert_eq!(docs.len(), 2, "{t}");
        assert_eq!(
            docs[0],
            by_name(&golden_ftcs, t),
            "FederatedTypeConfig of {t}"
        );
        let crd_name = docs[1]["metadata"]["name"].as_str().unwrap().to_string();
        assert_eq!(docs[1], by_name(&golden_crds, &crd_name), "CRD of {t}");
        // Keys come sorted, as the Go tool printed them.
        assert!(out.stdout.starts_with(
            "---\napiVersion: core.kubefed.io/v1beta1\nkind: FederatedTypeConfig\nmetadata:\n"
        ));
    }
}

/// Enable all ten for real, then store upstream's federated fixtures through the new CRDs:
/// nothing in template, overrides or placement is pruned.
#[tokio::test]
async fn enable_ten_types_then_upstream_fixtures_are_stored_unpruned() {
    let ns = unique("kf-enable");
    init(&ns, "Cluster");
    let out = enable(&ns, &DEFAULT_TYPES);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 20, "{}", out.stdout);
    for t in DEFAULT_TYPES {
        assert!(
            out.stdout.contains(&format!(
                "federatedtypeconfig.core.kubefed.io/{t} created in namespace {ns}\n"
            )),
            "{}",
            out.stdout
        );
    }
    let host = client("fedhost").await;
    let ftcs: Api<FederatedTypeConfig> = Api::namespaced(host.clone(), &ns);
    for t in DEFAULT_TYPES {
        let ftc = ftcs.get(t).await.unwrap();
        let fed = &ftc.spec.federated_type;
        let crd = Api::<CustomResourceDefinition>::all(host.clone())
            .get(&format!("{}.{}", fed.plural_name, fed.group))
            .await
            .unwrap();
        let fixture: Value = serde_saphyr::from_str(
            &std::fs::read_to_string(reference(&format!("fixtures/{t}.yaml"))).unwrap(),
        )
        .unwrap();
        let name = unique("fixture");
        let object_ns = if t == "namespaces" {
            name.clone()
        } else {
            ns.clone()
        };
        let mut spec = json!({
            "placement": {"clusters": [{"name": "member1"}], "clusterSelector": {"matchLabels": {"region": "eu"}}},
        });
        if !fixture["template"].is_null() {
            spec["template"] = fixture["template"].clone();
        }
        if !fixture["overrides"].is_null() {
            spec["overrides"] = fixture["overrides"].clone();
        }
        let gvk = GroupVersionKind::gvk(&fed.group, &fed.version, &fed.kind);
        let ar = ApiResource::from_gvk_with_plural(&gvk, &fed.plural_name);
        let body = json!({"apiVersion": format!("{}/{}", fed.group, fed.version), "kind": fed.kind, "metadata": {"name": name}, "spec": spec});
        let obj: DynamicObject = serde_json::from_value(body).unwrap();
        let api: Api<DynamicObject> = if crd.spec.scope == "Namespaced" {
            if t == "namespaces" {
                let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(host.clone());
                nss.create(
                    &PostParams::default(),
                    &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
                )
                .await
                .unwrap();
            }
            Api::namespaced_with(host.clone(), &object_ns, &ar)
        } else {
            Api::all_with(host.clone(), &ar)
        };
        let stored = api
            .create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("{t}: fixture rejected: {e}"));
        assert_eq!(stored.data["spec"], spec, "{t}: fixture pruned or changed");
        api.delete(&name, &DeleteParams::default()).await.unwrap();
    }
}

#[tokio::test]
async fn lookup_forms_pods_ambiguity_and_custom_resources() {
    let ns = unique("kf-lookup");
    init(&ns, "Cluster");
    // The example users reach for first.
    let out = enable(&ns, &["pods"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("federatedtypeconfig.core.kubefed.io/pods created"),
        "{}",
        out.stdout
    );
    // Every form resolves to the same FederatedTypeConfig; enabling again updates.
    for name in [
        "deployments",
        "deployment",
        "Deployment",
        "deploy",
        "deployments.apps",
        "deployment.apps",
        "Deployment.apps",
    ] {
        let out = enable(&ns, &[name, "-o", "json"]);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let list: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(
            list["items"][0]["metadata"]["name"], "deployments.apps",
            "{name}"
        );
    }
    assert_eq!(enable(&ns, &["deploy"]).code, 0);
    let again = enable(&ns, &["deploy"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        again.stdout,
        format!(
            "customresourcedefinition.apiextensions.k8s.io/federateddeployments.types.kubefed.io updated\n\
             federatedtypeconfig.core.kubefed.io/deployments.apps updated in namespace {ns}\n"
        )
    );

    // Two CRDs with the same plural in two groups; one of them without `properties`.
    let host = client("fedhost").await;
    let suffix = unique("g");
    let plural = format!("widgets{}", suffix.replace('-', ""));
    // Kinds are unique per group: a kind of this run's own, as the federated CRDs share
    // types.kubefed.io with every other test (and earlier runs on the same federation).
    let kind = format!("Widget{}", suffix.replace('-', "").to_uppercase());
    let group_a = format!("a{suffix}.example.com");
    let group_b = format!("b{suffix}.example.com");
    for (group, schema) in [
        (
            &group_a,
            json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer", "format": "int32"}, "size": {"type": "string"}}}}}),
        ),
        (
            &group_b,
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        ),
    ] {
        create_crd(&host, group, &plural, &kind, schema).await;
    }
    let ambiguous = enable(&ns, &[&plural]);
    assert_eq!(ambiguous.code, 1);
    assert_eq!(
        ambiguous.stderr,
        format!(
            "error: Multiple resources are matched by \"{plural}\": {plural}.{group_a}, {plural}.{group_b}. A group-qualified \
             plural name must be provided.\n\nhint: for example `{plural}.{group_a}`\n"
        )
    );
    // The CRD with an int32 spec.replicas gets retainReplicas; the one without properties
    // still gets spec.template (upstream left it out and the server pruned every template).
    // Same kind in two groups under the default federated group: the second would reuse the
    // first's federated CRD, which upstream refuses with advice.
    let ns2 = unique("kf-lookup-ref");
    init(&ns2, "Cluster");
    let first = enable(&ns2, &[&format!("{plural}.{group_a}")]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = enable(&ns2, &[&format!("{plural}.{group_b}")]);
    assert_eq!(second.code, 1);
    assert!(
        second.stderr.starts_with(&format!(
            "error: Failed to enable federation of \"{plural}.{group_b}\" due to the FederatedTypeConfig for \"{plural}.{group_a}\" \
             already referencing a federated type CRD named \"federated{plural}.types.kubefed.io\". If these target types are \
             distinct despite sharing the same kind, specifying a non-default --federated-group should allow \"{plural}.{group_b}\" \
             to be enabled.\n"
        )),
        "{}",
        second.stderr
    );
    for (group, retain) in [(&group_a, true), (&group_b, false)] {
        let out = enable(
            &ns,
            &[
                &format!("{plural}.{group}"),
                "--federated-group",
                &format!("fed.{group}"),
            ],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let crd = Api::<CustomResourceDefinition>::all(host.clone())
            .get(&format!("federated{plural}.fed.{group}"))
            .await
            .unwrap();
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
        let spec = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"];
        assert_eq!(
            spec["template"]["x-kubernetes-preserve-unknown-fields"], true,
            "{group}"
        );
        assert_eq!(spec["retainReplicas"].is_object(), retain, "{group}");
        // An instance keeps its template.
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(
                &format!("fed.{group}"),
                "v1beta1",
                &format!("Federated{kind}"),
            ),
            &format!("federated{plural}"),
        );
        let api: Api<DynamicObject> = Api::namespaced_with(host.clone(), &ns, &ar);
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": format!("fed.{group}/v1beta1"), "kind": format!("Federated{kind}"),
            "metadata": {"name": "w1"},
            "spec": {"template": {"spec": {"size": "L"}}, "placement": {"clusters": [{"name": "member1"}]}}
        }))
        .unwrap();
        let stored = api.create(&PostParams::default(), &obj).await.unwrap();
        assert_eq!(
            stored.data["spec"]["template"],
            json!({"spec": {"size": "L"}}),
            "{group}"
        );
    }
}

async fn create_crd(host: &Client, group: &str, plural: &str, kind: &str, schema: Value) {
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural.trim_end_matches('s'), "kind": kind},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema}}]
        }
    }))
    .unwrap();
    let api: Api<CustomResourceDefinition> = Api::all(host.clone());
    api.create(&PostParams::default(), &crd).await.unwrap();
    let name = format!("{plural}.{group}");
    let established = kube::runtime::wait::conditions::is_crd_established();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        kube::runtime::wait::await_condition(api, &name, established),
    )
    .await
    .unwrap()
    .unwrap();
    // Discovery takes a moment to serve a new group.
    for _ in 0..100 {
        if host
            .list_api_group_resources(&format!("{group}/v1"))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn conflicts_dry_runs_and_output_write_nothing() {
    let ns = unique("kf-conflict");
    init(&ns, "Cluster");
    let host = client("fedhost").await;
    let ftcs: Api<FederatedTypeConfig> = Api::namespaced(host.clone(), &ns);
    for args in [
        vec!["serviceaccounts", "-o", "yaml"],
        vec!["serviceaccounts", "--dry-run"],
        vec!["serviceaccounts", "--dry-run=server"],
    ] {
        let out = enable(&ns, &args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(
            ftcs.get_opt("serviceaccounts").await.unwrap().is_none(),
            "{args:?} wrote the FederatedTypeConfig"
        );
    }
    assert_eq!(enable(&ns, &["serviceaccounts"]).code, 0);
    let other = enable(
        &ns,
        &["serviceaccounts", "--federated-group", "other.kubefed.io"],
    );
    assert_eq!(other.code, 1);
    assert_eq!(
        other.stderr,
        "error: Federation is already enabled for \"serviceaccounts\" with federated type \"federatedserviceaccounts.types.kubefed.io/v1beta1\". \
         Changing the federated type to \"federatedserviceaccounts.other.kubefed.io/v1beta1\" is not supported.\n"
    );
    let missing_ns = enable(&unique("kf-nope"), &["serviceaccounts"]);
    assert_eq!(missing_ns.code, 1);
    assert!(
        missing_ns
            .stderr
            .contains("KubeFed system namespace \"kf-nope-"),
        "{}",
        missing_ns.stderr
    );
    let unknown = enable(&ns, &["gizmos"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .starts_with("error: Unable to find api resource named \"gizmos\".\n"),
        "{}",
        unknown.stderr
    );
}

#[tokio::test]
async fn disable_with_and_without_delete_crd_and_types_listing() {
    let ns = unique("kf-disable");
    init(&ns, "Cluster");
    let host = client("fedhost").await;
    // A custom type of this test's own, so deleting its federated CRD affects no other test.
    let suffix = unique("d").replace('-', "");
    let plural = format!("gadgets{suffix}");
    let group = format!("{suffix}.example.com");
    let kind = format!("Gadget{}", suffix.to_uppercase());
    create_crd(
        &host,
        &group,
        &plural,
        &kind,
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
    )
    .await;
    let qualified = format!("{plural}.{group}");
    assert_eq!(enable(&ns, &[&qualified]).code, 0);
    let types = kf(&ns, &["types", "-o", "json"]);
    let rows: Value = serde_json::from_str(&types.stdout).unwrap();
    assert_eq!(rows[0]["name"], qualified.as_str());
    assert_eq!(
        rows[0]["federatedCrd"],
        format!("federated{plural}.types.kubefed.io")
    );
    assert_eq!(rows[0]["propagation"], "Enabled");

    let crd_name = format!("federated{plural}.types.kubefed.io");
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("types.kubefed.io", "v1beta1", &format!("Federated{kind}")),
        &format!("federated{plural}"),
    );
    let instances: Api<DynamicObject> = Api::namespaced_with(host.clone(), &ns, &ar);
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "types.kubefed.io/v1beta1", "kind": format!("Federated{kind}"),
        "metadata": {"name": "g1"}, "spec": {"template": {"x": 1}}
    }))
    .unwrap();
    instances
        .create(&PostParams::default(), &obj)
        .await
        .unwrap();
    let disable = |args: &[&str]| {
        run(kubefedctl()
            .args([
                "disable",
                "--host-cluster-context",
                "fedhost",
                "--kubefed-namespace",
                &ns,
                "--wait-timeout",
                "1s",
            ])
            .args(args))
    };
    let refused = disable(&[&qualified, "--delete-crd"]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        format!(
            "error: Cannot delete CRD \"{crd_name}\" while resource instances exist. Please try kubefedctl disable again after \
             removing the resource instances or without the '--delete-crd' option\n\nCaused by:\n    Federated{kind} `{ns}/g1` \
             still exists in cluster `fedhost`\n"
        )
    );
    assert!(
        Api::<FederatedTypeConfig>::namespaced(host.clone(), &ns)
            .get_opt(&qualified)
            .await
            .unwrap()
            .is_some()
    );

    // No controller runs here: disable says so and finishes after the bounded wait.
    let out = disable(&[&qualified]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let q = format!("{ns}/{qualified}");
    assert_eq!(
        out.stdout,
        format!(
            "Disabled propagation for FederatedTypeConfig \"{q}\"\nVerifying propagation controller is stopped for \
             FederatedTypeConfig \"{q}\"\nfederatedtypeconfig \"{q}\" deleted\n"
        )
    );
    assert!(
        out.stderr
            .contains("is the KubeFed controller-manager running? Continuing."),
        "{}",
        out.stderr
    );
    assert!(
        Api::<CustomResourceDefinition>::all(host.clone())
            .get_opt(&crd_name)
            .await
            .unwrap()
            .is_some()
    );

    // Now --delete-crd, FederatedTypeConfig already gone: refused while the instance exists,
    // then deleted.
    assert_eq!(disable(&[&qualified, "--delete-crd"]).code, 1);
    instances
        .delete("g1", &DeleteParams::default())
        .await
        .unwrap();
    let out = disable(&[&qualified, "--delete-crd"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "FederatedTypeConfig \"{q}\" does not exist\ncustomresourcedefinition \"{crd_name}\" deleted\n"
        )
    );
    // The API server finishes deleting a CRD asynchronously.
    let crds: Api<CustomResourceDefinition> = Api::all(host.clone());
    if let Some(crd) = crds.get_opt(&crd_name).await.unwrap() {
        let uid = crd.metadata.uid.unwrap();
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            kube::runtime::wait::await_condition(
                crds,
                &crd_name,
                kube::runtime::wait::conditions::is_deleted(&uid),
            ),
        )
        .await
        .unwrap()
        .unwrap();
    }
    let gone = disable(&[&qualified, "--delete-crd"]);
    assert_eq!(
        gone.stdout,
        format!(
            "FederatedTypeConfig \"{q}\" does not exist\ncustomresourcedefinition \"{crd_name}\" does not exist\n"
        )
    );
    let usage = disable(&[&qualified, "--version", "v1"]);
    assert_eq!(usage.code, 2);
    assert_eq!(
        usage.stderr,
        "error: --version flag valid only with --delete-crd\n"
    );
}

/// Two target types with one kind but different plurals: the second federated CRD would have
/// a kind the group already has. The server refuses its names; enable says so at once.
#[tokio::test]
async fn same_kind_different_plurals_is_refused_with_the_servers_reason() {
    let ns = unique("kf-samekind");
    init(&ns, "Cluster");
    let host = client("fedhost").await;
    let suffix = unique("k").replace('-', "");
    let kind = format!("Thing{}", suffix.to_uppercase());
    let schema = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    let (a, b) = (
        format!("a{suffix}.example.com"),
        format!("b{suffix}.example.com"),
    );
    create_crd(&host, &a, &format!("things{suffix}"), &kind, schema.clone()).await;
    create_crd(&host, &b, &format!("stuff{suffix}"), &kind, schema).await;
    let first = enable(&ns, &[&format!("things{suffix}.{a}")]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = enable(&ns, &[&format!("stuff{suffix}.{b}")]);
    assert_eq!(second.code, 1);
    assert!(
        second.stderr.starts_with(&format!(
            "error: the API server does not serve CustomResourceDefinition `federatedstuff{suffix}.types.kubefed.io` in cluster `fedhost`: "
        )),
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains("hint: another federated CRD in that group has the same kind"),
        "{}",
        second.stderr
    );
    // Nothing half-done: the refused CRD was deleted again, no FederatedTypeConfig written.
    let crds: Api<CustomResourceDefinition> = Api::all(host.clone());
    let refused = format!("federatedstuff{suffix}.types.kubefed.io");
    for _ in 0..100 {
        if crds.get_opt(&refused).await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(crds.get_opt(&refused).await.unwrap().is_none());
    let ftcs: Api<FederatedTypeConfig> = Api::namespaced(host.clone(), &ns);
    assert!(
        ftcs.get_opt(&format!("stuff{suffix}.{b}"))
            .await
            .unwrap()
            .is_none()
    );
    // With its own federated group it works.
    let own = enable(
        &ns,
        &[
            &format!("stuff{suffix}.{b}"),
            "--federated-group",
            &format!("fed.{b}"),
        ],
    );
    assert_eq!(own.code, 0, "{}", own.stderr);
}

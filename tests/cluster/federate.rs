//! `federate` and `orphaning-deletion` on real clusters.

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use crate::util::{client, init, kf, kubefedctl_bare, run, unique, yaml_stream};

/// Create objects on the host from JSON (core and apps types).
async fn create(host: &Client, ns: &str, objects: &[Value]) {
    for o in objects {
        let api_version = o["apiVersion"].as_str().unwrap();
        let kind = o["kind"].as_str().unwrap();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let plural = match kind {
            "ServiceAccount" => "serviceaccounts".to_string(),
            other => format!("{}s", other.to_lowercase()),
        };
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(group, version, kind),
            &plural,
        );
        let api: Api<DynamicObject> = if kind == "Namespace" {
            Api::all_with(host.clone(), &ar)
        } else {
            Api::namespaced_with(host.clone(), ns, &ar)
        };
        let obj: DynamicObject = serde_json::from_value(o.clone()).unwrap();
        api.create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
}

/// The conversion rules of kubefedctl-behaviour.md 5.2, checked on real objects.
#[tokio::test]
async fn conversion_rules_for_builtin_types() {
    let cp = unique("kf-fed");
    init(&cp, "Cluster");
    let host = client("fedhost").await;
    let ns = unique("kf-conv");
    create(&host, "", &[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"team": "a"}}})]).await;
    create(
        &host,
        &ns,
        &[
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {"note": "x"}},
                   "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}, "secrets": [{"name": "robot-token"}]}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}}),
        ],
    )
    .await;
    let out = kf(
        &cp,
        &["federate", "services", "web", "-n", &ns, "-o", "yaml"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let svc = &yaml_stream(&out.stdout)[0];
    assert_eq!(svc["apiVersion"], "types.kubefed.io/v1beta1");
    assert_eq!(svc["kind"], "FederatedService");
    assert_eq!(svc["metadata"], json!({"name": "web", "namespace": ns}));
    assert_eq!(
        svc["spec"]["placement"],
        json!({"clusterSelector": {"matchLabels": {}}})
    );
    let template = &svc["spec"]["template"];
    assert_eq!(
        template["metadata"],
        json!({"labels": {"app": "web"}}),
        "only labels survive"
    );
    assert!(
        template["spec"].get("clusterIP").is_none() && template["spec"].get("clusterIPs").is_none()
    );
    assert!(template["spec"]["ports"][0].get("nodePort").is_none());
    assert_eq!(template["spec"]["ports"][0]["port"], 80);
    assert!(template.get("status").is_none() && template.get("kind").is_none());
    assert!(
        out.stderr.contains(&format!(
            "Annotations defined for Service \"{ns}/web\" will not appear"
        )),
        "{}",
        out.stderr
    );

    let out = kf(
        &cp,
        &[
            "federate",
            "serviceaccounts",
            "robot",
            "-n",
            &ns,
            "-o",
            "json",
        ],
    );
    let sa: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(sa["spec"]["template"].get("secrets").is_none(), "{sa}");

    let out = kf(&cp, &["federate", "namespace", &ns, "-o", "json"]);
    let fns: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(fns["kind"], "FederatedNamespace");
    assert_eq!(
        fns["metadata"],
        json!({"name": ns, "namespace": ns}),
        "a FederatedNamespace lives in its namespace"
    );
    assert_eq!(
        fns["spec"]["template"]["spec"],
        json!({}),
        "finalizers removed"
    );
    assert_eq!(fns["spec"]["template"]["metadata"]["labels"]["team"], "a");

    // Not enabled and no --enable-type: upstream's error.
    let out = kf(&cp, &["federate", "configmaps", "cfg", "-n", &ns]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "error: federatedtypeconfigs.core.kubefed.io \"configmaps\" not found. Consider using '--enable-type' to optionally enable type while federating the resource\n"
        ),
        "{}",
        out.stderr
    );
    // Placement and overrides at federate time, written for real with --enable-type.
    let out = kf(
        &cp,
        &[
            "federate",
            "configmaps",
            "cfg",
            "-n",
            &ns,
            "--enable-type",
            "--clusters",
            "member1,member2",
            "--override",
            "member2:/data/k=\"w\"",
            "--override",
            "member2:/data/n=3",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .ends_with("federatedconfigmap.types.kubefed.io/cfg created\n"),
        "{}",
        out.stdout
    );
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("types.kubefed.io", "v1beta1", "FederatedConfigMap"),
        "federatedconfigmaps",
    );
    let stored = Api::<DynamicObject>::namespaced_with(host.clone(), &ns, &ar)
        .get("cfg")
        .await
        .unwrap();
    assert_eq!(
        stored.data["spec"]["placement"],
        json!({"clusters": [{"name": "member1"}, {"name": "member2"}]})
    );
    assert_eq!(
        stored.data["spec"]["overrides"],
        json!([{"clusterName": "member2", "clusterOverrides": [{"path": "/data/k", "value": "w"}, {"path": "/data/n", "value": 3}]}])
    );
    assert_eq!(stored.data["spec"]["template"], json!({"data": {"k": "v"}}));
    let _ = Api::<Namespace>::all(host)
        .delete(&ns, &DeleteParams::default())
        .await;
}

/// `--contents`: fixed order, default skips with reasons, one failing object does not stop the
/// rest, a rerun is idempotent, `--error-on-existing` restores upstream's failure.
#[tokio::test]
async fn federate_namespace_contents_reports_every_object() {
    let cp = unique("kf-fed");
    init(&cp, "Cluster");
    assert_eq!(
        kf(
            &cp,
            &[
                "enable",
                "namespaces",
                "configmaps",
                "secrets",
                "deployments.apps"
            ]
        )
        .code,
        0
    );
    let host = client("fedhost").await;
    let ns = unique("kf-contents");
    create(
        &host,
        "",
        &[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})],
    )
    .await;
    create(
        &host,
        &ns,
        &[
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b-config"}, "data": {"k": "v"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a-config"}, "data": {"k": "v"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rejected"}, "data": {"k": "v"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"p": "w"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}),
        ],
    )
    .await;
    // A controller-owned object (what a ReplicaSet's Pods are to it).
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(host.clone(), &ns);
    let owner = cms.get("a-config").await.unwrap();
    let owned: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "owned", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "a-config",
            "uid": owner.metadata.uid, "controller": true}]},
        "data": {"k": "v"}
    }))
    .unwrap();
    cms.create(&PostParams::default(), &owned).await.unwrap();
    // The host refuses one federated object: it fails, the rest go through.
    let policy = unique("deny-fcm");
    let (policies, bindings) = deny_federated_configmap(&host, &policy, "rejected").await;

    let out = kf(
        &cp,
        &[
            "federate",
            "namespace",
            &ns,
            "--contents",
            "--skip-api-resources",
            "secrets",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "federatednamespace.types.kubefed.io/{ns} created\nfederatedconfigmap.types.kubefed.io/a-config created\n\
             federatedconfigmap.types.kubefed.io/b-config created\nfederateddeployment.types.kubefed.io/web created\n"
        )
    );
    assert!(out.stderr.contains(&format!(
        "skipped configmaps/{ns}/kube-root-ca.crt: made by each cluster's root CA publisher"
    )));
    assert!(
        out.stderr.contains(&format!(
            "skipped configmaps/{ns}/owned: owned by a controller"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&format!(
        "skipped serviceaccounts/{ns}/default: made by each cluster"
    )));
    assert!(
        out.stderr.contains(&format!(
            "error: configmaps/{ns}/rejected: failed to write FederatedConfigMap `{ns}/rejected`"
        )),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("creds"),
        "--skip-api-resources secrets: {}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("4 created, 0 configured, 0 unchanged, 3 skipped, 1 failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with("error: 1 of 8 objects failed to federate\n"),
        "{}",
        out.stderr
    );

    bindings
        .delete(&policy, &DeleteParams::default())
        .await
        .unwrap();
    policies
        .delete(&policy, &DeleteParams::default())
        .await
        .unwrap();
    // Rerun: the others are unchanged, the rejected one is created once the policy is gone.
    let mut again = kf(
        &cp,
        &["federate", "namespace", &ns, "--contents", "-s", "secrets"],
    );
    for _ in 0..50 {
        if again.code == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        again = kf(
            &cp,
            &["federate", "namespace", &ns, "--contents", "-s", "secrets"],
        );
    }
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("1 created, 0 configured, 4 unchanged, 3 skipped, 0 failed"),
        "{}",
        again.stderr
    );
    assert!(
        again
            .stdout
            .contains("federatedconfigmap.types.kubefed.io/rejected created")
    );
    // Upstream's behaviour on request.
    let strict = kf(
        &cp,
        &[
            "federate",
            "configmaps",
            "a-config",
            "-n",
            &ns,
            "--error-on-existing",
        ],
    );
    assert_eq!(strict.code, 1);
    assert!(
        strict.stderr.contains(&format!(
            "Error creating federated resource \"{ns}/a-config\""
        )),
        "{}",
        strict.stderr
    );
    // --include-owned federates the owned one too; --no-default-skips everything.
    let all = kf(
        &cp,
        &[
            "federate",
            "namespace",
            &ns,
            "--contents",
            "-s",
            "secrets",
            "--no-default-skips",
            "--dry-run",
        ],
    );
    assert!(all.stderr.contains("0 skipped"), "{}", all.stderr);
    assert!(
        all.stderr.contains("serviceaccounts") || all.stderr.contains("not enabled"),
        "{}",
        all.stderr
    );
    let _ = Api::<Namespace>::all(host)
        .delete(&ns, &DeleteParams::default())
        .await;
}

async fn deny_federated_configmap(
    host: &Client,
    policy_name: &str,
    object: &str,
) -> (
    Api<ValidatingAdmissionPolicy>,
    Api<ValidatingAdmissionPolicyBinding>,
) {
    let policy: ValidatingAdmissionPolicy = serde_json::from_value(json!({
        "metadata": {"name": policy_name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{"apiGroups": ["types.kubefed.io"], "apiVersions": ["*"],
                "operations": ["CREATE", "UPDATE"], "resources": ["federatedconfigmaps"]}]},
            "validations": [{"expression": format!("object.metadata.name != '{object}'"), "message": "refused by test policy"}]
        }
    }))
    .unwrap();
    let binding: ValidatingAdmissionPolicyBinding = serde_json::from_value(json!({
        "metadata": {"name": policy_name},
        "spec": {"policyName": policy_name, "validationActions": ["Deny"]}
    }))
    .unwrap();
    let policies: Api<ValidatingAdmissionPolicy> = Api::all(host.clone());
    let bindings: Api<ValidatingAdmissionPolicyBinding> = Api::all(host.clone());
    policies
        .create(&PostParams::default(), &policy)
        .await
        .unwrap();
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    // Wait until the policy is in force (checked with a server dry run in a scratch namespace).
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("types.kubefed.io", "v1beta1", "FederatedConfigMap"),
        "federatedconfigmaps",
    );
    let probe: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap",
        "metadata": {"name": object}, "spec": {"template": {}}
    }))
    .unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(host.clone(), "default", &ar);
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    for _ in 0..100 {
        if api.create(&dry, &probe).await.is_err() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (policies, bindings)
}

/// `-f FILE` and `-f -` convert offline: no kubeconfig at all.
#[test]
fn federate_from_file_and_stdin_needs_no_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("objects.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: x\n  labels: {a: b}\nspec:\n  clusterIP: 10.0.0.5\n  ports:\n  - port: 80\n    nodePort: 30001\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules: []\n",
    )
    .unwrap();
    let from_file = run(kubefedctl_bare()
        .env("HOME", dir.path())
        .args(["federate", "-f"])
        .arg(&file));
    assert_eq!(from_file.code, 0, "{}", from_file.stderr);
    let docs = yaml_stream(&from_file.stdout);
    assert_eq!(docs.len(), 2);
    assert_eq!(
        docs[0],
        json!({"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedService",
               "metadata": {"name": "s", "namespace": "x"},
               "spec": {"placement": {"clusterSelector": {"matchLabels": {}}},
                        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"ports": [{"port": 80}]}}}})
    );
    assert_eq!(docs[1]["kind"], "FederatedClusterRole");
    assert_eq!(
        docs[1]["metadata"],
        json!({"name": "reader"}),
        "cluster-scoped: no namespace"
    );
    let stdin = run(kubefedctl_bare()
        .env("HOME", dir.path())
        .args(["federate", "-f", "-", "-o", "json"])
        .write_stdin(std::fs::read_to_string(&file).unwrap()));
    assert_eq!(stdin.code, 0, "{}", stdin.stderr);
    let list: Value = serde_json::from_str(&stdin.stdout).unwrap();
    assert_eq!(list["items"][0], docs[0]);
}

#[tokio::test]
async fn orphaning_deletion_enable_disable_status() {
    let cp = unique("kf-fed");
    init(&cp, "Cluster");
    let host = client("fedhost").await;
    let ns = unique("kf-orphan");
    create(
        &host,
        "",
        &[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})],
    )
    .await;
    create(&host, &ns, &[json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {}})]).await;
    assert_eq!(
        kf(
            &cp,
            &["federate", "configmaps", "cfg", "-n", &ns, "--enable-type"]
        )
        .code,
        0
    );
    let status = |t: &str| kf(&cp, &["orphaning-deletion", "status", t, "cfg", "-n", &ns]);
    assert_eq!(status("FederatedConfigMap").stdout, "Disabled\n");
    let out = kf(
        &cp,
        &["orphaning-deletion", "enable", "fcm", "cfg", "-n", &ns],
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    assert_eq!(
        status("federatedconfigmaps.types.kubefed.io").stdout,
        "Enabled\n"
    );
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("types.kubefed.io", "v1beta1", "FederatedConfigMap"),
        "federatedconfigmaps",
    );
    let stored = Api::<DynamicObject>::namespaced_with(host.clone(), &ns, &ar)
        .get("cfg")
        .await
        .unwrap();
    assert_eq!(
        stored.metadata.annotations.unwrap()["kubefed.io/orphan"],
        "true"
    );
    assert_eq!(
        kf(
            &cp,
            &[
                "orphaning-deletion",
                "disable",
                "FederatedConfigMap",
                "cfg",
                "-n",
                &ns
            ]
        )
        .code,
        0
    );
    assert_eq!(status("federatedconfigmaps").stdout, "Disabled\n");
    // Not a federated type: upstream's warning, on stdout.
    let plain = kf(
        &cp,
        &[
            "orphaning-deletion",
            "status",
            "configmaps",
            "cfg",
            "-n",
            &ns,
        ],
    );
    assert_eq!(
        plain.stdout,
        "Warning: configmaps/v1 might not be a federated resource\nDisabled\n"
    );
    let _ = Api::<Namespace>::all(host)
        .delete(&ns, &DeleteParams::default())
        .await;
}

/// A custom resource: create its CRD, enable it, federate an instance.
#[tokio::test]
async fn federate_an_instance_of_a_custom_resource() {
    let cp = unique("kf-fed");
    init(&cp, "Cluster");
    let host = client("fedhost").await;
    let suffix = unique("cr").replace('-', "");
    let group = format!("{suffix}.example.com");
    // Plural and kind unique too: the federated CRD lives in the shared types.kubefed.io group.
    let plural = format!("gizmos{suffix}");
    let kind = format!("Gizmo{}", suffix.to_uppercase());
    let crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
        serde_json::from_value(json!({
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {"group": group, "scope": "Namespaced",
                "names": {"plural": plural, "singular": format!("gizmo{suffix}"), "kind": kind},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
        }))
        .unwrap();
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(host.clone());
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let name = format!("{plural}.{group}");
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        kube::runtime::wait::await_condition(
            crds,
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let ns = unique("kf-cr");
    create(
        &host,
        "",
        &[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})],
    )
    .await;
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(&group, "v1", &kind), &plural);
    let gizmo: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1"), "kind": kind, "metadata": {"name": "g1", "labels": {"x": "y"}},
        "spec": {"size": 3}
    }))
    .unwrap();
    Api::<DynamicObject>::namespaced_with(host.clone(), &ns, &ar)
        .create(&PostParams::default(), &gizmo)
        .await
        .unwrap();
    // Discovery serves the new group after a moment.
    let mut out = kf(&cp, &["federate", &name, "g1", "-n", &ns, "--enable-type"]);
    for _ in 0..50 {
        if out.code == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        out = kf(&cp, &["federate", &name, "g1", "-n", &ns, "--enable-type"]);
    }
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "customresourcedefinition.apiextensions.k8s.io/federated{plural}.types.kubefed.io created\n\
             federatedtypeconfig.core.kubefed.io/{name} created in namespace {cp}\n\
             federated{}.types.kubefed.io/g1 created\n",
            kind.to_lowercase()
        )
    );
    let fed = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("types.kubefed.io", "v1beta1", &format!("Federated{kind}")),
        &format!("federated{plural}"),
    );
    let stored = Api::<DynamicObject>::namespaced_with(host.clone(), &ns, &fed)
        .get("g1")
        .await
        .unwrap();
    assert_eq!(
        stored.data["spec"]["template"],
        json!({"metadata": {"labels": {"x": "y"}}, "spec": {"size": 3}})
    );
    let _ = Api::<Namespace>::all(host)
        .delete(&ns, &DeleteParams::default())
        .await;
}

/// The rest of the default set: a cluster-scoped type, and the apps/batch/networking ones.
#[tokio::test]
async fn conversion_of_cluster_roles_ingresses_jobs_and_replicasets() {
    let cp = unique("kf-fed");
    init(&cp, "Cluster");
    let host = client("fedhost").await;
    let ns = unique("kf-conv2");
    create(
        &host,
        "",
        &[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})],
    )
    .await;
    let pod = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}});
    let objects = [
        (
            "ingresses.networking.k8s.io",
            "networking.k8s.io/v1",
            "Ingress",
            "ingresses",
            json!({"spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}),
        ),
        (
            "jobs.batch",
            "batch/v1",
            "Job",
            "jobs",
            json!({"spec": {"template": pod}}),
        ),
        (
            "replicasets.apps",
            "apps/v1",
            "ReplicaSet",
            "replicasets",
            json!({"spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
                "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}),
        ),
    ];
    for (resource, api_version, kind, plural, body) in &objects {
        let (group, version) = api_version.split_once('/').unwrap();
        let ar =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
        let mut o = body.clone();
        o["apiVersion"] = json!(api_version);
        o["kind"] = json!(kind);
        o["metadata"] = json!({"name": "x", "labels": {"tier": "t"}});
        let obj: DynamicObject = serde_json::from_value(o).unwrap();
        Api::<DynamicObject>::namespaced_with(host.clone(), &ns, &ar)
            .create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let out = kf(&cp, &["federate", resource, "x", "-n", &ns, "-o", "json"]);
        assert_eq!(out.code, 0, "{resource}: {}", out.stderr);
        let fed: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(fed["kind"], format!("Federated{kind}"));
        assert_eq!(fed["metadata"], json!({"name": "x", "namespace": ns}));
        assert_eq!(
            fed["spec"]["template"]["metadata"],
            json!({"labels": {"tier": "t"}})
        );
        assert!(fed["spec"]["template"].get("status").is_none());
    }
    let role = unique("kf-reader");
    let roles: Api<k8s_openapi::api::rbac::v1::ClusterRole> = Api::all(host.clone());
    let cr: k8s_openapi::api::rbac::v1::ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": role, "labels": {"l": "v"}},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    }))
    .unwrap();
    roles.create(&PostParams::default(), &cr).await.unwrap();
    let out = kf(
        &cp,
        &[
            "federate",
            "clusterroles.rbac.authorization.k8s.io",
            &role,
            "-o",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let fed: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(fed["kind"], "FederatedClusterRole");
    assert_eq!(
        fed["metadata"],
        json!({"name": role}),
        "cluster-scoped: no namespace"
    );
    assert_eq!(fed["spec"]["template"]["rules"][0]["verbs"], json!(["get"]));
    roles.delete(&role, &DeleteParams::default()).await.unwrap();
    let _ = Api::<Namespace>::all(host)
        .delete(&ns, &DeleteParams::default())
        .await;
}

// Pins issue 12.7: `federate -f` of a `kind: List` emitted a `FederatedList` with an empty name.
#[test]
fn federate_file_with_a_list_federates_each_item() {
    let dir = tempfile::tempdir().unwrap();
    // What `kubectl get configmap a b -o yaml` prints.
    let list = "apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n\
                - apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n    namespace: x\n  data: {k: v}\n\
                - apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: b\n    namespace: x\n  data: {k: w}\n";
    let out = run(kubefedctl_bare()
        .env("HOME", dir.path())
        .args(["federate", "-f", "-"])
        .write_stdin(list));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let docs = yaml_stream(&out.stdout);
    let names: Vec<(&str, &str, &str)> = docs
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap(),
                d["metadata"]["namespace"].as_str().unwrap(),
                d["metadata"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("FederatedConfigMap", "x", "a"),
            ("FederatedConfigMap", "x", "b")
        ],
        "{}",
        out.stdout
    );
    assert_eq!(docs[1]["spec"]["template"]["data"], json!({"k": "w"}));
}

// Pins issue 12.7: an object without a name was federated under the name "".
#[test]
fn federate_file_with_an_object_without_a_name_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("objects.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: x\ndata: {k: v}\n",
    )
    .unwrap();
    let out = run(kubefedctl_bare()
        .env("HOME", dir.path())
        .args(["federate", "-f"])
        .arg(&file));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "", "nothing is printed for a bad file");
    assert!(
        out.stderr.contains(&format!(
            "document 2 of `{}` (ConfigMap) has no metadata.name",
            file.display()
        )),
        "{}",
        out.stderr
    );
}

// Pins issue 12.6: `orphaning-deletion enable --dry-run` wrote the annotation for real.
#[tokio::test]
async fn orphaning_deletion_dry_run_writes_nothing() {
    let cp = unique("kf-fed");
    init(&cp, "Cluster");
    let host = client("fedhost").await;
    let ns = unique("kf-orphan-dry");
    create(
        &host,
        "",
        &[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})],
    )
    .await;
    create(&host, &ns, &[json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {}})]).await;
    let out = kf(
        &cp,
        &["federate", "configmaps", "cfg", "-n", &ns, "--enable-type"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("types.kubefed.io", "v1beta1", "FederatedConfigMap"),
        "federatedconfigmaps",
    );
    let api = Api::<DynamicObject>::namespaced_with(host.clone(), &ns, &ar);
    let before = api.get("cfg").await.unwrap();
    for mode in ["--dry-run", "--dry-run=server"] {
        let out = kf(
            &cp,
            &[
                "orphaning-deletion",
                "enable",
                "fcm",
                "cfg",
                "-n",
                &ns,
                mode,
            ],
        );
        assert_eq!(out.code, 0, "{mode}: {}", out.stderr);
        let after = api.get("cfg").await.unwrap();
        assert_eq!(
            after.metadata.annotations, before.metadata.annotations,
            "{mode}: the annotation was written"
        );
        assert_eq!(
            after.metadata.resource_version, before.metadata.resource_version,
            "{mode}"
        );
    }
    // The same for disable: the annotation set for real stays under a dry run.
    let out = kf(
        &cp,
        &["orphaning-deletion", "enable", "fcm", "cfg", "-n", &ns],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    for mode in ["--dry-run", "--dry-run=server"] {
        let out = kf(
            &cp,
            &[
                "orphaning-deletion",
                "disable",
                "fcm",
                "cfg",
                "-n",
                &ns,
                mode,
            ],
        );
        assert_eq!(out.code, 0, "{mode}: {}", out.stderr);
        assert_eq!(
            kf(
                &cp,
                &["orphaning-deletion", "status", "fcm", "cfg", "-n", &ns]
            )
            .stdout,
            "Enabled\n",
            "{mode}"
        );
    }
    let _ = Api::<Namespace>::all(host)
        .delete(&ns, &DeleteParams::default())
        .await;
}

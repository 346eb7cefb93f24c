//! `kubefedctl init` on real clusters.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use kubefedctl::api::{KubeFedConfig, control_plane_crds};

use crate::util::{client, kf, kubefedctl, run, unique};

const CRD_RESOURCE: &str = "customresourcedefinition.apiextensions.k8s.io";

fn expected_lines(ns: &str, crds: &str, rest: &str) -> String {
    let mut out = String::new();
    for crd in control_plane_crds() {
        out.push_str(&format!(
            "{CRD_RESOURCE}/{} {crds}\n",
            crd.metadata.name.unwrap()
        ));
    }
    out.push_str(&format!("namespace/{ns} {rest}\n"));
    out.push_str(&format!("kubefedconfig.core.kubefed.io/kubefed {rest}\n"));
    out
}

async fn assert_installed(client: &Client, ns: &str, scope: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in control_plane_crds() {
        let name = crd.metadata.name.unwrap();
        let live = crds
            .get(&name)
            .await
            .unwrap_or_else(|e| panic!("CRD {name}: {e}"));
        let established = live
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established, "CRD {name} is not Established");
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    assert!(
        namespaces.get_opt(ns).await.unwrap().is_some(),
        "namespace {ns} missing"
    );
    let configs: Api<KubeFedConfig> = Api::namespaced(client.clone(), ns);
    let config = configs.get("kubefed").await.expect("KubeFedConfig kubefed");
    let json = serde_json::to_value(&config.spec).unwrap();
    assert_eq!(json["scope"], scope);
    assert_eq!(json["controllerDuration"]["availableDelay"], "20s");
    assert_eq!(json["leaderElect"]["leaseDuration"], "15s");
    assert_eq!(json["leaderElect"]["resourceLock"], "configmaps");
    assert_eq!(json["clusterHealthCheck"]["failureThreshold"], 3);
    assert_eq!(json["syncController"]["adoptResources"], "Enabled");
}

#[tokio::test]
async fn init_installs_control_plane_and_second_run_is_a_no_op() {
    let ns = unique("kf-init");
    let first = kf(&ns, &["init"]);
    assert_eq!(first.code, 0, "stderr: {}", first.stderr);
    // CRDs may already exist from a concurrent test; the namespace and config are new.
    for line in first
        .stdout
        .lines()
        .filter(|l| !l.starts_with(CRD_RESOURCE))
    {
        assert!(line.ends_with(" created"), "unexpected line {line:?}");
    }
    assert_eq!(first.stdout.lines().count(), 9);
    assert_installed(&client("fedhost").await, &ns, "Cluster").await;

    let second = kf(&ns, &["init"]);
    assert_eq!(second.code, 0, "stderr: {}", second.stderr);
    assert_eq!(second.stdout, expected_lines(&ns, "unchanged", "unchanged"));
}

#[tokio::test]
async fn init_works_through_an_exec_credential_plugin() {
    let ns = unique("kf-init-exec");
    let out = run(kubefedctl().args([
        "init",
        "--host-cluster-context",
        "exec-member1",
        "--kubefed-namespace",
        &ns,
    ]));
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_installed(&client("member1").await, &ns, "Cluster").await;
}

#[tokio::test]
async fn init_works_with_insecure_skip_tls_verify() {
    let ns = unique("kf-init-insecure");
    let out = run(kubefedctl().args([
        "init",
        "--host-cluster-context",
        "insecure-member2",
        "--kubefed-namespace",
        &ns,
    ]));
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_installed(&client("member2").await, &ns, "Cluster").await;
}

/// `tls-server-name` is the name the serving certificate is checked against (the server's
/// certificate has `kubernetes.default.svc`, not the kubeconfig's 127.0.0.1 host name).
#[test]
fn tls_server_name_is_the_name_checked() {
    let dir = tempfile::tempdir().unwrap();
    let init_with = |name: &str| {
        let kubeconfig =
            crate::util::kubeconfig_with(dir.path(), name, "member2", "tls-server-name", name);
        run(crate::util::kubefedctl_bare()
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args([
                "init",
                "--host-cluster-context",
                "member2",
                "--kubefed-namespace",
                &unique("kf-init-sni"),
                "--dry-run=server",
            ]))
    };
    let good = init_with("kubernetes.default.svc");
    assert_eq!(good.code, 0, "{}", good.stderr);
    let wrong = init_with("wrong.example");
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("context `member2`") && wrong.stderr.contains("certificate"),
        "{}",
        wrong.stderr
    );
}

#[tokio::test]
async fn init_namespaced_scope_and_scope_is_immutable() {
    let ns = unique("kf-init-ns");
    let out = kf(&ns, &["init", "--scope", "Namespaced"]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let host = client("fedhost").await;
    assert_installed(&host, &ns, "Namespaced").await;
    let before = Api::<KubeFedConfig>::namespaced(host.clone(), &ns)
        .get("kubefed")
        .await
        .unwrap();

    let again = kf(&ns, &["init"]);
    assert_eq!(again.code, 1);
    assert_eq!(again.stdout, "");
    assert_eq!(
        again.stderr,
        format!(
            "error: KubeFedConfig `{ns}/kubefed` in cluster `fedhost` has scope Namespaced, not Cluster; scope cannot be changed\n\
             \nhint: rerun with --scope Namespaced or use another --kubefed-namespace\n"
        )
    );
    let after = Api::<KubeFedConfig>::namespaced(host, &ns)
        .get("kubefed")
        .await
        .unwrap();
    assert_eq!(
        before.metadata.resource_version,
        after.metadata.resource_version
    );
}

#[tokio::test]
async fn init_dry_run_writes_nothing() {
    let ns = unique("kf-init-dry");
    for mode in ["--dry-run", "--dry-run=server"] {
        let out = run(kubefedctl().args([
            "init",
            mode,
            "--host-cluster-context",
            "member2",
            "--kubefed-namespace",
            &ns,
        ]));
        assert_eq!(out.code, 0, "{mode}: {}", out.stderr);
        let suffix = if mode == "--dry-run" {
            "(dry run)"
        } else {
            "(server dry run)"
        };
        assert!(
            out.stdout
                .contains(&format!("namespace/{ns} created {suffix}")),
            "{mode}: {}",
            out.stdout
        );
    }
    let namespaces: Api<Namespace> = Api::all(client("member2").await);
    assert!(
        namespaces.get_opt(&ns).await.unwrap().is_none(),
        "dry run created the namespace"
    );
}

#[test]
fn init_output_yaml_needs_no_cluster() {
    let out = run(crate::util::kubefedctl_bare().args([
        "init",
        "-o",
        "yaml",
        "--kubefed-namespace",
        "fed",
    ]));
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_eq!(
        out.stdout.matches("kind: CustomResourceDefinition").count(),
        7
    );
    assert!(out.stdout.contains("kind: KubeFedConfig"));
    assert!(out.stdout.contains("namespace: fed"));
    let json = run(crate::util::kubefedctl_bare().args(["init", "-o", "json"]));
    let list: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON list");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 9);
}

/// Upstream's own objects must be accepted by our CRDs: the KubeFedConfig from upstream's test
/// config, and a KubeFedCluster, FederatedTypeConfig and ReplicaSchedulingPreference written
/// from the spec (kubefedctl-behaviour.md section 7).
#[tokio::test]
async fn init_crds_accept_upstream_objects() {
    let ns = unique("kf-init-upstream");
    let out = kf(&ns, &["init"]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let host = client("fedhost").await;

    let upstream = std::fs::read_to_string(
        crate::federation::repo().join("tests/fixtures/kubefed-v0.10.0/kubefedconfig.yaml"),
    )
    .expect("upstream kubefedconfig.yaml");
    let mut upstream_config: serde_json::Value = serde_saphyr::from_str(&upstream).unwrap();
    upstream_config["metadata"]["name"] = "upstream".into();
    upstream_config["metadata"]["namespace"] = ns.clone().into();

    let objects = [
        upstream_config,
        serde_json::json!({
            "apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedCluster",
            "metadata": {"name": "cluster1", "namespace": ns},
            "spec": {
                "apiEndpoint": "https://Cluster1.example.com:6443",
                "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
                "secretRef": {"name": "cluster1-abcde"},
                "disabledTLSValidations": ["*"],
                "proxyURL": "socks5://proxy.example.com:1080"
            }
        }),
        serde_json::json!({
            "apiVersion": "core.kubefed.io/v1beta1", "kind": "FederatedTypeConfig",
            "metadata": {"name": "deployments.apps", "namespace": ns},
            "spec": {
                "targetType": {"group": "apps", "kind": "Deployment", "pluralName": "deployments", "scope": "Namespaced", "version": "v1"},
                "federatedType": {"group": "types.kubefed.io", "kind": "FederatedDeployment", "pluralName": "federateddeployments", "scope": "Namespaced", "version": "v1beta1"},
                "propagation": "Enabled",
                "statusCollection": "Disabled"
            }
        }),
        serde_json::json!({
            "apiVersion": "scheduling.kubefed.io/v1alpha1", "kind": "ReplicaSchedulingPreference",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {
                "targetKind": "FederatedDeployment",
                "totalReplicas": 9,
                "rebalance": true,
                "intersectWithClusterSelector": false,
                "clusters": {"member1": {"minReplicas": 2, "maxReplicas": 6, "weight": 2}, "*": {"weight": 1}}
            }
        }),
    ];
    for object in objects {
        let obj: DynamicObject = serde_json::from_value(object.clone()).unwrap();
        let types = obj.types.clone().unwrap();
        let (group, version) = types.api_version.split_once('/').unwrap();
        let plural = match types.kind.as_str() {
            "KubeFedConfig" => "kubefedconfigs",
            "KubeFedCluster" => "kubefedclusters",
            "FederatedTypeConfig" => "federatedtypeconfigs",
            _ => "replicaschedulingpreferences",
        };
        let gvk = kube::api::GroupVersionKind::gvk(group, version, &types.kind);
        let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = Api::namespaced_with(host.clone(), &ns, &ar);
        let name = obj.metadata.name.clone().unwrap();
        let stored = api
            .patch(
                &name,
                &PatchParams::apply("kubefedctl-test"),
                &Patch::Apply(&obj),
            )
            .await
            .unwrap_or_else(|e| panic!("{} {name} rejected: {e}", types.kind));
        // Nothing pruned: every field we sent is stored.
        let sent = &object["spec"];
        assert_eq!(
            &stored.data["spec"], sent,
            "{} {name} was pruned or changed",
            types.kind
        );
    }
}

//! `join` and `unjoin` on real clusters: the objects Go kubefedctl writes, and the safety
//! features on top.

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, ResourceExt};
use kubefedctl::api::KubeFedCluster;

use crate::federation::federation;
use crate::util::{client, init, kf, kubefedctl, run, unique};

/// A control plane of its own for each test: its namespace holds the KubeFedClusters.
fn join(ns: &str, args: &[&str]) -> crate::util::Run {
    kf(ns, &[&["join"], args].concat())
}

fn unjoin(ns: &str, args: &[&str]) -> crate::util::Run {
    kf(ns, &[&["unjoin"], args].concat())
}

/// The registration objects that exist on a member, by kind and name.
async fn member_objects(member: &Client, ns: &str, sa: &str) -> Vec<String> {
    let role = format!("kubefed-controller-manager:{sa}");
    let health = format!("kubefed-controller-manager:{ns}:healthcheck-{sa}");
    let mut found = Vec::new();
    if Api::<ServiceAccount>::namespaced(member.clone(), ns)
        .get_opt(sa)
        .await
        .unwrap()
        .is_some()
    {
        found.push(format!("ServiceAccount {sa}"));
    }
    if Api::<Secret>::namespaced(member.clone(), ns)
        .get_opt(sa)
        .await
        .unwrap()
        .is_some()
    {
        found.push(format!("Secret {sa}"));
    }
    for name in [&role, &health] {
        if Api::<ClusterRole>::all(member.clone())
            .get_opt(name)
            .await
            .unwrap()
            .is_some()
        {
            found.push(format!("ClusterRole {name}"));
        }
        if Api::<ClusterRoleBinding>::all(member.clone())
            .get_opt(name)
            .await
            .unwrap()
            .is_some()
        {
            found.push(format!("ClusterRoleBinding {name}"));
        }
    }
    if Api::<Role>::namespaced(member.clone(), ns)
        .get_opt(&role)
        .await
        .unwrap()
        .is_some()
    {
        found.push(format!("Role {role}"));
    }
    if Api::<RoleBinding>::namespaced(member.clone(), ns)
        .get_opt(&role)
        .await
        .unwrap()
        .is_some()
    {
        found.push(format!("RoleBinding {role}"));
    }
    found
}

async fn host_secrets(host: &Client, ns: &str, prefix: &str) -> Vec<Secret> {
    Api::<Secret>::namespaced(host.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|s| s.name_any().starts_with(prefix))
        .collect()
}

fn kubeconfig_ca() -> Vec<u8> {
    std::fs::read(federation().dir.join("pki/ca.crt")).unwrap()
}

#[tokio::test]
async fn join_member_cluster_scope_writes_go_kubefedctl_objects_and_unjoin_removes_them() {
    let ns = unique("kf-join");
    let name = unique("m1");
    init(&ns, "Cluster");
    let out = join(&ns, &[&name, "--cluster-context", "member1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("kubefedcluster.core.kubefed.io/{name} created\n")
    );

    let member = client("member1").await;
    let host = client("fedhost").await;
    let sa_name = format!("{name}-fedhost");
    let role = format!("kubefed-controller-manager:{sa_name}");

    let sa = Api::<ServiceAccount>::namespaced(member.clone(), &ns)
        .get(&sa_name)
        .await
        .unwrap();
    assert_eq!(
        sa.metadata.annotations,
        Some(BTreeMap::from([(
            "kubernetes.io/enforce-mountable-secrets".to_string(),
            "true".to_string()
        )]))
    );
    assert_eq!(sa.automount_service_account_token, Some(false));
    assert_eq!(sa.metadata.labels, None);

    let token_secret = Api::<Secret>::namespaced(member.clone(), &ns)
        .get(&sa_name)
        .await
        .unwrap();
    assert_eq!(
        token_secret.type_.as_deref(),
        Some("kubernetes.io/service-account-token")
    );
    assert_eq!(
        token_secret
            .annotations()
            .get("kubernetes.io/service-account.name"),
        Some(&sa_name)
    );
    let token = token_secret.data.as_ref().unwrap()["token"].0.clone();

    let cr = Api::<ClusterRole>::all(member.clone())
        .get(&role)
        .await
        .unwrap();
    let rules = serde_json::to_value(cr.rules).unwrap();
    assert_eq!(
        rules,
        serde_json::json!([
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["get"]}
        ])
    );
    let crb = Api::<ClusterRoleBinding>::all(member.clone())
        .get(&role)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&crb.role_ref).unwrap(),
        serde_json::json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role})
    );
    assert_eq!(
        serde_json::to_value(&crb.subjects).unwrap(),
        serde_json::json!([{"kind": "ServiceAccount", "name": sa_name, "namespace": ns}])
    );

    let kfc = Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
        .get(&name)
        .await
        .unwrap();
    assert_eq!(kfc.spec.api_endpoint, federation().server_of("member1"));
    assert_eq!(
        kfc.spec.ca_bundle.as_ref().unwrap().0,
        kubeconfig_ca(),
        "caBundle from the inline kubeconfig CA"
    );
    assert!(kfc.spec.disabled_tls_validations.is_empty());
    assert_eq!(kfc.spec.proxy_url.as_deref(), Some(""));
    assert_eq!(kfc.labels().len(), 0);
    assert_eq!(
        kfc.annotations()
            .get("kubefedctl.io/host-cluster-name")
            .map(String::as_str),
        Some("fedhost")
    );
    let secret_name = kfc.spec.secret_ref.name.clone();
    assert!(
        secret_name.starts_with(&format!("{name}-")) && secret_name.len() == name.len() + 6,
        "{secret_name}"
    );
    let host_secret = Api::<Secret>::namespaced(host.clone(), &ns)
        .get(&secret_name)
        .await
        .unwrap();
    assert_eq!(host_secret.type_.as_deref(), Some("Opaque"));
    let data = host_secret.data.unwrap();
    assert_eq!(data.keys().collect::<Vec<_>>(), vec!["token"]);
    assert_eq!(data["token"].0, token);
    assert!(host_secret.metadata.labels.is_none() && host_secret.metadata.annotations.is_none());

    let out = unjoin(&ns, &[&name, "--cluster-context", "member1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("kubefedcluster.core.kubefed.io/{name} unjoined\n")
    );
    assert_eq!(
        member_objects(&member, &ns, &sa_name).await,
        Vec::<String>::new()
    );
    assert!(
        Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
            .get_opt(&name)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        Api::<Secret>::namespaced(host.clone(), &ns)
            .get_opt(&secret_name)
            .await
            .unwrap()
            .is_none()
    );
    // The member's joining namespace goes (it is not the host's).
    let member_ns = Api::<Namespace>::all(member.clone())
        .get_opt(&ns)
        .await
        .unwrap();
    assert!(member_ns.is_none_or(|n| n.metadata.deletion_timestamp.is_some()));

    // Once everything is gone the name is not joined any more: an error that deletes nothing
    // (issue 12: a name without a KubeFedCluster or objects of its own join touches nothing).
    let again = unjoin(&ns, &[&name, "--cluster-context", "member1"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.starts_with(&format!(
            "error: KubeFedCluster `{ns}/{name}` does not exist in cluster `fedhost`, and cluster `member1` has no objects of its join; nothing was deleted\n"
        )),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn host_self_join_and_unjoin_keeps_the_control_plane_namespace() {
    let ns = unique("kf-self");
    let name = unique("host");
    init(&ns, "Cluster");
    let out = join(&ns, &[&name, "--cluster-context", "fedhost"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let host = client("fedhost").await;
    let kfc = Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
        .get(&name)
        .await
        .unwrap();
    assert_eq!(kfc.spec.api_endpoint, federation().server_of("fedhost"));
    let out = unjoin(&ns, &[&name, "--cluster-context", "fedhost"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let kept = Api::<Namespace>::all(host.clone()).get(&ns).await.unwrap();
    assert!(
        kept.metadata.deletion_timestamp.is_none(),
        "unjoin deleted the host's control-plane namespace"
    );
    assert_eq!(
        member_objects(&host, &ns, &format!("{name}-fedhost")).await,
        Vec::<String>::new()
    );
}

// Regression (issue 12.5): on a host joined to its own federation, `unjoin --cleanup` deleted
// the user's originals, which the controller had adopted and labelled kubefed.io/managed=true.
#[tokio::test]
async fn unjoin_cleanup_of_a_self_joined_host_keeps_its_adopted_originals() {
    let ns = unique("kf-selfclean");
    let name = unique("host");
    init(&ns, "Cluster");
    let out = join(&ns, &[&name, "--cluster-context", "fedhost"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let host = client("fedhost").await;
    // The user's own ConfigMap, as the controller leaves it after adopting it.
    let app = unique("kf-selfcleanapp");
    let namespace: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": app}})).unwrap();
    Api::<Namespace>::all(host.clone())
        .create(&kube::api::PostParams::default(), &namespace)
        .await
        .unwrap();
    let original: k8s_openapi::api::core::v1::ConfigMap =
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "original", "labels": {"kubefed.io/managed": "true"}},
            "data": {"owner": "user"}
        }))
        .unwrap();
    let cms = Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(host.clone(), &app);
    cms.create(&kube::api::PostParams::default(), &original)
        .await
        .unwrap();
    let out = unjoin(
        &ns,
        &[&name, "--cluster-context", "fedhost", "--cleanup", "--yes"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("--cleanup skipped"), "{}", out.stderr);
    assert!(
        cms.get_opt("original").await.unwrap().is_some(),
        "unjoin --cleanup deleted the host's own ConfigMap"
    );
    let _ = Api::<Namespace>::all(host)
        .delete(&app, &Default::default())
        .await;
}

#[tokio::test]
async fn join_namespaced_scope_writes_role_and_health_check_cluster_role() {
    let ns = unique("kf-nsjoin");
    let name = unique("m2");
    init(&ns, "Namespaced");
    let out = join(&ns, &[&name, "--cluster-context", "member2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let member = client("member2").await;
    let sa = format!("{name}-fedhost");
    let role = format!("kubefed-controller-manager:{sa}");
    let health = format!("kubefed-controller-manager:{ns}:healthcheck-{sa}");
    let r = Api::<Role>::namespaced(member.clone(), &ns)
        .get(&role)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(r.rules).unwrap(),
        serde_json::json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
    );
    let rb = Api::<RoleBinding>::namespaced(member.clone(), &ns)
        .get(&role)
        .await
        .unwrap();
    assert_eq!(rb.role_ref.kind, "Role");
    let hc = Api::<ClusterRole>::all(member.clone())
        .get(&health)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(hc.rules).unwrap(),
        serde_json::json!([
            {"nonResourceURLs": ["/healthz"], "verbs": ["Get"]},
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}
        ])
    );
    assert!(
        Api::<ClusterRoleBinding>::all(member.clone())
            .get_opt(&health)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        Api::<ClusterRole>::all(member.clone())
            .get_opt(&role)
            .await
            .unwrap()
            .is_none()
    );
    let out = unjoin(&ns, &[&name, "--cluster-context", "member2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        member_objects(&member, &ns, &sa).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn rejoin_fails_by_default_and_updates_without_leaking_secrets() {
    let ns = unique("kf-rejoin");
    let name = unique("m1");
    init(&ns, "Cluster");
    let host = client("fedhost").await;
    assert_eq!(join(&ns, &[&name, "--cluster-context", "member1"]).code, 0);
    let again = join(&ns, &[&name, "--cluster-context", "member1"]);
    assert_eq!(again.code, 1);
    assert_eq!(
        again.stderr,
        format!(
            "error: service account: {name}-fedhost already exists in joining cluster: {name}\n\nhint: the cluster looks joined \
             already: `kubefedctl unjoin {name}` first, or rerun with --error-on-existing=false to update the join\n"
        )
    );
    for _ in 0..2 {
        let update = join(
            &ns,
            &[
                &name,
                "--cluster-context",
                "member1",
                "--error-on-existing=false",
            ],
        );
        assert_eq!(update.code, 0, "{}", update.stderr);
        assert_eq!(
            update.stdout,
            format!("kubefedcluster.core.kubefed.io/{name} updated\n")
        );
    }
    // NB: Go kubefedctl leaks one generated host Secret per re-join; we reuse the referenced one.
    assert_eq!(host_secrets(&host, &ns, &format!("{name}-")).await.len(), 1);

    // With --secret-name: the same Secret, unchanged when the token is the same.
    let named = unique("m1named");
    let secret = format!("{named}-creds");
    // The same physical cluster under a second name is refused (upstream #749) ...
    let dup = join(
        &ns,
        &[
            &named,
            "--cluster-context",
            "member1",
            "--secret-name",
            &secret,
        ],
    );
    assert_eq!(dup.code, 1);
    assert!(
        dup.stderr.starts_with(&format!(
            "error: cluster `{named}` (context `member1`) is already joined as `{name}`: both have kube-system namespace UID "
        )),
        "{}",
        dup.stderr
    );
    assert!(
        dup.stderr.contains("or pass --allow-duplicate"),
        "{}",
        dup.stderr
    );
    // ... unless asked for.
    let allowed = join(
        &ns,
        &[
            &named,
            "--cluster-context",
            "member1",
            "--secret-name",
            &secret,
            "--allow-duplicate",
        ],
    );
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    let kfc = Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
        .get(&named)
        .await
        .unwrap();
    assert_eq!(kfc.spec.secret_ref.name, secret);
    let before = Api::<Secret>::namespaced(host.clone(), &ns)
        .get(&secret)
        .await
        .unwrap();
    let out = join(
        &ns,
        &[
            &named,
            "--cluster-context",
            "member1",
            "--secret-name",
            &secret,
            "--error-on-existing=false",
            "--allow-duplicate",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = Api::<Secret>::namespaced(host.clone(), &ns)
        .get(&secret)
        .await
        .unwrap();
    assert_eq!(before.resource_version(), after.resource_version());
    for n in [&name, &named] {
        assert_eq!(unjoin(&ns, &[n, "--cluster-context", "member1"]).code, 0);
    }
    assert!(host_secrets(&host, &ns, &name).await.is_empty());
}

#[tokio::test]
async fn unsafe_host_context_fails_before_any_write_and_rename_context_fixes_it() {
    let ns = unique("kf-unsafe");
    let name = unique("m2");
    init(&ns, "Cluster");
    let out = run(kubefedctl().args([
        "join",
        &name,
        "--cluster-context",
        "member2",
        "--host-cluster-context",
        "kubernetes-admin@kubernetes",
        "--kubefed-namespace",
        &ns,
    ]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "error: the host context name `kubernetes-admin@kubernetes` cannot be used in object names: ServiceAccount name \
             `{name}-kubernetes-admin@kubernetes` contains `@` (a name must consist of lower-case letters, digits, '-' and '.')\n\n\
             hint: pass --host-cluster-name kubernetes-admin-kubernetes, or rename the context: `kubectl config rename-context \
             kubernetes-admin@kubernetes kubernetes-admin-kubernetes` (or rerun with --rename-context)\n"
        )
    );
    let member = client("member2").await;
    assert!(
        Api::<Namespace>::all(member.clone())
            .get_opt(&ns)
            .await
            .unwrap()
            .is_none(),
        "namespace written"
    );

    // --rename-context on a copy of the kubeconfig.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("config");
    std::fs::copy(&federation().kubeconfig, &copy).unwrap();
    let original: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&copy).unwrap()).unwrap();
    let out = run(crate::util::kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(&copy)
        .args([
            "join",
            &name,
            "--cluster-context",
            "member2",
            "--host-cluster-context",
            "kubernetes-admin@kubernetes",
            "--kubefed-namespace",
            &ns,
            "--rename-context",
        ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains(
        "Renamed context `kubernetes-admin@kubernetes` to `kubernetes-admin-kubernetes`"
    ));
    let renamed: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&copy).unwrap()).unwrap();
    let mut expected = original.clone();
    for c in expected["contexts"].as_array_mut().unwrap() {
        if c["name"] == "kubernetes-admin@kubernetes" {
            c["name"] = "kubernetes-admin-kubernetes".into();
        }
    }
    assert_eq!(renamed, expected, "only the context name changed");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let backups: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("config.kubefedctl-backup-")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    let backup: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(backups[0].path()).unwrap()).unwrap();
    assert_eq!(backup, original);
    let sa = format!("{name}-kubernetes-admin-kubernetes");
    assert!(
        Api::<ServiceAccount>::namespaced(member.clone(), &ns)
            .get_opt(&sa)
            .await
            .unwrap()
            .is_some()
    );
    let out = run(crate::util::kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(&copy)
        .args([
            "unjoin",
            &name,
            "--cluster-context",
            "member2",
            "--host-cluster-context",
            "kubernetes-admin-kubernetes",
            "--kubefed-namespace",
            &ns,
        ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        member_objects(&member, &ns, &sa).await,
        Vec::<String>::new()
    );
}

/// Asserts the kubeconfig at `path` reads `expected`, naming differing lines by number only (the
/// file holds the federation's keys).
fn assert_kubeconfig(path: &std::path::Path, expected: &str, what: &str) {
    let actual = std::fs::read_to_string(path).unwrap();
    let differing: Vec<usize> = (actual.lines().zip(expected.lines()).enumerate())
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| i + 1)
        .collect();
    assert!(
        actual == expected,
        "{what}: lines {differing:?} differ ({} lines, expected {})",
        actual.lines().count(),
        expected.lines().count()
    );
}

/// Backups `join --rename-context` left in `dir`.
fn rename_backups(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".kubefedctl-backup-"))
        .collect()
}

#[tokio::test]
async fn join_rename_context_writes_nothing_under_dry_run_and_keeps_a_symlinked_kubeconfig_a_link()
{
    // Pins issue 12 item 3: --rename-context rewrote the kubeconfig under --dry-run, and replaced
    // a symlinked ~/.kube/config by a regular file (the link's target kept the old name).
    let ns = unique("kf-link");
    let name = unique("m2");
    init(&ns, "Cluster");
    let dir = tempfile::tempdir().unwrap();
    let (home, dotfiles) = (dir.path().join("home"), dir.path().join("dotfiles"));
    std::fs::create_dir_all(home.join(".kube")).unwrap();
    std::fs::create_dir_all(&dotfiles).unwrap();
    let target = dotfiles.join("kubeconfig");
    std::fs::copy(&federation().kubeconfig, &target).unwrap();
    let link = home.join(".kube").join("config");
    std::os::unix::fs::symlink("../../dotfiles/kubeconfig", &link).unwrap();
    let original = std::fs::read_to_string(&target).unwrap();
    let join_args = [
        "join",
        &name,
        "--cluster-context",
        "member2",
        "--host-cluster-context",
        "kubernetes-admin@kubernetes",
        "--kubefed-namespace",
        &ns,
        "--rename-context",
    ];
    let is_link = || {
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    };

    let out = run(crate::util::kubefedctl_bare()
        .env("HOME", &home)
        .args(join_args)
        .arg("--dry-run"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_kubeconfig(&target, &original, "written under --dry-run");
    assert!(is_link(), "the link was replaced under --dry-run");
    assert!(rename_backups(&dotfiles).is_empty() && rename_backups(&home.join(".kube")).is_empty());
    assert!(
        out.stderr.contains(&format!(
            "Would rename context `kubernetes-admin@kubernetes` to `kubernetes-admin-kubernetes` in `{}`",
            link.display()
        )),
        "{}",
        out.stderr
    );
    let member = client("member2").await;
    let sa = format!("{name}-kubernetes-admin-kubernetes");
    assert_eq!(
        member_objects(&member, &ns, &sa).await,
        Vec::<String>::new()
    );

    let out = run(crate::util::kubefedctl_bare()
        .env("HOME", &home)
        .args(join_args));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(is_link(), "the link was replaced");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        std::path::Path::new("../../dotfiles/kubeconfig")
    );
    assert_kubeconfig(
        &target,
        &original.replace("kubernetes-admin@kubernetes", "kubernetes-admin-kubernetes"),
        "anything but the context name changed",
    );
    let backups = rename_backups(&dotfiles);
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_kubeconfig(&dotfiles.join(&backups[0]), &original, "the backup");
    assert!(
        Api::<ServiceAccount>::namespaced(member.clone(), &ns)
            .get_opt(&sa)
            .await
            .unwrap()
            .is_some()
    );
    let out = run(crate::util::kubefedctl_bare().env("HOME", &home).args([
        "unjoin",
        &name,
        "--cluster-context",
        "member2",
        "--host-cluster-context",
        "kubernetes-admin-kubernetes",
        "--kubefed-namespace",
        &ns,
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn join_rename_context_renames_nothing_when_the_join_fails() {
    // Pins issue 12 item 3: the context was renamed before the join's own checks ran, so a join
    // that failed (here: no control plane in the namespace) left the kubeconfig changed.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("config");
    std::fs::copy(&federation().kubeconfig, &copy).unwrap();
    let original = std::fs::read_to_string(&copy).unwrap();
    let out = run(crate::util::kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(&copy)
        .args([
            "join",
            &unique("m2"),
            "--cluster-context",
            "member2",
            "--host-cluster-context",
            "kubernetes-admin@kubernetes",
            "--kubefed-namespace",
            &unique("kf-none"),
            "--rename-context",
        ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("KubeFedConfig named \"kubefed\" was not found"),
        "{}",
        out.stderr
    );
    assert_kubeconfig(&copy, &original, "renamed although the join failed");
    assert!(rename_backups(dir.path()).is_empty());
}

/// A kubeconfig with the unsafe context `admin@prod` and a context `ok`, both on a server that
/// refuses connections.
fn unreachable_kubeconfig(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let text = "apiVersion: v1\nkind: Config\ncurrent-context: admin@prod\nclusters:\n\
                - name: closed\n  cluster:\n    server: https://127.0.0.1:1\nusers:\n\
                - name: u\n  user:\n    token: 12e3\ncontexts:\n\
                - name: admin@prod\n  context:\n    cluster: closed\n    user: u\n\
                - name: ok\n  context:\n    cluster: closed\n    user: u\n";
    let file = dir.join("config");
    std::fs::write(&file, text).unwrap();
    (file, text.to_string())
}

#[test]
fn join_rename_context_renames_nothing_when_a_later_name_is_invalid() {
    // Pins issue 12 item 3: `join ok BAD@NAME --rename-context` renamed the context, then failed
    // on `BAD@NAME`.
    let dir = tempfile::tempdir().unwrap();
    let (file, original) = unreachable_kubeconfig(dir.path());
    let out = run(crate::util::kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(&file)
        .args([
            "join",
            "ok",
            "BAD@NAME",
            "--host-cluster-context",
            "admin@prod",
            "--rename-context",
        ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("error: cluster name `BAD@NAME`"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    assert!(rename_backups(dir.path()).is_empty());
}

#[test]
fn join_rename_context_renames_nothing_when_a_cluster_is_unreachable() {
    // Pins issue 12 item 3: the context was renamed before the clusters were reached, so a join
    // that could not even connect left the kubeconfig changed.
    let dir = tempfile::tempdir().unwrap();
    let (file, original) = unreachable_kubeconfig(dir.path());
    let out = run(crate::util::kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(&file)
        .args([
            "join",
            "ok",
            "--host-cluster-context",
            "admin@prod",
            "--rename-context",
        ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot reach the API server of context"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("12e3"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    assert!(rename_backups(dir.path()).is_empty());
}

#[test]
fn unsafe_cluster_name_suggests_a_safe_one() {
    let out = run(kubefedctl().args([
        "join",
        "kubernetes-admin@kubernetes",
        "--host-cluster-context",
        "fedhost",
    ]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: cluster name `kubernetes-admin@kubernetes` contains `@` (a name must consist of lower-case letters, digits, \
         '-' and '.')\n\nhint: choose a valid name and keep the context: `kubefedctl join kubernetes-admin-kubernetes \
         --cluster-context kubernetes-admin@kubernetes`\n"
    );
}

#[tokio::test]
async fn join_through_exec_plugin_and_insecure_context() {
    let ns = unique("kf-auth");
    init(&ns, "Cluster");
    let host = client("fedhost").await;
    let exec = unique("exec");
    // `-v 4` shows every request (method, URL, status) and never a credential.
    let out = join(
        &ns,
        &[&exec, "--cluster-context", "exec-member1", "-v", "4"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("method=POST")
            && out
                .stderr
                .contains(&format!("/api/v1/namespaces/{ns}/serviceaccounts"))
            && out.stderr.contains("status=201"),
        "{}",
        out.stderr
    );
    let pki = federation().dir.join("pki");
    let exec_token = std::fs::read_to_string(pki.join("exec.token")).unwrap();
    let admin_key = std::fs::read_to_string(pki.join("admin.key")).unwrap();
    let key_body = admin_key.lines().nth(1).unwrap();
    assert!(!out.stderr.contains(exec_token.trim()), "token printed");
    assert!(!out.stderr.contains(key_body), "key printed");
    assert!(
        !out.stderr.to_lowercase().contains("bearer"),
        "{}",
        out.stderr
    );
    let insecure = unique("insecure");
    let out = join(&ns, &[&insecure, "--cluster-context", "insecure-member2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let kfcs = Api::<KubeFedCluster>::namespaced(host.clone(), &ns);
    let e = kfcs.get(&exec).await.unwrap();
    assert_eq!(e.spec.ca_bundle.unwrap().0, kubeconfig_ca());
    let i = kfcs.get(&insecure).await.unwrap();
    assert_eq!(
        serde_json::to_value(&i.spec.disabled_tls_validations).unwrap(),
        serde_json::json!(["*"])
    );
    // No CA in the kubeconfig: the token Secret's ca.crt (the cluster's root CA).
    assert_eq!(i.spec.ca_bundle.unwrap().0, kubeconfig_ca());
    assert_eq!(i.spec.api_endpoint, federation().server_of("member2"));
    for (n, ctx) in [(&exec, "exec-member1"), (&insecure, "insecure-member2")] {
        assert_eq!(unjoin(&ns, &[n, "--cluster-context", ctx]).code, 0);
    }
}

#[tokio::test]
async fn dry_run_writes_nothing_and_prints_both_sides_redacted() {
    let ns = unique("kf-dry");
    let name = unique("m1");
    init(&ns, "Cluster");
    let member = client("member1").await;
    let host = client("fedhost").await;
    let out = kf(
        &ns,
        &[
            "join",
            &name,
            "--cluster-context",
            "member1",
            "--dry-run",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "Namespace",
            "ServiceAccount",
            "Secret",
            "ClusterRole",
            "ClusterRoleBinding",
            "Secret",
            "KubeFedCluster"
        ]
    );
    assert_eq!(list["items"][5]["data"]["token"], "<redacted>");
    assert!(
        !out.stdout
            .contains(&base64::engine::general_purpose::STANDARD.encode("exec-"))
    );
    let server = kf(
        &ns,
        &[
            "join",
            &name,
            "--cluster-context",
            "member1",
            "--dry-run=server",
        ],
    );
    assert_eq!(server.code, 0, "{}", server.stderr);
    assert_eq!(
        server.stdout,
        format!("kubefedcluster.core.kubefed.io/{name} created (server dry run)\n")
    );
    assert!(
        Api::<Namespace>::all(member.clone())
            .get_opt(&ns)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(host_secrets(&host, &ns, &name).await.is_empty());
}

/// A join that fails at its last step (the host rejects the KubeFedCluster) leaves nothing
/// behind on either cluster, and the same command succeeds once the cause is gone.
#[tokio::test]
async fn failed_join_rolls_back_everything_and_rerun_succeeds() {
    let ns = unique("kf-fail");
    let name = unique("m2");
    init(&ns, "Cluster");
    let host = client("fedhost").await;
    let member = client("member2").await;
    // An admission policy on the host that refuses this KubeFedCluster.
    let kfcs = Api::<KubeFedCluster>::namespaced(host.clone(), &ns);
    let probe: KubeFedCluster = serde_json::from_value(serde_json::json!({
        "apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedCluster",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"apiEndpoint": "https://x", "secretRef": {"name": "x"}}
    }))
    .unwrap();
    let policy = DenyCreate::new(&host, "core.kubefed.io", "kubefedclusters", &name).await;
    policy.wait_until_refused(&kfcs, &probe).await;

    let out = join(&ns, &[&name, "--cluster-context", "member2"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(&format!(
            "error: failed to join cluster `{name}`; every object this run created was deleted again\n\nCaused by:\n    \
             failed to create KubeFedCluster `{ns}/{name}` in cluster `fedhost`\n"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("refused by test policy"),
        "{}",
        out.stderr
    );
    let sa = format!("{name}-fedhost");
    assert_eq!(
        member_objects(&member, &ns, &sa).await,
        Vec::<String>::new()
    );
    assert!(
        host_secrets(&host, &ns, &name).await.is_empty(),
        "host Secret left behind"
    );

    policy.remove().await;
    let mut rerun = join(&ns, &[&name, "--cluster-context", "member2"]);
    for _ in 0..50 {
        if rerun.code == 0 || !rerun.stderr.contains("refused by test policy") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        rerun = join(&ns, &[&name, "--cluster-context", "member2"]);
    }
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(
        unjoin(&ns, &[&name, "--cluster-context", "member2"]).code,
        0
    );
}

#[tokio::test]
async fn member_without_rights_fails_naming_object_and_cluster_and_leaves_nothing() {
    let ns = unique("kf-limited");
    let name = unique("lim");
    init(&ns, "Cluster");
    let out = join(&ns, &[&name, "--cluster-context", "limited-member1"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("in cluster `limited-member1`") && out.stderr.contains("forbidden"),
        "{}",
        out.stderr
    );
    let member = client("member1").await;
    assert_eq!(
        member_objects(&member, &ns, &format!("{name}-fedhost")).await,
        Vec::<String>::new()
    );
    assert!(
        Api::<Namespace>::all(member)
            .get_opt(&ns)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn concurrent_join_of_two_members_with_summary() {
    let ns = unique("kf-multi");
    init(&ns, "Cluster");
    // Several clusters join under their context names: give member1 and member2 context
    // names of this test's own (cluster-scoped RBAC names include them).
    let a = unique("multi-a");
    let b = unique("multi-b");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    let mut doc: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&federation().kubeconfig).unwrap())
            .unwrap();
    let contexts = doc["contexts"].as_array_mut().unwrap();
    for (alias, cluster) in [(&a, "member1"), (&b, "member2")] {
        contexts.push(
            serde_json::json!({"name": alias, "context": {"cluster": cluster, "user": "admin"}}),
        );
    }
    std::fs::write(&kubeconfig, serde_saphyr::to_string(&doc).unwrap()).unwrap();
    let multi = |args: &[&str]| {
        let mut c = crate::util::kubefedctl_bare();
        c.arg("--kubeconfig")
            .arg(&kubeconfig)
            .args([
                "--host-cluster-context",
                "fedhost",
                "--kubefed-namespace",
                &ns,
            ])
            .args(args);
        run(&mut c)
    };
    let out = multi(&["join", &a, &b]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "kubefedcluster.core.kubefed.io/{a} created\nkubefedcluster.core.kubefed.io/{b} created\n"
        )
    );
    let width = a.len().max("CLUSTER".len());
    let fed = federation();
    let warning = |c: &str, m: &str| {
        format!(
            "warning: cluster `{c}` is registered with the loopback endpoint {}: a control plane running inside \
             cluster `fedhost` cannot reach it (fine when it runs on this machine); pass --api-endpoint with an \
             address reachable from there\n",
            fed.server_of(m)
        )
    };
    assert_eq!(
        out.stderr,
        format!(
            "{}{}{:<width$}  RESULT\n{a:<width$}  joined\n{b:<width$}  joined\n",
            warning(&a, "member1"),
            warning(&b, "member2"),
            "CLUSTER"
        )
    );
    let host = client("fedhost").await;
    let kfcs = Api::<KubeFedCluster>::namespaced(host, &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(kfcs.items.len(), 2);
    // One of several failing: the others are kept, the summary says which, exit 1.
    let again = multi(&["join", &a, &b, "--error-on-existing=false"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let c = unique("multi-missing");
    let partial = multi(&["join", &c, &a, "--error-on-existing=false"]);
    assert_eq!(partial.code, 1);
    assert!(
        partial.stderr.contains(&format!("context `{c}` not found")),
        "{}",
        partial.stderr
    );
    assert!(
        partial.stderr.contains("1 of 2 clusters failed to join"),
        "{}",
        partial.stderr
    );
    for m in [&a, &b] {
        assert_eq!(multi(&["unjoin", m]).code, 0);
    }
    let usage = multi(&["join", &a, &b, "--cluster-context", "member1"]);
    assert_eq!(usage.code, 2);
    assert_eq!(
        usage.stderr,
        "error: --cluster-context can only be used when joining a single cluster\n"
    );
}

#[tokio::test]
async fn unjoin_force_with_unreachable_member_removes_the_host_side() {
    let fed = federation();
    let ns = unique("kf-force");
    init(&ns, "Cluster");
    let scratch = unique("scratch");
    let scratch_kubeconfig = fed.add_cluster(&scratch);
    // A kubeconfig with the federation's contexts plus the scratch cluster's.
    let merged = format!(
        "{}:{}",
        fed.kubeconfig.display(),
        scratch_kubeconfig.display()
    );
    let cmd = |args: &[&str]| {
        let mut c = crate::util::kubefedctl_bare();
        c.env("KUBECONFIG", &merged)
            .args([
                "--host-cluster-context",
                "fedhost",
                "--kubefed-namespace",
                &ns,
            ])
            .args(args);
        run(&mut c)
    };
    // The scratch API server has no token controller: joining it times out, naming the Secret.
    let out = cmd(&["join", &scratch, "--token-timeout", "2s"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "timed out after 2 s waiting for a token in Secret `{ns}/{scratch}-fedhost` in cluster `{scratch}`"
        )),
        "{}",
        out.stderr
    );
    // Join it with the member being fedhost's API under the scratch name instead, then make
    // the member unreachable by stopping the scratch API server.
    let pid = fed.pid_of(&format!("{scratch}-apiserver"));
    let out = cmd(&["join", &scratch, "--cluster-context", "member1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .unwrap();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let no_force = cmd(&["unjoin", &scratch]);
    assert_eq!(no_force.code, 1);
    assert!(
        no_force.stderr.contains("pass --force"),
        "{}",
        no_force.stderr
    );
    let forced = cmd(&["unjoin", &scratch, "--force"]);
    fed.remove_cluster(&scratch);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(
        forced.stdout,
        format!("kubefedcluster.core.kubefed.io/{scratch} unjoined\n")
    );
    assert!(
        forced
            .stderr
            .contains(&format!("these objects may remain in cluster `{scratch}`")),
        "{}",
        forced.stderr
    );
    let host = client("fedhost").await;
    assert!(
        Api::<KubeFedCluster>::namespaced(host, &ns)
            .get_opt(&scratch)
            .await
            .unwrap()
            .is_none()
    );
    // The objects really are still on member1 (the cluster that was joined under that name).
    let member = client("member1").await;
    let left = member_objects(&member, &ns, &format!("{scratch}-fedhost")).await;
    assert!(!left.is_empty());
    let cleanup = cmd(&["unjoin", &scratch, "--cluster-context", "member1"]);
    assert_eq!(cleanup.code, 0, "{}", cleanup.stderr);
    assert_eq!(
        member_objects(&member, &ns, &format!("{scratch}-fedhost")).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn clusters_lists_joined_clusters_with_a_live_probe_using_their_credentials() {
    let ns = unique("kf-list");
    init(&ns, "Cluster");
    let a = unique("a");
    let b = unique("b");
    assert_eq!(join(&ns, &[&a, "--cluster-context", "member1"]).code, 0);
    assert_eq!(
        join(&ns, &[&b, "--cluster-context", "insecure-member2"]).code,
        0
    );
    let list = || kf(&ns, &["clusters"]);
    let out = list();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(lines[0].starts_with("NAME") && lines[0].contains("PROBE"));
    assert!(
        lines[1].starts_with(&a) && lines[1].contains("ok (v1.37.2)"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&b) && lines[2].contains("ok (v1.37.2)"),
        "{}",
        lines[2]
    );

    // Break one cluster's stored credentials: the probe says so.
    let host = client("fedhost").await;
    let kfc = Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
        .get(&a)
        .await
        .unwrap();
    Api::<Secret>::namespaced(host.clone(), &ns)
        .delete(&kfc.spec.secret_ref.name, &DeleteParams::default())
        .await
        .unwrap();
    let json = kf(&ns, &["get", "clusters", "-o", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rows[0]["name"], a.as_str());
    assert_eq!(rows[0]["probeOk"], false);
    assert_eq!(
        rows[0]["probe"],
        format!(
            "credentials Secret `{}` is missing",
            kfc.spec.secret_ref.name
        )
    );
    assert_eq!(rows[1]["probeOk"], true);
    for (n, ctx) in [(&a, "member1"), (&b, "insecure-member2")] {
        assert_eq!(unjoin(&ns, &[n, "--cluster-context", ctx]).code, 0);
    }
}

#[tokio::test]
async fn unjoin_cleanup_deletes_only_propagated_objects() {
    use k8s_openapi::api::core::v1::ConfigMap;
    let ns = unique("kf-cleanup");
    init(&ns, "Cluster");
    let name = unique("m2");
    assert_eq!(join(&ns, &[&name, "--cluster-context", "member2"]).code, 0);
    // What KubeFed's sync controller would have propagated, beside the user's own object.
    let member = client("member2").await;
    let app_ns = unique("kf-app");
    let namespaces: Api<Namespace> = Api::all(member.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": app_ns}})).unwrap(),
        )
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(member.clone(), &app_ns);
    for (n, managed) in [
        ("propagated-a", true),
        ("propagated-b", true),
        ("users-own", false),
    ] {
        let labels = if managed {
            serde_json::json!({"kubefed.io/managed": "true"})
        } else {
            serde_json::json!({})
        };
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(
                serde_json::json!({"metadata": {"name": n, "labels": labels}, "data": {"k": "v"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    }
    // Without a terminal, --cleanup needs --yes and deletes nothing without it.
    let refused = unjoin(&ns, &[&name, "--cluster-context", "member2", "--cleanup"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("  configmaps: "),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("confirm with --yes"),
        "{}",
        refused.stderr
    );
    let count = |items: Vec<ConfigMap>| {
        items
            .iter()
            .filter(|c| c.name_any() != "kube-root-ca.crt")
            .count()
    };
    assert_eq!(
        count(cms.list(&ListParams::default()).await.unwrap().items),
        3
    );

    let out = unjoin(
        &ns,
        &[&name, "--cluster-context", "member2", "--cleanup", "--yes"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("propagated objects in cluster `member2`."),
        "{}",
        out.stderr
    );
    let left: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.name_any())
        .filter(|n| n != "kube-root-ca.crt")
        .collect();
    assert_eq!(left, vec!["users-own"]);
    namespaces
        .delete(&app_ns, &DeleteParams::default())
        .await
        .unwrap();
}

/// A member behind an HTTP CONNECT proxy (kubeconfig `proxy-url`): join goes through the
/// proxy, and the KubeFedCluster records `proxyURL` (upstream #1376).
// Multi-threaded: the proxy task must run while the test blocks on the kubefedctl process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_through_a_proxy_records_proxy_url() {
    let ns = unique("kf-proxy");
    init(&ns, "Cluster");
    let proxy = crate::util::ConnectProxy::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = crate::util::kubeconfig_with_proxy(dir.path(), "member1", &proxy.url());
    let proxy_url = proxy.url();
    let name = unique("proxied");
    let out = run(crate::util::kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "join",
            &name,
            "--cluster-context",
            "member1",
            "--host-cluster-context",
            "fedhost",
            "--kubefed-namespace",
            &ns,
        ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(proxy.tunnels() > 0, "join did not use the proxy");
    let host = client("fedhost").await;
    let kfc = Api::<KubeFedCluster>::namespaced(host, &ns)
        .get(&name)
        .await
        .unwrap();
    assert_eq!(kfc.spec.proxy_url.as_deref(), Some(proxy_url.as_str()));
    // The probe uses the recorded proxy too.
    let probe = run(crate::util::kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "clusters",
            "--host-cluster-context",
            "fedhost",
            "--kubefed-namespace",
            &ns,
        ]));
    assert!(probe.stdout.contains("ok (v1.37.2)"), "{}", probe.stdout);
    let out = run(crate::util::kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "unjoin",
            &name,
            "--cluster-context",
            "member1",
            "--host-cluster-context",
            "fedhost",
            "--kubefed-namespace",
            &ns,
        ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[tokio::test]
async fn api_endpoint_overrides_the_kubeconfig_server_without_a_loopback_warning() {
    let ns = unique("kf-endpoint");
    init(&ns, "Cluster");
    let name = unique("m1");
    let out = join(
        &ns,
        &[
            &name,
            "--cluster-context",
            "member1",
            "--api-endpoint",
            "https://member1.example.internal:6443",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let kfc = Api::<KubeFedCluster>::namespaced(client("fedhost").await, &ns)
        .get(&name)
        .await
        .unwrap();
    assert_eq!(
        kfc.spec.api_endpoint,
        "https://member1.example.internal:6443"
    );
    // The host joining itself on its loopback address needs no warning either.
    let host = unique("self");
    let out = join(&ns, &[&host, "--cluster-context", "fedhost"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    for (n, ctx) in [(&name, "member1"), (&host, "fedhost")] {
        assert_eq!(unjoin(&ns, &[n, "--cluster-context", ctx]).code, 0);
    }
}

/// The rename prompt, answered in a real terminal (tmux) as a person would.
#[tokio::test]
async fn unsafe_host_context_rename_prompt_on_a_terminal() {
    let ns = unique("kf-tty");
    init(&ns, "Cluster");
    let name = unique("m1");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("config");
    std::fs::copy(&federation().kubeconfig, &copy).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("kubefedctl");
    let session = unique("kubefedctl-tty");
    let script = format!(
        "NO_COLOR=1 {} --kubeconfig {} join {name} --cluster-context member1 --host-cluster-context \
         kubernetes-admin@kubernetes --kubefed-namespace {ns}; echo EXIT=$?; sleep 60",
        bin.display(),
        copy.display()
    );
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux")
    };
    assert!(
        tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "250",
            "-y",
            "40",
            &script
        ])
        .status
        .success()
    );
    let screen = || {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout).into_owned()
    };
    let wait_for = |text: &str| {
        for _ in 0..200 {
            let s = screen();
            if s.contains(text) {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("`{text}` never appeared; screen:\n{}", screen());
    };
    let prompt =
        wait_for("Rename context `kubernetes-admin@kubernetes` to `kubernetes-admin-kubernetes`");
    assert!(
        prompt.contains(
            "warning: the host context name `kubernetes-admin@kubernetes` cannot be used"
        ),
        "{prompt}"
    );
    tmux(&["send-keys", "-t", &session, "y", "Enter"]);
    let done = wait_for("EXIT=");
    tmux(&["kill-session", "-t", &session]);
    assert!(done.contains("EXIT=0"), "{done}");
    assert!(
        done.contains(&format!("kubefedcluster.core.kubefed.io/{name} created")),
        "{done}"
    );
    let renamed = std::fs::read_to_string(&copy).unwrap();
    assert!(
        renamed.contains("kubernetes-admin-kubernetes")
            && !renamed.contains("kubernetes-admin@kubernetes")
    );
    let member = client("member1").await;
    let sa = format!("{name}-kubernetes-admin-kubernetes");
    assert!(
        Api::<ServiceAccount>::namespaced(member.clone(), &ns)
            .get_opt(&sa)
            .await
            .unwrap()
            .is_some()
    );
    let out = run(crate::util::kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(&copy)
        .args([
            "unjoin",
            &name,
            "--cluster-context",
            "member1",
            "--host-cluster-context",
            "kubernetes-admin-kubernetes",
            "--kubefed-namespace",
            &ns,
        ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// Leftover RBAC from an earlier join: refused before any write by default; with
/// `--error-on-existing=false` a binding with another roleRef is deleted and created again.
#[tokio::test]
async fn leftover_binding_with_another_role_ref() {
    let ns = unique("kf-leftover");
    init(&ns, "Cluster");
    let name = unique("m1");
    let role = format!("kubefed-controller-manager:{name}-fedhost");
    let member = client("member1").await;
    let crbs: Api<ClusterRoleBinding> = Api::all(member.clone());
    let stale: ClusterRoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": role},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "someone"}]
    }))
    .unwrap();
    crbs.create(&PostParams::default(), &stale).await.unwrap();
    let out = join(&ns, &[&name, "--cluster-context", "member1"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(&format!(
            "error: cluster role binding for service account {name}-fedhost in joining cluster {name} already exists\n"
        )),
        "{}",
        out.stderr
    );
    // Nothing was written: not even the ServiceAccount or the namespace.
    assert_eq!(
        member_objects(&member, &ns, &format!("{name}-fedhost")).await,
        vec![format!("ClusterRoleBinding {role}")]
    );
    assert!(
        Api::<Namespace>::all(member.clone())
            .get_opt(&ns)
            .await
            .unwrap()
            .is_none()
    );
    let out = join(
        &ns,
        &[
            &name,
            "--cluster-context",
            "member1",
            "--error-on-existing=false",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let crb = crbs.get(&role).await.unwrap();
    assert_eq!(
        crb.role_ref.name, role,
        "roleRef replaced by delete and create"
    );
    assert_eq!(
        unjoin(&ns, &[&name, "--cluster-context", "member1"]).code,
        0
    );
    assert!(crbs.get_opt(&role).await.unwrap().is_none());
}

/// A ValidatingAdmissionPolicy (and its binding) refusing the creation of one named object.
struct DenyCreate {
    policies: Api<ValidatingAdmissionPolicy>,
    bindings: Api<ValidatingAdmissionPolicyBinding>,
    name: String,
}

impl DenyCreate {
    async fn new(cluster: &Client, group: &str, resource: &str, object: &str) -> Self {
        let name = unique("deny");
        let policy: ValidatingAdmissionPolicy = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{
                    "apiGroups": [group], "apiVersions": ["*"],
                    "operations": ["CREATE"], "resources": [resource]
                }]},
                "validations": [{"expression": format!("object.metadata.name != '{object}'"), "message": "refused by test policy"}]
            }
        }))
        .unwrap();
        let binding: ValidatingAdmissionPolicyBinding = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"policyName": name, "validationActions": ["Deny"]}
        }))
        .unwrap();
        let policies: Api<ValidatingAdmissionPolicy> = Api::all(cluster.clone());
        let bindings: Api<ValidatingAdmissionPolicyBinding> = Api::all(cluster.clone());
        policies
            .create(&PostParams::default(), &policy)
            .await
            .unwrap();
        bindings
            .create(&PostParams::default(), &binding)
            .await
            .unwrap();
        DenyCreate {
            policies,
            bindings,
            name,
        }
    }

    /// Policies take effect asynchronously: wait until a dry-run create of `probe` is refused.
    async fn wait_until_refused<K>(&self, api: &Api<K>, probe: &K)
    where
        K: kube::Resource
            + Clone
            + serde::Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let dry = PostParams {
            dry_run: true,
            ..Default::default()
        };
        for _ in 0..100 {
            if api.create(&dry, probe).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("policy {} never took effect", self.name);
    }

    async fn remove(self) {
        self.bindings
            .delete(&self.name, &DeleteParams::default())
            .await
            .unwrap();
        self.policies
            .delete(&self.name, &DeleteParams::default())
            .await
            .unwrap();
    }
}

/// The RBAC objects and the credentials are written at the same time: when the RBAC side fails,
/// what the other side created is deleted too, and nothing reaches the host.
#[tokio::test]
async fn failed_rbac_write_rolls_back_the_concurrent_credentials() {
    let ns = unique("kf-fail-rbac");
    let name = unique("m2");
    init(&ns, "Cluster");
    let host = client("fedhost").await;
    let member = client("member2").await;
    let sa = format!("{name}-fedhost");
    let role = format!("kubefed-controller-manager:{sa}");
    let probe: ClusterRoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": role},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    }))
    .unwrap();
    let policy = DenyCreate::new(
        &member,
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        &role,
    )
    .await;
    policy
        .wait_until_refused(&Api::<ClusterRoleBinding>::all(member.clone()), &probe)
        .await;

    let out = join(&ns, &[&name, "--cluster-context", "member2"]);
    policy.remove().await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "error: failed to join cluster `{name}`; every object this run created was deleted again\n\nCaused by:\n    \
             failed to create ClusterRoleBinding `{role}` in cluster `member2`\n"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(
        member_objects(&member, &ns, &sa).await,
        Vec::<String>::new()
    );
    assert!(
        Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
            .get_opt(&name)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        host_secrets(&host, &ns, &name).await.is_empty(),
        "host Secret left behind"
    );
}

/// `unjoin --dry-run` (client and server) lists what it would delete on both sides and deletes
/// nothing.
#[tokio::test]
async fn unjoin_dry_run_lists_both_sides_and_deletes_nothing() {
    let ns = unique("kf-unjoin-dry");
    let name = unique("m1");
    init(&ns, "Cluster");
    let host = client("fedhost").await;
    let member = client("member1").await;
    assert_eq!(join(&ns, &[&name, "--cluster-context", "member1"]).code, 0);
    let sa = format!("{name}-fedhost");
    let before = member_objects(&member, &ns, &sa).await;
    assert_eq!(before.len(), 4, "{before:?}");
    for mode in ["--dry-run", "--dry-run=server"] {
        let out = unjoin(
            &ns,
            &[&name, "--cluster-context", "member1", mode, "-o", "json"],
        );
        assert_eq!(out.code, 0, "{mode}: {}", out.stderr);
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let mut listed: Vec<String> = report["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                format!(
                    "{} {}",
                    w["location"].as_str().unwrap(),
                    w["resource"].as_str().unwrap()
                )
            })
            .collect();
        listed.sort();
        assert_eq!(
            listed,
            [
                "host kubefedcluster.core.kubefed.io",
                "host secret",
                "member clusterrole.rbac.authorization.k8s.io",
                "member clusterrolebinding.rbac.authorization.k8s.io",
                "member namespace",
                "member secret",
                "member serviceaccount",
            ],
            "{mode}: {}",
            out.stdout
        );
        assert_eq!(member_objects(&member, &ns, &sa).await, before, "{mode}");
        let member_ns = Api::<Namespace>::all(member.clone())
            .get_opt(&ns)
            .await
            .unwrap();
        assert!(
            member_ns.is_some_and(|n| n.metadata.deletion_timestamp.is_none()),
            "{mode}"
        );
        assert!(
            Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
                .get_opt(&name)
                .await
                .unwrap()
                .is_some(),
            "{mode}"
        );
    }
    assert_eq!(
        unjoin(&ns, &[&name, "--cluster-context", "member1"]).code,
        0
    );
    assert_eq!(
        member_objects(&member, &ns, &sa).await,
        Vec::<String>::new()
    );
}

/// Create a ConfigMap `name` in `ns` of `member`: a user's object the join did not create.
async fn user_config_map(member: &Client, ns: &str, name: &str) {
    use k8s_openapi::api::core::v1::ConfigMap;
    Api::<ConfigMap>::namespaced(member.clone(), ns)
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                serde_json::json!({"metadata": {"name": name}, "data": {"k": "v"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
}

/// Whether `ns` exists on `member` and is not being deleted.
async fn namespace_alive(member: &Client, ns: &str) -> bool {
    Api::<Namespace>::all(member.clone())
        .get_opt(ns)
        .await
        .unwrap()
        .is_some_and(|n| n.metadata.deletion_timestamp.is_none())
}

// Pins issue 12.1: `unjoin` of a name that was never joined deleted the member's namespace.
#[tokio::test]
async fn unjoin_of_a_name_never_joined_keeps_the_member_namespace() {
    let ns = unique("kf-typo");
    let name = unique("m1");
    init(&ns, "Cluster");
    assert_eq!(join(&ns, &[&name, "--cluster-context", "member1"]).code, 0);
    let member = client("member1").await;
    let host = client("fedhost").await;
    user_config_map(&member, &ns, "users-own").await;
    let typo = format!("{name}-typo");
    let out = unjoin(&ns, &[&typo, "--cluster-context", "member1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "KubeFedCluster `{ns}/{typo}` does not exist in cluster `fedhost`"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("joined clusters in namespace `{ns}`: {name}")),
        "{}",
        out.stderr
    );
    assert!(
        namespace_alive(&member, &ns).await,
        "member namespace deleted"
    );
    assert_eq!(
        member_objects(&member, &ns, &format!("{name}-fedhost"))
            .await
            .len(),
        4,
        "the real join's objects"
    );
    assert!(
        Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(member.clone(), &ns)
            .get_opt("users-own")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
            .get_opt(&name)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        unjoin(&ns, &[&name, "--cluster-context", "member1"]).code,
        0
    );
    let _ = Api::<Namespace>::all(member)
        .delete(&ns, &DeleteParams::default())
        .await;
}

// Pins issue 12.1: a real unjoin deleted the member namespace with another join and a
// user's objects in it.
#[tokio::test]
async fn unjoin_keeps_a_member_namespace_holding_objects_the_join_did_not_create() {
    let ns = unique("kf-shared");
    let (a, b) = (unique("a"), unique("b"));
    init(&ns, "Cluster");
    let member = client("member2").await;
    assert_eq!(join(&ns, &[&a, "--cluster-context", "member2"]).code, 0);
    let out = join(
        &ns,
        &[&b, "--cluster-context", "member2", "--allow-duplicate"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    user_config_map(&member, &ns, "users-own").await;
    let out = unjoin(&ns, &[&a, "--cluster-context", "member2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("kubefedcluster.core.kubefed.io/{a} unjoined\n")
    );
    assert!(
        out.stderr.contains(&format!(
            "keeping Namespace `{ns}` in cluster `member2`: it holds objects this join did not create: "
        )) && out.stderr.contains("ConfigMap `users-own`")
            && out.stderr.contains(&format!("ServiceAccount `{b}-fedhost`")),
        "{}",
        out.stderr
    );
    assert!(
        namespace_alive(&member, &ns).await,
        "member namespace deleted"
    );
    assert_eq!(
        member_objects(&member, &ns, &format!("{a}-fedhost")).await,
        Vec::<String>::new()
    );
    assert_eq!(
        member_objects(&member, &ns, &format!("{b}-fedhost"))
            .await
            .len(),
        4,
        "the other join's objects"
    );
    // The last join goes; the user's ConfigMap still keeps the namespace.
    let out = unjoin(&ns, &[&b, "--cluster-context", "member2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        namespace_alive(&member, &ns).await,
        "member namespace deleted"
    );
    let _ = Api::<Namespace>::all(member)
        .delete(&ns, &DeleteParams::default())
        .await;
}

// Pins issue 12.4: a re-join with --error-on-existing=false never removed
// disabledTLSValidations (nor caBundle), so an insecure member stayed insecure.
#[tokio::test]
async fn rejoin_with_a_real_ca_removes_disabled_tls_validations() {
    let ns = unique("kf-retls");
    let name = unique("m2");
    init(&ns, "Cluster");
    let out = join(&ns, &[&name, "--cluster-context", "insecure-member2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let kfcs = Api::<KubeFedCluster>::namespaced(client("fedhost").await, &ns);
    let before = kfcs.get(&name).await.unwrap();
    assert_eq!(
        serde_json::to_value(&before.spec.disabled_tls_validations).unwrap(),
        serde_json::json!(["*"])
    );
    let out = join(
        &ns,
        &[
            &name,
            "--cluster-context",
            "member2",
            "--error-on-existing=false",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = kfcs.get(&name).await.unwrap();
    let spec = serde_json::to_value(&after.spec).unwrap();
    assert_eq!(
        spec.get("disabledTLSValidations"),
        None,
        "still insecure: {spec}"
    );
    assert_eq!(after.spec.ca_bundle.unwrap().0, kubeconfig_ca());
    assert_eq!(after.spec.secret_ref, before.spec.secret_ref);
    assert_eq!(
        unjoin(&ns, &[&name, "--cluster-context", "member2"]).code,
        0
    );
}

// Pins issue 12.8: a huge --token-timeout panicked (exit 101) after the member objects were
// written; a huge --wait-timeout overflowed while parsing.
#[tokio::test]
async fn huge_durations_are_usage_errors_before_any_write() {
    let ns = unique("kf-timeout");
    let name = unique("m1");
    init(&ns, "Cluster");
    let member = client("member1").await;
    for timeout in ["18446744073709551615s", "307445734561825861m"] {
        let out = join(
            &ns,
            &[
                &name,
                "--cluster-context",
                "member1",
                "--token-timeout",
                timeout,
            ],
        );
        assert_eq!(out.code, 2, "{timeout}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "invalid value '{timeout}' for '--token-timeout <DURATION>'"
            )),
            "{}",
            out.stderr
        );
        assert_eq!(
            member_objects(&member, &ns, &format!("{name}-fedhost")).await,
            Vec::<String>::new(),
            "{timeout}"
        );
        assert!(
            Api::<Namespace>::all(member.clone())
                .get_opt(&ns)
                .await
                .unwrap()
                .is_none(),
            "{timeout}"
        );
    }
    let out = kf(
        &ns,
        &[
            "disable",
            "configmaps",
            "--wait-timeout",
            "307445734561825861m",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("invalid value '307445734561825861m' for '--wait-timeout <DURATION>'"),
        "{}",
        out.stderr
    );
}

/// A copy of the federation's kubeconfig in `dir` with extra contexts `alias` for `cluster`
/// (the admin user): names of a test's own, since cluster-scoped RBAC names include them.
fn kubeconfig_with_aliases(dir: &std::path::Path, aliases: &[(&str, &str)]) -> std::path::PathBuf {
    let path = dir.join("config");
    let mut doc: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&federation().kubeconfig).unwrap())
            .unwrap();
    let contexts = doc["contexts"].as_array_mut().unwrap();
    for (alias, cluster) in aliases {
        contexts.push(
            serde_json::json!({"name": alias, "context": {"cluster": cluster, "user": "admin"}}),
        );
    }
    std::fs::write(&path, serde_saphyr::to_string(&doc).unwrap()).unwrap();
    path
}

/// kubefedctl `args` with `kubeconfig`, against the control plane in `ns` on fedhost.
fn kf_with(kubeconfig: &std::path::Path, ns: &str, args: &[&str]) -> crate::util::Run {
    run(crate::util::kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "--host-cluster-context",
            "fedhost",
            "--kubefed-namespace",
            ns,
        ])
        .args(args))
}

// Pins review 2.7: `join a a`, and two contexts of one physical cluster in one command, both
// joined concurrently and bypassed the duplicate check.
#[tokio::test]
async fn join_of_one_cluster_twice_in_one_command_is_refused_before_any_write() {
    let ns = unique("kf-twice");
    init(&ns, "Cluster");
    let (a, b) = (unique("twice-a"), unique("twice-b"));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_with_aliases(dir.path(), &[(&a, "member1"), (&b, "member1")]);
    let member = client("member1").await;
    let host = client("fedhost").await;
    let out = kf_with(&kubeconfig, &ns, &["join", &a, &a]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("cluster name `{a}` is given more than once")),
        "{}",
        out.stderr
    );
    let out = kf_with(&kubeconfig, &ns, &["join", &a, &b]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "clusters `{a}` and `{b}` are the same cluster (kube-system namespace UID "
        )),
        "{}",
        out.stderr
    );
    assert!(
        Api::<Namespace>::all(member.clone())
            .get_opt(&ns)
            .await
            .unwrap()
            .is_none(),
        "member namespace written"
    );
    assert!(
        Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "a KubeFedCluster was written"
    );
}

// Pins review 2.1: `join --yes` still prompted on a terminal and did nothing without one.
#[tokio::test]
async fn join_yes_renames_the_host_context_without_a_terminal() {
    let ns = unique("kf-yes");
    let name = unique("m2");
    init(&ns, "Cluster");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("config");
    std::fs::copy(&federation().kubeconfig, &copy).unwrap();
    let with_copy = |args: &[&str]| {
        run(crate::util::kubefedctl_bare()
            .arg("--kubeconfig")
            .arg(&copy)
            .args(["--kubefed-namespace", &ns])
            .args(args))
    };
    let out = with_copy(&[
        "join",
        &name,
        "--cluster-context",
        "member2",
        "--host-cluster-context",
        "kubernetes-admin@kubernetes",
        "--yes",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "Renamed context `kubernetes-admin@kubernetes` to `kubernetes-admin-kubernetes`"
        ),
        "{}",
        out.stderr
    );
    let renamed: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&copy).unwrap()).unwrap();
    let contexts: Vec<&str> = renamed["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        contexts.contains(&"kubernetes-admin-kubernetes")
            && !contexts.contains(&"kubernetes-admin@kubernetes"),
        "{contexts:?}"
    );
    let out = with_copy(&[
        "unjoin",
        &name,
        "--cluster-context",
        "member2",
        "--host-cluster-context",
        "kubernetes-admin-kubernetes",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

// Pins review 3.3: `unjoin` took one cluster where `join` takes several.
#[tokio::test]
async fn unjoin_accepts_several_clusters_like_join() {
    let ns = unique("kf-unjoin-many");
    init(&ns, "Cluster");
    let (a, b) = (unique("many-a"), unique("many-b"));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_with_aliases(dir.path(), &[(&a, "member1"), (&b, "member2")]);
    let host = client("fedhost").await;
    let out = kf_with(&kubeconfig, &ns, &["join", &a, &b]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = kf_with(
        &kubeconfig,
        &ns,
        &["unjoin", &a, &b, "--cluster-context", &a],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = kf_with(&kubeconfig, &ns, &["unjoin", &a, &b]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "kubefedcluster.core.kubefed.io/{a} unjoined\nkubefedcluster.core.kubefed.io/{b} unjoined\n"
        )
    );
    assert!(
        Api::<KubeFedCluster>::namespaced(host.clone(), &ns)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    for (name, member) in [(&a, "member1"), (&b, "member2")] {
        assert_eq!(
            member_objects(&client(member).await, &ns, &format!("{name}-fedhost")).await,
            Vec::<String>::new(),
            "{member}"
        );
    }
}

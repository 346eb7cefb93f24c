//! Differential tests against the original Go KubeFed v0.10.0: `kubefedctl` and
//! `kubefed-controller-manager`, built by `tests/testenv/kubefed/build.sh`.
//!
//! Both tools join the same cluster under two names in the same control-plane namespace; the
//! objects each join wrote are fetched as JSON, normalized (server-set metadata, tokens, the
//! generated Secret suffix, and the cluster name itself replaced by placeholders) and compared.
//! The only differences allowed are the ones in docs/migrating-from-go-kubefedctl.md, and each
//! is asserted explicitly.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use base64::Engine as _;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::{Client, Resource};
use kubefedctl::api::{KubeFedCluster, KubeFedConfig};
use serde_json::{Value, json};

use crate::federation::{federation, repo};
use crate::util::{Run, client, kubefedctl, run, unique};

const HOST_NAME_ANNOTATION: &str = "kubefedctl.io/host-cluster-name";
const CLUSTER_UID_ANNOTATION: &str = "kubefedctl.io/cluster-uid";

/// The directory holding the Go `kubefedctl` and `kubefed-controller-manager` (built on first
/// use, then cached outside the repo).
fn go_bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = std::process::Command::new(repo().join("tests/testenv/kubefed/build.sh"))
            .output()
            .expect("run tests/testenv/kubefed/build.sh");
        assert!(
            out.status.success(),
            "tests/testenv/kubefed/build.sh failed (needs Go >= 1.26):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
        let dir = PathBuf::from(stdout.lines().last().expect("bin dir line").trim());
        assert!(
            dir.join("kubefedctl").is_file(),
            "no kubefedctl in {}",
            dir.display()
        );
        dir
    })
}

/// The Go kubefedctl v0.10.0, with the same isolated environment and kubeconfig as `kubefedctl()`.
fn go_kubefedctl() -> Command {
    let mut cmd = Command::new(go_bin_dir().join("kubefedctl"));
    cmd.env_remove("KUBECONFIG")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("HOME", std::env::temp_dir().join("kubefedctl-test-home"))
        .arg("--kubeconfig")
        .arg(&federation().kubeconfig);
    cmd
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tool {
    Go,
    Rust,
}

impl Tool {
    fn command(self) -> Command {
        match self {
            Tool::Go => go_kubefedctl(),
            Tool::Rust => kubefedctl(),
        }
    }
}

fn init(ns: &str, scope: &str) {
    let out = run(kubefedctl().args([
        "init",
        "--host-cluster-context",
        "fedhost",
        "--kubefed-namespace",
        ns,
        "--scope",
        scope,
    ]));
    assert_eq!(out.code, 0, "init: {}", out.stderr);
}

/// `join`/`unjoin` with either tool; asserts success and returns the wall time.
fn op(tool: Tool, verb: &str, ns: &str, name: &str, context: &str) -> Duration {
    op_with(tool, verb, ns, name, context, &[])
}

fn op_with(
    tool: Tool,
    verb: &str,
    ns: &str,
    name: &str,
    context: &str,
    extra: &[&str],
) -> Duration {
    let start = Instant::now();
    let out: Run = run(tool
        .command()
        .args([
            verb,
            name,
            "--cluster-context",
            context,
            "--host-cluster-context",
            "fedhost",
            "--kubefed-namespace",
            ns,
        ])
        .args(extra));
    let took = start.elapsed();
    assert_eq!(
        out.code, 0,
        "{tool:?} kubefedctl {verb} {name} --cluster-context {context}: stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    eprintln!(
        "referee: {tool:?} {verb} {name} ({context}) took {} ms",
        took.as_millis()
    );
    took
}

/// An object as the API server returns it, or `Value::Null` when it does not exist.
async fn get_json<K>(client: &Client, ns: Option<&str>, name: &str) -> Value
where
    K: Resource<DynamicType = ()>,
{
    let ar = ApiResource::erase::<K>(&());
    let api: Api<DynamicObject> = match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    match api.get_opt(name).await.expect("get") {
        Some(o) => serde_json::to_value(o).unwrap(),
        None => Value::Null,
    }
}

fn replace_strings(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) => *s = s.replace(from, to),
        Value::Array(a) => a.iter_mut().for_each(|x| replace_strings(x, from, to)),
        Value::Object(m) => {
            let entries: Vec<(String, Value)> = std::mem::take(m)
                .into_iter()
                .map(|(k, mut x)| {
                    replace_strings(&mut x, from, to);
                    (k.replace(from, to), x)
                })
                .collect();
            m.extend(entries);
        }
        _ => {}
    }
}

/// Drop what the server sets per object; replace per-join strings by placeholders
/// (`replacements` in order: longer, more specific strings first).
fn normalize(mut v: Value, replacements: &[(&str, &str)]) -> Value {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "generation",
        ] {
            meta.remove(k);
        }
    }
    if let Some(data) = v.get_mut("data").and_then(Value::as_object_mut)
        && data.contains_key("token")
    {
        data.insert("token".into(), "<token>".into());
    }
    for (from, to) in replacements {
        replace_strings(&mut v, from, to);
    }
    v
}

/// Who wrote the object and how (`managedFields`, reduced to manager and operation).
fn managers(v: &Value) -> Vec<String> {
    let mut m: Vec<String> = v["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    format!(
                        "{} {}",
                        f["manager"].as_str().unwrap_or("?"),
                        f["operation"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    m.sort();
    m
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().expect("base64 string"))
        .expect("base64")
}

/// Everything one join wrote, normalized, by place and kind.
struct Joined {
    objects: BTreeMap<&'static str, Value>,
    /// `managedFields` managers per object, to report how each tool writes.
    managers: BTreeMap<&'static str, Vec<String>>,
    /// The member token Secret's `ca.crt`.
    token_ca: Vec<u8>,
}

async fn snapshot(member_ctx: &str, ns: &str, name: &str) -> Joined {
    let member = client(member_ctx).await;
    let host = client("fedhost").await;
    let sa = format!("{name}-fedhost");
    let role = format!("kubefed-controller-manager:{sa}");
    let health = format!("kubefed-controller-manager:{ns}:healthcheck-{sa}");
    let mut raw: BTreeMap<&'static str, Value> = BTreeMap::new();
    raw.insert(
        "member ServiceAccount",
        get_json::<ServiceAccount>(&member, Some(ns), &sa).await,
    );
    raw.insert(
        "member token Secret",
        get_json::<Secret>(&member, Some(ns), &sa).await,
    );
    raw.insert(
        "member ClusterRole",
        get_json::<ClusterRole>(&member, None, &role).await,
    );
    raw.insert(
        "member ClusterRoleBinding",
        get_json::<ClusterRoleBinding>(&member, None, &role).await,
    );
    raw.insert(
        "member Role",
        get_json::<Role>(&member, Some(ns), &role).await,
    );
    raw.insert(
        "member RoleBinding",
        get_json::<RoleBinding>(&member, Some(ns), &role).await,
    );
    raw.insert(
        "member health-check ClusterRole",
        get_json::<ClusterRole>(&member, None, &health).await,
    );
    raw.insert(
        "member health-check ClusterRoleBinding",
        get_json::<ClusterRoleBinding>(&member, None, &health).await,
    );
    let kfc = get_json::<KubeFedCluster>(&host, Some(ns), name).await;
    assert!(!kfc.is_null(), "KubeFedCluster {ns}/{name} missing");
    let secret_name = kfc["spec"]["secretRef"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        secret_name.starts_with(&format!("{name}-")) && secret_name.len() == name.len() + 6,
        "host Secret name `{secret_name}` is not generateName `{name}-` plus 5 characters"
    );
    raw.insert(
        "host Secret",
        get_json::<Secret>(&host, Some(ns), &secret_name).await,
    );
    raw.insert("host KubeFedCluster", kfc);

    // What normalization hides, checked here: the tokens match, the token Secret belongs to
    // the ServiceAccount, and no other host Secret was generated for this cluster.
    let sa_obj = &raw["member ServiceAccount"];
    let token_secret = &raw["member token Secret"];
    assert!(!sa_obj.is_null() && !token_secret.is_null());
    assert_eq!(
        token_secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"],
        sa_obj["metadata"]["uid"]
    );
    let token = b64(&token_secret["data"]["token"]);
    assert!(!token.is_empty());
    assert_eq!(
        b64(&raw["host Secret"]["data"]["token"]),
        token,
        "host Secret token differs from the member token"
    );
    assert_eq!(b64(&token_secret["data"]["namespace"]), ns.as_bytes());
    let token_ca = b64(&token_secret["data"]["ca.crt"]);
    let generated: Vec<String> = Api::<Secret>::namespaced(host.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .filter(|n| n.starts_with(&format!("{name}-")) && n.len() == name.len() + 6)
        .collect();
    assert_eq!(generated, vec![secret_name.clone()]);

    let sa_uid = sa_obj["metadata"]["uid"].as_str().unwrap().to_string();
    let replacements = [
        (secret_name.as_str(), "<CLUSTER>-<generated>"),
        (sa_uid.as_str(), "<sa-uid>"),
        (name, "<CLUSTER>"),
        (ns, "<NS>"),
    ];
    let managers = raw.iter().map(|(k, v)| (*k, managers(v))).collect();
    let objects = raw
        .into_iter()
        .map(|(k, v)| (k, normalize(v, &replacements)))
        .collect();
    Joined {
        objects,
        managers,
        token_ca,
    }
}

async fn kube_system_uid(context: &str) -> String {
    Api::<Namespace>::all(client(context).await)
        .get("kube-system")
        .await
        .unwrap()
        .metadata
        .uid
        .unwrap()
}

/// The documented difference: our KubeFedCluster carries exactly two annotations, Go's none.
/// Asserts that, removes them from ours, and returns the remaining objects of both.
async fn assert_documented_differences(
    go: &Joined,
    rust: &Joined,
    member_ctx: &str,
) -> (BTreeMap<&'static str, Value>, BTreeMap<&'static str, Value>) {
    let go_kfc = &go.objects["host KubeFedCluster"];
    assert!(
        go_kfc["metadata"].get("annotations").is_none(),
        "Go KubeFedCluster has annotations: {go_kfc}"
    );
    let mut ours = rust.objects.clone();
    let kfc = ours.get_mut("host KubeFedCluster").unwrap();
    let annotations = kfc["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations")
        .expect("our KubeFedCluster has annotations");
    assert_eq!(
        annotations,
        json!({
            HOST_NAME_ANNOTATION: "fedhost",
            CLUSTER_UID_ANNOTATION: kube_system_uid(member_ctx).await,
        })
    );
    (go.objects.clone(), ours)
}

fn assert_same(go: &BTreeMap<&'static str, Value>, rust: &BTreeMap<&'static str, Value>) {
    let keys: Vec<_> = go.keys().collect();
    assert_eq!(keys, rust.keys().collect::<Vec<_>>());
    for k in keys {
        assert_eq!(
            go[k],
            rust[k],
            "{k} differs\n Go:   {}\n Rust: {}",
            serde_json::to_string_pretty(&go[k]).unwrap(),
            serde_json::to_string_pretty(&rust[k]).unwrap()
        );
    }
}

fn present(objects: &BTreeMap<&'static str, Value>) -> Vec<&'static str> {
    objects
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| *k)
        .collect()
}

/// Join `member_ctx` with both tools under two names into `ns`; compare; return both names.
async fn join_both_and_compare(
    ns: &str,
    member_ctx: &str,
    object_ctx: &str,
    expected: &[&str],
) -> (String, String, Joined, Joined) {
    let go_name = unique("gojoin");
    let rs_name = unique("rsjoin");
    let go_took = op(Tool::Go, "join", ns, &go_name, member_ctx);
    // The same physical cluster twice: ours refuses that unless told (it detects it by the
    // cluster-uid annotation, which only its own joins write; the flag changes no object).
    let rs_took = op_with(
        Tool::Rust,
        "join",
        ns,
        &rs_name,
        member_ctx,
        &["--allow-duplicate"],
    );
    eprintln!(
        "referee: join {member_ctx} into {ns}: Go {} ms, Rust {} ms",
        go_took.as_millis(),
        rs_took.as_millis()
    );
    let go = snapshot(object_ctx, ns, &go_name).await;
    let rust = snapshot(object_ctx, ns, &rs_name).await;
    assert_eq!(present(&go.objects), expected, "objects written by Go");
    assert_eq!(present(&rust.objects), expected, "objects written by Rust");
    // Both write with field manager `kubefedctl`, operation Update (no server-side apply), so
    // field ownership is the same whichever tool joined.
    assert_eq!(go.managers, rust.managers, "managedFields managers");
    let (g, r) = assert_documented_differences(&go, &rust, object_ctx).await;
    assert_same(&g, &r);
    (go_name, rs_name, go, rust)
}

const CLUSTER_SCOPE_OBJECTS: [&str; 6] = [
    "host KubeFedCluster",
    "host Secret",
    "member ClusterRole",
    "member ClusterRoleBinding",
    "member ServiceAccount",
    "member token Secret",
];

const NAMESPACED_SCOPE_OBJECTS: [&str; 8] = [
    "host KubeFedCluster",
    "host Secret",
    "member Role",
    "member RoleBinding",
    "member ServiceAccount",
    "member health-check ClusterRole",
    "member health-check ClusterRoleBinding",
    "member token Secret",
];

/// The registration objects of `name` still on the member, and the host side.
async fn leftovers(member_ctx: &str, ns: &str, name: &str) -> Vec<&'static str> {
    let mut left = present(&{
        let member = client(member_ctx).await;
        let sa = format!("{name}-fedhost");
        let role = format!("kubefed-controller-manager:{sa}");
        let health = format!("kubefed-controller-manager:{ns}:healthcheck-{sa}");
        BTreeMap::from([
            (
                "member ServiceAccount",
                get_json::<ServiceAccount>(&member, Some(ns), &sa).await,
            ),
            (
                "member token Secret",
                get_json::<Secret>(&member, Some(ns), &sa).await,
            ),
            (
                "member ClusterRole",
                get_json::<ClusterRole>(&member, None, &role).await,
            ),
            (
                "member ClusterRoleBinding",
                get_json::<ClusterRoleBinding>(&member, None, &role).await,
            ),
            (
                "member Role",
                get_json::<Role>(&member, Some(ns), &role).await,
            ),
            (
                "member RoleBinding",
                get_json::<RoleBinding>(&member, Some(ns), &role).await,
            ),
            (
                "member health-check ClusterRole",
                get_json::<ClusterRole>(&member, None, &health).await,
            ),
            (
                "member health-check ClusterRoleBinding",
                get_json::<ClusterRoleBinding>(&member, None, &health).await,
            ),
        ])
    });
    let host = client("fedhost").await;
    if !get_json::<KubeFedCluster>(&host, Some(ns), name)
        .await
        .is_null()
    {
        left.push("host KubeFedCluster");
    }
    let secrets = Api::<Secret>::namespaced(host, ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    if secrets.items.iter().any(|s| {
        s.metadata
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with(&format!("{name}-")) && n.len() == name.len() + 6)
    }) {
        left.push("host Secret");
    }
    left
}

/// Polls until `f` is true (every 100 ms, at most `limit`); returns how long it took.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if f().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn namespace_state(context: &str, ns: &str) -> &'static str {
    match Api::<Namespace>::all(client(context).await)
        .get_opt(ns)
        .await
        .unwrap()
    {
        None => "gone",
        Some(n) if n.metadata.deletion_timestamp.is_some() => "terminating",
        Some(_) => "active",
    }
}

#[tokio::test]
async fn go_and_rust_join_write_the_same_objects() {
    // Cluster scope: member1 under two names in one namespace.
    let ns = unique("kf-ref");
    init(&ns, "Cluster");
    let (g, r, go, _) =
        join_both_and_compare(&ns, "member1", "member1", &CLUSTER_SCOPE_OBJECTS).await;
    // The shapes themselves (normalization could hide a shared mistake).
    let objects = &go.objects;
    assert_eq!(
        objects["member ClusterRole"]["rules"],
        json!([
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["get"]}
        ])
    );
    assert_eq!(
        objects["member ClusterRoleBinding"]["subjects"],
        json!([{"kind": "ServiceAccount", "name": "<CLUSTER>-fedhost", "namespace": "<NS>"}])
    );
    assert_eq!(
        objects["host KubeFedCluster"]["spec"]["secretRef"],
        json!({"name": "<CLUSTER>-<generated>"})
    );
    assert_eq!(objects["host KubeFedCluster"]["spec"]["proxyURL"], "");
    assert_eq!(go.managers["host KubeFedCluster"], ["kubefedctl Update"]);
    assert_eq!(
        go.managers["member token Secret"],
        ["kube-controller-manager Update", "kubefedctl Update"]
    );
    assert_eq!(
        objects["host Secret"]["data"],
        json!({"token": "<token>"}),
        "only the token is copied to the host"
    );
    for n in [&g, &r] {
        op(Tool::Rust, "unjoin", &ns, n, "member1");
    }

    // Namespaced scope: member2; Role/RoleBinding plus the health-check ClusterRole/Binding.
    let ns = unique("kf-refns");
    init(&ns, "Namespaced");
    let (g, r, go, _) =
        join_both_and_compare(&ns, "member2", "member2", &NAMESPACED_SCOPE_OBJECTS).await;
    let objects = &go.objects;
    assert_eq!(
        objects["member Role"]["rules"],
        json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
    );
    assert_eq!(
        objects["member health-check ClusterRole"]["rules"],
        json!([
            {"nonResourceURLs": ["/healthz"], "verbs": ["Get"]},
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}
        ])
    );
    assert_eq!(
        objects["member health-check ClusterRoleBinding"]["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
               "name": "kubefed-controller-manager:<NS>:healthcheck-<CLUSTER>-fedhost"})
    );
    for n in [&g, &r] {
        op(Tool::Rust, "unjoin", &ns, n, "member2");
    }
}

#[tokio::test]
async fn cluster_joined_by_go_is_unjoined_by_rust_and_reverse() {
    // Each direction in its own namespace, so each tool creates the member namespace itself.
    let go_ns = unique("kf-refgo");
    let rs_ns = unique("kf-refrs");
    init(&go_ns, "Cluster");
    init(&rs_ns, "Cluster");
    let go_name = unique("gojoin");
    let rs_name = unique("rsjoin");
    op(Tool::Go, "join", &go_ns, &go_name, "member1");
    op(Tool::Rust, "join", &rs_ns, &rs_name, "member1");
    let member = client("member1").await;
    let member_ns = |ns: String| {
        let member = member.clone();
        async move { get_json::<Namespace>(&member, None, &ns).await }
    };
    // Both create the member namespace the same way.
    let go_member_ns = normalize(member_ns(go_ns.clone()).await, &[(&go_ns, "<NS>")]);
    let rs_member_ns = normalize(member_ns(rs_ns.clone()).await, &[(&rs_ns, "<NS>")]);
    assert_eq!(go_member_ns, rs_member_ns);
    assert_eq!(
        go_member_ns["metadata"]["labels"],
        json!({"kubernetes.io/metadata.name": "<NS>"})
    );

    // Go join, Rust unjoin: nothing is left on either side, and the member namespace goes.
    op(Tool::Rust, "unjoin", &go_ns, &go_name, "member1");
    assert_eq!(
        leftovers("member1", &go_ns, &go_name).await,
        Vec::<&str>::new()
    );
    let took = eventually(Duration::from_secs(60), "member namespace deleted", || {
        let ns = go_ns.clone();
        async move { namespace_state("member1", &ns).await == "gone" }
    })
    .await;
    eprintln!(
        "referee: member namespace gone {} ms after Rust unjoin",
        took.as_millis()
    );
    assert_eq!(namespace_state("fedhost", &go_ns).await, "active");

    // Rust join, Go unjoin: Go deletes RBAC, the ServiceAccount, the member namespace, the host
    // Secret and the KubeFedCluster, but not the token Secret; that goes with its namespace (or
    // the token controller, after the ServiceAccount).
    op(Tool::Go, "unjoin", &rs_ns, &rs_name, "member1");
    let right_after = leftovers("member1", &rs_ns, &rs_name).await;
    eprintln!("referee: right after Go unjoin: {right_after:?}");
    assert!(
        right_after.is_empty() || right_after == ["member token Secret"],
        "{right_after:?}"
    );
    assert_ne!(namespace_state("member1", &rs_ns).await, "active");
    let took = eventually(Duration::from_secs(60), "member namespace deleted", || {
        let ns = rs_ns.clone();
        async move { namespace_state("member1", &ns).await == "gone" }
    })
    .await;
    eprintln!(
        "referee: member namespace gone {} ms after Go unjoin",
        took.as_millis()
    );
    assert_eq!(
        leftovers("member1", &rs_ns, &rs_name).await,
        Vec::<&str>::new()
    );
    assert_eq!(namespace_state("fedhost", &rs_ns).await, "active");
}

#[tokio::test]
async fn host_self_join_by_both_tools() {
    let ns = unique("kf-refself");
    init(&ns, "Cluster");
    let (g, r, go, _) =
        join_both_and_compare(&ns, "fedhost", "fedhost", &CLUSTER_SCOPE_OBJECTS).await;
    assert_eq!(
        go.objects["host KubeFedCluster"]["spec"]["apiEndpoint"],
        federation().server_of("fedhost")
    );
    // Cross-unjoin: the host's control-plane namespace stays. Go does not delete the token
    // Secret; the token controller does, after the ServiceAccount is gone.
    op(Tool::Rust, "unjoin", &ns, &g, "fedhost");
    assert_eq!(leftovers("fedhost", &ns, &g).await, Vec::<&str>::new());
    op(Tool::Go, "unjoin", &ns, &r, "fedhost");
    let right_after = leftovers("fedhost", &ns, &r).await;
    eprintln!("referee: right after Go unjoin of the host: {right_after:?}");
    assert!(
        right_after.is_empty() || right_after == ["member token Secret"],
        "{right_after:?}"
    );
    let took = eventually(Duration::from_secs(30), "token Secret deleted", || {
        let (ns, r) = (ns.clone(), r.clone());
        async move { leftovers("fedhost", &ns, &r).await.is_empty() }
    })
    .await;
    eprintln!(
        "referee: nothing left {} ms after Go unjoin of the host",
        took.as_millis()
    );
    assert_eq!(namespace_state("fedhost", &ns).await, "active");
}

#[tokio::test]
async fn insecure_context_join_matches_go() {
    let ns = unique("kf-refinsec");
    init(&ns, "Cluster");
    let (g, r, go, rust) =
        join_both_and_compare(&ns, "insecure-member2", "member2", &CLUSTER_SCOPE_OBJECTS).await;
    let ca = std::fs::read(federation().dir.join("pki/ca.crt")).unwrap();
    for (tool, joined) in [("Go", &go), ("Rust", &rust)] {
        let spec = &joined.objects["host KubeFedCluster"]["spec"];
        assert_eq!(spec["disabledTLSValidations"], json!(["*"]), "{tool}");
        assert_eq!(spec["apiEndpoint"], federation().server_of("member2"));
        // No CA in the kubeconfig: the token Secret's ca.crt.
        assert_eq!(b64(&spec["caBundle"]), joined.token_ca, "{tool}");
        assert_eq!(joined.token_ca, ca, "{tool}");
    }
    for n in [&g, &r] {
        op(Tool::Rust, "unjoin", &ns, n, "member2");
    }
}

/// The upstream controller-manager as a child process, killed when dropped (also on panic).
struct Controller {
    child: Child,
    log: PathBuf,
}

impl Controller {
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// One KubeFedCluster's readiness as the controller reports it.
fn readiness(kfc: &Value) -> (String, String) {
    let ready = kfc["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .map_or("-".to_string(), |c| {
            format!("{} ({})", c["status"], c["reason"])
        });
    let version = kfc["status"]["kubernetesVersion"]
        .as_str()
        .unwrap_or("-")
        .to_string();
    (ready, version)
}

#[tokio::test]
async fn upstream_controller_marks_clusters_joined_by_rust_ready() {
    let ns = unique("kf-refctl");
    init(&ns, "Cluster");
    let fed = federation();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("controller-manager.log");
    let host = client("fedhost").await;
    let config_before = get_json::<KubeFedConfig>(&host, Some(&ns), "kubefed").await;
    assert!(!config_before.is_null(), "init made no KubeFedConfig");
    let (healthz, metrics) = (free_port(), free_port());
    let log_file = std::fs::File::create(&log).unwrap();
    let child = std::process::Command::new(go_bin_dir().join("kubefed-controller-manager"))
        .env_remove("KUBECONFIG")
        .arg("--kubeconfig")
        .arg(fed.dir.join("fedhost/admin.kubeconfig"))
        .arg(format!("--kubefed-namespace={ns}"))
        .arg(format!("--healthz-addr=127.0.0.1:{healthz}"))
        .arg(format!("--metrics-addr=127.0.0.1:{metrics}"))
        .arg("-v=2")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("start kubefed-controller-manager");
    let mut controller = Controller { child, log };

    let names = [
        (unique("ctl-m1"), "member1"),
        (unique("ctl-m2"), "member2"),
        (unique("ctl-host"), "fedhost"),
    ];
    for (name, ctx) in &names {
        op(Tool::Rust, "join", &ns, name, ctx);
    }
    let joined = Instant::now();
    let ar = ApiResource::erase::<KubeFedCluster>(&());
    let kfcs: Api<DynamicObject> = Api::namespaced_with(host.clone(), &ns, &ar);
    let mut last: Vec<(String, String, String)>;
    let ready = loop {
        if let Some(status) = controller.child.try_wait().unwrap() {
            panic!(
                "kubefed-controller-manager exited ({status}):\n{}",
                controller.log_tail()
            );
        }
        last = kfcs
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| {
                let v = serde_json::to_value(o).unwrap();
                let (ready, version) = readiness(&v);
                (o.metadata.name.clone().unwrap(), ready, version)
            })
            .collect();
        let all_ready = last.len() == names.len()
            && last
                .iter()
                .all(|(_, r, v)| r.starts_with("\"True\"") && v == "v1.37.2");
        if all_ready {
            break joined.elapsed();
        }
        assert!(
            joined.elapsed() < Duration::from_secs(60),
            "clusters not Ready after 60 s: {last:?}\ncontroller log:\n{}",
            controller.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!(
        "referee: upstream controller reported all {} clusters Ready {} ms after the last join: {last:?}",
        names.len(),
        ready.as_millis()
    );
    for (_, r, _) in &last {
        assert_eq!(r, "\"True\" (\"ClusterReady\")");
    }
    let health = http_get(healthz, "/healthz");
    assert!(
        health.starts_with("HTTP/1.0 200 ") && health.ends_with("\r\n\r\nOK"),
        "controller healthz: {health:?}"
    );
    // Leader election used a ConfigMap lock in the test's namespace.
    let lock = get_json::<k8s_openapi::api::core::v1::ConfigMap>(
        &host,
        Some(&ns),
        "kubefed-controller-manager",
    )
    .await;
    assert!(
        lock["metadata"]["annotations"]["control-plane.alpha.kubernetes.io/leader"].is_string(),
        "no leader-election ConfigMap lock: {lock}"
    );
    // It took the KubeFedConfig our init wrote as is (no defaults written back).
    let config_after = get_json::<KubeFedConfig>(&host, Some(&ns), "kubefed").await;
    assert_eq!(
        config_before["metadata"]["resourceVersion"],
        config_after["metadata"]["resourceVersion"]
    );
    let log = std::fs::read_to_string(&controller.log).unwrap();
    assert!(
        log.contains(&format!("Using valid KubeFedConfig \"{ns}/kubefed\"")),
        "{}",
        controller.log_tail()
    );
    // No error or warning about any of the joined clusters.
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with('E') || l.starts_with('W'))
        .collect();
    eprintln!("referee: controller E/W log lines: {complaints:?}");
    for (name, _) in &names {
        assert!(
            !complaints.iter().any(|l| l.contains(name.as_str())),
            "controller complained about {name}: {complaints:?}"
        );
    }
    for (name, ctx) in &names {
        op(Tool::Rust, "unjoin", &ns, name, ctx);
    }
    drop(controller);
}

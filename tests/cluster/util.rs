//! Helpers: run kubefedctl, talk to the clusters, unique names.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use assert_cmd::Command;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::federation::federation;

/// The kubefedctl binary with an isolated environment and the federation's kubeconfig.
pub fn kubefedctl() -> Command {
    with_federation(Command::cargo_bin("kubefedctl").expect("kubefedctl binary"))
}

/// `cmd` (kubefedctl, or Go kubefedctl) with an isolated environment and the federation's
/// kubeconfig.
pub fn with_federation(mut cmd: Command) -> Command {
    cmd.env_remove("KUBECONFIG")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("HOME", std::env::temp_dir().join("kubefedctl-test-home"))
        .arg("--kubeconfig")
        .arg(&federation().kubeconfig);
    cmd
}

/// The ten types upstream's `enable` directives cover (`config/enabletypedirectives`).
pub const DEFAULT_TYPES: [&str; 10] = [
    "clusterroles.rbac.authorization.k8s.io",
    "configmaps",
    "deployments.apps",
    "ingresses.networking.k8s.io",
    "jobs.batch",
    "namespaces",
    "replicasets.apps",
    "secrets",
    "serviceaccounts",
    "services",
];

/// The documents of a YAML stream (`---`-separated), empty ones dropped.
pub fn yaml_stream(text: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple::<serde_json::Value>(text)
        .unwrap_or_else(|e| panic!("not a YAML stream ({e}):\n{text}"))
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// kubefedctl without any kubeconfig flag (for loading-rule tests).
pub fn kubefedctl_bare() -> Command {
    let mut cmd = Command::cargo_bin("kubefedctl").expect("kubefedctl binary");
    cmd.env_remove("KUBECONFIG")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run kubefedctl");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A client for a context of the federation's kubeconfig.
pub async fn client(context: &str) -> Client {
    client_from(&federation().kubeconfig, context).await
}

pub async fn client_from(path: &Path, context: &str) -> Client {
    let kc = Kubeconfig::read_from(path).expect("read kubeconfig");
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

/// A name unique to this test process and call, for namespaces and objects.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id() % 100_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Replace `https://127.0.0.1:<port>` with `https://127.0.0.1:PORT` for exact comparisons.
pub fn redact_ports(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(i + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.chars().take_while(|c| c.is_ascii_digit()).count();
        out.push_str(if digits > 0 { "PORT" } else { "" });
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// An HTTP CONNECT proxy on loopback that only tunnels to 127.0.0.1, counting tunnels. It
/// stops when dropped. Needs a multi-threaded test runtime (the test blocks on processes).
pub struct ConnectProxy {
    port: u16,
    tunnels: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnectProxy {
    pub async fn start() -> Self {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tunnels = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = tunnels.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut reader = BufReader::new(socket);
                    let mut request = String::new();
                    if reader.read_line(&mut request).await.is_err() {
                        return;
                    }
                    let target = request
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_string();
                    let mut line = String::new();
                    while reader.read_line(&mut line).await.unwrap_or(0) > 2 {
                        line.clear();
                    }
                    let mut client = reader.into_inner();
                    // Only loopback targets: this proxy never reaches anything else.
                    if !request.starts_with("CONNECT 127.0.0.1:") {
                        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
                        return;
                    }
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await
                        .is_ok()
                    {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        ConnectProxy {
            port,
            tunnels,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn tunnels(&self) -> usize {
        self.tunnels.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A copy of the federation's kubeconfig in `dir` where `cluster` is reached through `proxy_url`.
pub fn kubeconfig_with_proxy(dir: &Path, cluster: &str, proxy_url: &str) -> std::path::PathBuf {
    kubeconfig_with(dir, "config", cluster, "proxy-url", proxy_url)
}

/// A copy of the federation's kubeconfig, as `dir/name`, with `key: value` set in the
/// cluster entry `cluster`.
pub fn kubeconfig_with(
    dir: &Path,
    name: &str,
    cluster: &str,
    key: &str,
    value: &str,
) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut doc: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&federation().kubeconfig).unwrap())
            .unwrap();
    for c in doc["clusters"].as_array_mut().unwrap() {
        if c["name"] == cluster {
            c["cluster"][key] = value.into();
        }
    }
    std::fs::write(&path, serde_saphyr::to_string(&doc).unwrap()).unwrap();
    path
}

/// kubefedctl `args` against the control plane in namespace `control_plane` on fedhost.
pub fn kf(control_plane: &str, args: &[&str]) -> Run {
    run(kubefedctl().args(args).args([
        "--host-cluster-context",
        "fedhost",
        "--kubefed-namespace",
        control_plane,
    ]))
}

/// A control plane of a test's own: `init` in namespace `ns` on fedhost.
pub fn init(ns: &str, scope: &str) {
    let out = kf(ns, &["init", "--scope", scope]);
    assert_eq!(out.code, 0, "init: {}", out.stderr);
}

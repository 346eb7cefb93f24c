//! Helpers: run kubefedctl, talk to the clusters, unique names.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use assert_cmd::Command;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::federation::federation;

/// The kubefedctl binary with an isolated environment and the federation's kubeconfig.
pub fn kubefedctl() -> Command {
    let mut cmd = Command::cargo_bin("kubefedctl").expect("kubefedctl binary");
    cmd.env_remove("KUBECONFIG")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("HOME", std::env::temp_dir().join("kubefedctl-test-home"))
        .arg("--kubeconfig")
        .arg(&federation().kubeconfig);
    cmd
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

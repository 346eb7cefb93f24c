//! Errors a user meets: each with its exact message and exit code, and nothing half-created.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;

use crate::federation::federation;
use crate::util::{client, kubefedctl, kubefedctl_bare, redact_ports, run, unique};

#[test]
fn missing_context_lists_available_contexts() {
    let out = run(kubefedctl().args(["init", "--host-cluster-context", "nope"]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "error: context `nope` not found in kubeconfig `{}`\n\nhint: available contexts: fedhost, member1, member2, \
             kubernetes-admin@kubernetes, exec-member1, insecure-member2, limited-member1\n",
            federation().kubeconfig.display()
        )
    );
}

#[test]
fn stopped_api_server_is_reported_with_context_and_url() {
    let fed = federation();
    let name = unique("stopped");
    let kubeconfig = fed.add_cluster(&name);
    let server = fed.server_of(&name);
    let pid = fed.pid_of(&format!("{name}-apiserver"));
    // Stop exactly that API server, by PID.
    let status = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = run(kubefedctl_bare()
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("init"));
    fed.remove_cluster(&name);
    assert_eq!(out.code, 1);
    let stderr = redact_ports(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: cannot reach the API server of context `{name}` at {}\n\nCaused by:\n",
            redact_ports(&server)
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("Connection refused") || stderr.contains("connection refused"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("(`kubectl --context <name> get --raw /version`)\n"),
        "{stderr}"
    );
}

#[tokio::test]
async fn permission_denied_names_object_and_cluster_and_creates_nothing() {
    let ns = unique("kf-limited");
    let out = run(kubefedctl().args([
        "init",
        "--host-cluster-context",
        "limited-member1",
        "--kubefed-namespace",
        &ns,
    ]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("in cluster `limited-member1`") && out.stderr.contains("forbidden"),
        "{}",
        out.stderr
    );
    let namespaces: Api<Namespace> = Api::all(client("member1").await);
    assert!(
        namespaces.get_opt(&ns).await.unwrap().is_none(),
        "namespace created despite the failure"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = run(kubefedctl_bare().args(["init", "--scope", "Everything"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("invalid value 'Everything' for '--scope <SCOPE>'"),
        "{}",
        out.stderr
    );
}

#[test]
fn version_prints_go_style_line_and_json() {
    let out = run(kubefedctl_bare().arg("version"));
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .starts_with("kubefedctl version: version.Info{Version:\"v"),
        "{}",
        out.stdout
    );
    let json = run(kubefedctl_bare().args(["version", "-o", "json"]));
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["compiler"], "rustc");
    assert!(v["platform"].as_str().unwrap().contains('/'));
    assert!(v["rustVersion"].as_str().unwrap().starts_with("rustc "));
}

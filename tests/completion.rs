//! Shell completion as a person meets it: a real interactive bash (in tmux) with the script from
//! `kubefedctl completion bash` loaded, a Tab after `--host-cluster-context`.

use std::process::Command;
use std::time::Duration;

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is installed (scripts/test installs it)")
}

#[test]
fn bash_completes_context_names_from_the_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: fedhost\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
         users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: fedhost\n  context: {cluster: c, user: u}\n\
         - name: kubernetes-admin@kubernetes\n  context: {cluster: c, user: u}\n- name: member-east\n  context: {cluster: c, user: u}\n",
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("kubefedctl");
    let bin_dir = bin.parent().unwrap();
    let rc = dir.path().join("bashrc");
    std::fs::write(
        &rc,
        format!(
            "PS1='$ '\nexport PATH={}:$PATH\nexport KUBECONFIG={}\nsource <(kubefedctl completion bash)\n",
            bin_dir.display(),
            kubeconfig.display()
        ),
    )
    .unwrap();
    let session = format!("kubefedctl-completion-{}", std::process::id());
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "30",
        &format!(
            "env -i HOME={} TERM=xterm bash --noprofile --rcfile {} -i",
            dir.path().display(),
            rc.display()
        ),
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let screen = || {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout).into_owned()
    };
    let wait_for = |text: &str| -> String {
        for _ in 0..100 {
            let s = screen();
            if s.contains(text) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        screen()
    };
    wait_for("$ ");
    tmux(&[
        "send-keys",
        "-t",
        &session,
        "kubefedctl join --host-cluster-context ",
        "Tab",
        "Tab",
    ]);
    let shown = wait_for("member-east");
    // Completing the first letters then picks the one match.
    tmux(&[
        "send-keys",
        "-t",
        &session,
        "C-u",
        "kubefedctl join --host-cluster-context mem",
        "Tab",
    ]);
    let completed = wait_for("--host-cluster-context member-east");
    tmux(&["kill-session", "-t", &session]);
    for ctx in ["fedhost", "kubernetes-admin@kubernetes", "member-east"] {
        assert!(
            shown.contains(ctx),
            "context `{ctx}` not offered; screen:\n{shown}"
        );
    }
    assert!(
        !shown.contains("error"),
        "completion printed an error:\n{shown}"
    );
    assert!(
        completed.contains("kubefedctl join --host-cluster-context member-east"),
        "screen:\n{completed}"
    );
}

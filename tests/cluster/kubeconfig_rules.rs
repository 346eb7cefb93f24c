//! kubectl's kubeconfig loading rules: merge order, missing files, --kubeconfig exclusivity.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use kubefedctl::kubeconfig::LoadedKubeconfig;

use crate::util::{kubefedctl_bare, run};

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn config(current: &str, contexts: &[(&str, &str)]) -> String {
    let mut s = format!("apiVersion: v1\nkind: Config\ncurrent-context: {current}\nclusters:\n");
    for (ctx, server) in contexts {
        s.push_str(&format!(
            "- name: {ctx}-cluster\n  cluster:\n    server: {server}\n"
        ));
    }
    s.push_str("users:\n- name: u\n  user:\n    token: t\ncontexts:\n");
    for (ctx, _) in contexts {
        s.push_str(&format!(
            "- name: {ctx}\n  context:\n    cluster: {ctx}-cluster\n    user: u\n"
        ));
    }
    s
}

fn env(paths: &[&Path]) -> Option<OsString> {
    Some(std::env::join_paths(paths).unwrap())
}

#[tokio::test]
async fn kubeconfig_env_merges_first_file_wins_and_skips_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a",
        &config(
            "one",
            &[
                ("one", "https://a.example:1"),
                ("both", "https://a.example:2"),
            ],
        ),
    );
    let b = write(
        dir.path(),
        "b",
        &config(
            "two",
            &[
                ("two", "https://b.example:1"),
                ("both", "https://b.example:2"),
            ],
        ),
    );
    let missing = dir.path().join("missing");
    let loaded = LoadedKubeconfig::load_with(None, env(&[&missing, &a, &b]), None).unwrap();
    assert_eq!(
        loaded.current_context(),
        Some("one"),
        "first file sets current-context"
    );
    assert_eq!(loaded.context_names(), vec!["one", "both", "two"]);
    assert_eq!(loaded.skipped(), &[missing]);
    assert_eq!(loaded.file_of_context("two"), Some(b.as_path()));
    let both = loaded.resolve(Some("both")).await.unwrap();
    assert_eq!(
        both.server, "https://a.example:2",
        "first file wins for a context in both"
    );
    let two = loaded.resolve(None).await.unwrap();
    assert_eq!(two.context, "one");
}

#[tokio::test]
async fn explicit_kubeconfig_ignores_kubeconfig_env_and_home() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a",
        &config("one", &[("one", "https://a.example:1")]),
    );
    let b = write(
        dir.path(),
        "b",
        &config("two", &[("two", "https://b.example:1")]),
    );
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".kube")).unwrap();
    write(
        &home.join(".kube"),
        "config",
        &config("three", &[("three", "https://c.example:1")]),
    );
    let loaded = LoadedKubeconfig::load_with(Some(&b), env(&[&a]), Some(home.clone())).unwrap();
    assert_eq!(loaded.context_names(), vec!["two"]);
    // Without --kubeconfig and KUBECONFIG: ~/.kube/config.
    let loaded = LoadedKubeconfig::load_with(None, None, Some(home)).unwrap();
    assert_eq!(loaded.context_names(), vec!["three"]);
}

#[test]
fn missing_explicit_kubeconfig_is_an_error_naming_the_file() {
    let out = run(kubefedctl_bare().args(["init", "--kubeconfig", "/nonexistent/kubeconfig"]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: kubeconfig file `/nonexistent/kubeconfig` does not exist\n\nhint: check the path given to --kubeconfig\n"
    );
}

#[test]
fn kubeconfig_env_with_only_missing_files_is_an_error() {
    let out = run(kubefedctl_bare()
        .env("KUBECONFIG", "/nonexistent/a:/nonexistent/b")
        .arg("init"));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "error: no kubeconfig found: none of the files in KUBECONFIG exists (`/nonexistent/a`, `/nonexistent/b`)\n"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn malformed_kubeconfig_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: [unclosed\n",
    );
    let out = run(kubefedctl_bare().arg("init").arg("--kubeconfig").arg(&bad));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(&format!(
            "error: failed to load kubeconfig `{}`\n",
            bad.display()
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("line 5") || out.stderr.contains("line 6"),
        "no line number: {}",
        out.stderr
    );
}

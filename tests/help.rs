//! `--help` of every command, snapshotted (insta): a change to the CLI surface shows up in review.

use std::process::Command;

fn help(args: &[&str], bin: &str) -> String {
    let out = Command::new(assert_cmd::cargo::cargo_bin(bin))
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_of_every_command() {
    for args in [
        vec![],
        vec!["init"],
        vec!["join"],
        vec!["unjoin"],
        vec!["clusters"],
        vec!["get", "clusters"],
        vec!["enable"],
        vec!["disable"],
        vec!["types"],
        vec!["federate"],
        vec!["orphaning-deletion"],
        vec!["orphaning-deletion", "enable"],
        vec!["orphaning-deletion", "disable"],
        vec!["orphaning-deletion", "status"],
        vec!["completion"],
        vec!["version"],
    ] {
        let name = if args.is_empty() {
            "kubefedctl".to_string()
        } else {
            args.join("-")
        };
        insta::assert_snapshot!(name, help(&args, "kubefedctl"));
    }
}

/// As a kubectl plugin the same binary speaks of `kubectl kubefed`.
#[test]
fn kubectl_plugin_help_is_name_aware() {
    let join = help(&["join"], "kubectl-kubefed");
    assert!(
        join.contains("Usage: kubectl kubefed join [OPTIONS] <CLUSTER_NAME>..."),
        "{join}"
    );
    assert!(
        join.contains("  kubectl kubefed join member1 --host-cluster-context fedhost"),
        "{join}"
    );
    assert!(!join.contains("kubefedctl "), "{join}");
}

//! Stamps `kubefedctl version` with the git commit, tree state, build date and rustc version.

use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = run("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let state = match run("git", &["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if s.is_empty() => "clean",
        Some(_) => "dirty",
        None => "unknown",
    };
    // SOURCE_DATE_EPOCH keeps reproducible builds reproducible.
    let date = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => run(
            "date",
            &["-u", "-d", &format!("@{epoch}"), "+%Y-%m-%dT%H:%M:%SZ"],
        ),
        Err(_) => run("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
    }
    .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = run(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KUBEFEDCTL_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=KUBEFEDCTL_GIT_TREE_STATE={state}");
    println!("cargo:rustc-env=KUBEFEDCTL_BUILD_DATE={date}");
    println!("cargo:rustc-env=KUBEFEDCTL_RUSTC_VERSION={rustc_version}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}

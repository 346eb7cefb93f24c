//! The shared local federations for this test binary.
//!
//! `scripts/test` starts them and exports their directories: `LOCAL_FEDERATION_DIR` (API servers
//! only, `--no-nodes`, for most tests) and `LOCAL_FEDERATION_NODES_DIR` (with nodes, for
//! tests/cluster/nodes.rs). When one is not set (plain `cargo test`), the first test that needs it
//! starts it in `target/test-federation/<pid>[-nodes]` with this process as owner, so a watchdog
//! stops it when the test binary exits, even after a crash.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub struct Federation {
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The federation most tests share: API servers and controller-managers, no nodes.
pub fn federation() -> &'static Federation {
    static FED: OnceLock<Federation> = OnceLock::new();
    FED.get_or_init(|| shared("LOCAL_FEDERATION_DIR", "", &["--no-nodes"]))
}

/// The federation whose clusters have nodes: Deployments get pods that run.
pub fn node_federation() -> &'static Federation {
    static FED: OnceLock<Federation> = OnceLock::new();
    FED.get_or_init(|| shared("LOCAL_FEDERATION_NODES_DIR", "-nodes", &[]))
}

/// The federation in `$env_var`, else one this process starts and owns.
fn shared(env_var: &str, suffix: &str, up_args: &[&str]) -> Federation {
    let dir = match std::env::var_os(env_var) {
        Some(d) => PathBuf::from(d),
        None => repo()
            .join("target/test-federation")
            .join(format!("{}{suffix}", std::process::id())),
    };
    let status = Command::new(script())
        .arg("status")
        .env("LOCAL_FEDERATION_DIR", &dir)
        .output()
        .expect("run scripts/local-federation status");
    if !status.status.success() {
        Federation::up(&dir, up_args, std::process::id());
    }
    Federation::at(dir)
}

fn script() -> PathBuf {
    repo().join("scripts/local-federation")
}

impl Federation {
    /// The federation in `dir` (started or not).
    pub fn at(dir: PathBuf) -> Self {
        Federation {
            kubeconfig: dir.join("kubeconfig"),
            dir,
        }
    }

    /// `scripts/local-federation up ARGS --owner-pid OWNER` in `dir`.
    pub fn up(dir: &Path, args: &[&str], owner: u32) -> Self {
        let up = Command::new(script())
            .arg("up")
            .args(args)
            .args(["--owner-pid", &owner.to_string()])
            .env("LOCAL_FEDERATION_DIR", dir)
            .status()
            .expect("run scripts/local-federation up");
        assert!(up.success(), "scripts/local-federation up {args:?} failed");
        Federation::at(dir.to_path_buf())
    }

    /// `scripts/local-federation down`.
    pub fn down(&self) {
        let out = Command::new(script())
            .arg("down")
            .env("LOCAL_FEDERATION_DIR", &self.dir)
            .output()
            .expect("run scripts/local-federation down");
        assert!(
            out.status.success(),
            "down failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Where the test clusters' binaries are (kubectl among them, with nodes).
    pub fn bin_dir(&self) -> PathBuf {
        PathBuf::from(
            std::fs::read_to_string(self.dir.join("bin"))
                .expect("bin file")
                .trim(),
        )
    }

    /// `key=value` of a cluster's node (`host_ip`, `node_ip`, `pods`, `host_if`).
    pub fn node_env(&self, cluster: &str, key: &str) -> String {
        let env =
            std::fs::read_to_string(self.dir.join(cluster).join("node/env")).expect("node env");
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in the node env of {cluster}"))
            .to_string()
    }

    /// The reference of an image the nodes have (`pause`, `busybox`).
    pub fn image(&self, name: &str) -> String {
        let refs = std::fs::read_to_string(self.dir.join("images")).expect("images file");
        refs.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no image {name} in {}", self.dir.display()))
            .to_string()
    }

    /// Start an extra API server (no controller manager) for a test that breaks it.
    pub fn add_cluster(&self, name: &str) -> PathBuf {
        let out = Command::new(script())
            .args(["add-cluster", name])
            .env("LOCAL_FEDERATION_DIR", &self.dir)
            .output()
            .expect("run add-cluster");
        assert!(
            out.status.success(),
            "add-cluster failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    }

    pub fn pid_of(&self, process: &str) -> u32 {
        std::fs::read_to_string(self.dir.join("pids").join(format!("{process}.pid")))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid")
    }

    pub fn remove_cluster(&self, name: &str) {
        let _ = Command::new(script())
            .args(["remove-cluster", name])
            .env("LOCAL_FEDERATION_DIR", &self.dir)
            .status();
    }

    pub fn server_of(&self, cluster: &str) -> String {
        let port = std::fs::read_to_string(self.dir.join(cluster).join("port")).expect("port file");
        format!("https://127.0.0.1:{}", port.trim())
    }
}

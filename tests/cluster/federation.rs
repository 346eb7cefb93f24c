//! The shared local federation for this test binary.
//!
//! `scripts/test` starts one federation and exports `LOCAL_FEDERATION_DIR`; when it is not set
//! (plain `cargo test`), the first test starts one in `target/test-federation/<pid>` with this
//! process as owner, so a watchdog stops it when the test binary exits, even after a crash.

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

pub fn federation() -> &'static Federation {
    static FED: OnceLock<Federation> = OnceLock::new();
    FED.get_or_init(|| {
        let dir = match std::env::var_os("LOCAL_FEDERATION_DIR") {
            Some(d) => PathBuf::from(d),
            None => repo()
                .join("target/test-federation")
                .join(std::process::id().to_string()),
        };
        let script = repo().join("scripts/local-federation");
        let status = Command::new(&script)
            .arg("status")
            .env("LOCAL_FEDERATION_DIR", &dir)
            .output()
            .expect("run scripts/local-federation status");
        if !status.status.success() {
            let up = Command::new(&script)
                .args(["up", "--owner-pid", &std::process::id().to_string()])
                .env("LOCAL_FEDERATION_DIR", &dir)
                .status()
                .expect("run scripts/local-federation up");
            assert!(up.success(), "scripts/local-federation up failed");
        }
        Federation {
            kubeconfig: dir.join("kubeconfig"),
            dir,
        }
    })
}

impl Federation {
    /// Start an extra API server (no controller manager) for a test that breaks it.
    pub fn add_cluster(&self, name: &str) -> PathBuf {
        let out = Command::new(repo().join("scripts/local-federation"))
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
        let _ = Command::new(repo().join("scripts/local-federation"))
            .args(["remove-cluster", name])
            .env("LOCAL_FEDERATION_DIR", &self.dir)
            .status();
    }

    pub fn server_of(&self, cluster: &str) -> String {
        let port = std::fs::read_to_string(self.dir.join(cluster).join("port")).expect("port file");
        format!("https://127.0.0.1:{}", port.trim())
    }
}

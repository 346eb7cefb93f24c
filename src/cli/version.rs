//! `kubefedctl version`.

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use crate::output::Format;

/// Print the version information
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  kubefedctl version\n  kubefedctl version -o json")]
pub struct VersionArgs {
    /// Output format
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Format>,
}

/// Build information, stamped by build.rs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub version: &'static str,
    pub git_commit: &'static str,
    pub git_tree_state: &'static str,
    pub build_date: &'static str,
    pub rust_version: &'static str,
    pub compiler: &'static str,
    pub platform: String,
}

impl VersionInfo {
    pub fn current() -> Self {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        VersionInfo {
            version: concat!("v", env!("CARGO_PKG_VERSION")),
            git_commit: env!("KUBEFEDCTL_GIT_COMMIT"),
            git_tree_state: env!("KUBEFEDCTL_GIT_TREE_STATE"),
            build_date: env!("KUBEFEDCTL_BUILD_DATE"),
            rust_version: env!("KUBEFEDCTL_RUSTC_VERSION"),
            compiler: "rustc",
            platform: format!("{}/{arch}", std::env::consts::OS),
        }
    }
}

pub fn run(args: VersionArgs, global: &GlobalArgs) -> Result<()> {
    let VersionArgs { output } = args;
    let printer = global.printer();
    let info = VersionInfo::current();
    match output {
        Some(format) => printer.structured(format, &[&info]),
        None => {
            // NB: the Go tool prints its version.Info with %#v; scripts grep `Version:"..."`.
            printer.data(&format!(
                "kubefedctl version: version.Info{{Version:\"{}\", GitCommit:\"{}\", GitTreeState:\"{}\", \
                 BuildDate:\"{}\", RustVersion:\"{}\", Compiler:\"{}\", Platform:\"{}\"}}\n",
                info.version,
                info.git_commit,
                info.git_tree_state,
                info.build_date,
                info.rust_version,
                info.compiler,
                info.platform
            ));
            Ok(())
        }
    }
}

//! The command line: clap argument structs, one file per command. Each command's `run()`
//! turns its arguments into `ops` options and renders the outcome through [`output`].

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;

use crate::api::KUBEFED_NAMESPACE_DEFAULT;
use crate::kubeconfig::{ClusterAccess, LoadedKubeconfig};
use crate::ops::DryRun;
use crate::output::Printer;

pub mod clusters;
pub mod complete;
pub mod completion;
pub mod controller_manager;
pub mod disable;
pub mod docs;
pub mod enable;
pub mod federate;
pub mod init;
pub mod join;
pub mod orphaning;
pub mod types;
pub mod unjoin;
pub mod version;

/// kubefedctl controls a Kubernetes Cluster Federation.
#[derive(Debug, Parser)]
#[command(
    name = "kubefedctl",
    about = "kubefedctl controls a Kubernetes Cluster Federation",
    long_about = "kubefedctl controls a Kubernetes Cluster Federation.\n\n\
        A wire-compatible successor to KubeFed's Go kubefedctl: clusters joined and types \
        enabled by either tool work with the other and with the KubeFed controller.",
    disable_version_flag = true,
    arg_required_else_help = true,
    after_help = "Exit codes: 0 success, 1 failure, 2 usage error."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, before or after the subcommand (as the Go tool does).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file to use (alone); default: KUBECONFIG, else ~/.kube/config
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Context of the host cluster, the one running the KubeFed control plane [default: current-context]
    #[arg(long, global = true, value_name = "CONTEXT", add = ArgValueCandidates::new(complete::contexts))]
    pub host_cluster_context: Option<String>,

    /// Namespace of the KubeFed control plane on the host
    #[arg(long, global = true, value_name = "NAMESPACE", default_value = KUBEFED_NAMESPACE_DEFAULT)]
    pub kubefed_namespace: String,

    /// Write nothing: `client` (the default when given) only reads; `server` sends the writes with dryRun=All
    #[arg(
        long,
        global = true,
        value_name = "MODE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "client"
    )]
    pub dry_run: Option<DryRunArg>,

    /// Log verbosity: 0 warnings, 2 progress (like the Go tool's --v=2), 4 debug, 6 trace
    #[arg(
        short = 'v',
        long = "v",
        global = true,
        value_name = "LEVEL",
        default_value_t = 0
    )]
    pub verbosity: u8,

    /// Print only data and errors: no result lines, notes or progress
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
}

/// `--dry-run[=client|server|none]`; `true`/`false` as the Go tool's boolean flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DryRunArg {
    Client,
    Server,
    None,
    #[value(hide = true)]
    True,
    #[value(hide = true)]
    False,
}

impl GlobalArgs {
    pub fn dry_run(&self) -> DryRun {
        match self.dry_run {
            None | Some(DryRunArg::None) | Some(DryRunArg::False) => DryRun::None,
            Some(DryRunArg::Client) | Some(DryRunArg::True) => DryRun::Client,
            Some(DryRunArg::Server) => DryRun::Server,
        }
    }

    pub fn printer(&self) -> Printer {
        Printer::new(self.quiet)
    }

    /// Load the kubeconfig and resolve the host context.
    pub async fn host(&self) -> Result<ClusterAccess> {
        let kubeconfig = LoadedKubeconfig::load(self.kubeconfig.as_deref())?;
        kubeconfig
            .resolve(self.host_cluster_context.as_deref())
            .await
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::InitArgs),
    Clusters(clusters::ClustersArgs),
    /// Display resources (kubectl style): `get clusters`
    #[command(subcommand)]
    Get(GetCommand),
    Join(join::JoinArgs),
    Enable(enable::EnableArgs),
    Disable(disable::DisableArgs),
    Types(types::TypesArgs),
    Federate(federate::FederateArgs),
    Completion(completion::CompletionArgs),
    /// Manage orphaning delete policy
    #[command(subcommand, name = "orphaning-deletion")]
    OrphaningDeletion(orphaning::OrphaningCommand),
    Unjoin(unjoin::UnjoinArgs),
    Version(version::VersionArgs),
    #[command(name = "controller-manager")]
    ControllerManager(controller_manager::ControllerManagerArgs),
}

#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// Same as `kubefedctl clusters`
    Clusters(clusters::ClustersArgs),
}

impl Cli {
    /// The command tree as documented: named `kubefedctl` whatever the binary is called.
    pub fn command_for_docs() -> clap::Command {
        Cli::command().bin_name("kubefedctl")
    }
}

/// How the binary was invoked: `kubefedctl`, or `kubectl kubefed` as a kubectl plugin.
pub fn bin_name() -> String {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let file = std::path::Path::new(&argv0)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("kubefedctl");
    if file.starts_with("kubectl-kubefed") {
        "kubectl kubefed".into()
    } else {
        "kubefedctl".into()
    }
}

/// The clap command tree, named for how the binary was invoked (help, usage and examples say
/// `kubectl kubefed ...` when run as a kubectl plugin).
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    let bin = bin_name();
    if bin == "kubefedctl" {
        return cmd.bin_name("kubefedctl");
    }
    fn rename(cmd: clap::Command, bin: &str) -> clap::Command {
        let cmd = match cmd.get_after_help() {
            Some(text) => {
                let text = text.to_string().replace("kubefedctl ", &format!("{bin} "));
                cmd.after_help(text)
            }
            None => cmd,
        };
        cmd.mut_subcommands(|sub| rename(sub, bin))
    }
    rename(cmd.bin_name(bin.clone()).name("kubectl-kubefed"), &bin)
}

/// The process arguments; run under the name `controller-manager` (as the Go binary is
/// called in KubeFed's images and e2e tests), the binary is `kubefedctl controller-manager`.
fn arguments() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|f| f.to_str())
        .unwrap_or_default()
        .to_string();
    if invoked_as == "controller-manager" {
        args.insert(1, "controller-manager".into());
    }
    args
}

/// The whole program: completion requests, parsing, logging, the runtime, the exit code.
pub fn entry() -> std::process::ExitCode {
    // `COMPLETE=bash kubefedctl ...` answers a completion request and exits.
    clap_complete::CompleteEnv::with_factory(command).complete();
    let mut matches = command().get_matches_from(arguments());
    let cli = match Cli::from_arg_matches_mut(&mut matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let printer = cli.global.printer();
    // The control plane logs what it does by default, as upstream's (klog level 0 is info).
    let verbosity = match cli.command {
        Command::ControllerManager(_) => cli.global.verbosity.max(2),
        _ => cli.global.verbosity,
    };
    use std::io::IsTerminal as _;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(verbosity))
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let result = runtime
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => std::process::ExitCode::from(crate::error::Exit::Ok as u8),
        Err(err) => {
            printer.error(&err);
            std::process::ExitCode::from(crate::error::Exit::for_error(&err) as u8)
        }
    }
}

/// Run the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let Cli { global, command } = cli;
    match command {
        Command::Init(args) => init::run(args, &global).await,
        Command::Clusters(args) | Command::Get(GetCommand::Clusters(args)) => {
            clusters::run(args, &global).await
        }
        Command::Join(args) => join::run(args, &global).await,
        Command::Enable(args) => enable::run(args, &global).await,
        Command::Disable(args) => disable::run(args, &global).await,
        Command::Types(args) => types::run(args, &global).await,
        Command::Federate(args) => federate::run(args, &global).await,
        Command::Completion(args) => completion::run(args, &global),
        Command::OrphaningDeletion(command) => orphaning::run(command, &global).await,
        Command::Unjoin(args) => unjoin::run(args, &global).await,
        Command::Version(args) => version::run(args, &global),
        Command::ControllerManager(args) => controller_manager::run(args, &global).await,
    }
}

/// The tracing filter for `-v N` (RUST_LOG, when set, wins).
pub fn log_filter(verbosity: u8) -> String {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        return filter;
    }
    match verbosity {
        // kube's own warnings (for example "Server cert bypassed" on every insecure request)
        // stay out of the way unless asked for.
        0 | 1 => "kubefedctl=warn",
        2 | 3 => "kubefedctl=info",
        4 | 5 => "kubefedctl=debug,kube=debug,info",
        _ => "trace",
    }
    .to_string()
}

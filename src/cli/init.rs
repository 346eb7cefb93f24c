//! `kubefedctl init`: install the KubeFed control-plane API on the host cluster.

use anyhow::Result;
use clap::Args;

use super::GlobalArgs;
use crate::api::Scope;
use crate::ops::init::{InitOptions, init, manifests};
use crate::output::Format;

/// Install KubeFed's control-plane CRDs, namespace and KubeFedConfig on the host cluster
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # Install the control-plane API on the host cluster of context fedhost\n  \
    kubefedctl init --host-cluster-context fedhost\n\n  \
    # A control plane that only federates its own namespace\n  \
    kubefedctl init --kubefed-namespace team-a --scope Namespaced\n\n  \
    # Show what would be applied, without a cluster\n  \
    kubefedctl init -o yaml")]
pub struct InitArgs {
    /// Scope of the control plane: Cluster (all namespaces) or Namespaced (only --kubefed-namespace)
    #[arg(long, value_enum, default_value_t = ScopeArg::Cluster)]
    pub scope: ScopeArg,

    /// Print the objects instead of applying them (needs no cluster)
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Format>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ScopeArg {
    #[value(name = "Cluster", alias = "cluster")]
    Cluster,
    #[value(name = "Namespaced", alias = "namespaced")]
    Namespaced,
}

pub async fn run(args: InitArgs, global: &GlobalArgs) -> Result<()> {
    let InitArgs { scope, output } = args;
    let printer = global.printer();
    let mut options = InitOptions {
        namespace: global.kubefed_namespace.clone(),
        scope: match scope {
            ScopeArg::Cluster => Scope::Cluster,
            ScopeArg::Namespaced => Scope::Namespaced,
        },
        dry_run: global.dry_run(),
        host_context: String::new(),
    };
    if let Some(format) = output {
        return printer.structured(format, &manifests(&options)?);
    }
    let host = global.host().await?;
    options.host_context = host.context.clone();
    let (client, _version) = host.connect().await?;
    let outcome = {
        let progress = printer.progress();
        init(&client, &options, &progress).await?
    };
    for object in &outcome.objects {
        printer.object(
            &object.resource,
            &object.name,
            &object.change.verb(options.dry_run),
        );
    }
    Ok(())
}

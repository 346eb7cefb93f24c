//! `kubefedctl orphaning-deletion enable|disable|status`: keep (or not) member objects when
//! their federated object is deleted.

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

use super::GlobalArgs;
use crate::ops::discovery::discover;
use crate::ops::orphaning::{Orphaning, orphaning};

/// Manage orphaning delete policy
#[derive(Debug, Subcommand)]
pub enum OrphaningCommand {
    /// Enable orphaning (retention) of managed resources
    #[command(
        after_help = "Examples:\n  kubefedctl orphaning-deletion enable FederatedDeployment web -n demo"
    )]
    Enable(OrphaningArgs),
    /// Disable orphaning deletion
    #[command(
        after_help = "Examples:\n  kubefedctl orphaning-deletion disable federateddeployments web -n demo"
    )]
    Disable(OrphaningArgs),
    /// Print `Enabled` or `Disabled`
    #[command(after_help = "Examples:\n  kubefedctl orphaning-deletion status fdeploy web -n demo")]
    Status(OrphaningArgs),
}

#[derive(Debug, Args)]
pub struct OrphaningArgs {
    /// The federated type (`FederatedDeployment`, `federateddeployments.types.kubefed.io`, `fdeploy`, ...)
    #[arg(value_name = "RESOURCE-TYPE")]
    pub resource_type: String,

    /// The federated object's name
    #[arg(value_name = "RESOURCE-NAME")]
    pub resource_name: String,

    /// Namespace [default: the host context's namespace, else `default`]
    #[arg(short = 'n', long, value_name = "NAMESPACE", add = clap_complete::ArgValueCandidates::new(super::complete::namespaces))]
    pub namespace: Option<String>,
}

pub async fn run(command: OrphaningCommand, global: &GlobalArgs) -> Result<()> {
    let (op, args) = match command {
        OrphaningCommand::Enable(a) => (Orphaning::Enable, a),
        OrphaningCommand::Disable(a) => (Orphaning::Disable, a),
        OrphaningCommand::Status(a) => (Orphaning::Status, a),
    };
    let OrphaningArgs {
        resource_type,
        resource_name,
        namespace,
    } = args;
    let printer = global.printer();
    let host = global.host().await?;
    let namespace = namespace
        .or_else(|| host.namespace.clone())
        .unwrap_or_else(|| "default".into());
    let (client, _) = host.connect().await?;
    let discovered = discover(&client, &host.context).await?;
    let t = discovered
        .resolve(&resource_type, None, &host.context)
        .with_context(|| format!("Failed to find targeted {resource_type} type"))?;
    if !t.kind.starts_with("Federated") || t.group != crate::ops::enable::DEFAULT_FEDERATED_GROUP {
        // NB: upstream prints this warning on stdout.
        printer.data(&format!(
            "Warning: {}/{} might not be a federated resource\n",
            t.qualified_plural(),
            t.version
        ));
    }
    let dry_run = global.dry_run();
    let enabled = orphaning(
        &client,
        t,
        &namespace,
        &resource_name,
        op,
        &host.context,
        dry_run,
    )
    .await?;
    match op {
        Orphaning::Status => printer.data(if enabled { "Enabled\n" } else { "Disabled\n" }),
        // As upstream, a real run prints nothing; a dry run says what it would have done.
        _ if dry_run != crate::ops::DryRun::None => printer.note(&format!(
            "orphaning {} for {} `{}`{}",
            if enabled { "enabled" } else { "disabled" },
            t.kind,
            t.display_name(&namespace, &resource_name),
            dry_run.suffix()
        )),
        _ => {}
    }
    Ok(())
}

//! `kubefedctl disable`: stop propagating a type.

use std::time::Duration;

use anyhow::Result;
use clap::Args;

use super::GlobalArgs;
use super::join::parse_duration;
use crate::error::UsageError;
use crate::ops::disable::{DisableOptions, disable};
use crate::ops::discovery::discover;
use crate::ops::enable::DEFAULT_FEDERATED_GROUP;

/// Disables propagation of a Kubernetes API type
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    kubefedctl disable deployments.apps\n\n  \
    # Also delete the FederatedDeployment CRD (refused while FederatedDeployments exist)\n  \
    kubefedctl disable deployments.apps --delete-crd")]
pub struct DisableArgs {
    /// The type: a FederatedTypeConfig name (`deployments.apps`, used as given when it has a
    /// dot) or any name `enable` accepts
    #[arg(value_name = "NAME", add = clap_complete::ArgValueCandidates::new(super::complete::types))]
    pub name: String,

    /// Also delete the federated type's CRD (refused while instances exist)
    #[arg(long)]
    pub delete_crd: bool,

    /// API group of the federated type (only with --delete-crd)
    #[arg(long, value_name = "GROUP", default_value = DEFAULT_FEDERATED_GROUP)]
    pub federated_group: String,

    /// API version of the target type (only with --delete-crd)
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,

    /// How long to wait for the KubeFed controller to stop the type's propagation controller
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub wait_timeout: Duration,
}

pub async fn run(args: DisableArgs, global: &GlobalArgs) -> Result<()> {
    let DisableArgs {
        name,
        delete_crd,
        federated_group,
        version,
        wait_timeout,
    } = args;
    let printer = global.printer();
    if !delete_crd && version.is_some() {
        return Err(UsageError("--version flag valid only with --delete-crd".into()).into());
    }
    if !delete_crd && federated_group != DEFAULT_FEDERATED_GROUP {
        // NB: Go kubefedctl's message names a `--kubefed-group` flag that does not exist.
        return Err(
            UsageError("--federated-group flag valid only with --delete-crd".into()).into(),
        );
    }
    let host = global.host().await?;
    let (client, _) = host.connect().await?;
    // A name with a dot is a FederatedTypeConfig name: no lookup, so it works when the
    // target type itself is gone.
    let ftc_name = if name.contains('.') {
        name.clone()
    } else {
        let discovered = discover(&client, &host.context).await?;
        discovered
            .resolve(&name, version.as_deref(), &host.context)?
            .qualified_plural()
    };
    let outcome = disable(
        &client,
        &DisableOptions {
            name: ftc_name,
            namespace: global.kubefed_namespace.clone(),
            delete_crd,
            federated_group,
            dry_run: global.dry_run(),
            wait_timeout,
            host_context: host.context.clone(),
        },
    )
    .await?;
    for w in &outcome.warnings {
        printer.warn(w);
    }
    for line in &outcome.lines {
        printer.data(&format!("{line}\n"));
    }
    Ok(())
}

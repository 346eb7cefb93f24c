//! `kubefedctl unjoin`: remove a cluster's registration.

use anyhow::Result;
use clap::Args;

use super::GlobalArgs;
use crate::kubeconfig::LoadedKubeconfig;
use crate::ops::unjoin::{MemberSide, UnjoinOptions, unjoin};
use crate::output::Format;

/// Remove the registration of a cluster from a KubeFed control plane
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    kubefedctl unjoin member1 --host-cluster-context fedhost\n\n  \
    # The member is gone or unreachable: remove the registration anyway\n  \
    kubefedctl unjoin member1 --host-cluster-context fedhost --force")]
pub struct UnjoinArgs {
    /// Name of the cluster to unjoin (its KubeFedCluster name)
    #[arg(value_name = "CLUSTER_NAME")]
    pub cluster: String,

    /// Context of the cluster to unjoin [default: the cluster name]
    #[arg(long, value_name = "CONTEXT")]
    pub cluster_context: Option<String>,

    /// Host cluster name used at join time [default: recorded by join, else the host context name]
    #[arg(long, value_name = "NAME")]
    pub host_cluster_name: Option<String>,

    /// Remove the registration even if the member cannot be reached or some deletes fail
    #[arg(long)]
    pub force: bool,

    /// Print what was deleted as YAML or JSON
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Format>,
}

pub async fn run(args: UnjoinArgs, global: &GlobalArgs) -> Result<()> {
    let UnjoinArgs {
        cluster,
        cluster_context,
        host_cluster_name,
        force,
        output,
    } = args;
    let printer = global.printer();
    if let Some(name) = &host_cluster_name
        && (name.contains('/') || name.contains(':'))
    {
        return Err(crate::error::UsageError(
            "host-cluster-name may not contain \"/\" or \":\"".into(),
        )
        .into());
    }
    let kubeconfig = LoadedKubeconfig::load(global.kubeconfig.as_deref())?;
    let host = kubeconfig
        .resolve(global.host_cluster_context.as_deref())
        .await?;
    let (host_client, _) = host.connect().await?;
    let member_context = cluster_context.unwrap_or_else(|| cluster.clone());
    let member = async {
        let access = kubeconfig.resolve(Some(&member_context)).await?;
        let (client, _) = access.connect().await?;
        anyhow::Ok(client)
    }
    .await;
    let member_side = match &member {
        Ok(client) => MemberSide::Connected {
            client,
            context: &member_context,
        },
        Err(e) => MemberSide::Unreachable {
            context: &member_context,
            error: anyhow::anyhow!("{e:#}"),
        },
    };
    let options = UnjoinOptions {
        cluster_name: cluster.clone(),
        host_cluster_name,
        host_context: host.context.clone(),
        namespace: global.kubefed_namespace.clone(),
        force,
        dry_run: global.dry_run(),
    };
    let outcome = {
        let progress = printer.progress();
        unjoin(
            &host_client,
            &host.context,
            member_side,
            &options,
            &progress,
        )
        .await?
    };
    if let Some(format) = output {
        return printer.structured(format, &[&outcome]);
    }
    for e in &outcome.errors {
        printer.warn(&format!("ignored with --force: {e}"));
    }
    if !outcome.left_on_member.is_empty() {
        printer.warn(&format!(
            "these objects may remain in cluster `{member_context}`: {}",
            outcome.left_on_member.join(", ")
        ));
    }
    let suffix = match global.dry_run() {
        crate::ops::DryRun::None => "",
        crate::ops::DryRun::Client => " (dry run)",
        crate::ops::DryRun::Server => " (server dry run)",
    };
    if outcome.was_joined {
        printer.object(
            "kubefedcluster.core.kubefed.io",
            &cluster,
            &format!("unjoined{suffix}"),
        );
    } else {
        printer.note(&format!(
            "KubeFedCluster `{}/{cluster}` did not exist; removed what remained of the join",
            global.kubefed_namespace
        ));
    }
    Ok(())
}

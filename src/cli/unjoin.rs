//! `kubefedctl unjoin`: remove a cluster's registration.

use anyhow::Result;
use clap::Args;

use super::GlobalArgs;
use crate::kubeconfig::LoadedKubeconfig;
use crate::ops::unjoin::{MemberSide, UnjoinOptions, UnjoinOutcome, find_registration, unjoin};
use crate::output::Format;

/// Remove the registration of a cluster from a KubeFed control plane
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    kubefedctl unjoin member1 --host-cluster-context fedhost\n\n  \
    # Several clusters, one after the other\n  \
    kubefedctl unjoin member1 member2 --host-cluster-context fedhost\n\n  \
    # The member is gone or unreachable: remove the registration anyway\n  \
    kubefedctl unjoin member1 --host-cluster-context fedhost --force")]
pub struct UnjoinArgs {
    /// Names of the clusters to unjoin (their KubeFedCluster names)
    #[arg(required = true, value_name = "CLUSTER_NAME", add = clap_complete::ArgValueCandidates::new(super::complete::clusters))]
    pub clusters: Vec<String>,

    /// Context of the cluster to unjoin [default: the cluster name]; only with a single cluster
    #[arg(long, value_name = "CONTEXT", add = clap_complete::ArgValueCandidates::new(super::complete::contexts))]
    pub cluster_context: Option<String>,

    /// Host cluster name used at join time [default: recorded by join, else the host context name]
    #[arg(long, value_name = "NAME")]
    pub host_cluster_name: Option<String>,

    /// Remove the registration even if the member cannot be reached or some deletes fail
    #[arg(long)]
    pub force: bool,

    /// Also delete what the federation propagated to the member (objects labelled
    /// kubefed.io/managed=true), after showing the plan; managed namespaces are kept
    #[arg(long)]
    pub cleanup: bool,

    /// Answer yes to prompts (needed for --cleanup without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Print what was deleted as YAML or JSON
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Format>,
}

pub async fn run(args: UnjoinArgs, global: &GlobalArgs) -> Result<()> {
    let UnjoinArgs {
        clusters,
        cluster_context,
        host_cluster_name,
        force,
        cleanup,
        yes,
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
    if clusters.len() > 1 && cluster_context.is_some() {
        return Err(crate::error::UsageError(
            "--cluster-context can only be used when unjoining a single cluster".into(),
        )
        .into());
    }
    let kubeconfig = LoadedKubeconfig::load(global.kubeconfig.as_deref())?;
    let host = kubeconfig
        .resolve(global.host_cluster_context.as_deref())
        .await?;
    let (host_client, _) = host.connect().await?;
    let host = Host {
        kubeconfig: &kubeconfig,
        access: &host,
        client: &host_client,
    };
    let flags = Flags {
        host_cluster_name,
        force,
        cleanup,
        yes,
        structured: output.is_some(),
    };
    // One after the other: --cleanup may ask for each, and the lines come in the given order.
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    for cluster in &clusters {
        let member_context = cluster_context.clone().unwrap_or_else(|| cluster.clone());
        match unjoin_cluster(&printer, global, &host, &flags, cluster, &member_context).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => failed.push(e),
        }
    }
    if let Some(format) = output
        && !outcomes.is_empty()
    {
        printer.structured(format, &outcomes)?;
    }
    match failed.len() {
        0 => Ok(()),
        1 if clusters.len() == 1 => Err(failed.remove(0)),
        n => {
            for e in &failed {
                printer.error(e);
            }
            Err(anyhow::anyhow!(
                "{n} of {} clusters failed to unjoin",
                clusters.len()
            ))
        }
    }
}

/// The host side, connected once for every cluster.
struct Host<'a> {
    kubeconfig: &'a LoadedKubeconfig,
    access: &'a crate::kubeconfig::ClusterAccess,
    client: &'a kube::Client,
}

/// The flags that apply to each cluster.
struct Flags {
    host_cluster_name: Option<String>,
    force: bool,
    cleanup: bool,
    yes: bool,
    /// `-o`: the outcomes are printed together at the end instead of result lines.
    structured: bool,
}

/// Unjoin one cluster: find its registration, plan (and confirm) `--cleanup`, unjoin, clean up,
/// and print its result lines unless `-o` was given.
async fn unjoin_cluster(
    printer: &crate::output::Printer,
    global: &GlobalArgs,
    host: &Host<'_>,
    flags: &Flags,
    cluster: &str,
    member_context: &str,
) -> Result<UnjoinOutcome> {
    let Flags {
        host_cluster_name,
        force,
        cleanup,
        yes,
        structured,
    } = flags;
    let (force, cleanup, yes) = (*force, *cleanup, *yes);
    let member = async {
        let access = host.kubeconfig.resolve(Some(member_context)).await?;
        let (client, _) = access.connect().await?;
        anyhow::Ok(client)
    }
    .await;
    let options = UnjoinOptions {
        cluster_name: cluster.to_string(),
        host_cluster_name: host_cluster_name.clone(),
        host_context: host.access.context.clone(),
        namespace: global.kubefed_namespace.clone(),
        force,
        dry_run: global.dry_run(),
    };
    // A name that is not joined stops here, before the cleanup plan and any delete.
    let registration = find_registration(
        host.client,
        &host.access.context,
        member.as_ref().ok().map(|c| (c, member_context)),
        &options,
    )
    .await?;
    // NB: the cleanup is planned and confirmed first, but runs after the KubeFedCluster is
    // gone: while it exists, a running controller re-creates what is deleted.
    let mut cleanup_plan = None;
    if cleanup {
        match &member {
            // NB: review (issue 12.5): on a host joined to its own federation, the objects
            // labelled kubefed.io/managed=true include the user's originals, which the
            // controller adopted; --cleanup would delete them. Nothing is deleted there.
            Ok(client) if !is_other_cluster(client, host.client).await => printer.warn(&format!(
                "--cleanup skipped: cluster `{member_context}` is the host itself (or its kube-system \
                 namespace cannot be read to tell), where the objects KubeFed manages include the \
                 originals it adopted; nothing propagated was deleted"
            )),
            Ok(client) => {
                cleanup_plan = plan_cleanup(printer, client, member_context, yes, global.dry_run()).await?
            }
            Err(_) if force => printer.warn(&format!(
                "--cleanup skipped: cluster `{member_context}` is unreachable; propagated objects stay there"
            )),
            Err(e) => {
                return Err(anyhow::anyhow!("{e:#}").context(format!(
                    "cannot clean up cluster `{member_context}`: it is unreachable"
                )));
            }
        }
    }
    let member_side = match &member {
        Ok(client) => MemberSide::Connected {
            client,
            context: member_context,
        },
        Err(e) => MemberSide::Unreachable {
            context: member_context,
            error: anyhow::anyhow!("{e:#}"),
        },
    };
    let outcome = {
        let progress = printer.progress();
        unjoin(
            host.client,
            &host.access.context,
            member_side,
            &options,
            &registration,
            &progress,
        )
        .await?
    };
    if let (Some(plan), Ok(client)) = (&cleanup_plan, &member) {
        let deleted =
            crate::ops::unjoin::execute_cleanup(client, member_context, plan, global.dry_run())
                .await?;
        printer.note(&format!(
            "Deleted {deleted} propagated objects in cluster `{member_context}`."
        ));
    }
    if *structured {
        return Ok(outcome);
    }
    for e in &outcome.errors {
        printer.warn(&format!("ignored with --force: {e}"));
    }
    if !outcome.namespace_kept_for.is_empty() {
        const SHOWN: usize = 10;
        let kept = &outcome.namespace_kept_for;
        let mut list = kept
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if kept.len() > SHOWN {
            list.push_str(&format!(" and {} more", kept.len() - SHOWN));
        }
        printer.note(&format!(
            "keeping Namespace `{}` in cluster `{member_context}`: it holds objects this join did not create: {list}",
            global.kubefed_namespace
        ));
    }
    if !outcome.left_on_member.is_empty() {
        printer.warn(&format!(
            "these objects may remain in cluster `{member_context}`: {}",
            outcome.left_on_member.join(", ")
        ));
    }
    let suffix = global.dry_run().suffix();
    if outcome.was_joined {
        printer.object(
            "kubefedcluster.core.kubefed.io",
            cluster,
            &format!("unjoined{suffix}"),
        );
    } else {
        printer.note(&format!(
            "KubeFedCluster `{}/{cluster}` did not exist; removed what remained of the join",
            global.kubefed_namespace
        ));
    }
    Ok(outcome)
}

/// The clients reach two different clusters (kube-system namespace UIDs differ). An unreadable
/// UID does not count as different: --cleanup then deletes nothing rather than risk the host's
/// originals.
async fn is_other_cluster(a: &kube::Client, b: &kube::Client) -> bool {
    let (x, y) = futures::join!(
        crate::ops::join::cluster_uid(a),
        crate::ops::join::cluster_uid(b)
    );
    matches!((x, y), (Some(x), Some(y)) if x != y)
}

/// Show what `--cleanup` deletes and ask (or take `--yes`); the plan to execute, if any.
async fn plan_cleanup(
    printer: &crate::output::Printer,
    client: &kube::Client,
    context: &str,
    yes: bool,
    dry_run: crate::ops::DryRun,
) -> Result<Option<crate::ops::unjoin::CleanupPlan>> {
    let plan = {
        let progress = printer.progress();
        crate::ops::Reporter::step(
            &progress,
            &format!("finding objects propagated to cluster {context}"),
        );
        crate::ops::unjoin::plan_cleanup(client, context).await?
    };
    for ns in &plan.kept_namespaces {
        printer.note(&format!(
            "keeping namespace `{ns}` in cluster `{context}`: it may hold objects KubeFed does not manage"
        ));
    }
    if plan.is_empty() {
        printer.note(&format!(
            "No objects propagated by KubeFed found in cluster `{context}`."
        ));
        return Ok(None);
    }
    let mut summary = format!(
        "--cleanup deletes {} objects propagated to cluster `{context}` (labelled kubefed.io/managed=true):",
        plan.count()
    );
    for t in &plan.types {
        summary.push_str(&format!("\n  {}: {}", t.resource, t.objects.len()));
    }
    eprintln!("{summary}");
    if dry_run.writes() && !yes {
        if !printer.can_prompt() {
            return Err(crate::error::UsageError(
                "--cleanup deletes objects: confirm with --yes when not running in a terminal"
                    .into(),
            )
            .into());
        }
        let go = dialoguer::Confirm::new()
            .with_prompt("Delete them?")
            .default(false)
            .interact()
            .map_err(anyhow::Error::from)?;
        if !go {
            anyhow::bail!("cleanup cancelled; nothing was deleted or unjoined");
        }
    }
    Ok(Some(plan))
}

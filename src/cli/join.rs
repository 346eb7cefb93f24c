//! `kubefedctl join`: register clusters with the KubeFed control plane.

use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{ArgAction, Args};

use super::GlobalArgs;
use crate::error::{HintExt, UsageError, hinted};
use crate::kubeconfig::{ContextRename, FileEdit, LoadedKubeconfig};
use crate::ops::join::{
    JoinOptions, JoinOutcome, NameProblem, Side, check_names, cluster_uid, join,
};
use crate::ops::{DryRun, OnExisting};
use crate::output::{Format, Printer};

/// Register clusters with a KubeFed control plane
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # The host joins itself, then a member\n  \
    kubefedctl join fedhost --host-cluster-context fedhost\n  \
    kubefedctl join member1 --host-cluster-context fedhost\n\n  \
    # Several members at once\n  \
    kubefedctl join member1 member2 --host-cluster-context fedhost\n\n  \
    # A context whose name is not a valid object name (kubeadm's default)\n  \
    kubefedctl join cluster1 --cluster-context kubernetes-admin@kubernetes --host-cluster-context fedhost\n  \
    kubefedctl join fedhost --host-cluster-context kubernetes-admin@kubernetes --rename-context\n\n  \
    # Show every object that would be written, on both sides\n  \
    kubefedctl join member1 --host-cluster-context fedhost --dry-run -o yaml")]
pub struct JoinArgs {
    /// Names of the clusters to join: the KubeFedCluster names (DNS-1123 subdomains)
    #[arg(required = true, value_name = "CLUSTER_NAME", add = clap_complete::ArgValueCandidates::new(super::complete::contexts))]
    pub clusters: Vec<String>,

    /// Context of the cluster to join [default: the cluster name]; only with a single cluster
    #[arg(long, value_name = "CONTEXT", add = clap_complete::ArgValueCandidates::new(super::complete::contexts))]
    pub cluster_context: Option<String>,

    /// Host cluster name used in the member's object names [default: the host context name]
    #[arg(long, value_name = "NAME")]
    pub host_cluster_name: Option<String>,

    /// Name of the credentials Secret on the host [default: generated, `<cluster>-xxxxx`]
    #[arg(long, value_name = "NAME")]
    pub secret_name: Option<String>,

    /// Fail if an object join would create exists already; `false` updates the join
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = true, default_missing_value = "true", value_name = "BOOL")]
    pub error_on_existing: bool,

    /// Rename the host context to a safe name in its kubeconfig file when its name cannot be
    /// used in object names (as `kubectl config rename-context` would); asked on a terminal
    #[arg(long)]
    pub rename_context: bool,

    /// Answer yes to prompts
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Join even if the cluster is already joined under another name
    #[arg(long)]
    pub allow_duplicate: bool,

    /// API endpoint recorded in the KubeFedCluster [default: the context's server]
    #[arg(long, value_name = "URL")]
    pub api_endpoint: Option<String>,

    /// How long to wait for the member's token controller to sign the token
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub token_timeout: Duration,

    /// Print the objects written (or, with --dry-run, those that would be), tokens redacted
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Format>,
}

/// The longest duration a flag accepts: far beyond any token controller or KubeFed controller
/// delay, and far from the overflow of a deadline computed from it (issue 12.8).
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// `30s`, `2m`, `1h`, `500ms`, `1m30s` or plain seconds, at most [`MAX_DURATION`]; checked
/// while parsing, so a bad value is a usage error before anything is written.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration `{s}` (examples: 30s, 2m, 1m30s, 500ms)");
    let too_long = || format!("duration `{s}` is longer than the maximum, 24h");
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    let mut first = true;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        // Only digits: a number too big for u64 is too long, not malformed.
        let n: u64 = rest[..digits].parse().map_err(|_| too_long())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (unit, tail) = rest.split_at(unit_len);
        rest = tail;
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            // A plain number is seconds, as the Go tool's integer flags were.
            "s" | "" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(invalid()),
        };
        if unit.is_empty() && !first {
            return Err(invalid());
        }
        first = false;
        let part = n
            .checked_mul(millis_per_unit)
            .map(Duration::from_millis)
            .ok_or_else(too_long)?;
        total = total.checked_add(part).ok_or_else(too_long)?;
        if total > MAX_DURATION {
            return Err(too_long());
        }
    }
    Ok(total)
}

pub async fn run(args: JoinArgs, global: &GlobalArgs) -> Result<()> {
    let JoinArgs {
        clusters,
        cluster_context,
        host_cluster_name,
        secret_name,
        error_on_existing,
        rename_context: rename,
        yes,
        api_endpoint,
        allow_duplicate,
        token_timeout,
        output,
    } = args;
    let printer = global.printer();
    if clusters.len() > 1 {
        for (flag, given) in [
            ("--cluster-context", cluster_context.is_some()),
            ("--secret-name", secret_name.is_some()),
            ("--api-endpoint", api_endpoint.is_some()),
        ] {
            if given {
                return Err(UsageError(format!(
                    "{flag} can only be used when joining a single cluster"
                ))
                .into());
            }
        }
    }
    // NB: review 2.7: `join a a` joined `a` twice at once, each run blind to the other.
    for (i, cluster) in clusters.iter().enumerate() {
        if clusters[..i].contains(cluster) {
            return Err(
                UsageError(format!("cluster name `{cluster}` is given more than once")).into(),
            );
        }
    }
    let kubeconfig = LoadedKubeconfig::load(global.kubeconfig.as_deref())?;
    let host_context = match &global.host_cluster_context {
        Some(c) => c.clone(),
        None => kubeconfig
            .current_context()
            .map(str::to_string)
            .ok_or_else(|| {
                hinted(
                    "no --host-cluster-context given and the kubeconfig has no current-context",
                    "pass --host-cluster-context NAME",
                )
            })?,
    };
    // Every name is checked before anything is written; with a host context to rename, with
    // its new name.
    let rename = match check_names_of(
        &clusters,
        host_cluster_name.as_deref(),
        &host_context,
        global,
    ) {
        None => None,
        Some((
            _,
            NameProblem::HostContext {
                context,
                invalid,
                suggestion,
            },
        )) => {
            let problem = format!(
                "the host context name `{context}` cannot be used in object names: ServiceAccount name {invalid}"
            );
            let hint = format!(
                "pass --host-cluster-name {suggestion}, or rename the context: \
                 `kubectl config rename-context {context} {suggestion}` (or rerun with --rename-context)"
            );
            let can_ask = printer.can_prompt() && !global.quiet;
            if kubeconfig.file_of_context(&context).is_none() || !(rename || yes || can_ask) {
                return Err(hinted(problem, hint));
            }
            if let Some((cluster, problem)) =
                check_names_of(&clusters, host_cluster_name.as_deref(), &suggestion, global)
            {
                return Err(name_error(cluster, problem));
            }
            let plan = ContextRename::plan(&kubeconfig, &context, &suggestion)?;
            // `--yes` answers the prompt, so it is never shown; an explicit "No" is final.
            let approve = if rename || yes {
                true
            } else {
                printer.warn(&problem);
                let files: Vec<String> = plan
                    .edits()
                    .iter()
                    .map(|e| format!("`{}`", e.path.display()))
                    .collect();
                dialoguer::Confirm::new()
                    .with_prompt(format!(
                        "Rename context `{context}` to `{suggestion}` in {} (a backup is kept)?",
                        files.join(" and ")
                    ))
                    .default(false)
                    .interact()
                    .context("failed to read the answer")?
            };
            if !approve {
                return Err(hinted(problem, hint));
            }
            Some(plan)
        }
        Some((cluster, problem)) => return Err(name_error(cluster, problem)),
    };

    // The joins use the new name; the kubeconfig keeps the old one until they are done.
    let names_host = match &rename {
        Some(plan) => plan.to().to_string(),
        None => host_context.clone(),
    };
    let host = kubeconfig.resolve(Some(&host_context)).await?;
    // Connect to the host and every member at once.
    let member_access = futures::future::join_all(clusters.iter().map(|cluster| {
        let kubeconfig = &kubeconfig;
        let member_context = cluster_context
            .clone()
            .unwrap_or_else(|| cluster.to_string());
        async move {
            let member = kubeconfig.resolve(Some(&member_context)).await?;
            let (client, _) = member.connect().await?;
            anyhow::Ok((member, client))
        }
    }));
    let (host_connected, members) = futures::join!(host.connect(), member_access);
    let (host_client, _) = host_connected?;
    if !allow_duplicate {
        refuse_one_cluster_twice(&clusters, &members).await?;
    }
    let options_for = |cluster: &str| JoinOptions {
        cluster_name: cluster.to_string(),
        host_cluster_name: host_cluster_name
            .clone()
            .unwrap_or_else(|| names_host.clone()),
        namespace: global.kubefed_namespace.clone(),
        secret_name: secret_name.clone(),
        on_existing: if error_on_existing {
            OnExisting::Error
        } else {
            OnExisting::Update
        },
        dry_run: global.dry_run(),
        token_timeout,
        api_endpoint: api_endpoint.clone(),
        allow_duplicate,
    };

    let results =
        futures::future::join_all(clusters.iter().zip(members).map(|(cluster, member)| {
            let host = &host;
            let host_client = &host_client;
            let several = clusters.len() > 1;
            let options = options_for(cluster);
            let progress = printer.progress_for(if several { cluster } else { "" });
            async move {
                let (member, member_client) = member?;
                join(
                    Side {
                        access: host,
                        client: host_client,
                    },
                    Side {
                        access: &member,
                        client: &member_client,
                    },
                    &options,
                    &progress,
                )
                .await
            }
        }))
        .await;

    // Renamed only after a join passed every check, and so wrote objects under the new name.
    let joined = results.iter().any(Result::is_ok);
    let outcome = render(&printer, &clusters, results, output, global.dry_run());
    match &rename {
        Some(plan) if joined => {
            let renamed = rename_host_context(&printer, plan, global.dry_run());
            if renamed.is_err()
                && let Err(err) = &outcome
            {
                printer.error(err);
            }
            renamed
                .context_hint(
                    format!(
                        "joined with host cluster name `{}`, but the context `{}` was not renamed",
                        plan.to(),
                        plan.from()
                    ),
                    format!(
                        "rename it by hand (`kubectl config rename-context {} {}`); the \
                         joined clusters already use the new name",
                        plan.from(),
                        plan.to()
                    ),
                )
                .and(outcome)
        }
        _ => outcome,
    }
}

/// The first name problem of a join of `clusters`, with the cluster it is about.
fn check_names_of<'a>(
    clusters: &'a [String],
    host_cluster_name: Option<&str>,
    host_context: &str,
    global: &GlobalArgs,
) -> Option<(&'a str, NameProblem)> {
    clusters.iter().find_map(|cluster| {
        check_names(
            cluster,
            host_cluster_name,
            host_context,
            &global.kubefed_namespace,
        )
        .err()
        .map(|problem| (cluster.as_str(), problem))
    })
}

/// The error for a name problem, with what to type instead.
fn name_error(cluster: &str, problem: NameProblem) -> anyhow::Error {
    match problem {
        NameProblem::ClusterName {
            invalid,
            suggestion,
        } => hinted(
            format!("cluster name {invalid}"),
            format!(
                "choose a valid name and keep the context: `kubefedctl join {suggestion} --cluster-context {cluster}`"
            ),
        ),
        NameProblem::HostClusterName {
            invalid,
            suggestion,
        } => hinted(
            format!("--host-cluster-name makes an invalid ServiceAccount name: {invalid}"),
            format!("pass --host-cluster-name {suggestion}"),
        ),
        NameProblem::HostContext {
            context,
            invalid,
            suggestion,
        } => hinted(
            format!(
                "the host context name `{context}` cannot be used in object names: ServiceAccount name {invalid}"
            ),
            format!("pass --host-cluster-name {suggestion}"),
        ),
        e @ NameProblem::HostClusterNameChars => UsageError(e.to_string()).into(),
    }
}

/// Rename the host context in the kubeconfig, or under a dry run say what would change.
fn rename_host_context(printer: &Printer, plan: &ContextRename, dry_run: DryRun) -> Result<()> {
    let (from, to) = (plan.from(), plan.to());
    let what = |edit: &FileEdit, verb: [&str; 2]| match (
        edit.renames_context,
        edit.sets_current_context,
    ) {
        (true, true) => format!(
            "{} context `{from}` to `{to}`, and current-context",
            verb[0]
        ),
        (true, false) => format!("{} context `{from}` to `{to}`", verb[0]),
        _ => format!("{} current-context from `{from}` to `{to}`", verb[1]),
    };
    if !dry_run.writes() {
        for edit in plan.edits() {
            printer.note(&format!(
                "{} in `{}`{}",
                what(edit, ["Would rename", "Would set"]),
                edit.path.display(),
                dry_run.suffix()
            ));
        }
        return Ok(());
    }
    for done in plan.apply()? {
        let link = if done.target == done.edit.path {
            String::new()
        } else {
            format!(", a link to `{}`", done.target.display())
        };
        printer.note(&format!(
            "{} in `{}`{link} (backup: `{}`)",
            what(&done.edit, ["Renamed", "Set"]),
            done.edit.path.display(),
            done.backup.display()
        ));
    }
    Ok(())
}

/// Refuse, before any write, a command that names one physical cluster twice (two contexts
/// of one cluster): the joins run at once, so neither one's duplicate check would see the
/// other's KubeFedCluster. Clusters are told apart by their `kube-system` namespace UID.
async fn refuse_one_cluster_twice(
    clusters: &[String],
    members: &[Result<(crate::kubeconfig::ClusterAccess, kube::Client)>],
) -> Result<()> {
    if clusters.len() < 2 {
        return Ok(());
    }
    let uids = futures::future::join_all(members.iter().map(|m| async move {
        match m {
            Ok((_, client)) => cluster_uid(client).await,
            Err(_) => None,
        }
    }))
    .await;
    for (i, uid) in uids.iter().enumerate() {
        let Some(uid) = uid else { continue };
        if let Some(j) = uids[..i].iter().position(|u| u.as_ref() == Some(uid)) {
            return Err(hinted(
                format!(
                    "clusters `{}` and `{}` are the same cluster (kube-system namespace UID {uid}); nothing was joined",
                    clusters[j], clusters[i]
                ),
                "join it under one name, or pass --allow-duplicate",
            ));
        }
    }
    Ok(())
}

fn render(
    printer: &Printer,
    clusters: &[String],
    results: Vec<Result<JoinOutcome>>,
    output: Option<Format>,
    dry_run: DryRun,
) -> Result<()> {
    let suffix = dry_run.suffix();
    for outcome in results.iter().filter_map(|r| r.as_ref().ok()) {
        for w in &outcome.warnings {
            printer.warn(w);
        }
    }
    if let Some(format) = output {
        let objects: Vec<&serde_json::Value> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .flat_map(|o| o.objects.iter())
            .collect();
        printer.structured(format, &objects)?;
    } else {
        for outcome in results.iter().filter_map(|r| r.as_ref().ok()) {
            for w in &outcome.written {
                tracing::info!(
                    "{} {}: {}/{} {}",
                    outcome.cluster,
                    match w.location {
                        crate::ops::join::Location::Member => "member",
                        crate::ops::join::Location::Host => "host",
                    },
                    w.resource,
                    w.name,
                    w.action
                );
            }
            let kfc = outcome
                .written
                .iter()
                .find(|w| w.resource.starts_with("kubefedcluster"))
                .map(|w| w.action)
                .unwrap_or("unchanged");
            printer.object(
                "kubefedcluster.core.kubefed.io",
                &outcome.cluster,
                &format!("{kfc}{suffix}"),
            );
        }
    }
    let failed: Vec<(&String, anyhow::Error)> = clusters
        .iter()
        .zip(results)
        .filter_map(|(c, r)| r.err().map(|e| (c, e)))
        .collect();
    if clusters.len() > 1 {
        let mut table = String::from("CLUSTER\tRESULT\n");
        for c in clusters {
            let status = match failed.iter().find(|(f, _)| *f == c) {
                Some((_, e)) => format!("failed: {e}"),
                None => format!("joined{suffix}"),
            };
            table.push_str(&format!("{c}\t{status}\n"));
        }
        printer.note(&crate::output::align_table(&table));
    }
    match failed.len() {
        0 => Ok(()),
        1 if clusters.len() == 1 => Err(failed.into_iter().next().expect("one").1),
        n => {
            for (_, e) in &failed {
                printer.error(e);
            }
            Err(anyhow::anyhow!("{n} of {} clusters failed to join", clusters.len()))
                .context_hint("join failed", "the joins that succeeded are kept; fix the errors above and rerun for the failed clusters")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_bounded_and_never_overflow() {
        for (text, ms) in [
            ("30", 30_000),
            ("30s", 30_000),
            ("500ms", 500),
            ("2m", 120_000),
            ("1m30s", 90_000),
            ("1h", 3_600_000),
            ("24h", 86_400_000),
            ("0s", 0),
        ] {
            assert_eq!(parse_duration(text).unwrap().as_millis(), ms, "{text}");
        }
        for bad in ["", "s", "1x", "1.5s", "-1s", "1m5", "1s 2s", "30 s"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.starts_with("invalid duration"), "{bad}: {e}");
        }
        for huge in [
            "18446744073709551615s",
            "307445734561825861m",
            "99999999999999999999999",
            "24h1ms",
            "18446744073709551615ms18446744073709551615ms",
        ] {
            let e = parse_duration(huge).unwrap_err();
            assert!(e.contains("longer than the maximum, 24h"), "{huge}: {e}");
        }
    }
}

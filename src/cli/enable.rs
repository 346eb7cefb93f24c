//! `kubefedctl enable`: make API types federatable.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow};
use clap::Args;

use super::GlobalArgs;
use crate::error::UsageError;
use crate::ops::discovery::discover;
use crate::ops::enable::{
    DEFAULT_FEDERATED_GROUP, DEFAULT_FEDERATED_VERSION, EnableTarget, SchemaSource, TypeObjects,
    check_namespace, sorted, type_objects, write_type,
};
use crate::output::Format;

/// Enables propagation of Kubernetes API types
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # The types of the KubeFed walk-through\n  \
    kubefedctl enable deployments.apps services configmaps namespaces\n\n  \
    # Any name kubectl accepts: plural, singular, kind, short name, with or without the group\n  \
    kubefedctl enable deploy\n  \
    kubefedctl enable Deployment.apps\n\n  \
    # A custom resource\n  \
    kubefedctl enable widgets.example.com\n\n  \
    # What would be written, without writing\n  \
    kubefedctl enable deployments.apps -o yaml\n\n  \
    # From an EnableTypeDirective file\n  \
    kubefedctl enable -f deployments.apps.yaml")]
pub struct EnableArgs {
    /// Names of the types to enable (plural, singular, kind or short name, optionally `.group`)
    #[arg(value_name = "NAME", required_unless_present = "filename", add = clap_complete::ArgValueCandidates::new(super::complete::types))]
    pub names: Vec<String>,

    /// An EnableTypeDirective YAML file (then NAME and the version flags are ignored)
    #[arg(short = 'f', long, value_name = "FILE")]
    pub filename: Option<PathBuf>,

    /// Only a type served in this API version (the preferred version of each type is used)
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,

    /// API group of the federated types
    #[arg(long, value_name = "GROUP", default_value = DEFAULT_FEDERATED_GROUP)]
    pub federated_group: String,

    /// API version of the federated types
    #[arg(long, value_name = "VERSION", default_value = DEFAULT_FEDERATED_VERSION)]
    pub federated_version: String,

    /// Print the FederatedTypeConfig and CRD of each type instead of writing them
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Format>,
}

/// An EnableTypeDirective: `metadata.name` plus optional target and federated versions.
fn read_directive(path: &PathBuf) -> Result<EnableTarget> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    let doc: serde_json::Value = serde_saphyr::from_str(&text)
        .with_context(|| format!("failed to parse EnableTypeDirective `{}`", path.display()))?;
    let name = doc["metadata"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            anyhow!(
                "EnableTypeDirective `{}` has no metadata.name",
                path.display()
            )
        })?;
    let spec = &doc["spec"];
    let field = |k: &str, default: &str| {
        spec[k]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or(default)
            .to_string()
    };
    Ok(EnableTarget {
        name: name.to_string(),
        version: spec["targetVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        federated_group: field("federatedGroup", DEFAULT_FEDERATED_GROUP),
        federated_version: field("federatedVersion", DEFAULT_FEDERATED_VERSION),
    })
}

pub async fn run(args: EnableArgs, global: &GlobalArgs) -> Result<()> {
    let EnableArgs {
        names,
        filename,
        version,
        federated_group,
        federated_version,
        output,
    } = args;
    let printer = global.printer();
    let targets: Vec<EnableTarget> = match &filename {
        Some(path) => vec![read_directive(path)?],
        None => names
            .iter()
            .map(|name| EnableTarget {
                name: name.clone(),
                version: version.clone(),
                federated_group: federated_group.clone(),
                federated_version: federated_version.clone(),
            })
            .collect(),
    };
    if targets.is_empty() {
        return Err(UsageError("NAME is required".into()).into());
    }
    let host = global.host().await?;
    let (client, _) = host.connect().await?;
    let discovered = discover(&client, &host.context).await?;
    let schemas = SchemaSource::new(client.clone());

    // Resolve every name and build its objects first: a typo fails before any write.
    let mut planned: Vec<TypeObjects> = Vec::new();
    for target in &targets {
        let t = discovered.resolve(&target.name, target.version.as_deref(), &host.context)?;
        if !discovered.stale_groups.is_empty() {
            tracing::warn!(
                "type found although discovery of {} is unavailable",
                discovered.stale_groups.join(", ")
            );
        }
        let retain = schemas.has_int32_replicas(t).await.with_context(|| {
            format!(
                "failed to read the schema of `{}` in cluster `{}`",
                t.qualified_plural(),
                host.context
            )
        })?;
        let objects = type_objects(
            t,
            &target.federated_group,
            &target.federated_version,
            retain,
        );
        if !planned.iter().any(|p| p.name == objects.name) {
            planned.push(objects);
        }
    }

    if let Some(format) = output {
        let docs: Vec<serde_json::Value> = planned
            .iter()
            .flat_map(|p| [sorted(&p.type_config), sorted(&p.crd)])
            .collect();
        return printer.structured(format, &docs);
    }

    let dry_run = global.dry_run();
    let namespace = &global.kubefed_namespace;
    check_namespace(&client, namespace, &host.context).await?;
    let progress = printer.progress();
    let results = futures::future::join_all(
        planned
            .iter()
            .map(|p| write_type(&client, p, namespace, &host.context, dry_run, &progress)),
    )
    .await;
    drop(progress);
    let suffix = dry_run.suffix();
    let mut failed = Vec::new();
    for (p, result) in planned.iter().zip(results) {
        match result {
            Ok(done) => {
                let crd = p.crd["metadata"]["name"].as_str().unwrap_or_default();
                printer.object(
                    "customresourcedefinition.apiextensions.k8s.io",
                    crd,
                    &format!("{}{suffix}", done.crd_action),
                );
                printer.object(
                    "federatedtypeconfig.core.kubefed.io",
                    &p.name,
                    &format!(
                        "{} in namespace {namespace}{suffix}",
                        done.type_config_action
                    ),
                );
            }
            Err(e) => failed.push((p.name.clone(), e)),
        }
    }
    match failed.len() {
        0 => Ok(()),
        1 if planned.len() == 1 => Err(failed.pop().expect("one").1),
        n => {
            for (_, e) in &failed {
                printer.error(e);
            }
            Err(anyhow!("{n} of {} types failed to enable", planned.len()))
        }
    }
}

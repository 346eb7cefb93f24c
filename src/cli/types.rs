//! `kubefedctl types`: the enabled federated types.

use anyhow::{Context as _, Result};
use clap::Args;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use serde::Serialize;

use super::GlobalArgs;
use crate::api::FederatedTypeConfig;
use crate::output::{Format, align_table};

/// List the enabled federated types: target type, federated CRD, propagation state
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  kubefedctl types\n  kubefedctl types -o yaml")]
pub struct TypesArgs {
    /// Output format
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Format>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TypeRow {
    name: String,
    target: String,
    federated_crd: String,
    propagation: String,
    controller: String,
}

pub async fn run(args: TypesArgs, global: &GlobalArgs) -> Result<()> {
    let TypesArgs { output } = args;
    let printer = global.printer();
    let host = global.host().await?;
    let (client, _) = host.connect().await?;
    let ns = &global.kubefed_namespace;
    let mut items = Api::<FederatedTypeConfig>::namespaced(client, ns)
        .list(&ListParams::default())
        .await
        .with_context(|| {
            format!(
                "failed to list FederatedTypeConfigs in namespace `{ns}` of cluster `{}`",
                host.context
            )
        })?
        .items;
    items.sort_by_key(|f| f.name_any());
    let rows: Vec<TypeRow> = items
        .iter()
        .map(|f| {
            let t = &f.spec.target_type;
            let fed = &f.spec.federated_type;
            TypeRow {
                name: f.name_any(),
                target: if t.group.is_empty() {
                    format!("{}/{}", t.version, t.kind)
                } else {
                    format!("{}/{}/{}", t.group, t.version, t.kind)
                },
                federated_crd: format!("{}.{}", fed.plural_name, fed.group),
                propagation: f.spec.propagation.to_string(),
                controller: f
                    .status
                    .as_ref()
                    .map(|s| s.propagation_controller.to_string())
                    .unwrap_or_else(|| "<none>".into()),
            }
        })
        .collect();
    if let Some(format) = output {
        return printer.structured(format, &[&rows]);
    }
    if rows.is_empty() {
        printer.note(&format!(
            "No federated types enabled in namespace {ns} of cluster {}.",
            host.context
        ));
        return Ok(());
    }
    let mut table = String::from("NAME\tTARGET\tFEDERATED-CRD\tPROPAGATION\tCONTROLLER\n");
    for r in &rows {
        table.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            r.name, r.target, r.federated_crd, r.propagation, r.controller
        ));
    }
    printer.data(&(align_table(&table) + "\n"));
    Ok(())
}

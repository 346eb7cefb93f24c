//! `kubefedctl clusters` (also `kubefedctl get clusters`): the joined clusters.

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::GlobalArgs;
use crate::ops::clusters::list_clusters;
use crate::output::{Format, align_table};

/// List the joined clusters, with a live health probe made with their stored credentials
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    kubefedctl clusters --host-cluster-context fedhost\n  \
    kubefedctl get clusters -o wide\n  \
    kubefedctl clusters -o json")]
pub struct ClustersArgs {
    /// Output format: a table (default), `wide` for more columns, `yaml` or `json`
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ClustersFormat>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ClustersFormat {
    Wide,
    Yaml,
    Json,
}

pub async fn run(args: ClustersArgs, global: &GlobalArgs) -> Result<()> {
    let ClustersArgs { output } = args;
    let printer = global.printer();
    let host = global.host().await?;
    let (client, _) = host.connect().await?;
    let rows = list_clusters(&client, &global.kubefed_namespace, &host.context).await?;
    match output {
        Some(ClustersFormat::Yaml) => return printer.structured(Format::Yaml, &[&rows]),
        Some(ClustersFormat::Json) => return printer.structured(Format::Json, &[&rows]),
        _ => {}
    }
    if rows.is_empty() {
        printer.note(&format!(
            "No clusters joined in namespace {} of cluster {}.",
            global.kubefed_namespace, host.context
        ));
        return Ok(());
    }
    let wide = matches!(output, Some(ClustersFormat::Wide));
    let mut table = if wide {
        String::from("NAME\tREADY\tPROBE\tKUBERNETES-VERSION\tAPI-ENDPOINT\tSECRET\n")
    } else {
        String::from("NAME\tREADY\tPROBE\tAPI-ENDPOINT\n")
    };
    for r in &rows {
        let ready = if r.ready.is_empty() {
            "<none>"
        } else {
            &r.ready
        };
        let probe = if r.probe_ok || wide {
            r.probe.clone()
        } else {
            let mut s: String = r.probe.chars().take(60).collect();
            if r.probe.chars().count() > 60 {
                s.push_str("...");
            }
            s
        };
        if wide {
            let version = if r.kubernetes_version.is_empty() {
                "<none>"
            } else {
                &r.kubernetes_version
            };
            table.push_str(&format!(
                "{}\t{ready}\t{probe}\t{version}\t{}\t{}\n",
                r.name, r.api_endpoint, r.secret
            ));
        } else {
            table.push_str(&format!(
                "{}\t{ready}\t{probe}\t{}\n",
                r.name, r.api_endpoint
            ));
        }
    }
    printer.data(&(align_table(&table) + "\n"));
    Ok(())
}

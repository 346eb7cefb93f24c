//! `kubefedctl controller-manager`: the KubeFed control plane (also run as `controller-manager`).

use std::net::SocketAddr;

use anyhow::Result;
use clap::Args;

use super::GlobalArgs;
use crate::controller::{self, ControllerManagerOptions};

/// Run the KubeFed control plane: cluster health, type configs and propagation
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    kubefedctl controller-manager --host-cluster-context fedhost --healthz-addr 127.0.0.1:8080 -v 2\n  \
    # in a pod: the in-cluster config and the pod's namespace\n  \
    controller-manager --healthz-addr :8080 --metrics-addr :9090")]
pub struct ControllerManagerArgs {
    /// A KubeFedConfig YAML file to use instead of the KubeFedConfig `kubefed` object
    #[arg(long, value_name = "FILE")]
    pub kubefed_config: Option<std::path::PathBuf>,

    /// Address of /healthz and /readyz (`:8080` means every interface)
    #[arg(long, value_name = "ADDR", default_value = ":8080", value_parser = parse_addr)]
    pub healthz_addr: SocketAddr,

    /// Address of /metrics (Prometheus)
    #[arg(long, value_name = "ADDR", default_value = ":9090", value_parser = parse_addr)]
    pub metrics_addr: SocketAddr,

    /// Accepted for compatibility with the Go controller-manager; no client-side rate limit applies
    #[arg(long, value_name = "QPS", hide = true)]
    pub rest_config_qps: Option<f32>,

    /// Accepted for compatibility with the Go controller-manager; no client-side rate limit applies
    #[arg(long, value_name = "BURST", hide = true)]
    pub rest_config_burst: Option<i32>,
}

/// Go's `host:port` with an optional host (`:8080` = all interfaces).
fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_string()
    };
    full.parse()
        .map_err(|_| format!("`{s}` is not an address such as `:8080` or `127.0.0.1:8080`"))
}

pub async fn run(args: ControllerManagerArgs, global: &GlobalArgs) -> Result<()> {
    let ControllerManagerArgs {
        kubefed_config,
        healthz_addr,
        metrics_addr,
        rest_config_qps: _,
        rest_config_burst: _,
    } = args;
    if global.dry_run() != crate::ops::DryRun::None {
        return Err(crate::error::UsageError(
            "controller-manager has no dry run: it writes what the federation needs as it runs"
                .into(),
        )
        .into());
    }
    // NB: the global flag has a default; in a pod only an explicit other value overrides the
    // pod's own namespace.
    let namespace = (global.kubefed_namespace != crate::api::KUBEFED_NAMESPACE_DEFAULT)
        .then(|| global.kubefed_namespace.clone());
    let namespace = namespace.or_else(|| {
        std::env::var_os("KUBERNETES_SERVICE_HOST")
            .is_none()
            .then(|| global.kubefed_namespace.clone())
    });
    controller::run(ControllerManagerOptions {
        kubeconfig: global.kubeconfig.clone(),
        context: global.host_cluster_context.clone(),
        namespace,
        kubefed_config,
        healthz_addr,
        metrics_addr,
    })
    .await
}

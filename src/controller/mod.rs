//! The control plane: `kubefedctl controller-manager`, a drop-in replacement for KubeFed
//! v0.10.0's Go controller-manager.
//!
//! - [`config`]: the KubeFedConfig `kubefed`, read once, resolved into settings with defaults.
//! - [`cluster`]: the member-cluster registry (one client per KubeFedCluster, rebuilt when its
//!   spec or Secret changes) and the health probe that writes KubeFedCluster status.
//! - [`ftc`]: the FederatedTypeConfig controller: starts, stops and restarts per-type sync.
//! - [`sync`]: propagation of one federated type: placement, overrides, dispatch to members,
//!   PropagatedVersions, status, deletion.
//! - [`leader`]: leader election; [`http`] and [`metrics`]: `/healthz`, `/readyz`, `/metrics`.
//!
//! No clap and no printing here; logs go through `tracing`.

pub mod cluster;
pub mod config;
pub mod ftc;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod sync;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::api::ResourceLockType;
use crate::kubeconfig::{LoadedKubeconfig, Protocol, build_client};

/// Where the in-cluster service account's namespace is mounted.
const POD_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// What `kubefedctl controller-manager` runs with.
#[derive(Clone, Debug)]
pub struct ControllerManagerOptions {
    /// `--kubeconfig`; with `context`, out of cluster. Neither, in a pod: the in-cluster config.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// `--kubefed-namespace` when given explicitly.
    pub namespace: Option<String>,
    /// `--kubefed-config FILE` instead of the KubeFedConfig object.
    pub kubefed_config: Option<PathBuf>,
    pub healthz_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
}

/// Run the control plane until SIGTERM or SIGINT (Ok) or a lost leader lease (Err).
pub async fn run(options: ControllerManagerOptions) -> Result<()> {
    let in_cluster = options.kubeconfig.is_none()
        && options.context.is_none()
        && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
        && std::env::var_os("KUBECONFIG").is_none();
    let host = if in_cluster {
        let config =
            kube::Config::incluster().context("failed to read the in-cluster configuration")?;
        build_client(&config, Protocol::Pooled).context("failed to build the host client")?
    } else {
        let kubeconfig = LoadedKubeconfig::load(options.kubeconfig.as_deref())?;
        let access = kubeconfig.resolve(options.context.as_deref()).await?;
        access.connect_with(Protocol::Multiplexed).await?.0
    };
    let namespace = match &options.namespace {
        Some(ns) => ns.clone(),
        None if in_cluster => std::fs::read_to_string(POD_NAMESPACE_FILE)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| crate::api::KUBEFED_NAMESPACE_DEFAULT.to_string()),
        None => crate::api::KUBEFED_NAMESPACE_DEFAULT.to_string(),
    };

    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());

    let metrics = metrics::Metrics::new();
    let (ready_tx, ready_rx) = tokio::sync::watch::channel(false);
    let healthz = http::bind(options.healthz_addr, "--healthz-addr").await?;
    let metrics_listener = if options.metrics_addr != options.healthz_addr {
        Some(http::bind(options.metrics_addr, "--metrics-addr").await?)
    } else {
        None
    };
    // One address for both: /metrics is served there too.
    let healthz_metrics = metrics_listener.is_none().then(|| metrics.clone());
    tokio::spawn(http::serve_on(
        healthz,
        healthz_metrics,
        ready_rx.clone(),
        cancel.clone(),
    ));
    if let Some(listener) = metrics_listener {
        tokio::spawn(http::serve_on(
            listener,
            Some(metrics.clone()),
            ready_rx,
            cancel.clone(),
        ));
    }

    let settings = config::load(&host, &namespace, options.kubefed_config.as_deref()).await?;
    info!(
        "Using valid KubeFedConfig \"{namespace}/{}\"",
        crate::api::KUBEFED_CONFIG_NAME
    );
    if settings.leader.lock == ResourceLockType::Endpoints {
        warn!(
            "leaderElect.resourceLock `endpoints`: held together with a coordination.k8s.io Lease"
        );
    }

    let leader_config = leader::LeaderConfig {
        namespace: namespace.clone(),
        name: "kubefed-controller-manager".into(),
        identity: leader::default_identity(),
        lease_duration: settings.leader.lease_duration,
        renew_deadline: settings.leader.renew_deadline,
        retry_period: settings.leader.retry_period,
        lock: Some(settings.leader.lock.into()),
    };
    let Some(leadership) =
        leader::Leadership::acquire(host.clone(), leader_config, cancel.clone()).await?
    else {
        info!("stopped before becoming the leader");
        return Ok(());
    };

    let registry = cluster::Registry::default();
    // Stops with SIGTERM, and at once when the lease is lost (nothing may be written then).
    let work = leadership.lost_token().child_token();
    {
        let (cancel, work) = (cancel.clone(), work.clone());
        tokio::spawn(async move {
            cancel.cancelled().await;
            work.cancel();
        });
    }
    let clusters = tokio::spawn(cluster::run(
        host.clone(),
        settings.clone(),
        registry.clone(),
        metrics.clone(),
        work.clone(),
    ));
    let types = if settings.push_reconciler {
        Some(tokio::spawn(ftc::run(
            host.clone(),
            settings.clone(),
            registry.clone(),
            metrics.clone(),
            work.clone(),
        )))
    } else {
        warn!("feature gate PushReconciler is disabled: nothing is propagated");
        None
    };
    {
        let registry = registry.clone();
        tokio::spawn(async move {
            registry.wait_synced().await;
            let _ = ready_tx.send(true);
        });
    }

    let lost = tokio::select! {
        _ = cancel.cancelled() => false,
        _ = leadership.lost() => true,
    };
    work.cancel();
    let stop = async {
        let _ = clusters.await;
        if let Some(types) = types {
            let _ = types.await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), stop)
        .await
        .is_err()
    {
        warn!("controllers did not stop within 10 s");
    }
    if lost {
        return Err(anyhow!("lost lease"));
    }
    leadership.release().await;
    info!("stopped");
    Ok(())
}

/// A channel's receiver as a stream (what `Controller::reconcile_on` and `reconcile_all_on`
/// take).
pub(crate) fn receiver_stream<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// SIGTERM and SIGINT cancel `cancel`; a second signal exits at once.
fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        info!("signal received; stopping");
        cancel.cancel();
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        warn!("second signal: exiting now");
        std::process::exit(1);
    });
}

//! The FederatedTypeConfig controller (Go: `pkg/controller/federatedtypeconfig`): one sync
//! controller per enabled type, started, stopped and restarted as the FederatedTypeConfigs
//! change; the `core.kubefed.io/federated-type-config` finalizer; `status.propagationController`.
//!
//! FederatedTypeConfigs are watched untyped and parsed one by one, so one malformed object is
//! reported by name and never stops the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, Resource};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::api::{ControllerStatus, FederatedTypeConfig, Scope};
use crate::controller::cluster::Registry;
use crate::controller::config::Settings;
use crate::controller::metrics::Metrics;
use crate::controller::sync;
use crate::controller::sync::resource::TypeSpec;

/// The finalizer on FederatedTypeConfigs.
pub const FTC_FINALIZER: &str = "core.kubefed.io/federated-type-config";
/// The FederatedTypeConfig of namespaces: namespaced types need it.
pub const NAMESPACES_FTC: &str = "namespaces";

struct Running {
    spec: TypeSpec,
    generation: i64,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

struct Ctx {
    host: Client,
    settings: Settings,
    registry: Registry,
    metrics: Metrics,
    store: Store<DynamicObject>,
    running: Mutex<HashMap<String, Running>>,
    all: mpsc::UnboundedSender<()>,
    cancel: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
struct FtcError(anyhow::Error);

/// Run the FederatedTypeConfig controller until `cancel`; stops every sync controller it
/// started before returning.
pub async fn run(
    host: Client,
    settings: Settings,
    registry: Registry,
    metrics: Metrics,
    cancel: CancellationToken,
) {
    let ar = ApiResource::erase::<FederatedTypeConfig>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(host.clone(), &settings.namespace, &ar);
    let controller = Controller::new_with(api, watcher::Config::default(), ar);
    let (all_tx, all_rx) = mpsc::unbounded_channel::<()>();
    let ctx = Arc::new(Ctx {
        host,
        settings,
        registry,
        metrics,
        store: controller.store(),
        running: Mutex::new(HashMap::new()),
        all: all_tx,
        cancel: cancel.clone(),
    });
    let shutdown = cancel.clone();
    controller
        .reconcile_all_on(crate::controller::receiver_stream(all_rx))
        .graceful_shutdown_on(async move { shutdown.cancelled().await })
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| async {})
        .await;
    let running: Vec<Running> = ctx
        .running
        .lock()
        .map(|mut r| r.drain().map(|(_, v)| v).collect())
        .unwrap_or_default();
    for r in running {
        r.cancel.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), r.task).await;
    }
}

fn error_policy(object: Arc<DynamicObject>, error: &FtcError, _ctx: Arc<Ctx>) -> Action {
    warn!(
        "FederatedTypeConfig `{}`: {error}",
        object.metadata.name.as_deref().unwrap_or_default()
    );
    Action::requeue(Duration::from_secs(5))
}

fn parse(object: &DynamicObject) -> Result<FederatedTypeConfig> {
    let value = serde_json::to_value(object)?;
    serde_json::from_value(value)
        .context("the object does not match the FederatedTypeConfig schema")
}

async fn reconcile(object: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, FtcError> {
    reconcile_inner(&object, &ctx).await.map_err(FtcError)
}

async fn reconcile_inner(object: &DynamicObject, ctx: &Arc<Ctx>) -> Result<Action> {
    let name = object.metadata.name.clone().unwrap_or_default();
    let ftc = match parse(object) {
        Ok(ftc) => ftc,
        Err(e) => {
            warn!(
                "FederatedTypeConfig `{}/{name}` is ignored: {e:#}",
                ctx.settings.namespace
            );
            ctx.stop(&name).await;
            return Ok(Action::await_change());
        }
    };
    let api: Api<FederatedTypeConfig> = Api::namespaced(ctx.host.clone(), &ctx.settings.namespace);
    let finalizers = object.metadata.finalizers.clone().unwrap_or_default();
    if object.metadata.deletion_timestamp.is_some() {
        ctx.stop(&name).await;
        if name == NAMESPACES_FTC {
            let _ = ctx.all.send(());
        }
        if finalizers.iter().any(|f| f == FTC_FINALIZER) {
            let rest: Vec<&String> = finalizers.iter().filter(|f| *f != FTC_FINALIZER).collect();
            patch_finalizers(&api, &name, object, json!(rest)).await?;
        }
        return Ok(Action::await_change());
    }
    if !finalizers.iter().any(|f| f == FTC_FINALIZER) {
        let mut next = finalizers.clone();
        next.push(FTC_FINALIZER.into());
        patch_finalizers(&api, &name, object, json!(next)).await?;
        if name == NAMESPACES_FTC {
            let _ = ctx.all.send(());
        }
    }

    let generation = object.metadata.generation.unwrap_or_default();
    let namespaces = ctx
        .store
        .get(
            &ObjectRef::new_with(
                NAMESPACES_FTC,
                ApiResource::erase::<FederatedTypeConfig>(&()),
            )
            .within(&ctx.settings.namespace),
        )
        .filter(|o| o.metadata.deletion_timestamp.is_none())
        .and_then(|o| parse(&o).ok());
    let target_namespaced = ftc.spec.target_type.scope == Scope::Namespaced;
    let limited_scope_skip = ctx.settings.scope == Scope::Namespaced && !target_namespaced;
    let wanted =
        ftc.spec.propagation.is_enabled() && ctx.settings.push_reconciler && !limited_scope_skip;
    let mut requeue = Action::requeue(Duration::from_secs(30));
    let was_running = ctx.is_running(&name);
    let running = if !wanted {
        ctx.stop(&name).await;
        false
    } else if target_namespaced && namespaces.is_none() {
        // NB: upstream: namespaced types need the `namespaces` FederatedTypeConfig.
        ctx.stop(&name).await;
        warn!(
            "type `{name}` waits for FederatedTypeConfig `{}/{NAMESPACES_FTC}`: namespaced types are propagated only when namespaces are enabled",
            ctx.settings.namespace
        );
        requeue = Action::requeue(Duration::from_secs(10));
        false
    } else {
        let spec = TypeSpec::new(&ftc, namespaces.as_ref())?;
        ctx.ensure_running(&name, spec, generation).await;
        true
    };
    if name == NAMESPACES_FTC && running != was_running {
        // Namespaced types start and stop with it.
        let _ = ctx.all.send(());
    }

    let status = json!({
        "observedGeneration": generation,
        "propagationController": if running { ControllerStatus::Running } else { ControllerStatus::NotRunning }.as_str(),
        "statusController": ControllerStatus::NotRunning.as_str(),
    });
    let current = object.data.get("status").cloned().unwrap_or_default();
    if current != status {
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": status})),
        )
        .await
        .with_context(|| format!("failed to update the status of FederatedTypeConfig `{name}`"))?;
    }
    Ok(requeue)
}

async fn patch_finalizers(
    api: &Api<FederatedTypeConfig>,
    name: &str,
    object: &DynamicObject,
    finalizers: serde_json::Value,
) -> Result<()> {
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": object.meta().resource_version}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| {
            format!("failed to update the finalizers of FederatedTypeConfig `{name}`")
        })?;
    Ok(())
}

impl Ctx {
    fn is_running(&self, name: &str) -> bool {
        self.running
            .lock()
            .is_ok_and(|r| r.get(name).is_some_and(|x| !x.task.is_finished()))
    }

    async fn stop(&self, name: &str) {
        let running = self.running.lock().ok().and_then(|mut r| r.remove(name));
        if let Some(r) = running {
            info!(r#type = %name, "stopping sync controller");
            r.cancel.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(5), r.task).await;
        }
    }

    /// Start the type's sync controller, or restart it when its FederatedTypeConfig changed
    /// (a new generation, as upstream) or it ended.
    async fn ensure_running(&self, name: &str, spec: TypeSpec, generation: i64) {
        let current = self.running.lock().ok().and_then(|r| {
            r.get(name)
                .map(|x| x.spec == spec && x.generation == generation && !x.task.is_finished())
        });
        match current {
            Some(true) => return,
            Some(false) => self.stop(name).await,
            None => {}
        }
        let cancel = self.cancel.child_token();
        let task = {
            let (host, settings, registry, metrics, spec, cancel) = (
                self.host.clone(),
                self.settings.clone(),
                self.registry.clone(),
                self.metrics.clone(),
                spec.clone(),
                cancel.clone(),
            );
            let name = name.to_string();
            tokio::spawn(async move {
                if let Err(e) =
                    sync::controller::run(host, settings, registry, metrics, spec, cancel).await
                {
                    warn!(r#type = %name, "sync controller stopped: {e:#}");
                }
            })
        };
        if let Ok(mut r) = self.running.lock() {
            r.insert(
                name.to_string(),
                Running {
                    spec,
                    generation,
                    cancel,
                    task,
                },
            );
        }
    }
}

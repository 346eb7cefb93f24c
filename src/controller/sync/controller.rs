//! The reconcile loop of one federated type (Go: `sync/controller.go`).
//!
//! Inputs: the federated objects (a kube-runtime `Controller`), the FederatedNamespaces (for
//! namespaced targets), the member registry, and one watch per ready member cluster on the
//! target type, label `kubefed.io/managed=true`. A member event reconciles its federated object
//! at once (upstream waits 10 s), a cluster change reconciles every object at once (upstream
//! waits 20 s + 3 s), so drift is repaired and new clusters filled within a round trip.
//!
//! Reconcile: finalizer, placement, one operation per cluster (all clusters concurrently, each
//! bounded), PropagatedVersion, status; deletion honours `kubefed.io/orphan` and
//! `kubefed.io/deleteoption`. A member that is unreachable or whose cache never syncs is
//! reported in the status of the objects it affects; it never stops the process.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, ObjectReference};
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::api::Scope;
use crate::controller::cluster::{Member, Registry};
use crate::controller::config::Settings;
use crate::controller::metrics::{Metrics, ReconcileResult};
use crate::controller::sync::events::{EventQueue, EventRecorder};
use crate::controller::sync::resource::{
    self, MANAGED_LABEL, SYNC_FINALIZER, TypeSpec, display_key, dynamic_api, managed_false,
    managed_true, object_for_cluster, object_key,
};
use crate::controller::sync::status::{
    self, AggregateReason, ClusterStatus, Observed, PropagationStatus,
};
use crate::controller::sync::version::VersionCache;
use crate::controller::sync::writer::{HostWriter, Target};
use crate::controller::sync::{gojson, overrides, placement};

/// Reconciles of one type run this many at a time at least: objects are independent, and one
/// at a time (upstream's default) is what made upstream take a minute for 1,000 objects.
const MIN_WORKERS: usize = 32;
/// How long a stopping controller may take for the host writes still queued (a pod's default
/// grace period is 30 s). What is left is decided again by the next start, from the members.
const WRITE_BEHIND_DRAIN: Duration = Duration::from_secs(10);
/// The bound of one member operation (upstream: 30 s for all of an object's operations).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Namespaces a FederatedNamespace never propagates (upstream ignores them silently).
const IGNORED_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "default"];

/// The state of one member's cache of the target type.
#[derive(Clone, Debug, PartialEq)]
enum CacheState {
    Syncing,
    Synced,
    Failed(String),
}

struct MemberCache {
    epoch: u64,
    store: Store<DynamicObject>,
    state: tokio::sync::watch::Receiver<CacheState>,
    started: Instant,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MemberCache {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Ctx {
    host: Client,
    settings: Settings,
    registry: Registry,
    metrics: Metrics,
    ty: TypeSpec,
    federated: Store<DynamicObject>,
    federated_namespaces: Option<Store<DynamicObject>>,
    host_namespaces: Option<Store<Namespace>>,
    members: Mutex<HashMap<String, Arc<MemberCache>>>,
    versions: Arc<VersionCache>,
    writer: HostWriter,
    events: EventQueue,
    backoff: Mutex<HashMap<ObjectRef<DynamicObject>, Duration>>,
    /// The status last decided per federated object (by UID), until the store's copy has it.
    statuses: Arc<Mutex<HashMap<String, Value>>>,
    /// The resourceVersion of each member copy as this controller's last write left it, keyed
    /// by (cluster, `namespace/name`), until its watch event (the echo) arrives.
    echoes: Mutex<HashMap<(String, String), String>>,
    /// Federated objects (by UID) whose finalizer this process added, with the resourceVersion
    /// of the copy it added it to: that copy, still in a lagging store, needs no second patch.
    finalized: Mutex<HashMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct ReconcileError(anyhow::Error);

/// Run the sync controller of `ty` until `cancel`.
pub async fn run(
    host: Client,
    settings: Settings,
    registry: Registry,
    metrics: Metrics,
    ty: TypeSpec,
    cancel: CancellationToken,
) -> Result<()> {
    let target_ns = settings.target_namespace().map(str::to_string);
    let fed_api = dynamic_api(
        &host,
        &ty.federated,
        ty.federated_namespaced,
        target_ns.as_deref(),
    );
    let versions = Arc::new(
        VersionCache::load(host.clone(), ty.clone(), target_ns.as_deref())
            .await
            .with_context(|| format!("type `{}`", ty.name))?,
    );

    let (member_tx, member_rx) = mpsc::unbounded_channel::<ObjectRef<DynamicObject>>();
    let (all_tx, all_rx) = mpsc::unbounded_channel::<()>();

    let concurrency = settings.sync_concurrency.max(MIN_WORKERS);
    let (writer, writer_tasks) =
        HostWriter::start(host.clone(), ty.clone(), versions.clone(), concurrency);
    // The federated objects' cache, without managedFields (never read; a third of a small
    // object's size).
    let federated_writer = reflector::store::Writer::new(ty.federated.clone());
    let federated_store = federated_writer.as_reader();
    // The statuses decided but not yet seen in the store: an entry goes when the store's copy
    // catches up with it.
    let statuses: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
    let seen = statuses.clone();
    let federated_stream = reflector::reflector(
        federated_writer,
        watcher(fed_api, watcher::Config::default())
            .default_backoff()
            .modify(move |o: &mut DynamicObject| {
                o.metadata.managed_fields = None;
                if let (Some(uid), Ok(mut statuses)) = (&o.metadata.uid, seen.lock())
                    && statuses
                        .get(uid)
                        .is_some_and(|s| o.data.get("status") == Some(s))
                {
                    statuses.remove(uid);
                }
            }),
    )
    .applied_objects();
    let controller = Controller::for_stream_with(
        federated_stream,
        federated_store.clone(),
        ty.federated.clone(),
    )
    .with_config(controller::Config::default().concurrency(concurrency as u16));

    let federated_namespaces = ty.federated_namespace.as_ref().map(|ar| {
        let api = dynamic_api(&host, ar, true, target_ns.as_deref());
        let writer = reflector::store::Writer::new(ar.clone());
        let reader = writer.as_reader();
        let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .touched_objects();
        let cancel = cancel.clone();
        let member_tx = member_tx.clone();
        let federated = federated_store.clone();
        let fed_ar = ty.federated.clone();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            // What placement depends on: generation and deletion. Status writes change neither.
            let mut seen: HashMap<String, (Option<i64>, bool)> = HashMap::new();
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    event = stream.next() => match event {
                        Some(Ok(fedns)) => {
                            let ns = fedns.metadata.namespace.clone().unwrap_or_default();
                            let state = (fedns.metadata.generation, fedns.metadata.deletion_timestamp.is_some());
                            if seen.insert(ns.clone(), state) == Some(state) {
                                continue;
                            }
                            // Re-place the objects of that namespace.
                            for o in federated.state().iter().filter(|o| o.metadata.namespace.as_deref() == Some(ns.as_str())) {
                                let _ = member_tx.send(ObjectRef::from_obj_with(o.as_ref(), fed_ar.clone()));
                            }
                        }
                        Some(Err(e)) => warn!("watch of FederatedNamespaces failed: {e}"),
                        None => return,
                    },
                }
            }
        });
        reader
    });
    let host_namespaces = ty.is_namespace().then(|| {
        let api: Api<Namespace> = Api::all(host.clone());
        let (reader, writer) = reflector::store();
        let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .touched_objects();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    event = stream.next() => if event.is_none() { return },
                }
            }
        });
        reader
    });

    let ctx = Arc::new(Ctx {
        events: EventQueue::start(EventRecorder::new(host.clone(), ty.controller_name())),
        host,
        settings,
        registry: registry.clone(),
        metrics,
        federated: federated_store,
        federated_namespaces,
        host_namespaces,
        members: Mutex::new(HashMap::new()),
        versions,
        writer: writer.clone(),
        ty: ty.clone(),
        backoff: Mutex::new(HashMap::new()),
        statuses: statuses.clone(),
        echoes: Mutex::new(HashMap::new()),
        finalized: Mutex::new(HashMap::new()),
    });

    // Member caches follow the registry: opened for ready clusters, closed for the others,
    // reopened when a cluster's client changes. Any change reconciles everything.
    {
        let ctx = ctx.clone();
        let cancel = cancel.clone();
        let mut changes = registry.subscribe();
        tokio::spawn(async move {
            registry.wait_synced().await;
            loop {
                ctx.refresh_members(&member_tx);
                // Readiness and labels count too (placement selects on them): the registry
                // only reports real changes, so every one re-places everything.
                let _ = all_tx.send(());
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    changed = changes.changed() => if changed.is_err() { return },
                }
            }
        });
    }

    info!(r#type = %ty.name, "Starting sync controller for {}", ty.federated.kind);
    ctx.metrics
        .controller_started(&ty.federated.kind.to_lowercase(), concurrency);
    let shutdown = cancel.clone();
    controller
        .reconcile_on(crate::controller::receiver_stream(member_rx))
        .reconcile_all_on(crate::controller::receiver_stream(all_rx))
        .graceful_shutdown_on(async move { shutdown.cancelled().await })
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(e) = result {
                debug!("sync: {e}");
            }
        })
        .await;
    ctx.members.lock().map(|mut m| m.clear()).ok();
    // What the reconciles decided is written before the process goes, within a bound.
    writer.close();
    let backlog = writer.backlog();
    let aborts: Vec<_> = writer_tasks.iter().map(|t| t.abort_handle()).collect();
    if tokio::time::timeout(WRITE_BEHIND_DRAIN, futures::future::join_all(writer_tasks))
        .await
        .is_err()
    {
        aborts.iter().for_each(tokio::task::AbortHandle::abort);
        warn!(r#type = %ty.name, "{} host writes of {backlog} not done within {WRITE_BEHIND_DRAIN:?}", writer.backlog());
    }
    info!(r#type = %ty.name, "Stopped sync controller for {}", ty.federated.kind);
    Ok(())
}

impl Ctx {
    /// Bring the member caches in line with the registry.
    fn refresh_members(
        self: &Arc<Self>,
        member_tx: &mpsc::UnboundedSender<ObjectRef<DynamicObject>>,
    ) {
        let wanted: BTreeMap<String, Member> = self
            .registry
            .snapshot()
            .into_iter()
            .filter(|m| m.ready && m.client.is_some())
            .map(|m| (m.name.clone(), m))
            .collect();
        let Ok(mut members) = self.members.lock() else {
            return;
        };
        members.retain(|name, cache| {
            let keep = wanted.get(name).is_some_and(|m| m.epoch == cache.epoch);
            if !keep {
                debug!(r#type = %self.ty.name, cluster = %name, "closing member watch");
            }
            keep
        });
        for (name, member) in wanted {
            if members.contains_key(&name) {
                continue;
            }
            let Some(client) = member.client.clone() else {
                continue;
            };
            members.insert(
                name.clone(),
                Arc::new(self.open_member_cache(&name, client, member.epoch, member_tx.clone())),
            );
        }
    }

    fn open_member_cache(
        self: &Arc<Self>,
        cluster: &str,
        client: Client,
        epoch: u64,
        tx: mpsc::UnboundedSender<ObjectRef<DynamicObject>>,
    ) -> MemberCache {
        let target_ns = self.settings.target_namespace();
        let api = dynamic_api(
            &client,
            &self.ty.target,
            self.ty.target_namespaced,
            target_ns,
        );
        let writer = reflector::store::Writer::new(self.ty.target.clone());
        let reader = writer.as_reader();
        let config = watcher::Config::default().labels(&format!("{MANAGED_LABEL}=true"));
        let kind = self.ty.target.kind.clone();
        let keep_status = self.settings.raw_resource_status_collection && self.ty.status_collection;
        let stream = reflector::reflector(
            writer,
            watcher(api, config)
                .default_backoff()
                .modify(move |o: &mut DynamicObject| {
                    o.metadata.managed_fields = None;
                    resource::slim_member_copy(&kind, keep_status, &mut o.data);
                }),
        );
        let (state_tx, state_rx) = tokio::sync::watch::channel(CacheState::Syncing);
        let ctx = Arc::downgrade(self);
        let cluster = cluster.to_string();
        let store = reader.clone();
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                let Some(ctx) = ctx.upgrade() else { return };
                match event {
                    Ok(event) => {
                        if matches!(event, watcher::Event::InitDone) {
                            state_tx.send_replace(CacheState::Synced);
                        }
                        match event {
                            watcher::Event::Apply(o) if ctx.is_own_write(&cluster, &o) => {}
                            watcher::Event::Apply(o)
                            | watcher::Event::Delete(o)
                            | watcher::Event::InitApply(o) => ctx.member_event(&cluster, &o, &tx),
                            _ => {}
                        }
                    }
                    Err(e) => {
                        if !is_ready(&store) || *state_tx.borrow() != CacheState::Synced {
                            state_tx.send_replace(CacheState::Failed(e.to_string()));
                        }
                        debug!(cluster = %cluster, "member watch: {e}");
                    }
                }
            }
        });
        MemberCache {
            epoch,
            store: reader,
            state: state_rx,
            started: Instant::now(),
            task,
        }
    }

    /// The event reports the member copy exactly as this controller's last write left it (its
    /// echo): nothing to reconcile, the reconcile that wrote it knew the result. A copy being
    /// deleted is never an echo.
    fn is_own_write(&self, cluster: &str, object: &DynamicObject) -> bool {
        let (Some(name), Some(rv)) = (&object.metadata.name, &object.metadata.resource_version)
        else {
            return false;
        };
        if object.metadata.deletion_timestamp.is_some() {
            return false;
        }
        // The member's own copy: its namespace is the key's as it is.
        let key = (
            cluster.to_string(),
            object_key(object.metadata.namespace.as_deref(), name),
        );
        let Ok(mut echoes) = self.echoes.lock() else {
            return false;
        };
        if echoes.get(&key) == Some(rv) {
            echoes.remove(&key);
            return true;
        }
        false
    }

    /// A member object changed: reconcile its federated object, or, when no federated object
    /// manages it, take the managed label off (upstream's possible-orphan path).
    fn member_event(
        self: &Arc<Self>,
        cluster: &str,
        object: &DynamicObject,
        tx: &mpsc::UnboundedSender<ObjectRef<DynamicObject>>,
    ) {
        let Some(name) = object.metadata.name.clone() else {
            return;
        };
        let namespace = if self.ty.is_namespace() {
            Some(name.clone())
        } else {
            object.metadata.namespace.clone()
        };
        let mut key = ObjectRef::new_with(&name, self.ty.federated.clone());
        if let Some(ns) = &namespace {
            key = key.within(ns);
        }
        if is_ready(&self.federated) && self.federated.get(&key).is_none() {
            if object.metadata.deletion_timestamp.is_none()
                && object
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(MANAGED_LABEL))
                    .map(String::as_str)
                    == Some("true")
            {
                let ctx = self.clone();
                let cluster = cluster.to_string();
                let object = object.clone();
                tokio::spawn(async move {
                    // Only when the federated object is still absent after its own watch had
                    // time to deliver it (a create races its member copies' events).
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    let mut key = ObjectRef::new_with(&name, ctx.ty.federated.clone());
                    if let Some(ns) = &namespace {
                        key = key.within(ns);
                    }
                    if ctx.federated.get(&key).is_none() {
                        if let Err(e) = ctx
                            .remove_managed_label(
                                &cluster,
                                object.metadata.namespace.as_deref(),
                                &name,
                            )
                            .await
                        {
                            warn!(cluster = %cluster, "{e:#}");
                        } else {
                            info!(cluster = %cluster, object = %display_key(object.metadata.namespace.as_deref(), &name),
                                  "removed the managed label from a {} no federated object manages", ctx.ty.target.kind);
                        }
                    }
                });
            }
            return;
        }
        let _ = tx.send(key);
    }

    fn member(&self, cluster: &str) -> Option<Arc<MemberCache>> {
        self.members.lock().ok()?.get(cluster).cloned()
    }

    fn member_api(&self, cluster: &str, namespace: Option<&str>) -> Result<Api<DynamicObject>> {
        let member = self
            .registry
            .get(cluster)
            .and_then(|m| m.client)
            .ok_or_else(|| anyhow!("no client for cluster `{cluster}`"))?;
        Ok(match namespace.filter(|_| self.ty.target_namespaced) {
            Some(ns) => Api::namespaced_with(member, ns, &self.ty.target),
            None => Api::all_with(member, &self.ty.target),
        })
    }

    /// Take `kubefed.io/managed` off a member object (gone already counts as done).
    async fn remove_managed_label(
        &self,
        cluster: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<()> {
        let api = self.member_api(cluster, namespace)?;
        let patch = json!({"metadata": {"labels": {MANAGED_LABEL: null}}});
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(anyhow!(e)).with_context(|| {
                format!(
                    "failed to remove the managed label from {} `{}` in cluster `{cluster}`",
                    self.ty.target.kind,
                    display_key(namespace, name)
                )
            }),
        }
    }

    fn event(&self, federated: &DynamicObject, type_: EventType, reason: &str, note: String) {
        let reference = ObjectReference {
            api_version: Some(self.ty.federated.api_version.clone()),
            kind: Some(self.ty.federated.kind.clone()),
            name: federated.metadata.name.clone(),
            namespace: federated.metadata.namespace.clone(),
            uid: federated.metadata.uid.clone(),
            resource_version: federated.metadata.resource_version.clone(),
            field_path: None,
        };
        self.events.send(type_, reason, note, reference);
    }
}

/// The store has its initial list.
fn is_ready<K: kube::Resource + Clone + 'static>(store: &Store<K>) -> bool
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    use futures::FutureExt as _;
    store
        .wait_until_ready()
        .now_or_never()
        .is_some_and(|r| r.is_ok())
}

/// The key in [`Ctx::echoes`] of the member copy of federated object `namespace/name`: a
/// FederatedNamespace's copy is the cluster-scoped Namespace.
fn echo_key(ty: &TypeSpec, namespace: Option<&str>, name: &str) -> String {
    object_key(namespace.filter(|_| !ty.is_namespace()), name)
}

fn error_policy(object: Arc<DynamicObject>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    let key = ObjectRef::from_obj_with(object.as_ref(), ctx.ty.federated.clone());
    warn!(
        r#type = %ctx.ty.name,
        object = %display_key(object.metadata.namespace.as_deref(), object.metadata.name.as_deref().unwrap_or_default()),
        "{error}"
    );
    Action::requeue(ctx.next_backoff(&key))
}

impl Ctx {
    /// Per-object backoff, 1 s doubling to 60 s, reset by a successful reconcile.
    fn next_backoff(&self, key: &ObjectRef<DynamicObject>) -> Duration {
        let mut backoff = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
        let next = backoff.get(key).map_or(Duration::from_secs(1), |d| {
            (*d * 2).min(Duration::from_secs(60))
        });
        backoff.insert(key.clone(), next);
        next
    }

    fn reset_backoff(&self, key: &ObjectRef<DynamicObject>) {
        self.backoff
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// One cluster's operation for an object, decided from the caches.
enum Op {
    /// A status without a write (ClusterNotReady, WaitingForRemoval, a build error, ...).
    Report(PropagationStatus, Option<String>),
    Write(Write),
}

/// A write to a member cluster.
enum Write {
    /// Create `desired`; on AlreadyExists adopt, rebuilding with these overrides.
    Create(Value, Option<Vec<overrides::Override>>),
    Update {
        desired: Value,
        cached: Value,
    },
    Delete,
    RemoveLabel,
}

/// An operation's result.
struct Outcome {
    status: PropagationStatus,
    /// The member object's version after a create or update.
    version: Option<String>,
    remote_status: Option<Value>,
    /// Drop the cluster from the status (a label removal that finished).
    drop: bool,
    wrote: Option<&'static str>,
    message: Option<String>,
    /// A create failed because the member lacks the namespace (not propagated yet).
    namespace_missing: bool,
    /// The resourceVersion of the copy a create or update left on the member.
    written_rv: Option<String>,
}

impl Outcome {
    fn status(status: PropagationStatus) -> Self {
        Outcome {
            status,
            version: None,
            remote_status: None,
            drop: false,
            wrote: None,
            message: None,
            namespace_missing: false,
            written_rv: None,
        }
    }
}

async fn reconcile(object: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let start = Instant::now();
    let key = ObjectRef::from_obj_with(object.as_ref(), ctx.ty.federated.clone());
    let result = reconcile_inner(&object, &ctx).await;
    debug!(
        r#type = %ctx.ty.name,
        object = %display_key(object.metadata.namespace.as_deref(), object.metadata.name.as_deref().unwrap_or_default()),
        took_ms = start.elapsed().as_millis() as u64,
        "reconciled"
    );
    let label = match &result {
        Ok(_) => ReconcileResult::Success,
        Err(_) => ReconcileResult::Error,
    };
    ctx.metrics.reconcile_done(
        &ctx.ty.federated.kind.to_lowercase(),
        label,
        start.elapsed(),
    );
    ctx.metrics
        .observe_reconcile_federated_resources(start.elapsed());
    if result.is_ok() {
        ctx.reset_backoff(&key);
    }
    result.map_err(ReconcileError)
}

async fn reconcile_inner(object: &DynamicObject, ctx: &Arc<Ctx>) -> Result<Action> {
    let name = object.metadata.name.clone().unwrap_or_default();
    let namespace = object.metadata.namespace.clone();
    let shown = display_key(namespace.as_deref(), &name);
    let federated = serde_json::to_value(object).context("federated object to JSON")?;

    // Before these caches have their first list, a missing entry means "not listed yet": a
    // missing FederatedNamespace is not "selects nothing" (that would delete every member copy
    // of the namespace's objects on a restart), a missing host namespace is not "the host is not
    // a member" (that would delete the host's own namespace).
    if ctx
        .federated_namespaces
        .as_ref()
        .is_some_and(|store| !is_ready(store))
        || ctx
            .host_namespaces
            .as_ref()
            .is_some_and(|store| !is_ready(store))
    {
        return Ok(Action::requeue(Duration::from_millis(250)));
    }

    if ctx.ty.is_namespace() {
        // A FederatedNamespace `<ns>/<ns>` federates the namespace it lives in.
        if namespace.as_deref() != Some(name.as_str()) {
            ctx.event(object, EventType::Warning, "InvalidName",
                "The name of a federated namespace must match the name of its containing namespace.".into());
            return Ok(Action::await_change());
        }
        if IGNORED_NAMESPACES.contains(&name.as_str()) || name == ctx.settings.namespace {
            return Ok(Action::await_change());
        }
        let host_ns = ctx
            .host_namespaces
            .as_ref()
            .and_then(|s| s.get(&ObjectRef::new(&name)));
        if host_ns.is_none_or(|ns| ns.metadata.deletion_timestamp.is_some())
            && ctx.host_namespaces.as_ref().is_some_and(is_ready)
            && object.metadata.deletion_timestamp.is_none()
        {
            return Ok(Action::await_change());
        }
    }

    if object.metadata.deletion_timestamp.is_some() {
        return ensure_deletion(object, &federated, ctx).await;
    }

    if !ensure_finalizer(object, ctx).await? {
        // The store's copy is older than the server's: its watch brings the newer one.
        return Ok(Action::requeue(Duration::from_millis(200)));
    }

    let members = ctx.registry.snapshot();
    let cluster_labels = cluster_labels(&members);

    let template_version = gojson::template_version(&federated);
    let overrides_version = gojson::overrides_version(&federated);

    let placed = compute_placement(&federated, ctx, &cluster_labels);
    let (selected, not_federated) = match placed {
        Ok(p) => p,
        Err(message) => {
            ctx.event(
                object,
                EventType::Warning,
                "ComputePlacementFailed",
                message.clone(),
            );
            write_status(
                object,
                &federated,
                ctx,
                AggregateReason::ComputePlacementFailed,
                BTreeMap::new(),
            );
            return Ok(Action::await_change());
        }
    };
    let cluster_overrides = overrides::parse(&federated);
    let recorded = ctx.versions.get(
        namespace.as_deref(),
        &name,
        &template_version,
        &overrides_version,
    );
    let host_ns_uid = host_namespace_uid(ctx, &name);

    // Decide each cluster's operation from the caches.
    let mut ops: Vec<(String, Op)> = Vec::new();
    let mut syncing = false;
    let mut dropped_fields = Vec::new();
    for member in &members {
        let cluster = member.name.clone();
        let is_selected = selected.contains(&cluster);
        if !member.ready {
            if is_selected {
                ops.push((
                    cluster,
                    Op::Report(PropagationStatus::ClusterNotReady, None),
                ));
            }
            continue;
        }
        let Some(cache) = ctx.member(&cluster) else {
            if is_selected {
                ops.push((
                    cluster,
                    Op::Report(PropagationStatus::ClusterNotReady, None),
                ));
            }
            continue;
        };
        let state = cache.state.borrow().clone();
        match state {
            CacheState::Synced => {}
            CacheState::Syncing | CacheState::Failed(_)
                if cache.started.elapsed()
                    < ctx.settings.cache_sync_timeout.min(Duration::from_secs(30)) =>
            {
                if let CacheState::Failed(reason) = &state {
                    debug!(cluster = %cluster, "member cache not synced yet: {reason}");
                }
                syncing = true;
                continue;
            }
            CacheState::Syncing | CacheState::Failed(_) => {
                if is_selected {
                    let reason = match state {
                        CacheState::Failed(r) => r,
                        _ => "the member watch has not listed the objects yet".into(),
                    };
                    ops.push((
                        cluster,
                        Op::Report(PropagationStatus::CachedRetrievalFailed, Some(reason)),
                    ));
                }
                continue;
            }
        }
        let mut target_key = ObjectRef::new_with(&name, ctx.ty.target.clone());
        if ctx.ty.target_namespaced
            && let Some(ns) = &namespace
        {
            target_key = target_key.within(ns);
        }
        let cached = cache
            .store
            .get(&target_key)
            .and_then(|o| serde_json::to_value(o.as_ref()).ok());
        if !is_selected {
            match cached {
                None => {}
                Some(c) if !c["metadata"]["deletionTimestamp"].is_null() => {
                    ops.push((
                        cluster,
                        Op::Report(PropagationStatus::WaitingForRemoval, None),
                    ));
                }
                Some(c) if is_host_namespace(&c, host_ns_uid.as_deref()) => {
                    ops.push((cluster, Op::Write(Write::RemoveLabel)));
                }
                Some(_) => ops.push((cluster, Op::Write(Write::Delete))),
            }
            continue;
        }
        let for_cluster = match &cluster_overrides {
            Ok(o) => o.get(&cluster).map(Vec::as_slice),
            Err(message) => {
                ops.push((
                    cluster,
                    Op::Report(
                        PropagationStatus::ApplyOverridesFailed,
                        Some(message.clone()),
                    ),
                ));
                continue;
            }
        };
        match object_for_cluster(&ctx.ty, &federated, for_cluster, cached.as_ref()) {
            Err(e) => ops.push((cluster, Op::Report(e.status, Some(e.message)))),
            Ok((desired, dropped)) => {
                dropped_fields.extend(dropped);
                match cached {
                    None => ops.push((
                        cluster,
                        Op::Write(Write::Create(desired, for_cluster.map(<[_]>::to_vec))),
                    )),
                    Some(cached) => {
                        ops.push((cluster, Op::Write(Write::Update { desired, cached })))
                    }
                }
            }
        }
    }
    if syncing {
        return Ok(Action::requeue(Duration::from_millis(250)));
    }
    dropped_fields.dedup();
    for d in &dropped_fields {
        ctx.event(object, EventType::Warning, d.reason, format!(
            "metadata.{} cannot be set via template to avoid conflicting with controllers in member clusters. \
             Consider using an override to add or remove elements from this collection.", d.field));
    }

    // Run them, every cluster at once.
    let results = futures::future::join_all(ops.into_iter().map(|(cluster, op)| {
        let ctx = ctx.clone();
        let recorded = recorded.get(&cluster).cloned();
        let host_ns_uid = host_ns_uid.clone();
        let federated = &federated;
        let name = name.clone();
        async move {
            let start = Instant::now();
            let outcome = match tokio::time::timeout(
                OPERATION_TIMEOUT,
                run_op(
                    &ctx,
                    &cluster,
                    federated,
                    &name,
                    op,
                    recorded.as_deref(),
                    host_ns_uid.as_deref(),
                ),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => Outcome {
                    message: Some(format!("no answer within {OPERATION_TIMEOUT:?}")),
                    ..Outcome::status(PropagationStatus::UpdateTimedOut)
                },
            };
            if let Some(action) = outcome.wrote {
                ctx.metrics.observe_dispatch(action, start.elapsed());
            }
            if let (Some(rv), Ok(mut echoes)) = (&outcome.written_rv, ctx.echoes.lock()) {
                let key = echo_key(&ctx.ty, federated["metadata"]["namespace"].as_str(), &name);
                echoes.insert((cluster.clone(), key), rv.clone());
            }
            (cluster, outcome)
        }
    }))
    .await;

    let mut clusters: BTreeMap<String, ClusterStatus> = BTreeMap::new();
    let mut versions = BTreeMap::new();
    let mut wrote: Vec<String> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut failed_statuses: Vec<PropagationStatus> = Vec::new();
    let mut recoverable = false;
    let mut waiting_for_namespace = false;
    for (cluster, outcome) in results {
        if let Some(v) = outcome.version {
            versions.insert(cluster.clone(), v);
        }
        if let Some(action) = outcome.wrote {
            wrote.push(format!("{action} in `{cluster}`"));
        }
        if let Some(message) = &outcome.message {
            failures.push(format!(
                "{cluster}: {} ({message})",
                outcome.status.as_str()
            ));
            failed_statuses.push(outcome.status);
        }
        recoverable |= outcome.status.is_recoverable();
        waiting_for_namespace |= outcome.namespace_missing;
        if !outcome.drop {
            let remote_status = outcome.remote_status.filter(|_| {
                ctx.settings.raw_resource_status_collection && ctx.ty.status_collection
            });
            clusters.insert(
                cluster,
                ClusterStatus {
                    status: outcome.status,
                    remote_status,
                },
            );
        }
    }
    if !wrote.is_empty() {
        info!(r#type = %ctx.ty.name, object = %shown, "{}", wrote.join(", "));
        // One event per reconcile that wrote, not one per cluster.
        let reason = if wrote.iter().all(|w| w.starts_with("created")) {
            "CreateInCluster"
        } else if wrote.iter().all(|w| w.starts_with("deleted")) {
            "DeleteInCluster"
        } else {
            "UpdateInCluster"
        };
        ctx.event(
            object,
            EventType::Normal,
            reason,
            format!("{} {}: {}", ctx.ty.target.kind, shown, wrote.join(", ")),
        );
    }
    if !failures.is_empty() {
        warn!(r#type = %ctx.ty.name, object = %shown, "{}", failures.join("; "));
        // One Warning per reconcile that failed somewhere, with upstream's reason for the first
        // failure and every cluster's in the message.
        let reason = failure_reason(&failed_statuses);
        ctx.event(
            object,
            EventType::Warning,
            reason,
            format!("{} {}: {}", ctx.ty.target.kind, shown, failures.join("; ")),
        );
    }

    let reason = if not_federated {
        AggregateReason::NamespaceNotFederated
    } else {
        status::aggregate(false, &clusters)
    };
    // The PropagatedVersion and the status go to the host writer: recorded now, written
    // behind, so the next object's member writes need not wait for them.
    if let Some(version) = ctx.versions.record(
        namespace.as_deref(),
        &name,
        &template_version,
        &overrides_version,
        &selected,
        &versions,
    ) {
        ctx.writer.version(target_of(object), version);
    }
    write_status(object, &federated, ctx, reason, clusters);
    if recoverable {
        let key = ObjectRef::from_obj_with(object, ctx.ty.federated.clone());
        let mut delay = ctx.next_backoff(&key);
        if waiting_for_namespace {
            // The member namespace is being propagated by the namespaces controller: it comes
            // within moments, so no long backoff.
            delay = delay.min(Duration::from_secs(2));
        }
        return Ok(Action::requeue(delay));
    }
    Ok(Action::await_change())
}

/// Upstream's event reason for a failed cluster operation.
fn failure_reason(statuses: &[PropagationStatus]) -> &'static str {
    match statuses.first() {
        Some(PropagationStatus::CreationFailed | PropagationStatus::AlreadyExists) => {
            "CreateInClusterFailed"
        }
        Some(PropagationStatus::DeletionFailed) => "DeleteInClusterFailed",
        Some(PropagationStatus::LabelRemovalFailed) => "RemoveManagedLabelFromInClusterFailed",
        Some(PropagationStatus::CachedRetrievalFailed) => "CachedRetrievalFailed",
        Some(PropagationStatus::ClusterNotReady) => "ClusterNotReady",
        Some(
            PropagationStatus::CreationTimedOut
            | PropagationStatus::UpdateTimedOut
            | PropagationStatus::DeletionTimedOut
            | PropagationStatus::LabelRemovalTimedOut,
        ) => "OperationTimeoutError",
        _ => "UpdateInClusterFailed",
    }
}

/// The clusters as placement sees them (names and KubeFedCluster labels).
fn cluster_labels(members: &[Member]) -> Vec<placement::ClusterLabels<'_>> {
    members
        .iter()
        .map(|m| placement::ClusterLabels {
            name: &m.name,
            labels: &m.labels,
        })
        .collect()
}

fn compute_placement(
    federated: &Value,
    ctx: &Ctx,
    clusters: &[placement::ClusterLabels<'_>],
) -> Result<(BTreeSet<String>, bool), String> {
    let spec = &federated["spec"];
    if !ctx.ty.target_namespaced || ctx.ty.is_namespace() {
        return placement::selected_clusters(spec, clusters, false).map(|s| (s, false));
    }
    let ns = federated["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default();
    let fedns = ctx.federated_namespaces.as_ref().and_then(|store| {
        let ar = ctx.ty.federated_namespace.clone()?;
        store.get(&ObjectRef::new_with(ns, ar).within(ns))
    });
    let fedns_spec = fedns.map(|o| o.data["spec"].clone());
    let p =
        placement::namespaced_placement(spec, fedns_spec.as_ref(), clusters, ctx.settings.scope)?;
    let not_federated = p.namespace_not_federated && ctx.settings.scope == Scope::Cluster;
    Ok((p.clusters, not_federated))
}

fn host_namespace_uid(ctx: &Ctx, name: &str) -> Option<String> {
    let store = ctx.host_namespaces.as_ref()?;
    store.get(&ObjectRef::new(name))?.metadata.uid.clone()
}

/// The member copy is the host's own namespace (the host is joined as a member): never
/// deleted, only unlabelled.
fn is_host_namespace(cached: &Value, host_uid: Option<&str>) -> bool {
    host_uid.is_some_and(|uid| cached["metadata"]["uid"].as_str() == Some(uid))
}

async fn run_op(
    ctx: &Ctx,
    cluster: &str,
    federated: &Value,
    name: &str,
    op: Op,
    recorded: Option<&str>,
    host_ns_uid: Option<&str>,
) -> Outcome {
    let write = match op {
        Op::Report(status, message) => {
            return Outcome {
                message,
                ..Outcome::status(status)
            };
        }
        Op::Write(write) => write,
    };
    let api = match ctx.member_api(cluster, federated["metadata"]["namespace"].as_str()) {
        Ok(api) => api,
        Err(e) => {
            return Outcome {
                message: Some(format!("{e:#}")),
                ..Outcome::status(PropagationStatus::ClientRetrievalFailed)
            };
        }
    };
    match write {
        Write::Create(desired, overrides) => {
            create(
                ctx,
                &api,
                federated,
                desired,
                overrides.as_deref(),
                host_ns_uid,
                recorded,
            )
            .await
        }
        Write::Update { desired, cached } => update(&api, name, desired, &cached, recorded).await,
        Write::Delete => match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Outcome {
                wrote: Some("deleted"),
                ..Outcome::status(PropagationStatus::WaitingForRemoval)
            },
            Err(kube::Error::Api(e)) if e.code == 404 => Outcome {
                drop: true,
                ..Outcome::status(PropagationStatus::Ok)
            },
            Err(e) => Outcome {
                message: Some(e.to_string()),
                ..Outcome::status(PropagationStatus::DeletionFailed)
            },
        },
        Write::RemoveLabel => {
            let namespace = federated["metadata"]["namespace"].as_str();
            match ctx.remove_managed_label(cluster, namespace, name).await {
                Ok(()) => Outcome {
                    drop: true,
                    wrote: Some("unlabelled"),
                    ..Outcome::status(PropagationStatus::Ok)
                },
                Err(e) => Outcome {
                    message: Some(format!("{e:#}")),
                    ..Outcome::status(PropagationStatus::LabelRemovalFailed)
                },
            }
        }
    }
}

fn to_dynamic(value: Value) -> Result<DynamicObject, String> {
    serde_json::from_value(value).map_err(|e| format!("the object is not a Kubernetes object: {e}"))
}

async fn create(
    ctx: &Ctx,
    api: &Api<DynamicObject>,
    federated: &Value,
    desired: Value,
    cluster_overrides: Option<&[overrides::Override]>,
    host_ns_uid: Option<&str>,
    recorded: Option<&str>,
) -> Outcome {
    // The member copy has the federated object's name.
    let name = federated["metadata"]["name"].as_str().unwrap_or_default();
    let object = match to_dynamic(desired.clone()) {
        Ok(o) => o,
        Err(message) => {
            return Outcome {
                message: Some(message),
                ..Outcome::status(PropagationStatus::ComputeResourceFailed)
            };
        }
    };
    match api.create(&PostParams::default(), &object).await {
        Ok(created) => {
            let value = serde_json::to_value(&created).unwrap_or_default();
            Outcome {
                version: Some(crate::controller::sync::retain::object_version(&value)),
                remote_status: value.get("status").cloned(),
                wrote: Some("created"),
                written_rv: created.metadata.resource_version,
                ..Outcome::status(PropagationStatus::Ok)
            }
        }
        Err(kube::Error::Api(e))
            if e.reason == "AlreadyExists"
                || (ctx.ty.is_namespace() && e.reason == "ServerTimeout") =>
        {
            // Adoption: a pre-existing object is not in the cache (it has no managed label).
            let existing = match api.get(name).await {
                Ok(o) => serde_json::to_value(&o).unwrap_or_default(),
                Err(e) => {
                    return Outcome {
                        message: Some(e.to_string()),
                        ..Outcome::status(PropagationStatus::RetrievalFailed)
                    };
                }
            };
            // The copy this controller wrote and recorded, not yet in the member's cache (its
            // watch lags under load): nothing to adopt or update.
            if managed_true(&existing)
                && recorded.is_some_and(|r| {
                    r == crate::controller::sync::retain::object_version(&existing)
                })
            {
                return Outcome {
                    version: recorded.map(String::from),
                    remote_status: existing.get("status").cloned(),
                    ..Outcome::status(PropagationStatus::Ok)
                };
            }
            let host_namespace = is_host_namespace(&existing, host_ns_uid);
            if !ctx.settings.adopt_resources && !host_namespace {
                return Outcome {
                    message: Some("Resource pre-exist in cluster".into()),
                    ..Outcome::status(PropagationStatus::AlreadyExists)
                };
            }
            // Rebuild in upstream's order with the existing copy: retention, overrides, label.
            match object_for_cluster(&ctx.ty, federated, cluster_overrides, Some(&existing)) {
                Ok((desired, _)) => update(api, name, desired, &existing, None).await,
                Err(e) => Outcome {
                    message: Some(e.message),
                    ..Outcome::status(e.status)
                },
            }
        }
        Err(e) => Outcome {
            namespace_missing: matches!(&e, kube::Error::Api(s) if s.code == 404),
            message: Some(e.to_string()),
            ..Outcome::status(PropagationStatus::CreationFailed)
        },
    }
}

async fn update(
    api: &Api<DynamicObject>,
    name: &str,
    desired: Value,
    cached: &Value,
    recorded: Option<&str>,
) -> Outcome {
    if managed_false(cached) {
        return Outcome {
            message: Some(
                "Unable to manage the object which has label kubefed.io/managed: false".into(),
            ),
            ..Outcome::status(PropagationStatus::ManagedLabelFalse)
        };
    }
    if !crate::controller::sync::retain::needs_update(&desired, cached, recorded) {
        return Outcome {
            version: recorded.map(String::from),
            remote_status: cached.get("status").cloned(),
            ..Outcome::status(PropagationStatus::Ok)
        };
    }
    let object = match to_dynamic(desired) {
        Ok(o) => o,
        Err(message) => {
            return Outcome {
                message: Some(message),
                ..Outcome::status(PropagationStatus::ComputeResourceFailed)
            };
        }
    };
    match api.replace(name, &PostParams::default(), &object).await {
        Ok(updated) => {
            let value = serde_json::to_value(&updated).unwrap_or_default();
            Outcome {
                version: Some(crate::controller::sync::retain::object_version(&value)),
                remote_status: value.get("status").cloned(),
                wrote: Some("updated"),
                written_rv: updated.metadata.resource_version,
                ..Outcome::status(PropagationStatus::Ok)
            }
        }
        Err(e) => Outcome {
            message: Some(e.to_string()),
            ..Outcome::status(PropagationStatus::UpdateFailed)
        },
    }
}

/// Add the sync finalizer if it is missing. `false` when the copy reconciled is outdated (the
/// precondition failed): nothing was written.
async fn ensure_finalizer(object: &DynamicObject, ctx: &Ctx) -> Result<bool> {
    let uid = object.metadata.uid.clone().unwrap_or_default();
    let finalizers = object.metadata.finalizers.clone().unwrap_or_default();
    if finalizers.iter().any(|f| f == SYNC_FINALIZER) {
        if let Ok(mut finalized) = ctx.finalized.lock() {
            finalized.remove(&uid);
        }
        return Ok(true);
    }
    // A store lagging behind the host still shows the copy this process added the finalizer
    // to (a member's event can come before the host's): patching it again can only conflict.
    let rv = object.metadata.resource_version.clone().unwrap_or_default();
    if ctx
        .finalized
        .lock()
        .is_ok_and(|f| f.get(&uid).is_some_and(|from| *from == rv))
    {
        return Ok(true);
    }
    let mut next = finalizers;
    next.push(SYNC_FINALIZER.to_string());
    match patch_finalizers(object, ctx, next).await {
        Ok(()) => {
            if let Ok(mut finalized) = ctx.finalized.lock() {
                finalized.insert(uid, rv);
            }
            Ok(true)
        }
        Err(e)
            if e.downcast_ref::<kube::Error>()
                .is_some_and(|e| matches!(e, kube::Error::Api(s) if s.code == 409)) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Set the finalizers with the object's resourceVersion as precondition (upstream's merge
/// patch carries none and can drop a finalizer another controller added meanwhile).
async fn patch_finalizers(
    object: &DynamicObject,
    ctx: &Ctx,
    finalizers: Vec<String>,
) -> Result<()> {
    let api = dynamic_api(
        &ctx.host,
        &ctx.ty.federated,
        ctx.ty.federated_namespaced,
        object.metadata.namespace.as_deref(),
    );
    let patch = json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": object.metadata.resource_version,
    }});
    let name = object.metadata.name.clone().unwrap_or_default();
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| {
            format!(
                "failed to update the finalizers of {} `{}`",
                ctx.ty.federated.kind,
                display_key(object.metadata.namespace.as_deref(), &name)
            )
        })?;
    Ok(())
}

fn target_of(object: &DynamicObject) -> Target {
    Target {
        namespace: object.metadata.namespace.clone(),
        name: object.metadata.name.clone().unwrap_or_default(),
        uid: object.metadata.uid.clone().unwrap_or_default(),
    }
}

/// Decide the status (Go would not write an unchanged one) and queue its write.
fn write_status(
    object: &DynamicObject,
    federated: &Value,
    ctx: &Ctx,
    reason: AggregateReason,
    clusters: BTreeMap<String, ClusterStatus>,
) {
    let observed = Observed {
        generation: object.metadata.generation.unwrap_or_default(),
        reason,
        clusters,
    };
    let now = k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    // What this process decided last wins over the store's copy, which may predate that write
    // (a reconcile triggered by our own finalizer patch would otherwise write the status twice).
    let uid = object.metadata.uid.clone().unwrap_or_default();
    let Ok(mut statuses) = ctx.statuses.lock() else {
        return;
    };
    // (An entry goes when the store's watch brings the status it holds: see `run`.)
    let stored = federated.get("status");
    let previous = statuses.get(&uid).or(stored).unwrap_or(&Value::Null);
    let Some(Value::Object(status)) = status::desired_status(previous, &observed, &now) else {
        return;
    };
    // A merge patch keeps keys it does not mention: clear what the new status leaves out.
    let mut patch = status.clone();
    if let Some(prev) = previous.as_object() {
        for key in prev.keys() {
            if !patch.contains_key(key) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }
    statuses.insert(uid, Value::Object(status));
    drop(statuses);
    ctx.writer.status(target_of(object), patch);
}

/// Deletion (Go: `ensureDeletion`): orphan (finalizer first, then unlabel), or delete the
/// member copies and remove the finalizer once none is left.
async fn ensure_deletion(
    object: &DynamicObject,
    federated: &Value,
    ctx: &Arc<Ctx>,
) -> Result<Action> {
    let name = object.metadata.name.clone().unwrap_or_default();
    let namespace = object.metadata.namespace.clone();
    ctx.versions.forget(namespace.as_deref(), &name);
    ctx.writer.forget(namespace.as_deref(), &name);
    if let (Some(uid), Ok(mut s)) = (&object.metadata.uid, ctx.statuses.lock()) {
        s.remove(uid);
    }
    if let (Some(uid), Ok(mut f)) = (&object.metadata.uid, ctx.finalized.lock()) {
        f.remove(uid);
    }
    if let Ok(mut echoes) = ctx.echoes.lock() {
        let key = echo_key(&ctx.ty, namespace.as_deref(), &name);
        echoes.retain(|(_, k), _| *k != key);
    }
    let finalizers = object.metadata.finalizers.clone().unwrap_or_default();
    if !finalizers.iter().any(|f| f == SYNC_FINALIZER) {
        return Ok(Action::await_change());
    }
    let remaining: Vec<String> = finalizers
        .into_iter()
        .filter(|f| f != SYNC_FINALIZER)
        .collect();
    let shown = display_key(namespace.as_deref(), &name);
    let members = ctx.registry.snapshot();
    let host_ns_uid = host_namespace_uid(ctx, &name);

    // The copies this controller can see, in every ready cluster.
    let mut copies: Vec<(String, Value)> = Vec::new();
    let mut not_ready: Vec<String> = Vec::new();
    let cluster_labels = cluster_labels(&members);
    let selected = compute_placement(federated, ctx, &cluster_labels)
        .map(|(s, _)| s)
        .unwrap_or_default();
    for member in &members {
        let cache = ctx.member(&member.name);
        let synced = cache
            .as_ref()
            .is_some_and(|c| *c.state.borrow() == CacheState::Synced);
        if !member.ready || !synced {
            if selected.contains(&member.name) {
                not_ready.push(member.name.clone());
            }
            continue;
        }
        let mut key = ObjectRef::new_with(&name, ctx.ty.target.clone());
        if ctx.ty.target_namespaced
            && let Some(ns) = &namespace
        {
            key = key.within(ns);
        }
        if let Some(copy) = cache.and_then(|c| c.store.get(&key)) {
            copies.push((
                member.name.clone(),
                serde_json::to_value(copy.as_ref()).unwrap_or_default(),
            ));
        }
    }

    if resource::orphaning(federated) {
        // NB: upstream removes the finalizer first, then unlabels; a failure leaves labelled
        // copies that the possible-orphan path unlabels on their next event.
        patch_finalizers(object, ctx, remaining).await?;
        for (cluster, copy) in copies {
            if copy["metadata"]["deletionTimestamp"].is_null() {
                let copy_ns = copy["metadata"]["namespace"].as_str();
                if let Err(e) = ctx.remove_managed_label(&cluster, copy_ns, &name).await {
                    warn!("{e:#}");
                }
            }
        }
        info!(r#type = %ctx.ty.name, object = %shown, "deleted; member copies orphaned");
        return Ok(Action::await_change());
    }

    let params = resource::delete_options(federated).map_err(|e| anyhow!(e))?;
    let mut waiting: Vec<String> = Vec::new();
    for (cluster, copy) in &copies {
        let api = ctx.member_api(cluster, namespace.as_deref())?;
        if is_host_namespace(copy, host_ns_uid.as_deref()) {
            ctx.remove_managed_label(cluster, copy["metadata"]["namespace"].as_str(), &name)
                .await?;
            continue;
        }
        waiting.push(cluster.clone());
        if copy["metadata"]["deletionTimestamp"].is_null() {
            match api.delete(&name, &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => {
                    return Err(anyhow!(e)).with_context(|| {
                        format!(
                            "failed to delete {} `{shown}` in cluster `{cluster}`",
                            ctx.ty.target.kind
                        )
                    });
                }
            }
        }
    }
    if !not_ready.is_empty() {
        // NB: upstream blocks deletion while a selected cluster is not ready (#1254); so do we,
        // saying which clusters, so the user can unjoin them or wait.
        return Err(anyhow!(
            "the following clusters were not ready: {}",
            not_ready.join(", ")
        ));
    }
    if !waiting.is_empty() {
        ctx.event(
            object,
            EventType::Normal,
            "WaitForRemovalInCluster",
            format!(
                "Waiting for managed resources to be removed from the following clusters: {}",
                waiting.join(", ")
            ),
        );
        return Ok(Action::requeue(Duration::from_secs(5)));
    }
    // Nothing cached: confirm with a read in each ready cluster that had it selected.
    for member in members
        .iter()
        .filter(|m| m.ready && selected.contains(&m.name))
    {
        let api = ctx.member_api(&member.name, namespace.as_deref())?;
        if let Some(o) = api.get_opt(&name).await? {
            let managed = o
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(MANAGED_LABEL))
                .map(String::as_str)
                == Some("true");
            if managed {
                return Ok(Action::requeue(Duration::from_secs(1)));
            }
        }
    }
    patch_finalizers(object, ctx, remaining).await?;
    info!(r#type = %ctx.ty.name, object = %shown, "deleted from every member cluster");
    Ok(Action::await_change())
}

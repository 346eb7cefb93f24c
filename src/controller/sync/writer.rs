//! Host writes behind the reconcile: the federated object's status and its
//! (Cluster)PropagatedVersion.
//!
//! A reconcile decides both from memory (the status it last wrote, the versions it last
//! recorded), so it does not wait for the host to accept them: it hands them here and goes on
//! to the next object. Its member writes are what users wait for; the host API server, busy with
//! four custom-resource writes per object against one member write per cluster, was the longest
//! part of every reconcile.
//!
//! Writes are kept per federated object and coalesced: a newer status or version replaces one not
//! yet written (status patches are composed, so a key the older one cleared stays cleared); one
//! object is never written by two workers at once, so the last decision is the last write. A
//! failed write is retried with a growing delay unless a newer one replaced it. On shutdown what
//! is queued is written within a bound.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;
use kube::api::{Patch, PatchParams};
use serde_json::{Map, Value, json};
use tokio::sync::Notify;
use tracing::{debug, warn};

use crate::api::PropagatedVersionStatus;
use crate::controller::sync::resource::{TypeSpec, display_key, dynamic_api, object_key};
use crate::controller::sync::version::VersionCache;

/// The federated object a write is for.
#[derive(Clone, Debug)]
pub struct Target {
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
}

impl Target {
    fn key(&self) -> String {
        object_key(self.namespace.as_deref(), &self.name)
    }
}

#[derive(Default)]
struct Pending {
    target: Option<Target>,
    /// A merge patch of `.status` (its top-level keys, each replaced whole).
    status: Option<Map<String, Value>>,
    version: Option<PropagatedVersionStatus>,
    attempts: u32,
}

impl Pending {
    /// Lay `newer` over what is pending: the newer version wins; status patches compose.
    fn absorb(&mut self, newer: Pending) {
        if newer.target.is_some() {
            self.target = newer.target;
        }
        if let Some(patch) = newer.status {
            match &mut self.status {
                Some(older) => older.extend(patch),
                None => self.status = Some(patch),
            }
        }
        if newer.version.is_some() {
            self.version = newer.version;
        }
    }

    /// Put a failed write back under what was queued since (which is newer).
    fn restore_under(&mut self, failed: Pending) {
        let newer = std::mem::take(self);
        *self = failed;
        self.absorb(newer);
    }
}

#[derive(Default)]
struct State {
    pending: HashMap<String, Pending>,
    queue: VecDeque<String>,
    in_flight: HashSet<String>,
    closed: bool,
}

struct Shared {
    host: Client,
    ty: TypeSpec,
    versions: Arc<VersionCache>,
    state: Mutex<State>,
    wake: Notify,
}

/// The host writer of one type's sync controller.
#[derive(Clone)]
pub struct HostWriter {
    shared: Arc<Shared>,
}

/// The delay before the `attempts`th retry of a failed write: 0.5 s doubling to 30 s.
fn retry_delay(attempts: u32) -> Duration {
    Duration::from_millis(500)
        .saturating_mul(1 << attempts.saturating_sub(1).min(6))
        .min(Duration::from_secs(30))
}

impl HostWriter {
    /// Start `workers` writers.
    pub fn start(
        host: Client,
        ty: TypeSpec,
        versions: Arc<VersionCache>,
        workers: usize,
    ) -> (HostWriter, Vec<tokio::task::JoinHandle<()>>) {
        let writer = HostWriter {
            shared: Arc::new(Shared {
                host,
                ty,
                versions,
                state: Mutex::new(State::default()),
                wake: Notify::new(),
            }),
        };
        let tasks = (0..workers.max(1))
            .map(|_| tokio::spawn(writer.clone().work()))
            .collect();
        (writer, tasks)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue a status merge patch (top-level keys of `.status`, `null` removing one).
    pub fn status(&self, target: Target, patch: Map<String, Value>) {
        self.submit(Pending {
            target: Some(target),
            status: Some(patch),
            ..Pending::default()
        });
    }

    /// Queue a (Cluster)PropagatedVersion's status.
    pub fn version(&self, target: Target, status: PropagatedVersionStatus) {
        self.submit(Pending {
            target: Some(target),
            version: Some(status),
            ..Pending::default()
        });
    }

    fn submit(&self, write: Pending) {
        let Some(key) = write.target.as_ref().map(Target::key) else {
            return;
        };
        let mut state = self.state();
        match state.pending.get_mut(&key) {
            Some(pending) => pending.absorb(write),
            None => {
                state.pending.insert(key.clone(), write);
                if !state.in_flight.contains(&key) {
                    state.queue.push_back(key);
                    self.shared.wake.notify_one();
                }
            }
        }
    }

    /// Drop what is queued for a federated object (it is being deleted).
    pub fn forget(&self, namespace: Option<&str>, name: &str) {
        let key = object_key(namespace, name);
        let mut state = self.state();
        state.pending.remove(&key);
        state.queue.retain(|k| *k != key);
    }

    /// Writes queued or in flight.
    pub fn backlog(&self) -> usize {
        let state = self.state();
        state.pending.len() + state.in_flight.len()
    }

    /// Stop taking new work once the queue is empty; the workers then exit.
    pub fn close(&self) {
        self.state().closed = true;
        self.shared.wake.notify_waiters();
    }

    async fn next(&self) -> Option<(String, Pending)> {
        loop {
            // Register for a wake-up before looking, so a submit in between is not missed.
            let notified = self.shared.wake.notified();
            {
                let mut state = self.state();
                while let Some(key) = state.queue.pop_front() {
                    if let Some(pending) = state.pending.remove(&key) {
                        state.in_flight.insert(key.clone());
                        return Some((key, pending));
                    }
                }
                if state.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    async fn work(self) {
        while let Some((key, pending)) = self.next().await {
            let failed = self.write(pending).await;
            let mut state = self.state();
            state.in_flight.remove(&key);
            let retry = match failed {
                Some(mut failed) => {
                    failed.attempts += 1;
                    let delay = retry_delay(failed.attempts);
                    match state.pending.get_mut(&key) {
                        Some(newer) => newer.restore_under(failed),
                        None => {
                            state.pending.insert(key.clone(), failed);
                        }
                    }
                    Some(delay)
                }
                None => None,
            };
            if !state.pending.contains_key(&key) {
                continue;
            }
            match retry {
                Some(_) if state.closed => {
                    // Stopping: no retries (the next start decides again from the members).
                    state.pending.remove(&key);
                }
                Some(delay) => {
                    drop(state);
                    let writer = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let mut state = writer.state();
                        if state.pending.contains_key(&key)
                            && !state.in_flight.contains(&key)
                            && !state.queue.contains(&key)
                        {
                            state.queue.push_back(key);
                            writer.shared.wake.notify_one();
                        }
                    });
                }
                _ => {
                    state.queue.push_back(key);
                    self.shared.wake.notify_one();
                }
            }
        }
    }

    /// Write one object's status and version side by side; what failed comes back.
    async fn write(&self, pending: Pending) -> Option<Pending> {
        let target = pending.target.clone()?;
        let status = async {
            match &pending.status {
                Some(patch) => self.write_status(&target, patch).await,
                None => true,
            }
        };
        let version = async {
            match &pending.version {
                Some(v) => match self.shared.versions.write(&target, v).await {
                    Ok(()) => true,
                    Err(e) => {
                        warn!(r#type = %self.shared.ty.name, "{e:#}");
                        false
                    }
                },
                None => true,
            }
        };
        let (status_ok, version_ok) = tokio::join!(status, version);
        if status_ok && version_ok {
            return None;
        }
        if pending.attempts >= 3 {
            debug!(r#type = %self.shared.ty.name, object = %target.key(), attempts = pending.attempts, "host write still failing");
        }
        Some(Pending {
            target: Some(target),
            status: pending.status.filter(|_| !status_ok),
            version: pending.version.filter(|_| !version_ok),
            attempts: pending.attempts,
        })
    }

    /// Merge-patch the federated object's status; gone counts as done.
    async fn write_status(&self, target: &Target, patch: &Map<String, Value>) -> bool {
        let ty = &self.shared.ty;
        let api = dynamic_api(
            &self.shared.host,
            &ty.federated,
            ty.federated_namespaced,
            target.namespace.as_deref(),
        );
        let body = json!({ "status": patch });
        match api
            .patch_status(&target.name, &PatchParams::default(), &Patch::Merge(&body))
            .await
        {
            Ok(_) => true,
            Err(kube::Error::Api(e)) if e.code == 404 => true,
            Err(e) => {
                warn!(
                    r#type = %ty.name,
                    "failed to update the status of {} `{}`: {e}",
                    ty.federated.kind,
                    display_key(target.namespace.as_deref(), &target.name)
                );
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn status_patches_compose_so_a_cleared_key_stays_cleared() {
        let mut p = Pending {
            status: Some(status(&[
                ("clusters", Value::Null),
                ("observedGeneration", json!(1)),
            ])),
            ..Pending::default()
        };
        p.absorb(Pending {
            status: Some(status(&[
                ("observedGeneration", json!(2)),
                ("conditions", json!([])),
            ])),
            ..Pending::default()
        });
        assert_eq!(
            Value::Object(p.status.unwrap()),
            json!({"clusters": null, "observedGeneration": 2, "conditions": []})
        );
    }

    #[test]
    fn a_failed_write_goes_back_under_a_newer_one() {
        let v = |t: &str| PropagatedVersionStatus {
            template_version: t.into(),
            overrides_version: String::new(),
            cluster_versions: vec![],
        };
        let mut newer = Pending {
            version: Some(v("new")),
            status: Some(status(&[("observedGeneration", json!(3))])),
            ..Pending::default()
        };
        newer.restore_under(Pending {
            version: Some(v("old")),
            status: Some(status(&[
                ("observedGeneration", json!(2)),
                ("clusters", Value::Null),
            ])),
            attempts: 2,
            ..Pending::default()
        });
        assert_eq!(newer.version.unwrap().template_version, "new");
        assert_eq!(
            Value::Object(newer.status.unwrap()),
            json!({"observedGeneration": 3, "clusters": null})
        );
        assert_eq!(newer.attempts, 2);
    }

    #[test]
    fn retries_back_off_to_thirty_seconds() {
        assert_eq!(retry_delay(1), Duration::from_millis(500));
        assert_eq!(retry_delay(2), Duration::from_secs(1));
        assert_eq!(retry_delay(40), Duration::from_secs(30));
    }
}

//! Events about federated objects (`events.k8s.io/v1`), as kube-runtime's `Recorder` writes
//! them, with a memory of its own.
//!
//! The `Recorder` keeps every Event it wrote for six minutes, whole (object metadata, the
//! reference, the note) in a map keyed by another copy of the reference: at 2,000 objects that
//! map was the largest thing in the process (18 MB of 56 MB at its peak). An Event repeated
//! within those six minutes becomes a series (`series.count`), which only needs the name of the
//! Event written first; this keeps that, under a 64-bit hash of what makes two Events the same.
//! The note is part of it (the `Recorder` leaves it out, so a second Event with another message
//! only bumped the first one's count); the object's resourceVersion is not (the `Recorder` has it,
//! so a warning repeated on every retry of an unchanged object made a new Event each time).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::events::EventType;
use kube::{Api, Client};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};
use tracing::debug;

/// How long an Event can become a series (kube-runtime's and client-go's window).
const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// How often the memory drops what left the window.
const PRUNE_EVERY: Duration = Duration::from_secs(30);
/// Events written at once. The rest wait in the queue as four strings and a reference, not as
/// a request future each (a burst of 2,000 reconciles made 2,000 of those).
const IN_FLIGHT: usize = 8;

struct Written {
    name: String,
    count: i32,
    last: Instant,
}

struct Memory {
    written: HashMap<u64, Written>,
    pruned: Instant,
}

/// Writes Events for one controller.
pub struct EventRecorder {
    client: Client,
    controller: String,
    memory: Mutex<Memory>,
}

/// What makes two Events the same Event.
fn identity(type_: EventType, reason: &str, note: &str, regarding: &ObjectReference) -> u64 {
    let mut h = DefaultHasher::new();
    matches!(type_, EventType::Warning).hash(&mut h);
    reason.hash(&mut h);
    note.hash(&mut h);
    regarding.api_version.hash(&mut h);
    regarding.kind.hash(&mut h);
    regarding.namespace.hash(&mut h);
    regarding.name.hash(&mut h);
    regarding.uid.hash(&mut h);
    h.finish()
}

/// An Event waiting to be written.
struct Queued {
    type_: EventType,
    reason: String,
    note: String,
    regarding: ObjectReference,
}

/// Events are for people: the reconcile queues them here and goes on.
#[derive(Clone)]
pub struct EventQueue {
    tx: mpsc::UnboundedSender<Queued>,
}

impl EventQueue {
    /// The queue of `recorder`, written [`IN_FLIGHT`] at a time until every sender is gone.
    pub fn start(recorder: EventRecorder) -> EventQueue {
        let (tx, mut rx) = mpsc::unbounded_channel::<Queued>();
        let recorder = Arc::new(recorder);
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        tokio::spawn(async move {
            while let Some(q) = rx.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let recorder = recorder.clone();
                tokio::spawn(async move {
                    if let Err(e) = recorder
                        .publish(q.type_, &q.reason, &q.note, &q.regarding)
                        .await
                    {
                        debug!("failed to record event {}: {e}", q.reason);
                    }
                    drop(slot);
                });
            }
        });
        EventQueue { tx }
    }

    pub fn send(&self, type_: EventType, reason: &str, note: String, regarding: ObjectReference) {
        // Closed only when the controller stops: the Event is dropped with it.
        let _ = self.tx.send(Queued {
            type_,
            reason: reason.to_string(),
            note,
            regarding,
        });
    }
}

impl EventRecorder {
    pub fn new(client: Client, controller: String) -> Self {
        EventRecorder {
            client,
            controller,
            memory: Mutex::new(Memory {
                written: HashMap::new(),
                pruned: Instant::now(),
            }),
        }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write an Event about `regarding` (in its namespace, `default` for a cluster-scoped one),
    /// or count it in the series of the same Event written within six minutes.
    pub async fn publish(
        &self,
        type_: EventType,
        reason: &str,
        note: &str,
        regarding: &ObjectReference,
    ) -> kube::Result<()> {
        let key = identity(type_, reason, note, regarding);
        let now = Instant::now();
        let repeat = {
            let mut memory = self.memory();
            if now.duration_since(memory.pruned) >= PRUNE_EVERY {
                memory
                    .written
                    .retain(|_, w| now.duration_since(w.last) < SERIES_WINDOW);
                memory.pruned = now;
            }
            memory
                .written
                .get_mut(&key)
                .filter(|w| now.duration_since(w.last) < SERIES_WINDOW)
                .map(|w| {
                    w.count += 1;
                    w.last = now;
                    (w.name.clone(), w.count)
                })
        };
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let timestamp = k8s_openapi::jiff::Timestamp::now();
        if let Some((name, count)) = repeat {
            let series = EventSeries {
                count,
                last_observed_time: MicroTime(timestamp),
            };
            let patch = json!({ "series": series });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                // Gone from the server (its Event TTL): write a new one.
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let name = format!(
            "{}.{:x}",
            regarding.name.as_deref().unwrap_or(&self.controller),
            timestamp.as_nanosecond()
        );
        let event = K8sEvent {
            action: Some(reason.to_string()),
            reason: Some(reason.to_string()),
            event_time: Some(MicroTime(timestamp)),
            regarding: Some(regarding.clone()),
            note: Some(note.to_string()),
            metadata: ObjectMeta {
                namespace: Some(namespace.to_string()),
                name: Some(name.clone()),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.controller.clone()),
            type_: Some(
                match type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_string(),
            ),
            ..K8sEvent::default()
        };
        api.create(&PostParams::default(), &event).await?;
        self.memory().written.insert(
            key,
            Written {
                name,
                count: 1,
                last: now,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(uid: &str, rv: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("FederatedConfigMap".into()),
            namespace: Some("ns".into()),
            name: Some("a".into()),
            uid: Some(uid.into()),
            resource_version: Some(rv.into()),
            ..ObjectReference::default()
        }
    }

    #[test]
    fn the_same_event_on_a_newer_copy_is_the_same_event_but_another_note_is_not() {
        let base = identity(EventType::Warning, "R", "note", &reference("u1", "1"));
        assert_eq!(
            base,
            identity(EventType::Warning, "R", "note", &reference("u1", "2"))
        );
        assert_ne!(
            base,
            identity(EventType::Warning, "R", "other", &reference("u1", "1"))
        );
        assert_ne!(
            base,
            identity(EventType::Normal, "R", "note", &reference("u1", "1"))
        );
        assert_ne!(
            base,
            identity(EventType::Warning, "R", "note", &reference("u2", "1"))
        );
    }
}

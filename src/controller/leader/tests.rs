//! Leader election tests: the record format and the decision as pure functions, then whole
//! elections against an in-memory API server (GET, POST, PUT with resourceVersion checks) on
//! paused time, so no cluster is needed and 15-second leases take no wall time.

use super::*;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Record format

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn annotation_round_trips_gos_json() {
    let go = r#"{"holderIdentity":"kubefed-controller-manager-6d4b7c9f8-x2x7p_0b7a3f0e-7c0a-4f51-9d8e-2f4c1f0a9b11","leaseDurationSeconds":15,"acquireTime":"2022-08-10T10:00:00Z","renewTime":"2022-08-10T10:05:00Z","leaderTransitions":3}"#;
    let record = LeaderElectionRecord::from_annotation(go).unwrap();
    assert_eq!(
        record,
        LeaderElectionRecord {
            holder_identity:
                "kubefed-controller-manager-6d4b7c9f8-x2x7p_0b7a3f0e-7c0a-4f51-9d8e-2f4c1f0a9b11"
                    .into(),
            lease_duration_seconds: 15,
            acquire_time: Some(ts("2022-08-10T10:00:00Z")),
            renew_time: Some(ts("2022-08-10T10:05:00Z")),
            leader_transitions: 3,
        }
    );
    assert_eq!(record.to_annotation(), go);
}

#[test]
fn annotation_writes_zero_times_as_null_and_whole_seconds() {
    let empty = r#"{"holderIdentity":"","leaseDurationSeconds":0,"acquireTime":null,"renewTime":null,"leaderTransitions":0}"#;
    assert_eq!(LeaderElectionRecord::default().to_annotation(), empty);
    assert_eq!(
        LeaderElectionRecord::from_annotation(empty).unwrap(),
        LeaderElectionRecord::default()
    );
    let record = LeaderElectionRecord {
        holder_identity: "a".into(),
        lease_duration_seconds: 15,
        acquire_time: Some(ts("2024-05-01T10:00:00.987654321Z")),
        renew_time: Some(ts("2024-05-01T10:00:05.5Z")),
        leader_transitions: 1,
    };
    assert_eq!(
        record.to_annotation(),
        r#"{"holderIdentity":"a","leaseDurationSeconds":15,"acquireTime":"2024-05-01T10:00:00Z","renewTime":"2024-05-01T10:00:05Z","leaderTransitions":1}"#
    );
}

#[test]
fn annotation_reads_fractions_missing_fields_and_rejects_garbage() {
    let record = LeaderElectionRecord::from_annotation(
        r#"{"holderIdentity":"a","renewTime":"2024-05-01T10:00:05.123Z"}"#,
    )
    .unwrap();
    assert_eq!(record.holder_identity, "a");
    assert_eq!(record.lease_duration_seconds, 0);
    assert_eq!(record.renew_time, Some(ts("2024-05-01T10:00:05.123Z")));
    for garbage in [
        "",
        "{",
        "null",
        r#"{"holderIdentity":7}"#,
        r#"{"leaseDurationSeconds":99999999999}"#,
    ] {
        assert!(
            LeaderElectionRecord::from_annotation(garbage).is_err(),
            "{garbage}"
        );
    }
}

#[test]
fn lease_spec_keeps_microseconds_and_other_fields() {
    let record = LeaderElectionRecord {
        holder_identity: "a".into(),
        lease_duration_seconds: 15,
        acquire_time: Some(ts("2024-05-01T10:00:00.123456789Z")),
        renew_time: Some(ts("2024-05-01T10:00:05.5Z")),
        leader_transitions: 2,
    };
    let mut spec = LeaseSpec {
        strategy: Some("OldestEmulationVersion".into()),
        ..LeaseSpec::default()
    };
    record.write_lease_spec(&mut spec);
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(
        json,
        json!({
            "holderIdentity": "a",
            "leaseDurationSeconds": 15,
            "acquireTime": "2024-05-01T10:00:00.123456Z",
            "renewTime": "2024-05-01T10:00:05.500000Z",
            "leaseTransitions": 2,
            "strategy": "OldestEmulationVersion",
        })
    );
    let back: LeaseSpec = serde_json::from_value(json).unwrap();
    let read = LeaderElectionRecord::from_lease_spec(Some(&back));
    assert_eq!(read.holder_identity, "a");
    assert_eq!(read.acquire_time, Some(ts("2024-05-01T10:00:00.123456Z")));
    assert_eq!(
        LeaderElectionRecord::from_lease_spec(None),
        LeaderElectionRecord::default()
    );
}

// ---------------------------------------------------------------------------------------------
// Decision

fn held_by(holder: &str, seconds: i32) -> LeaderElectionRecord {
    LeaderElectionRecord {
        holder_identity: holder.into(),
        lease_duration_seconds: seconds,
        ..LeaderElectionRecord::default()
    }
}

#[test]
fn decide_follows_client_go() {
    let seen = Instant::now();
    let lease = Duration::from_secs(15);
    let at = |s: u64| seen + Duration::from_secs(s);
    // Ours: renew, even long after we last saw it.
    assert_eq!(
        decide(at(100), &held_by("me", 15), seen, "me", lease),
        Decision::Renew
    );
    // Nobody's (never held, or released): take it at once.
    assert_eq!(
        decide(seen, &held_by("", 15), seen, "me", lease),
        Decision::Acquire
    );
    assert_eq!(
        decide(seen, &held_by("", 1), seen, "me", lease),
        Decision::Acquire
    );
    // Someone else's: wait until it has not changed for its lease duration.
    assert_eq!(
        decide(at(10), &held_by("other", 15), seen, "me", lease),
        Decision::Wait {
            holder: "other".into(),
            remaining: Duration::from_secs(5)
        }
    );
    assert_eq!(
        decide(at(15), &held_by("other", 15), seen, "me", lease),
        Decision::Acquire
    );
    // Its own duration counts; none falls back to ours.
    assert_eq!(
        decide(at(2), &held_by("other", 1), seen, "me", lease),
        Decision::Acquire
    );
    assert!(matches!(
        decide(at(14), &held_by("other", 0), seen, "me", lease),
        Decision::Wait { .. }
    ));
    assert_eq!(
        decide(at(15), &held_by("other", -3), seen, "me", lease),
        Decision::Acquire
    );
    // Two locks that disagree count as held.
    assert!(matches!(
        decide(at(1), &held_by(UNKNOWN_LEADER, 15), seen, "me", lease),
        Decision::Wait { .. }
    ));
    // A huge duration waits, without overflow.
    assert!(matches!(
        decide(
            at(1_000_000),
            &held_by("other", i32::MAX),
            seen,
            "me",
            lease
        ),
        Decision::Wait { .. }
    ));
}

#[test]
fn next_record_counts_transitions() {
    let now = ts("2024-05-01T10:00:00Z");
    let earlier = ts("2024-05-01T09:00:00Z");
    let fresh = next_record(None, "me", 15, now);
    assert_eq!(
        fresh,
        LeaderElectionRecord {
            holder_identity: "me".into(),
            lease_duration_seconds: 15,
            acquire_time: Some(now),
            renew_time: Some(now),
            leader_transitions: 0,
        }
    );
    let mine = LeaderElectionRecord {
        acquire_time: Some(earlier),
        leader_transitions: 4,
        ..held_by("me", 15)
    };
    let renewed = next_record(Some(&mine), "me", 15, now);
    assert_eq!(renewed.acquire_time, Some(earlier));
    assert_eq!(renewed.renew_time, Some(now));
    assert_eq!(renewed.leader_transitions, 4);
    let theirs = LeaderElectionRecord {
        leader_transitions: 4,
        ..held_by("other", 15)
    };
    let taken = next_record(Some(&theirs), "me", 15, now);
    assert_eq!(taken.acquire_time, Some(now));
    assert_eq!(taken.leader_transitions, 5);
    let released = released_record(&renewed, now);
    assert_eq!(released.holder_identity, "");
    assert_eq!(released.lease_duration_seconds, 1);
    assert_eq!(released.leader_transitions, 4);
}

#[test]
fn merge_reports_disagreeing_locks_as_unknown() {
    let found = |holder: &str, secs: i32, raw: &str| Read::Found(held_by(holder, secs), raw.into());
    assert_eq!(merge(None, Some(&Read::Missing)), None);
    assert_eq!(merge(Some(&Read::Missing), Some(&Read::Missing)), None);
    assert_eq!(
        merge(Some(&found("go", 15, "p")), Some(&Read::Missing)),
        Some((held_by("go", 15), "p".into()))
    );
    assert_eq!(
        merge(Some(&Read::Missing), Some(&found("rust", 15, "l"))),
        Some((held_by("rust", 15), "l".into()))
    );
    assert_eq!(
        merge(Some(&found("a", 15, "p")), Some(&found("a", 15, "l"))),
        Some((held_by("a", 15), "pl".into()))
    );
    assert_eq!(
        merge(Some(&found("", 1, "p")), Some(&found("b", 30, "l"))),
        Some((held_by(UNKNOWN_LEADER, 30), "pl".into()))
    );
}

#[test]
fn config_is_checked_as_client_go_does() {
    let ok = LeaderConfig::new("ns", "me");
    ok.validate().unwrap();
    for (bad, what) in [
        (
            LeaderConfig {
                identity: String::new(),
                ..ok.clone()
            },
            "identity",
        ),
        (
            LeaderConfig {
                lease_duration: Duration::from_secs(10),
                ..ok.clone()
            },
            "leaseDuration",
        ),
        (
            LeaderConfig {
                renew_deadline: Duration::from_secs(6),
                ..ok.clone()
            },
            "renewDeadline",
        ),
        (
            LeaderConfig {
                retry_period: Duration::ZERO,
                ..ok.clone()
            },
            "retryPeriod",
        ),
    ] {
        let error = bad.validate().unwrap_err().to_string();
        assert!(error.contains(what), "{error}");
    }
}

#[test]
fn identity_is_hostname_underscore_uuid() {
    let id = default_identity();
    let (host, uuid) = id.rsplit_once('_').unwrap();
    assert!(!host.is_empty());
    assert_eq!(uuid.len(), 36, "{uuid}");
    for (i, c) in uuid.char_indices() {
        match i {
            8 | 13 | 18 | 23 => assert_eq!(c, '-', "{uuid}"),
            14 => assert_eq!(c, '4', "{uuid}"),
            19 => assert!("89ab".contains(c), "{uuid}"),
            _ => assert!(c.is_ascii_hexdigit() && !c.is_ascii_uppercase(), "{uuid}"),
        }
    }
    assert_ne!(default_identity(), id);
}

#[test]
fn jitter_stays_within_client_gos_bounds() {
    let period = Duration::from_secs(5);
    let waits: Vec<Duration> = (0..1000).map(|_| jittered(period)).collect();
    assert!(
        waits
            .iter()
            .all(|w| *w >= period && *w < period.mul_f64(2.2))
    );
    // Spread out, not a constant.
    assert!(waits.iter().any(|w| *w > period.mul_f64(1.6)));
    assert!(waits.iter().any(|w| *w < period.mul_f64(1.6)));
}

// ---------------------------------------------------------------------------------------------
// An in-memory API server

const NS: &str = "kube-federation-system";

fn configmap_path() -> String {
    format!("/api/v1/namespaces/{NS}/configmaps/{LOCK_NAME}")
}

fn endpoints_path() -> String {
    format!("/api/v1/namespaces/{NS}/endpoints/{LOCK_NAME}")
}

fn lease_path() -> String {
    format!("/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/{LOCK_NAME}")
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    resource_version: u64,
    forbid_leases: bool,
    fail_all: bool,
}

/// Just enough of an API server for the lock objects.
#[derive(Clone, Default)]
struct FakeApi(Arc<Mutex<State>>);

fn status(code: u16, reason: &str, message: &str) -> http::Response<kube::client::Body> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    });
    http::Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(kube::client::Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn ok(code: u16, object: &Value) -> http::Response<kube::client::Body> {
    http::Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(kube::client::Body::from(
            serde_json::to_vec(object).unwrap(),
        ))
        .unwrap()
}

impl FakeApi {
    fn client(&self) -> kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |req: http::Request<kube::client::Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.handle(req).await) }
        });
        kube::Client::new(service, "default")
    }

    async fn handle(
        &self,
        req: http::Request<kube::client::Body>,
    ) -> http::Response<kube::client::Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let body = req.into_body().collect_bytes().await.unwrap();
        let mut state = self.0.lock().unwrap();
        if state.fail_all {
            return status(
                500,
                "InternalError",
                "the fake API server is failing on purpose",
            );
        }
        if state.forbid_leases && path.contains("/leases") {
            return status(403, "Forbidden", "leases are forbidden");
        }
        match method {
            http::Method::GET => match state.objects.get(&path) {
                Some(object) => ok(200, object),
                None => status(404, "NotFound", "not found"),
            },
            http::Method::POST => {
                let mut object: Value = serde_json::from_slice(&body).unwrap();
                let key = format!("{path}/{}", object["metadata"]["name"].as_str().unwrap());
                if state.objects.contains_key(&key) {
                    return status(409, "AlreadyExists", "already exists");
                }
                state.resource_version += 1;
                object["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
                state.objects.insert(key, object.clone());
                ok(201, &object)
            }
            http::Method::PUT => {
                let mut object: Value = serde_json::from_slice(&body).unwrap();
                let Some(stored) = state.objects.get(&path) else {
                    return status(404, "NotFound", "not found");
                };
                if object["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"] {
                    return status(409, "Conflict", "the object has been modified");
                }
                state.resource_version += 1;
                object["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
                state.objects.insert(path, object.clone());
                ok(200, &object)
            }
            _ => status(405, "MethodNotAllowed", "method not allowed"),
        }
    }

    fn get(&self, path: &str) -> Option<Value> {
        self.0.lock().unwrap().objects.get(path).cloned()
    }

    /// Store `object` at `path` as another writer would (new resourceVersion).
    fn put(&self, path: &str, mut object: Value) {
        let mut state = self.0.lock().unwrap();
        state.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
        state.objects.insert(path.to_string(), object);
    }

    /// The record in the ConfigMap (or Endpoints) annotation at `path`.
    fn annotation_record(&self, path: &str) -> Option<LeaderElectionRecord> {
        let object = self.get(path)?;
        let value = object["metadata"]["annotations"][LEADER_ANNOTATION]
            .as_str()?
            .to_string();
        Some(LeaderElectionRecord::from_annotation(&value).unwrap())
    }

    fn lease_record(&self) -> Option<LeaderElectionRecord> {
        let lease: Lease = serde_json::from_value(self.get(&lease_path())?).unwrap();
        Some(LeaderElectionRecord::from_lease_spec(lease.spec.as_ref()))
    }

    fn holders(&self) -> (Option<String>, Option<String>) {
        (
            self.annotation_record(&configmap_path())
                .map(|r| r.holder_identity),
            self.lease_record().map(|r| r.holder_identity),
        )
    }

    fn set(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.0.lock().unwrap());
    }
}

fn go_configmap(record: &LeaderElectionRecord) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": LOCK_NAME, "namespace": NS,
            "annotations": { LEADER_ANNOTATION: record.to_annotation() },
        },
    })
}

fn config(identity: &str) -> LeaderConfig {
    LeaderConfig::new(NS, identity)
}

async fn lead(api: &FakeApi, config: LeaderConfig) -> Leadership {
    Leadership::acquire(api.client(), config, CancellationToken::new())
        .await
        .unwrap()
        .expect("not cancelled")
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

// ---------------------------------------------------------------------------------------------
// Elections

#[tokio::test(start_paused = true)]
async fn the_first_candidate_leads_at_once_and_writes_both_locks() {
    let api = FakeApi::default();
    let started = Instant::now();
    let a = lead(&api, config("a")).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(a.identity(), "a");
    let record = api.annotation_record(&configmap_path()).unwrap();
    assert_eq!(record.holder_identity, "a");
    assert_eq!(record.lease_duration_seconds, 15);
    assert_eq!(record.leader_transitions, 0);
    assert!(record.acquire_time.is_some() && record.renew_time == record.acquire_time);
    let lease = api.lease_record().unwrap();
    assert_eq!(
        (lease.holder_identity.as_str(), lease.lease_duration_seconds),
        ("a", 15)
    );
    // Go's configmap lock reads the annotation as written.
    let raw = api.get(&configmap_path()).unwrap()["metadata"]["annotations"][LEADER_ANNOTATION]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        raw.starts_with(r#"{"holderIdentity":"a","leaseDurationSeconds":15,"acquireTime":""#),
        "{raw}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_leader_renews_and_a_standby_waits() {
    let api = FakeApi::default();
    let a = lead(&api, config("a")).await;
    let standby = tokio::spawn(Leadership::acquire(
        api.client(),
        config("b"),
        CancellationToken::new(),
    ));
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(
        !standby.is_finished(),
        "the standby took a lock that was being renewed"
    );
    assert!(
        tokio::time::timeout(Duration::ZERO, a.lost())
            .await
            .is_err()
    );
    assert_eq!(api.holders(), (some("a"), some("a")));
    // Each renewal rewrites both objects: the resourceVersion counts the writes.
    let rv: u64 = api.get(&lease_path()).unwrap()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv > 20, "only {rv} writes in 120 s");
    standby.abort();
}

#[tokio::test(start_paused = true)]
async fn release_hands_over_without_waiting_for_expiry() {
    let api = FakeApi::default();
    let a = lead(&api, config("a")).await;
    let standby = tokio::spawn(Leadership::acquire(
        api.client(),
        config("b"),
        CancellationToken::new(),
    ));
    tokio::time::sleep(Duration::from_secs(30)).await;
    a.release().await;
    let released = api.annotation_record(&configmap_path()).unwrap();
    assert_eq!(
        (
            released.holder_identity.as_str(),
            released.lease_duration_seconds
        ),
        ("", 1)
    );
    assert_eq!(api.lease_record().unwrap().holder_identity, "");
    let handed_over = Instant::now();
    let b = tokio::time::timeout(Duration::from_secs(12), standby)
        .await
        .expect("the standby waited for expiry")
        .unwrap()
        .unwrap()
        .unwrap();
    // One jittered retry period at most (5 s × 2.2), not a lease duration after it.
    assert!(handed_over.elapsed() < Duration::from_secs(11));
    assert_eq!(b.identity(), "b");
    assert_eq!(api.holders(), (some("b"), some("b")));
    assert_eq!(
        api.annotation_record(&configmap_path())
            .unwrap()
            .leader_transitions,
        1
    );
}

#[tokio::test(start_paused = true)]
async fn two_candidates_at_once_make_one_leader() {
    let api = FakeApi::default();
    let a = tokio::spawn(Leadership::acquire(
        api.client(),
        config("a"),
        CancellationToken::new(),
    ));
    let b = tokio::spawn(Leadership::acquire(
        api.client(),
        config("b"),
        CancellationToken::new(),
    ));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_ne!(a.is_finished(), b.is_finished(), "exactly one must lead");
    let (winner, loser) = if a.is_finished() { ("a", b) } else { ("b", a) };
    assert_eq!(api.holders(), (some(winner), some(winner)));
    loser.abort();
}

#[tokio::test(start_paused = true)]
async fn a_go_replica_on_the_configmap_blocks_until_its_record_stops_changing() {
    let api = FakeApi::default();
    let go = LeaderElectionRecord {
        leader_transitions: 7,
        ..held_by("go-replica_5f0c", 15)
    };
    api.put(&configmap_path(), go_configmap(&go));
    // The Go leader renews every 5 s for 40 s, then dies.
    let renewer = {
        let api = api.clone();
        let go = go.clone();
        tokio::spawn(async move {
            for i in 1..=8 {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let mut renewed = go.clone();
                renewed.renew_time = Some(Timestamp::from_second(1_700_000_000 + i).unwrap());
                let mut object = api.get(&configmap_path()).unwrap();
                object["metadata"]["annotations"][LEADER_ANNOTATION] =
                    json!(renewed.to_annotation());
                api.put(&configmap_path(), object);
            }
        })
    };
    let started = Instant::now();
    let rust = lead(&api, config("rust")).await;
    renewer.await.unwrap();
    let waited = started.elapsed();
    // Last Go write at 40 s. The candidate sees it up to one jittered retry (5 s x 2.2) later,
    // waits the 15 s lease from then, and acts at its next jittered retry: 55 s to 77 s.
    assert!(
        waited >= Duration::from_secs(55),
        "took over after {waited:?}"
    );
    assert!(
        waited <= Duration::from_secs(77),
        "took over after {waited:?}"
    );
    let record = api.annotation_record(&configmap_path()).unwrap();
    assert_eq!(record.holder_identity, "rust");
    assert_eq!(record.leader_transitions, 8);
    assert_eq!(api.lease_record().unwrap().holder_identity, "rust");
    drop(rust);
}

#[tokio::test(start_paused = true)]
async fn a_foreign_lease_blocks_even_without_the_configmap() {
    let api = FakeApi::default();
    let mut lease = Lease::default();
    held_by("other", 15).write_lease_spec(lease.spec.get_or_insert_with(Default::default));
    let mut value = serde_json::to_value(&lease).unwrap();
    value["metadata"] = json!({"name": LOCK_NAME, "namespace": NS});
    api.put(&lease_path(), value);
    let cancel = CancellationToken::new();
    let campaign = tokio::spawn(Leadership::acquire(
        api.client(),
        config("me"),
        cancel.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(10)).await;
    cancel.cancel();
    assert!(campaign.await.unwrap().unwrap().is_none());
    assert_eq!(
        api.get(&configmap_path()),
        None,
        "wrote the ConfigMap while the Lease was held"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_annotation_counts_as_unowned() {
    let api = FakeApi::default();
    let mut cm = go_configmap(&held_by("x", 15));
    cm["metadata"]["annotations"][LEADER_ANNOTATION] = json!("{not json");
    api.put(&configmap_path(), cm);
    let started = Instant::now();
    let _a = lead(&api, config("a")).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(api.holders(), (some("a"), some("a")));
}

#[tokio::test(start_paused = true)]
async fn leadership_is_lost_when_renewals_fail_for_the_renew_deadline() {
    let api = FakeApi::default();
    let a = lead(&api, config("a")).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    api.set(|s| s.fail_all = true);
    let failing = Instant::now();
    tokio::time::timeout(Duration::from_secs(20), a.lost())
        .await
        .expect("still leading after 20 s of failed renewals");
    // Before the lease (15 s after the last renewal) can expire for a standby.
    assert!(
        failing.elapsed() <= Duration::from_secs(15),
        "{:?}",
        failing.elapsed()
    );
    assert!(a.lost_token().is_cancelled());
    // Nothing to give up any more: release does not write.
    api.set(|s| s.fail_all = false);
    a.release().await;
    assert_eq!(api.holders(), (some("a"), some("a")));
}

#[tokio::test(start_paused = true)]
async fn leadership_is_lost_at_once_when_another_holder_takes_the_lock() {
    let api = FakeApi::default();
    let a = lead(&api, config("a")).await;
    let mut object = api.get(&configmap_path()).unwrap();
    object["metadata"]["annotations"][LEADER_ANNOTATION] =
        json!(held_by("intruder", 15).to_annotation());
    api.put(&configmap_path(), object);
    tokio::time::timeout(Duration::from_secs(6), a.lost())
        .await
        .expect("kept leading with a foreign holder in the ConfigMap");
    // Nothing written over the intruder.
    assert_eq!(api.holders(), (some("intruder"), some("a")));
}

#[tokio::test(start_paused = true)]
async fn forbidden_leases_fall_back_to_the_configmap_alone() {
    let api = FakeApi::default();
    api.set(|s| s.forbid_leases = true);
    let a = lead(&api, config("a")).await;
    assert_eq!(api.holders(), (some("a"), None));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        tokio::time::timeout(Duration::ZERO, a.lost())
            .await
            .is_err()
    );
    a.release().await;
    assert_eq!(api.holders(), (some(""), None));
}

#[tokio::test(start_paused = true)]
async fn lease_only_and_endpoints_locks() {
    let api = FakeApi::default();
    let a = lead(
        &api,
        LeaderConfig {
            lock: None,
            ..config("a")
        },
    )
    .await;
    assert_eq!(api.holders(), (None, some("a")));
    a.release().await;

    let api = FakeApi::default();
    let b = lead(
        &api,
        LeaderConfig {
            lock: Some(LockKind::Endpoints),
            ..config("b")
        },
    )
    .await;
    assert_eq!(
        api.annotation_record(&endpoints_path())
            .unwrap()
            .holder_identity,
        "b"
    );
    assert_eq!(api.holders(), (None, some("b")));
    b.release().await;
    assert_eq!(
        api.annotation_record(&endpoints_path())
            .unwrap()
            .holder_identity,
        ""
    );
}

#[tokio::test(start_paused = true)]
async fn an_invalid_config_is_an_error() {
    let api = FakeApi::default();
    let bad = LeaderConfig {
        renew_deadline: Duration::from_secs(20),
        ..config("a")
    };
    assert!(
        Leadership::acquire(api.client(), bad, CancellationToken::new())
            .await
            .is_err()
    );
}

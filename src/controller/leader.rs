//! Leader election, wire-compatible with client-go's `leaderelection` package.
//!
//! KubeFed v0.10.0's Go controller-manager holds the `configmaps` lock (or `endpoints`): the
//! JSON `LeaderElectionRecord` in the annotation `control-plane.alpha.kubernetes.io/leader` of
//! the ConfigMap (or Endpoints) `kubefed-controller-manager` in the KubeFed namespace. This
//! module holds that lock *and* the coordination.k8s.io Lease of the same name, the way
//! client-go's MultiLock (`configmapsleases`) does: a Go replica and a Rust replica exclude
//! each other during a rolling swap, and the Lease is already in place for a later move to
//! Leases alone. Acquiring writes both; a live foreign holder on either one blocks.
//!
//! The algorithm is client-go's (`tryAcquireOrRenew`): a lock is expired when its record has
//! not changed for `leaseDurationSeconds` of *local* time since this process last saw it
//! change, so clocks need not agree. Writes replace the object read, with its
//! `resourceVersion`, so of two candidates only one can win (the other gets 409 and re-reads).

use std::fmt;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::ResourceLockType;

/// The annotation that holds the record on a ConfigMap or Endpoints lock.
pub const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

/// The name of every lock object (Go: `kubefed-controller-manager`).
pub const LOCK_NAME: &str = "kubefed-controller-manager";

/// The holder client-go's MultiLock reports when its two locks disagree.
pub const UNKNOWN_LEADER: &str = "leaderelection.k8s.io/unknown";

/// client-go's `JitterFactor`: each wait is `retry_period * (1 + [0, 1.2))`.
pub const JITTER_FACTOR: f64 = 1.2;

/// The lock kept for Go replicas, from KubeFedConfig `spec.leaderElect.resourceLock`. The
/// Lease is always held besides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// The annotation on ConfigMap `kubefed-controller-manager` (Go's default).
    ConfigMaps,
    /// The annotation on Endpoints `kubefed-controller-manager`.
    Endpoints,
}

impl From<ResourceLockType> for LockKind {
    fn from(lock: ResourceLockType) -> Self {
        match lock {
            ResourceLockType::ConfigMaps => LockKind::ConfigMaps,
            ResourceLockType::Endpoints => LockKind::Endpoints,
        }
    }
}

/// Leader election settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderConfig {
    /// The KubeFed namespace, where the lock objects live.
    pub namespace: String,
    /// The lock objects' name: [`LOCK_NAME`].
    pub name: String,
    /// This candidate's identity: [`default_identity`].
    pub identity: String,
    /// How long a standby waits after the last change it saw before taking over (15 s).
    pub lease_duration: Duration,
    /// How long the leader retries a failed renewal before it gives up leading (10 s).
    pub renew_deadline: Duration,
    /// The wait between attempts, to acquire or to renew (5 s; jittered when acquiring).
    pub retry_period: Duration,
    /// The Go-compatible lock held besides the Lease; `None` holds the Lease alone.
    pub lock: Option<LockKind>,
}

impl LeaderConfig {
    /// Go's defaults (15 s / 10 s / 5 s, the `configmaps` lock) in `namespace`.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        LeaderConfig {
            namespace: namespace.into(),
            name: LOCK_NAME.to_string(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(5),
            lock: Some(LockKind::ConfigMaps),
        }
    }

    /// client-go's checks (`NewLeaderElector`).
    pub fn validate(&self) -> Result<()> {
        if self.identity.is_empty() {
            bail!("leader election identity must not be empty");
        }
        if self.retry_period.is_zero() {
            bail!("leader election retryPeriod must be greater than zero");
        }
        if self.lease_duration <= self.renew_deadline {
            bail!(
                "leader election leaseDuration ({:?}) must be greater than renewDeadline ({:?})",
                self.lease_duration,
                self.renew_deadline
            );
        }
        if self.renew_deadline.as_secs_f64() <= JITTER_FACTOR * self.retry_period.as_secs_f64() {
            bail!(
                "leader election renewDeadline ({:?}) must be greater than {JITTER_FACTOR} × retryPeriod ({:?})",
                self.renew_deadline,
                self.retry_period
            );
        }
        Ok(())
    }

    fn lease_duration_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }
}

/// This process's identity, `<hostname>_<random UUID>` as Go's
/// (`os.Hostname() + "_" + uuid.NewUUID()`); the hostname of a pod is its name.
pub fn default_identity() -> String {
    let host = hostname::get()
        .ok()
        .map(|h| h.to_string_lossy().into_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{host}_{}", random_uuid())
}

/// A version 4 UUID, lowercase and hyphenated.
fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// 64 random bits. std's `RandomState` is keyed from the OS's random source once per thread
/// and never repeats a key in a process; that is enough for an identity (which only needs to
/// differ from other replicas') and for jitter.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// `period` plus a random share of up to [`JITTER_FACTOR`] × `period` (client-go's
/// `wait.Jitter`).
fn jittered(period: Duration) -> Duration {
    let fraction = (random_u64() >> 11) as f64 / (1u64 << 53) as f64;
    period + period.mul_f64(fraction * JITTER_FACTOR)
}

// ---------------------------------------------------------------------------------------------
// The record

/// client-go's `LeaderElectionRecord`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderElectionRecord {
    /// Who holds the lock; empty when nobody does (never held, or released).
    pub holder_identity: String,
    pub lease_duration_seconds: i32,
    pub acquire_time: Option<Timestamp>,
    pub renew_time: Option<Timestamp>,
    pub leader_transitions: i32,
}

/// The annotation's JSON: Go's struct, fields in its order, times as `metav1.Time` (RFC 3339
/// in whole seconds; `null` for a zero time).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnnotationRecord {
    #[serde(default)]
    holder_identity: String,
    #[serde(default)]
    lease_duration_seconds: i32,
    #[serde(default)]
    acquire_time: Option<Time>,
    #[serde(default)]
    renew_time: Option<Time>,
    #[serde(default)]
    leader_transitions: i32,
}

impl LeaderElectionRecord {
    /// The annotation value, as Go's `json.Marshal` writes it.
    pub fn to_annotation(&self) -> String {
        let record = AnnotationRecord {
            holder_identity: self.holder_identity.clone(),
            lease_duration_seconds: self.lease_duration_seconds,
            acquire_time: self.acquire_time.map(Time),
            renew_time: self.renew_time.map(Time),
            leader_transitions: self.leader_transitions,
        };
        serde_json::to_string(&record).unwrap_or_default()
    }

    /// Parse an annotation value.
    pub fn from_annotation(value: &str) -> Result<Self, serde_json::Error> {
        let record: AnnotationRecord = serde_json::from_str(value)?;
        Ok(LeaderElectionRecord {
            holder_identity: record.holder_identity,
            lease_duration_seconds: record.lease_duration_seconds,
            acquire_time: record.acquire_time.map(|t| t.0),
            renew_time: record.renew_time.map(|t| t.0),
            leader_transitions: record.leader_transitions,
        })
    }

    /// Read from a Lease's spec (client-go's `LeaseSpecToLeaderElectionRecord`).
    pub fn from_lease_spec(spec: Option<&LeaseSpec>) -> Self {
        let Some(spec) = spec else {
            return Self::default();
        };
        LeaderElectionRecord {
            holder_identity: spec.holder_identity.clone().unwrap_or_default(),
            lease_duration_seconds: spec.lease_duration_seconds.unwrap_or_default(),
            acquire_time: spec.acquire_time.as_ref().map(|t| t.0),
            renew_time: spec.renew_time.as_ref().map(|t| t.0),
            leader_transitions: spec.lease_transitions.unwrap_or_default(),
        }
    }

    /// Write into a Lease's spec; other fields (`strategy`, `preferredHolder`) are kept.
    pub fn write_lease_spec(&self, spec: &mut LeaseSpec) {
        spec.holder_identity = Some(self.holder_identity.clone());
        spec.lease_duration_seconds = Some(self.lease_duration_seconds);
        spec.acquire_time = self.acquire_time.map(MicroTime);
        spec.renew_time = self.renew_time.map(MicroTime);
        spec.lease_transitions = Some(self.leader_transitions);
    }

    /// The record as the Lease stores it (times in microseconds), to notice changes.
    fn lease_raw(&self) -> String {
        let mut spec = LeaseSpec::default();
        self.write_lease_spec(&mut spec);
        serde_json::to_string(&spec).unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// The decision

/// What a candidate does after reading the locks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nobody holds the lock, or the holder let it expire: take it.
    Acquire,
    /// We hold it: renew.
    Renew,
    /// `holder` holds it for at least `remaining` more.
    Wait { holder: String, remaining: Duration },
}

/// client-go's rule. `observed` is the record as last seen, `observed_at` the local time it
/// was first seen in that form; `default_lease` is used when the record carries no duration.
pub fn decide(
    now: Instant,
    observed: &LeaderElectionRecord,
    observed_at: Instant,
    me: &str,
    default_lease: Duration,
) -> Decision {
    if observed.holder_identity == me {
        return Decision::Renew;
    }
    if observed.holder_identity.is_empty() {
        return Decision::Acquire;
    }
    // Current client-go trusts the holder's own duration (older versions used their own).
    let lease = u64::try_from(observed.lease_duration_seconds)
        .ok()
        .filter(|&s| s > 0)
        .map_or(default_lease, Duration::from_secs);
    match observed_at.checked_add(lease) {
        Some(expiry) if expiry <= now => Decision::Acquire,
        Some(expiry) => Decision::Wait {
            holder: observed.holder_identity.clone(),
            remaining: expiry - now,
        },
        None => Decision::Wait {
            holder: observed.holder_identity.clone(),
            remaining: lease,
        },
    }
}

/// The record to write after [`Decision::Acquire`] or [`Decision::Renew`]: a renewal keeps
/// the acquire time and the transition count, an acquisition of an existing lock counts one
/// more transition.
pub fn next_record(
    old: Option<&LeaderElectionRecord>,
    me: &str,
    lease_duration_seconds: i32,
    now: Timestamp,
) -> LeaderElectionRecord {
    let mut record = LeaderElectionRecord {
        holder_identity: me.to_string(),
        lease_duration_seconds,
        acquire_time: Some(now),
        renew_time: Some(now),
        leader_transitions: 0,
    };
    match old {
        Some(old) if old.holder_identity == me => {
            record.acquire_time = old.acquire_time.or(Some(now));
            record.leader_transitions = old.leader_transitions;
        }
        Some(old) => record.leader_transitions = old.leader_transitions.saturating_add(1),
        None => {}
    }
    record
}

/// The record that gives a lock up (client-go's `release`): no holder, a one-second lease.
pub fn released_record(old: &LeaderElectionRecord, now: Timestamp) -> LeaderElectionRecord {
    LeaderElectionRecord {
        holder_identity: String::new(),
        lease_duration_seconds: 1,
        acquire_time: Some(now),
        renew_time: Some(now),
        leader_transitions: old.leader_transitions,
    }
}

/// One lock as read: absent, or its record and the raw form that tells changes apart.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Read {
    Missing,
    Found(LeaderElectionRecord, String),
}

/// The view of the Go-compatible lock and the Lease together (client-go's `MultiLock.Get`,
/// except that a Lease alone counts too, so a Lease holder blocks before the ConfigMap
/// exists). `None` when neither exists.
fn merge(primary: Option<&Read>, lease: Option<&Read>) -> Option<(LeaderElectionRecord, String)> {
    let found = |read: Option<&Read>| match read {
        Some(Read::Found(record, raw)) => Some((record.clone(), raw.clone())),
        _ => None,
    };
    match (found(primary), found(lease)) {
        (None, None) => None,
        (Some(one), None) | (None, Some(one)) => Some(one),
        (Some((mut record, primary_raw)), Some((lease, lease_raw))) => {
            if record.holder_identity != lease.holder_identity {
                record.holder_identity = UNKNOWN_LEADER.to_string();
            }
            record.lease_duration_seconds = record
                .lease_duration_seconds
                .max(lease.lease_duration_seconds);
            Some((record, primary_raw + &lease_raw))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lock objects

/// An object that can carry the record.
trait LockObject:
    kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + fmt::Debug
    + Default
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The raw stored form, and the record or why it cannot be read.
    fn stored(&self) -> (String, Result<LeaderElectionRecord, String>);
    /// Store `record`; returns the raw form written.
    fn store(&mut self, record: &LeaderElectionRecord) -> String;
}

fn annotation_stored(meta: &ObjectMeta) -> (String, Result<LeaderElectionRecord, String>) {
    // client-go: an object without the annotation holds an empty record.
    match meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(LEADER_ANNOTATION))
    {
        None => (String::new(), Ok(LeaderElectionRecord::default())),
        Some(value) => (
            value.clone(),
            LeaderElectionRecord::from_annotation(value).map_err(|e| e.to_string()),
        ),
    }
}

fn annotation_store(meta: &mut ObjectMeta, record: &LeaderElectionRecord) -> String {
    let raw = record.to_annotation();
    meta.annotations
        .get_or_insert_with(Default::default)
        .insert(LEADER_ANNOTATION.to_string(), raw.clone());
    raw
}

impl LockObject for ConfigMap {
    fn stored(&self) -> (String, Result<LeaderElectionRecord, String>) {
        annotation_stored(&self.metadata)
    }
    fn store(&mut self, record: &LeaderElectionRecord) -> String {
        annotation_store(&mut self.metadata, record)
    }
}

impl LockObject for Endpoints {
    fn stored(&self) -> (String, Result<LeaderElectionRecord, String>) {
        annotation_stored(&self.metadata)
    }
    fn store(&mut self, record: &LeaderElectionRecord) -> String {
        annotation_store(&mut self.metadata, record)
    }
}

impl LockObject for Lease {
    fn stored(&self) -> (String, Result<LeaderElectionRecord, String>) {
        let record = LeaderElectionRecord::from_lease_spec(self.spec.as_ref());
        (record.lease_raw(), Ok(record))
    }
    fn store(&mut self, record: &LeaderElectionRecord) -> String {
        record.write_lease_spec(self.spec.get_or_insert_with(Default::default));
        record.lease_raw()
    }
}

/// One lock object, with the version last read or written (for optimistic concurrency).
struct Lock<K> {
    api: Api<K>,
    namespace: String,
    name: String,
    cached: Option<K>,
}

impl<K: LockObject> Lock<K> {
    fn new(client: &kube::Client, namespace: &str, name: &str) -> Self {
        Lock {
            api: Api::namespaced(client.clone(), namespace),
            namespace: namespace.to_string(),
            name: name.to_string(),
            cached: None,
        }
    }

    fn describe(&self) -> String {
        format!("{} `{}/{}`", K::kind(&()), self.namespace, self.name)
    }

    async fn read(&mut self) -> Result<Read, kube::Error> {
        let Some(object) = self.api.get_opt(&self.name).await? else {
            self.cached = None;
            return Ok(Read::Missing);
        };
        let (raw, record) = object.stored();
        let record = record.unwrap_or_else(|error| {
            // Unreadable: nobody can be said to hold it; the next write replaces it.
            tracing::warn!(lock = %self.describe(), %error, value = %raw,
                "ignored an unreadable leader election record");
            LeaderElectionRecord::default()
        });
        self.cached = Some(object);
        Ok(Read::Found(record, raw))
    }

    /// Write `record`: replace the object last read (409 if it changed since), or create it.
    async fn write(&mut self, record: &LeaderElectionRecord) -> Result<String, kube::Error> {
        let pp = PostParams::default();
        let (raw, written) = match self.cached.clone() {
            Some(mut object) => {
                let raw = object.store(record);
                (raw, self.api.replace(&self.name, &pp, &object).await)
            }
            None => {
                let mut object = K::default();
                *object.meta_mut() = ObjectMeta {
                    name: Some(self.name.clone()),
                    namespace: Some(self.namespace.clone()),
                    ..ObjectMeta::default()
                };
                let raw = object.store(record);
                (raw, self.api.create(&pp, &object).await)
            }
        };
        match written {
            Ok(object) => {
                self.cached = Some(object);
                Ok(raw)
            }
            Err(error) => {
                // Whatever is stored now, it is not what was cached: read before writing again.
                self.cached = None;
                Err(error)
            }
        }
    }
}

/// The Go-compatible lock.
enum AnnotationLock {
    ConfigMap(Lock<ConfigMap>),
    Endpoints(Lock<Endpoints>),
}

impl AnnotationLock {
    fn describe(&self) -> String {
        match self {
            AnnotationLock::ConfigMap(lock) => lock.describe(),
            AnnotationLock::Endpoints(lock) => lock.describe(),
        }
    }

    async fn read(&mut self) -> Result<Read, kube::Error> {
        match self {
            AnnotationLock::ConfigMap(lock) => lock.read().await,
            AnnotationLock::Endpoints(lock) => lock.read().await,
        }
    }

    async fn write(&mut self, record: &LeaderElectionRecord) -> Result<String, kube::Error> {
        match self {
            AnnotationLock::ConfigMap(lock) => lock.write(record).await,
            AnnotationLock::Endpoints(lock) => lock.write(record).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The elector

enum Attempt {
    /// We hold both locks now.
    Leading,
    /// Someone else does (possibly [`UNKNOWN_LEADER`]).
    HeldBy(String),
}

struct Elector {
    config: LeaderConfig,
    primary: Option<AnnotationLock>,
    lease: Lock<Lease>,
    /// RBAC forbids Leases (the Go chart grants ConfigMaps only): hold the primary alone.
    lease_forbidden: bool,
    observed: LeaderElectionRecord,
    observed_raw: Option<String>,
    observed_at: Instant,
}

impl Elector {
    fn new(client: &kube::Client, config: LeaderConfig) -> Self {
        let (ns, name) = (config.namespace.as_str(), config.name.as_str());
        let primary = config.lock.map(|kind| match kind {
            LockKind::ConfigMaps => AnnotationLock::ConfigMap(Lock::new(client, ns, name)),
            LockKind::Endpoints => AnnotationLock::Endpoints(Lock::new(client, ns, name)),
        });
        let lease = Lock::new(client, ns, name);
        Elector {
            config,
            primary,
            lease,
            lease_forbidden: false,
            observed: LeaderElectionRecord::default(),
            observed_raw: None,
            observed_at: Instant::now(),
        }
    }

    fn describe(&self) -> String {
        match &self.primary {
            Some(primary) => format!("{} and {}", primary.describe(), self.lease.describe()),
            None => self.lease.describe(),
        }
    }

    /// Read both locks and, unless someone else holds them, write our record to both.
    async fn try_acquire_or_renew(&mut self) -> Result<Attempt> {
        let primary = match &mut self.primary {
            Some(lock) => Some(
                lock.read()
                    .await
                    .with_context(|| format!("failed to read {}", lock.describe()))?,
            ),
            None => None,
        };
        let lease = if self.lease_forbidden {
            None
        } else {
            match self.lease.read().await {
                Ok(read) => Some(read),
                Err(kube::Error::Api(status))
                    if status.is_forbidden() && self.primary.is_some() =>
                {
                    tracing::warn!(
                        lock = %self.lease.describe(),
                        "not allowed to read the leader Lease; holding the {} alone \
                         (grant get, create and update on coordination.k8s.io leases to hold both)",
                        self.primary.as_ref().map(AnnotationLock::describe).unwrap_or_default(),
                    );
                    self.lease_forbidden = true;
                    None
                }
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("failed to read {}", self.lease.describe()));
                }
            }
        };

        let now = Instant::now();
        let merged = merge(primary.as_ref(), lease.as_ref());
        let decision = match &merged {
            None => Decision::Acquire,
            Some((record, raw)) => {
                if self.observed_raw.as_ref() != Some(raw) {
                    self.observed = record.clone();
                    self.observed_raw = Some(raw.clone());
                    self.observed_at = now;
                }
                decide(
                    now,
                    &self.observed,
                    self.observed_at,
                    &self.config.identity,
                    self.config.lease_duration,
                )
            }
        };
        if let Decision::Wait { holder, .. } = decision {
            return Ok(Attempt::HeldBy(holder));
        }

        let record = next_record(
            merged.as_ref().map(|(record, _)| record),
            &self.config.identity,
            self.config.lease_duration_seconds(),
            Timestamp::now(),
        );
        let mut raw = String::new();
        if let Some(lock) = &mut self.primary {
            raw += &lock
                .write(&record)
                .await
                .with_context(|| format!("failed to write {}", lock.describe()))?;
        }
        if !self.lease_forbidden {
            raw += &self
                .lease
                .write(&record)
                .await
                .with_context(|| format!("failed to write {}", self.lease.describe()))?;
        }
        self.observed = record;
        self.observed_raw = Some(raw);
        self.observed_at = now;
        Ok(Attempt::Leading)
    }

    /// Give up both locks where they still name us.
    async fn release(&mut self) -> Result<()> {
        let me = self.config.identity.clone();
        let now = Timestamp::now();
        if let Some(lock) = &mut self.primary {
            let read = lock
                .read()
                .await
                .with_context(|| format!("failed to read {}", lock.describe()))?;
            if let Read::Found(record, _) = read
                && record.holder_identity == me
            {
                lock.write(&released_record(&record, now))
                    .await
                    .with_context(|| format!("failed to release {}", lock.describe()))?;
            }
        }
        if !self.lease_forbidden {
            let read = self
                .lease
                .read()
                .await
                .with_context(|| format!("failed to read {}", self.lease.describe()))?;
            if let Read::Found(record, _) = read
                && record.holder_identity == me
            {
                self.lease
                    .write(&released_record(&record, now))
                    .await
                    .with_context(|| format!("failed to release {}", self.lease.describe()))?;
            }
        }
        Ok(())
    }
}

/// Renew every `retry_period`; give up after `renew_deadline` of failures, or at once when
/// another holder shows up. Returns the elector for [`Leadership::release`].
async fn renew(mut elector: Elector, stop: CancellationToken, lost: CancellationToken) -> Elector {
    let retry = elector.config.retry_period;
    let renew_deadline = elector.config.renew_deadline;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return elector,
            _ = tokio::time::sleep(retry) => {}
        }
        let deadline = Instant::now() + renew_deadline;
        let renewed = loop {
            match tokio::time::timeout_at(deadline, elector.try_acquire_or_renew()).await {
                Ok(Ok(Attempt::Leading)) => break true,
                Ok(Ok(Attempt::HeldBy(holder))) => {
                    tracing::error!(%holder, lock = %elector.describe(),
                        "leader election lost: another candidate holds the lock");
                    lost.cancel();
                    return elector;
                }
                Ok(Err(error)) => {
                    tracing::warn!(error = %format!("{error:#}"), "failed to renew the leader lease");
                }
                Err(_) => break false,
            }
            let next = Instant::now() + retry;
            if next >= deadline {
                break false;
            }
            tokio::select! {
                _ = stop.cancelled() => return elector,
                _ = tokio::time::sleep_until(next) => {}
            }
        };
        if !renewed {
            tracing::error!(lock = %elector.describe(), ?renew_deadline,
                "leader election lost: the lease was not renewed within the renew deadline");
            lost.cancel();
            return elector;
        }
    }
}

/// This process leads: the locks are held and renewed in the background until [`lost`]
/// completes or [`release`] is called. Dropping it stops the renewal (the lock then expires).
///
/// [`lost`]: Leadership::lost
/// [`release`]: Leadership::release
pub struct Leadership {
    identity: String,
    lost: CancellationToken,
    stop: CancellationToken,
    renewer: Option<JoinHandle<Elector>>,
    release_timeout: Duration,
}

impl Leadership {
    /// Campaign until this process leads (`Ok(Some)`), or until `cancel` fires (`Ok(None)`).
    /// Attempts repeat every `retry_period` with jitter; API errors are logged and retried,
    /// as client-go does. Logs `promoted as leader` when it leads. Errs only on an invalid
    /// `config`.
    pub async fn acquire(
        client: kube::Client,
        config: LeaderConfig,
        cancel: CancellationToken,
    ) -> Result<Option<Leadership>> {
        config.validate()?;
        let attempt_timeout = config.renew_deadline;
        let retry = config.retry_period;
        let mut elector = Elector::new(&client, config);
        let identity = elector.config.identity.clone();
        tracing::info!(%identity, lock = %elector.describe(), "attempting to acquire the leader lease");
        let mut last_holder = None;
        loop {
            match tokio::time::timeout(attempt_timeout, elector.try_acquire_or_renew()).await {
                Ok(Ok(Attempt::Leading)) => break,
                Ok(Ok(Attempt::HeldBy(holder))) => {
                    if last_holder.as_ref() != Some(&holder) {
                        tracing::info!(%holder, "the leader lease is held by another candidate; waiting");
                        last_holder = Some(holder);
                    }
                }
                Ok(Err(error)) => {
                    tracing::warn!(error = %format!("{error:#}"), "failed to acquire the leader lease");
                }
                Err(_) => {
                    tracing::warn!(timeout = ?attempt_timeout, "failed to acquire the leader lease: no answer in time");
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => return Ok(None),
                _ = tokio::time::sleep(jittered(retry)) => {}
            }
        }
        if cancel.is_cancelled() {
            // Asked to stop while the last attempt won: hand the lock straight on.
            if let Err(error) = elector.release().await {
                tracing::warn!(error = %format!("{error:#}"), "failed to release the leader lease");
            }
            return Ok(None);
        }
        tracing::info!(%identity, "promoted as leader");
        let lost = CancellationToken::new();
        let stop = CancellationToken::new();
        let release_timeout = elector.config.renew_deadline;
        let renewer = tokio::spawn(renew(elector, stop.clone(), lost.clone()));
        Ok(Some(Leadership {
            identity,
            lost,
            stop,
            renewer: Some(renewer),
            release_timeout,
        }))
    }

    /// This candidate's identity, as written in the locks.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// A token cancelled when leadership is lost, e.g. to stop the controllers.
    pub fn lost_token(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Completes when leadership is lost: renewal failed for `renew_deadline`, or another
    /// candidate took the lock. `leader election lost` is logged then.
    pub async fn lost(&self) {
        self.lost.cancelled().await
    }

    /// Stop renewing and give the locks up at once (no holder, a one-second lease, as
    /// client-go's `ReleaseOnCancel`), so that a standby takes over without waiting for the
    /// lease to expire. For SIGTERM. Bounded by `renew_deadline`; failures are logged.
    pub async fn release(mut self) {
        self.stop.cancel();
        let Some(renewer) = self.renewer.take() else {
            return;
        };
        let mut elector = match renewer.await {
            Ok(elector) => elector,
            Err(error) => {
                tracing::warn!(%error, "the leader lease renewal task failed");
                return;
            }
        };
        if self.lost.is_cancelled() {
            return;
        }
        match tokio::time::timeout(self.release_timeout, elector.release()).await {
            Ok(Ok(())) => tracing::info!(identity = %self.identity, "released the leader lease"),
            Ok(Err(error)) => {
                tracing::warn!(error = %format!("{error:#}"), "failed to release the leader lease");
            }
            Err(_) => tracing::warn!("failed to release the leader lease: no answer in time"),
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests;

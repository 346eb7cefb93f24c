//! The member-cluster registry and cluster health (Go: `pkg/controller/kubefedcluster`).
//!
//! One task watches the KubeFedClusters and the Secrets of the control plane's namespace. For
//! each cluster it keeps one client, rebuilt when the cluster's endpoint, CA, TLS settings,
//! proxy or token change (so a rotated token or CA is picked up at once; upstream needs a
//! restart, #1132). Every `clusterHealthCheck.period` (and at once for a new or changed cluster)
//! it probes `/healthz` and `/version`, and writes the KubeFedCluster status with upstream's
//! conditions, only when they changed (upstream writes every cluster every period).
//!
//! Readiness counts consecutive probe results: a Ready cluster turns Offline after
//! `failureThreshold` failed probes in a row, and back after `successThreshold` good ones
//! (upstream counts probes since the last transition instead, so one failure after a long
//! healthy run flips it, #1496).
//!
//! The sync controllers read the registry ([`Registry::snapshot`]) and are told of every
//! change through [`Registry::subscribe`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::api::kubefedcluster::{CLUSTER_CONFIG_MALFORMED, CLUSTER_OFFLINE, CLUSTER_READY};
use crate::api::{ClusterCondition, KubeFedCluster, KubeFedClusterStatus};
use crate::controller::config::{HealthSettings, Settings};
use crate::controller::metrics::Metrics;
use crate::kubeconfig::{Protocol, build_client_with_tls};

/// One KubeFedCluster as the sync controllers see it.
#[derive(Clone)]
pub struct Member {
    pub name: String,
    /// The KubeFedCluster's labels (placement selects on them).
    pub labels: BTreeMap<String, String>,
    /// A client with the cluster's credentials; `None` when the KubeFedCluster or its Secret
    /// is malformed.
    pub client: Option<Client>,
    /// `Ready` condition `True`.
    pub ready: bool,
    /// Changes whenever the client is rebuilt: watches opened with an older client restart.
    pub epoch: u64,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("name", &self.name)
            .field("ready", &self.ready)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// The shared view of the member clusters.
#[derive(Clone)]
pub struct Registry {
    members: Arc<RwLock<BTreeMap<String, Member>>>,
    changed: Arc<watch::Sender<u64>>,
    /// Set once the KubeFedCluster list has been read and every cluster probed once.
    synced: Arc<watch::Sender<bool>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            members: Arc::default(),
            changed: Arc::new(watch::channel(0).0),
            synced: Arc::new(watch::channel(false).0),
        }
    }
}

impl Registry {
    /// Every known cluster, sorted by name.
    pub fn snapshot(&self) -> Vec<Member> {
        self.members
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Option<Member> {
        self.members.read().ok()?.get(name).cloned()
    }

    /// A receiver that sees a new value after every change of any member.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Completes once every KubeFedCluster has been probed once, so that controllers starting
    /// up do not treat clusters as not ready before their first probe.
    pub async fn wait_synced(&self) {
        let mut rx = self.synced.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    fn update(&self, f: impl FnOnce(&mut BTreeMap<String, Member>) -> bool) {
        let changed = match self.members.write() {
            Ok(mut m) => f(&mut m),
            Err(_) => false,
        };
        if changed {
            self.changed.send_modify(|n| *n += 1);
        }
    }
}

/// What the health task keeps per cluster.
struct Tracked {
    /// Endpoint, CA, TLS, proxy, token: the client is rebuilt when this changes.
    fingerprint: String,
    client: Option<Client>,
    malformed: Option<String>,
    health: HealthState,
    epoch: u64,
}

/// Run the cluster controller until `cancel`: keep `registry` current and the KubeFedCluster
/// statuses written.
pub async fn run(
    host: Client,
    settings: Settings,
    registry: Registry,
    metrics: Metrics,
    cancel: CancellationToken,
) {
    info!("Starting cluster controller");
    let ns = settings.namespace.clone();
    let clusters_api: Api<KubeFedCluster> = Api::namespaced(host.clone(), &ns);
    // Watched untyped: one KubeFedCluster the schema does not describe (an unknown TLS
    // validation, a malformed status) is reported as ConfigMalformed, the others keep working.
    let ar = kube::discovery::ApiResource::erase::<KubeFedCluster>(&());
    let untyped: Api<DynamicObject> = Api::namespaced_with(host.clone(), &ns, &ar);
    let secrets_api: Api<Secret> = Api::namespaced(host.clone(), &ns);
    let notify = Arc::new(Notify::new());
    let clusters = spawn_reflector(untyped, ar, notify.clone(), cancel.clone());
    let secrets = spawn_reflector(secrets_api, (), notify.clone(), cancel.clone());
    let _ = clusters.wait_until_ready().await;
    let _ = secrets.wait_until_ready().await;

    let mut tracked: HashMap<String, Tracked> = HashMap::new();
    let mut next_epoch = 1u64;
    let mut next_probe = Instant::now();
    loop {
        // Which clusters to probe now: all when the period is up, else the new and changed.
        let due = Instant::now() >= next_probe;
        let mut probe: Vec<String> = Vec::new();
        let current: BTreeMap<String, Parsed> = clusters
            .state()
            .into_iter()
            .map(|c| (c.name_any(), Parsed::from(c.as_ref())))
            .collect();
        tracked.retain(|name, _| {
            let keep = current.contains_key(name);
            if !keep {
                info!(cluster = %name, "KubeFedCluster deleted; dropping its client");
                metrics.remove_cluster(name);
            }
            keep
        });
        for (name, parsed) in &current {
            let (token, fingerprint) = match &parsed.cluster {
                Ok(kfc) => {
                    let token = secret_token(&secrets, kfc);
                    let fingerprint = fingerprint(kfc, token.as_ref().ok().map(String::as_str));
                    (token, fingerprint)
                }
                Err(e) => (Err(anyhow!("{e}")), format!("malformed: {e}")),
            };
            let fresh = match tracked.get(name) {
                Some(t) => t.fingerprint != fingerprint,
                None => true,
            };
            if fresh {
                let built = match &parsed.cluster {
                    Ok(kfc) => token.and_then(|t| member_client(kfc, &t)),
                    Err(e) => Err(anyhow!("{e}")),
                };
                let (client, malformed) = match built {
                    Ok(client) => (Some(client), None),
                    Err(e) => (None, Some(format!("{e:#}"))),
                };
                let health = match tracked.remove(name) {
                    Some(old) => old.health,
                    None => HealthState::from_stored(parsed.status.clone()),
                };
                debug!(cluster = %name, epoch = next_epoch, "member client (re)built");
                tracked.insert(
                    name.clone(),
                    Tracked {
                        fingerprint,
                        client,
                        malformed,
                        health,
                        epoch: next_epoch,
                    },
                );
                next_epoch += 1;
                probe.push(name.clone());
            } else if due {
                probe.push(name.clone());
            }
        }
        if due {
            next_probe = Instant::now() + settings.health.period;
        }

        // Probe concurrently; an unreachable cluster costs its timeout, never the others'.
        let results = futures::future::join_all(probe.iter().filter_map(|name| {
            let t = tracked.get(name)?;
            let client = t.client.clone();
            let malformed = t.malformed.clone();
            let timeout = settings.health.timeout;
            let metrics = metrics.clone();
            let name = name.clone();
            Some(async move {
                let start = Instant::now();
                let result = match (client, malformed) {
                    (Some(client), _) => probe_cluster(&client, timeout).await,
                    (None, reason) => Probe::Malformed(reason.unwrap_or_default()),
                };
                metrics.observe_cluster_health(start.elapsed());
                (name, result)
            })
        }))
        .await;
        for (name, result) in results {
            let (Some(t), Some(parsed)) = (tracked.get_mut(&name), current.get(&name)) else {
                continue;
            };
            let now = Time(k8s_openapi::jiff::Timestamp::now());
            if let Probe::Malformed(reason) | Probe::Offline(reason) = &result {
                debug!(cluster = %name, %reason, "probe failed");
            }
            let status = t.health.observe(&result, now, &settings.health);
            metrics.set_cluster_state(&name, state_label(&status));
            if !same_status(parsed.status.as_ref(), &status) {
                write_status(&clusters_api, &name, &status, &result).await;
            }
        }
        registry.update(|members| {
            let mut changed = members.len() != tracked.len();
            members.retain(|name, _| tracked.contains_key(name));
            for (name, t) in &tracked {
                let Some(parsed) = current.get(name) else {
                    continue;
                };
                let labels = parsed.labels.clone();
                let ready = t.health.ready();
                let member = Member {
                    name: name.clone(),
                    labels,
                    client: t.client.clone(),
                    ready: ready && t.client.is_some(),
                    epoch: t.epoch,
                };
                match members.get(name) {
                    Some(old)
                        if old.ready == member.ready
                            && old.epoch == member.epoch
                            && old.labels == member.labels => {}
                    _ => {
                        changed = true;
                        members.insert(name.clone(), member);
                    }
                }
            }
            changed
        });
        registry
            .synced
            .send_if_modified(|s| !std::mem::replace(s, true));

        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = notify.notified() => {}
            _ = tokio::time::sleep_until(next_probe.into()) => {}
        }
    }
}

/// A KubeFedCluster read from its JSON, spec and status apart.
struct Parsed {
    labels: BTreeMap<String, String>,
    cluster: std::result::Result<KubeFedCluster, String>,
    status: Option<KubeFedClusterStatus>,
}

impl From<&DynamicObject> for Parsed {
    fn from(o: &DynamicObject) -> Self {
        let mut data = o.data.clone();
        let status = data
            .as_object_mut()
            .and_then(|d| d.remove("status"))
            .and_then(|s| serde_json::from_value(s).ok());
        let mut value = serde_json::to_value(o).unwrap_or_default();
        if let Some(v) = value.as_object_mut() {
            v.remove("status");
        }
        let cluster = serde_json::from_value::<KubeFedCluster>(value).map_err(|e| {
            format!(
                "KubeFedCluster `{}` does not match its schema: {e}",
                o.name_any()
            )
        });
        Parsed {
            labels: o.labels().clone(),
            cluster,
            status,
        }
    }
}

/// A reflector over `api` in a task of its own, notifying on every change.
fn spawn_reflector<K>(
    api: Api<K>,
    dyntype: K::DynamicType,
    notify: Arc<Notify>,
    cancel: CancellationToken,
) -> Store<K>
where
    K: kube::Resource
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
    K::DynamicType: Clone + std::hash::Hash + Eq + Send + Sync,
{
    let plural = K::plural(&dyntype).to_string();
    let writer = reflector::store::Writer::new(dyntype);
    let reader = writer.as_reader();
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .touched_objects();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                event = stream.next() => match event {
                    Some(Ok(_)) => notify.notify_one(),
                    Some(Err(e)) => warn!("watch of {plural} failed: {e}"),
                    None => return,
                },
            }
        }
    });
    reader
}

/// The `token` of the cluster's Secret, with upstream's error messages.
fn secret_token(secrets: &Store<Secret>, kfc: &KubeFedCluster) -> Result<String> {
    let name = kfc.name_any();
    let secret_name = &kfc.spec.secret_ref.name;
    if secret_name.is_empty() {
        bail!("Cluster {name} does not have a secret name");
    }
    let key = reflector::ObjectRef::new(secret_name).within(&kfc.namespace().unwrap_or_default());
    let secret = secrets
        .get(&key)
        .ok_or_else(|| anyhow!("secret `{secret_name}` of cluster {name} does not exist"))?;
    let token = secret
        .data
        .as_ref()
        .and_then(|d| d.get("token"))
        .map(|t| String::from_utf8_lossy(&t.0).trim().to_string())
        .unwrap_or_default();
    if token.is_empty() {
        bail!("The secret for cluster {name} is missing a non-empty value for \"token\"");
    }
    Ok(token)
}

/// What makes the client: the client is rebuilt when this changes. Holds no credential: the
/// token enters as a hash.
fn fingerprint(kfc: &KubeFedCluster, token: Option<&str>) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    format!(
        "{}|{:x}",
        serde_json::to_string(&kfc.spec).unwrap_or_default(),
        h.finish()
    )
}

/// A client for a member cluster from its KubeFedCluster and token (Go: `BuildClusterConfig`).
pub fn member_client(kfc: &KubeFedCluster, token: &str) -> Result<Client> {
    let name = kfc.name_any();
    let endpoint = kfc.spec.api_endpoint.trim();
    if endpoint.is_empty() {
        bail!("The api endpoint of cluster {name} is empty");
    }
    // NB: Go's rest.DefaultServerURL: an endpoint without a scheme is https.
    let endpoint = if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("https://{endpoint}")
    };
    let url: http::Uri = endpoint
        .parse()
        .with_context(|| format!("invalid api endpoint `{endpoint}` of cluster {name}"))?;
    let mut config = kube::Config::new(url);
    config.auth_info.token = Some(token.to_string().into());
    if let Some(proxy) = kfc.spec.proxy_url.as_deref().filter(|p| !p.is_empty()) {
        config.proxy_url = Some(
            proxy
                .parse()
                .with_context(|| format!("invalid proxyURL `{proxy}` of cluster {name}"))?,
        );
    }
    config.connect_timeout = Some(Duration::from_secs(10));
    // The CA from spec.caBundle (the Secret's ca.crt is not used, as upstream), with the TLS
    // checks spec.disabledTLSValidations turns off.
    let tls = crate::controller::tls::client_config(
        kfc.spec.ca_bundle.as_ref().map(|b| b.0.as_slice()),
        &kfc.spec.disabled_tls_validations,
    )
    .with_context(|| format!("invalid TLS settings of cluster {name}"))?;
    build_client_with_tls(&config, tls, Protocol::Multiplexed)
        .with_context(|| format!("failed to build a client for cluster {name}"))
}

/// One probe's result.
#[derive(Clone, Debug, PartialEq)]
pub enum Probe {
    /// `/healthz` said `ok`; the git version from `/version`, if it answered.
    Ready(Option<String>),
    /// `/healthz` answered 2xx without `ok`.
    NotReady,
    /// No answer, or not 2xx.
    Offline(String),
    /// No client could be built.
    Malformed(String),
}

async fn probe_cluster(client: &Client, timeout: Duration) -> Probe {
    let healthz = async {
        let request = http::Request::get("/healthz")
            .body(Vec::new())
            .map_err(|e| anyhow!(e))?;
        client.request_text(request).await.map_err(|e| anyhow!(e))
    };
    match tokio::time::timeout(timeout, healthz).await {
        Err(_) => Probe::Offline(format!("no answer to GET /healthz within {timeout:?}")),
        Ok(Err(e)) => Probe::Offline(format!("{e:#}")),
        Ok(Ok(body)) if body.trim().eq_ignore_ascii_case("ok") => {
            let version = tokio::time::timeout(timeout, client.apiserver_version())
                .await
                .ok()
                .and_then(Result::ok)
                .map(|v| v.git_version);
            Probe::Ready(version)
        }
        Ok(Ok(_)) => Probe::NotReady,
    }
}

/// The status one probe reports (Go: `GetClusterStatus`), before thresholds.
pub fn probe_status(probe: &Probe, now: &Time) -> KubeFedClusterStatus {
    let condition = |type_: &str, status: &str, reason: &str, message: String| ClusterCondition {
        type_: type_.into(),
        status: status.into(),
        last_probe_time: now.clone(),
        last_transition_time: Some(now.clone()),
        reason: Some(reason.into()),
        message: Some(message),
    };
    let (conditions, version) = match probe {
        Probe::Ready(version) => (
            vec![condition(
                CLUSTER_READY,
                "True",
                "ClusterReady",
                "/healthz responded with ok".into(),
            )],
            version.clone(),
        ),
        Probe::NotReady => (
            vec![
                condition(
                    CLUSTER_READY,
                    "False",
                    "ClusterNotReady",
                    "/healthz responded without ok".into(),
                ),
                condition(
                    CLUSTER_OFFLINE,
                    "False",
                    "ClusterReachable",
                    "cluster is reachable".into(),
                ),
            ],
            None,
        ),
        Probe::Offline(err) => (
            vec![condition(
                CLUSTER_OFFLINE,
                "True",
                "ClusterNotReachable",
                format!("cluster is not reachable: {err}"),
            )],
            None,
        ),
        Probe::Malformed(_) => (
            vec![condition(
                CLUSTER_CONFIG_MALFORMED,
                "True",
                "ClusterConfigMalformed",
                "cluster's configuration may be malformed".into(),
            )],
            None,
        ),
    };
    KubeFedClusterStatus {
        conditions,
        kubernetes_version: version,
        zones: Vec::new(),
        region: None,
    }
}

fn is_ready(status: &KubeFedClusterStatus) -> bool {
    status
        .condition(CLUSTER_READY)
        .is_some_and(|c| c.status == "True")
}

/// Health of one cluster across probes: the status last reported and the run of consecutive
/// probes that disagree with it.
#[derive(Debug, Default)]
pub struct HealthState {
    stored: Option<KubeFedClusterStatus>,
    disagreeing: u32,
}

impl HealthState {
    /// Start from what the KubeFedCluster says (ours or upstream's from before a restart), so a
    /// restart neither flips a cluster nor resets its transition time.
    pub fn from_stored(status: Option<KubeFedClusterStatus>) -> Self {
        HealthState {
            stored: status.filter(|s| !s.conditions.is_empty()),
            disagreeing: 0,
        }
    }

    pub fn ready(&self) -> bool {
        self.stored.as_ref().is_some_and(is_ready)
    }

    /// Take one probe's result; return the status to report.
    pub fn observe(
        &mut self,
        probe: &Probe,
        now: Time,
        thresholds: &HealthSettings,
    ) -> KubeFedClusterStatus {
        let mut fresh = probe_status(probe, &now);
        let Some(stored) = self.stored.as_ref() else {
            self.stored = Some(fresh.clone());
            return fresh;
        };
        if is_ready(&fresh) == is_ready(stored) {
            // Same readiness: report the probe's details, keep the transition time.
            self.disagreeing = 0;
            let since = stored
                .conditions
                .first()
                .and_then(|c| c.last_transition_time.clone());
            for c in &mut fresh.conditions {
                c.last_transition_time = since.clone();
            }
            // An Offline cluster that becomes NotReady (or the reverse) is still not ready:
            // the conditions follow the probe.
            self.stored = Some(fresh.clone());
            return fresh;
        }
        self.disagreeing += 1;
        let threshold = if is_ready(&fresh) {
            thresholds.success_threshold
        } else {
            thresholds.failure_threshold
        };
        if self.disagreeing >= threshold {
            self.disagreeing = 0;
            self.stored = Some(fresh.clone());
            fresh
        } else {
            stored.clone()
        }
    }
}

/// Equal for reporting: conditions (type, status, reason, message, transition time) and
/// version; probe times are not compared, so a steady cluster costs no writes.
fn same_status(current: Option<&KubeFedClusterStatus>, new: &KubeFedClusterStatus) -> bool {
    let Some(current) = current else {
        return false;
    };
    let key = |s: &KubeFedClusterStatus| {
        s.conditions
            .iter()
            .map(|c| {
                (
                    c.type_.clone(),
                    c.status.clone(),
                    c.reason.clone(),
                    c.message.clone(),
                    c.last_transition_time.as_ref().map(|t| t.0.as_second()),
                )
            })
            .collect::<Vec<_>>()
    };
    key(current) == key(new) && current.kubernetes_version == new.kubernetes_version
}

fn state_label(status: &KubeFedClusterStatus) -> &'static str {
    if is_ready(status) {
        "ready"
    } else if status
        .condition(CLUSTER_OFFLINE)
        .is_some_and(|c| c.status == "True")
    {
        "offline"
    } else {
        "notready"
    }
}

async fn write_status(
    api: &Api<KubeFedCluster>,
    name: &str,
    status: &KubeFedClusterStatus,
    probe: &Probe,
) {
    let state = state_label(status);
    match probe {
        Probe::Ready(_) if state == "ready" => info!(cluster = %name, "cluster is ready"),
        Probe::Malformed(reason) => {
            warn!(cluster = %name, "The configuration for this cluster may be malformed: {reason}")
        }
        Probe::Offline(reason) => {
            warn!(cluster = %name, "Failed to retrieve health of the cluster: {reason}")
        }
        _ => {}
    }
    let patch = serde_json::json!({ "status": status });
    if let Err(e) = api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        warn!(cluster = %name, "failed to update the status of KubeFedCluster `{name}`: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000 + s).unwrap())
    }

    fn thresholds(failure: u32, success: u32) -> HealthSettings {
        HealthSettings {
            period: Duration::from_secs(10),
            failure_threshold: failure,
            success_threshold: success,
            timeout: Duration::from_secs(3),
        }
    }

    #[test]
    fn exact_conditions() {
        let s = probe_status(&Probe::NotReady, &t(0));
        let types: Vec<_> = s
            .conditions
            .iter()
            .map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref()))
            .collect();
        assert_eq!(
            types,
            [
                ("Ready", "False", Some("ClusterNotReady")),
                ("Offline", "False", Some("ClusterReachable"))
            ]
        );
        let s = probe_status(&Probe::Malformed("x".into()), &t(0));
        assert_eq!(
            s.conditions[0].message.as_deref(),
            Some("cluster's configuration may be malformed")
        );
        let s = probe_status(&Probe::Ready(Some("v1.37.2".into())), &t(0));
        assert_eq!(s.kubernetes_version.as_deref(), Some("v1.37.2"));
        assert_eq!(
            s.conditions[0].message.as_deref(),
            Some("/healthz responded with ok")
        );
    }

    // Regression (upstream #1496): after a long healthy run, one failed probe must not flip
    // the cluster; failureThreshold consecutive failures do.
    #[test]
    fn failure_threshold_counts_consecutive_failures() {
        let th = thresholds(3, 1);
        let mut h = HealthState::default();
        let ready = Probe::Ready(None);
        let down = Probe::Offline("refused".into());
        for i in 0..10 {
            assert!(is_ready(&h.observe(&ready, t(i), &th)));
        }
        assert!(is_ready(&h.observe(&down, t(10), &th)));
        assert!(is_ready(&h.observe(&down, t(11), &th)));
        // A good probe in between resets the run.
        assert!(is_ready(&h.observe(&ready, t(12), &th)));
        assert!(is_ready(&h.observe(&down, t(13), &th)));
        assert!(is_ready(&h.observe(&down, t(14), &th)));
        let s = h.observe(&down, t(15), &th);
        assert!(!is_ready(&s));
        assert_eq!(s.conditions[0].type_, "Offline");
        assert_eq!(s.conditions[0].last_transition_time, Some(t(15)));
        // Back after successThreshold (1) good probe.
        let s = h.observe(&ready, t(16), &th);
        assert!(is_ready(&s));
        assert_eq!(s.conditions[0].last_transition_time, Some(t(16)));
        // Steady: the transition time stays.
        let s = h.observe(&ready, t(30), &th);
        assert_eq!(s.conditions[0].last_transition_time, Some(t(16)));
        assert_eq!(s.conditions[0].last_probe_time, t(30));
    }

    #[test]
    fn first_probe_without_stored_status_wins() {
        let mut h = HealthState::from_stored(None);
        let s = h.observe(&Probe::Offline("x".into()), t(0), &thresholds(3, 1));
        assert!(!is_ready(&s));
        let mut h = HealthState::from_stored(Some(probe_status(&Probe::Ready(None), &t(0))));
        let s = h.observe(&Probe::Offline("x".into()), t(1), &thresholds(3, 1));
        assert!(
            is_ready(&s),
            "a stored Ready status survives one failed probe"
        );
    }

    #[test]
    fn unchanged_status_is_not_rewritten() {
        let th = thresholds(3, 1);
        let mut h = HealthState::default();
        let a = h.observe(&Probe::Ready(Some("v1".into())), t(0), &th);
        let b = h.observe(&Probe::Ready(Some("v1".into())), t(10), &th);
        assert!(same_status(Some(&a), &b));
        let c = h.observe(&Probe::Ready(Some("v2".into())), t(20), &th);
        assert!(!same_status(Some(&b), &c));
    }
}

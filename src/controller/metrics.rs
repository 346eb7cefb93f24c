//! The `/metrics` registry, with the series names of KubeFed v0.10.0 (`pkg/metrics/metrics.go`)
//! and of the controller-runtime v0.10 and client-go families it exports, so existing
//! dashboards and alerts keep working.
//!
//! NB: prometheus-client appends `_total` to counter names, so counters are registered without
//! it (`controller_runtime_reconcile` is exported as `controller_runtime_reconcile_total`);
//! gauges are not renamed, so `kubefedcluster_total` keeps its (odd) upstream name.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// KubeFed's buckets (`pkg/metrics/metrics.go`), 0.01 s to 1000 s.
const KUBEFED_BUCKETS: [f64; 21] = [
    0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 17.5, 20.0, 22.5, 25.0, 27.5, 30.0,
    50.0, 75.0, 100.0, 1000.0,
];

/// controller-runtime's `controller_runtime_reconcile_time_seconds` buckets, 5 ms to 60 s.
const RECONCILE_TIME_BUCKETS: [f64; 40] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
    1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0,
    25.0, 30.0, 40.0, 50.0, 60.0,
];

/// The `state` values of `kubefedcluster_total`.
pub const CLUSTER_READY: &str = "ready";
pub const CLUSTER_NOT_READY: &str = "notready";
pub const CLUSTER_OFFLINE: &str = "offline";
const CLUSTER_STATES: [&str; 3] = [CLUSTER_READY, CLUSTER_NOT_READY, CLUSTER_OFFLINE];

/// How one reconcile ended: the `result` label of `controller_runtime_reconcile_total`, named
/// after KubeFed's `ReconciliationStatus` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconcileResult {
    /// `StatusAllOK`.
    Success,
    /// `StatusError`; also counted in `controller_runtime_reconcile_errors_total`.
    Error,
    /// `StatusNeedsRecheck`.
    NeedsRecheck,
    /// `StatusNotSynced`.
    NotSynced,
}

impl ReconcileResult {
    pub const ALL: [ReconcileResult; 4] = [
        ReconcileResult::Success,
        ReconcileResult::Error,
        ReconcileResult::NeedsRecheck,
        ReconcileResult::NotSynced,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReconcileResult::Success => "success",
            ReconcileResult::Error => "error",
            ReconcileResult::NeedsRecheck => "needs_recheck",
            ReconcileResult::NotSynced => "not_synced",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterStateLabels {
    state: String,
    cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerResultLabels {
    controller: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    code: String,
    method: String,
    host: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn kubefed_histogram() -> Histogram {
    Histogram::new(KUBEFED_BUCKETS)
}

fn reconcile_time_histogram() -> Histogram {
    Histogram::new(RECONCILE_TIME_BUCKETS)
}

/// The controller-manager's metrics. Cheap to clone; clones share the series.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    kubefedcluster_total: Family<ClusterStateLabels, Gauge>,
    cluster_health_status_duration: Histogram,
    cluster_client_connection_duration: Histogram,
    reconcile_federated_resources_duration: Histogram,
    dispatch_operation_duration: HistogramFamily<ActionLabels>,
    reconcile_total: Family<ControllerResultLabels, Counter>,
    reconcile_errors: Family<ControllerLabels, Counter>,
    reconcile_time: HistogramFamily<ControllerLabels>,
    max_concurrent_reconciles: Family<ControllerLabels, Gauge>,
    active_workers: Family<ControllerLabels, Gauge>,
    workqueue_depth: Family<QueueLabels, Gauge>,
    workqueue_adds: Family<QueueLabels, Counter>,
    rest_client_requests: Family<RequestLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every family registered (and no series yet).
    pub fn new() -> Self {
        let mut registry = Registry::default();
        // prometheus-client adds the final "." of each help text.
        let kubefedcluster_total = Family::<ClusterStateLabels, Gauge>::default();
        registry.register(
            "kubefedcluster_total",
            "Number of total kubefed cluster in a specific state",
            kubefedcluster_total.clone(),
        );
        // Registered but never set by Go's controller-manager either; exported as 0.
        registry.register(
            "joinedcluster_total",
            "Number of total joined clusters",
            Gauge::<i64>::default(),
        );
        let cluster_health_status_duration = kubefed_histogram();
        registry.register(
            "cluster_health_status_duration_seconds",
            "Time taken for the cluster health periodic function",
            cluster_health_status_duration.clone(),
        );
        let cluster_client_connection_duration = kubefed_histogram();
        registry.register(
            "cluster_client_connection_duration_seconds",
            "Time taken for the cluster client connection function",
            cluster_client_connection_duration.clone(),
        );
        let reconcile_federated_resources_duration = kubefed_histogram();
        registry.register(
            "reconcile_federated_resources_duration_seconds",
            "Time taken to reconcile federated resources in the target clusters",
            reconcile_federated_resources_duration.clone(),
        );
        let dispatch_operation_duration: HistogramFamily<ActionLabels> =
            Family::new_with_constructor(kubefed_histogram);
        registry.register(
            "dispatch_operation_duration_seconds",
            "Time taken to run dispatch operation",
            dispatch_operation_duration.clone(),
        );
        let reconcile_total = Family::<ControllerResultLabels, Counter>::default();
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            reconcile_total.clone(),
        );
        let reconcile_errors = Family::<ControllerLabels, Counter>::default();
        registry.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            reconcile_errors.clone(),
        );
        let reconcile_time: HistogramFamily<ControllerLabels> =
            Family::new_with_constructor(reconcile_time_histogram);
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            reconcile_time.clone(),
        );
        let max_concurrent_reconciles = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            max_concurrent_reconciles.clone(),
        );
        let active_workers = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            active_workers.clone(),
        );
        let workqueue_depth = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "workqueue_depth",
            "Current depth of workqueue",
            workqueue_depth.clone(),
        );
        let workqueue_adds = Family::<QueueLabels, Counter>::default();
        registry.register(
            "workqueue_adds",
            "Total number of adds handled by workqueue",
            workqueue_adds.clone(),
        );
        let rest_client_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "rest_client_requests",
            "Number of HTTP requests, partitioned by status code, method, and host",
            rest_client_requests.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                kubefedcluster_total,
                cluster_health_status_duration,
                cluster_client_connection_duration,
                reconcile_federated_resources_duration,
                dispatch_operation_duration,
                reconcile_total,
                reconcile_errors,
                reconcile_time,
                max_concurrent_reconciles,
                active_workers,
                workqueue_depth,
                workqueue_adds,
                rest_client_requests,
            }),
        }
    }

    /// Set `kubefedcluster_total{cluster}` one-hot: 1 for `state`, 0 for the two others.
    /// `state` is [`CLUSTER_READY`], [`CLUSTER_NOT_READY`] or [`CLUSTER_OFFLINE`]; anything
    /// else changes nothing, as Go's `RegisterKubefedClusterTotal`.
    pub fn set_cluster_state(&self, cluster: &str, state: &str) {
        if !CLUSTER_STATES.contains(&state) {
            tracing::debug!(
                cluster,
                state,
                "ignored an unknown cluster state for metrics"
            );
            return;
        }
        for s in CLUSTER_STATES {
            self.inner
                .kubefedcluster_total
                .get_or_create(&ClusterStateLabels {
                    state: s.to_string(),
                    cluster: cluster.to_string(),
                })
                .set(i64::from(s == state));
        }
    }

    /// Drop a deleted cluster's `kubefedcluster_total` series. (Go keeps them until restart.)
    pub fn remove_cluster(&self, cluster: &str) {
        for state in CLUSTER_STATES {
            self.inner.kubefedcluster_total.remove(&ClusterStateLabels {
                state: state.to_string(),
                cluster: cluster.to_string(),
            });
        }
    }

    /// One health probe of one cluster (`cluster_health_status_duration_seconds`).
    pub fn observe_cluster_health(&self, elapsed: Duration) {
        self.inner
            .cluster_health_status_duration
            .observe(elapsed.as_secs_f64());
    }

    /// One lookup of a member client (`cluster_client_connection_duration_seconds`).
    pub fn observe_cluster_client_connection(&self, elapsed: Duration) {
        self.inner
            .cluster_client_connection_duration
            .observe(elapsed.as_secs_f64());
    }

    /// One sync reconcile (`reconcile_federated_resources_duration_seconds`).
    pub fn observe_reconcile_federated_resources(&self, elapsed: Duration) {
        self.inner
            .reconcile_federated_resources_duration
            .observe(elapsed.as_secs_f64());
    }

    /// One create, update or delete in a member (`dispatch_operation_duration_seconds`).
    pub fn observe_dispatch(&self, action: &str, elapsed: Duration) {
        self.inner
            .dispatch_operation_duration
            .get_or_create(&ActionLabels {
                action: action.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// A worker named `controller` starts with `max_concurrent` workers: sets
    /// `controller_runtime_max_concurrent_reconciles` and shows its other series at 0.
    pub fn controller_started(&self, controller: &str, max_concurrent: usize) {
        let labels = controller_labels(controller);
        self.inner
            .max_concurrent_reconciles
            .get_or_create(&labels)
            .set(i64::try_from(max_concurrent).unwrap_or(i64::MAX));
        // Created at 0 so that rate() works from the first reconcile on.
        self.inner.active_workers.get_or_create(&labels).set(0);
        self.inner.reconcile_errors.get_or_create(&labels).inc_by(0);
        for result in ReconcileResult::ALL {
            self.inner
                .reconcile_total
                .get_or_create(&result_labels(controller, result))
                .inc_by(0);
        }
    }

    /// One reconcile of `controller` finished: `controller_runtime_reconcile_total{result}`,
    /// `controller_runtime_reconcile_errors_total` for an error, and
    /// `controller_runtime_reconcile_time_seconds`.
    pub fn reconcile_done(&self, controller: &str, result: ReconcileResult, elapsed: Duration) {
        self.inner
            .reconcile_total
            .get_or_create(&result_labels(controller, result))
            .inc();
        let labels = controller_labels(controller);
        if result == ReconcileResult::Error {
            self.inner.reconcile_errors.get_or_create(&labels).inc();
        }
        self.inner
            .reconcile_time
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Add `delta` (negative to subtract) to `controller_runtime_active_workers`.
    pub fn add_active_workers(&self, controller: &str, delta: i64) {
        self.inner
            .active_workers
            .get_or_create(&controller_labels(controller))
            .inc_by(delta);
    }

    /// `workqueue_depth{name}`.
    pub fn set_workqueue_depth(&self, name: &str, depth: usize) {
        self.inner
            .workqueue_depth
            .get_or_create(&QueueLabels {
                name: name.to_string(),
            })
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// One add to the queue `name` (`workqueue_adds_total`).
    pub fn workqueue_add(&self, name: &str) {
        self.inner
            .workqueue_adds
            .get_or_create(&QueueLabels {
                name: name.to_string(),
            })
            .inc();
    }

    /// One API request (`rest_client_requests_total`). As client-go: `code` is the HTTP status
    /// (`"200"`) or `"<error>"` when there was no response; `method` is upper case; `host` is
    /// the server's `host:port`.
    pub fn record_rest_request(&self, code: &str, method: &str, host: &str) {
        self.inner
            .rest_client_requests
            .get_or_create(&RequestLabels {
                code: code.to_string(),
                method: method.to_string(),
                host: host.to_string(),
            })
            .inc();
    }

    /// Every series in the OpenMetrics text format, ending with `# EOF`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an encoder error would be a bug in a metric.
        if let Err(error) =
            prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)
        {
            tracing::error!(%error, "failed to encode metrics");
        }
        out
    }
}

fn controller_labels(controller: &str) -> ControllerLabels {
    ControllerLabels {
        controller: controller.to_string(),
    }
}

fn result_labels(controller: &str, result: ReconcileResult) -> ControllerResultLabels {
    ControllerResultLabels {
        controller: controller.to_string(),
        result: result.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(metrics: &Metrics) -> Vec<String> {
        metrics.encode().lines().map(str::to_string).collect()
    }

    fn has(lines: &[String], line: &str) -> bool {
        lines.iter().any(|l| l == line)
    }

    #[test]
    fn series_carry_upstreams_names() {
        let m = Metrics::new();
        m.set_cluster_state("member1", CLUSTER_READY);
        m.observe_cluster_health(Duration::from_millis(30));
        m.observe_cluster_client_connection(Duration::from_millis(1));
        m.observe_reconcile_federated_resources(Duration::from_millis(200));
        m.observe_dispatch("create", Duration::from_millis(20));
        m.controller_started("federatedconfigmap", 1);
        m.reconcile_done(
            "federatedconfigmap",
            ReconcileResult::Error,
            Duration::from_millis(7),
        );
        m.add_active_workers("federatedconfigmap", 1);
        m.set_workqueue_depth("federatedconfigmap", 3);
        m.workqueue_add("federatedconfigmap");
        m.record_rest_request("200", "GET", "10.96.0.1:443");
        let l = lines(&m);
        for line in [
            r#"kubefedcluster_total{state="ready",cluster="member1"} 1"#,
            r#"kubefedcluster_total{state="notready",cluster="member1"} 0"#,
            r#"kubefedcluster_total{state="offline",cluster="member1"} 0"#,
            "joinedcluster_total 0",
            "cluster_health_status_duration_seconds_count 1",
            r#"cluster_health_status_duration_seconds_bucket{le="0.05"} 1"#,
            r#"cluster_health_status_duration_seconds_bucket{le="0.01"} 0"#,
            "cluster_client_connection_duration_seconds_count 1",
            "reconcile_federated_resources_duration_seconds_count 1",
            r#"dispatch_operation_duration_seconds_count{action="create"} 1"#,
            r#"controller_runtime_reconcile_total{controller="federatedconfigmap",result="error"} 1"#,
            r#"controller_runtime_reconcile_total{controller="federatedconfigmap",result="success"} 0"#,
            r#"controller_runtime_reconcile_total{controller="federatedconfigmap",result="needs_recheck"} 0"#,
            r#"controller_runtime_reconcile_total{controller="federatedconfigmap",result="not_synced"} 0"#,
            r#"controller_runtime_reconcile_errors_total{controller="federatedconfigmap"} 1"#,
            r#"controller_runtime_reconcile_time_seconds_count{controller="federatedconfigmap"} 1"#,
            r#"controller_runtime_reconcile_time_seconds_bucket{le="0.005",controller="federatedconfigmap"} 0"#,
            r#"controller_runtime_reconcile_time_seconds_bucket{le="0.01",controller="federatedconfigmap"} 1"#,
            r#"controller_runtime_max_concurrent_reconciles{controller="federatedconfigmap"} 1"#,
            r#"controller_runtime_active_workers{controller="federatedconfigmap"} 1"#,
            r#"workqueue_depth{name="federatedconfigmap"} 3"#,
            r#"workqueue_adds_total{name="federatedconfigmap"} 1"#,
            r#"rest_client_requests_total{code="200",method="GET",host="10.96.0.1:443"} 1"#,
            "# HELP kubefedcluster_total Number of total kubefed cluster in a specific state.",
            "# TYPE controller_runtime_reconcile counter",
            "# EOF",
        ] {
            assert!(has(&l, line), "missing `{line}` in:\n{}", l.join("\n"));
        }
    }

    #[test]
    fn histograms_use_upstreams_buckets() {
        let m = Metrics::new();
        m.observe_dispatch("update", Duration::from_secs(2000));
        m.reconcile_done("x", ReconcileResult::Success, Duration::from_secs(61));
        let l = lines(&m);
        let buckets = |prefix: &str| -> Vec<String> {
            l.iter()
                .filter(|line| line.starts_with(prefix))
                .filter_map(|line| line.split("le=\"").nth(1)?.split('"').next())
                .map(str::to_string)
                .collect()
        };
        let kubefed: Vec<String> = KUBEFED_BUCKETS
            .iter()
            .map(|b| format!("{b:?}"))
            .chain(["+Inf".to_string()])
            .collect();
        assert_eq!(
            buckets("dispatch_operation_duration_seconds_bucket"),
            kubefed
        );
        assert_eq!(
            buckets("controller_runtime_reconcile_time_seconds_bucket").len(),
            RECONCILE_TIME_BUCKETS.len() + 1
        );
        assert!(has(
            &l,
            r#"dispatch_operation_duration_seconds_bucket{le="1000.0",action="update"} 0"#
        ));
        assert!(has(
            &l,
            r#"dispatch_operation_duration_seconds_bucket{le="+Inf",action="update"} 1"#
        ));
    }

    #[test]
    fn cluster_state_is_one_hot_and_removable() {
        let m = Metrics::new();
        m.set_cluster_state("c1", CLUSTER_READY);
        m.set_cluster_state("c1", CLUSTER_OFFLINE);
        m.set_cluster_state("c1", "bogus");
        let l = lines(&m);
        assert!(has(
            &l,
            r#"kubefedcluster_total{state="offline",cluster="c1"} 1"#
        ));
        assert!(has(
            &l,
            r#"kubefedcluster_total{state="ready",cluster="c1"} 0"#
        ));
        assert!(has(
            &l,
            r#"kubefedcluster_total{state="notready",cluster="c1"} 0"#
        ));
        assert!(!m.encode().contains("bogus"));
        m.remove_cluster("c1");
        assert!(!m.encode().contains(r#"cluster="c1""#));
    }

    #[test]
    fn clones_share_series() {
        let m = Metrics::new();
        m.clone().workqueue_add("q");
        m.clone().workqueue_add("q");
        assert!(has(&lines(&m), r#"workqueue_adds_total{name="q"} 2"#));
    }
}

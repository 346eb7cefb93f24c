//! Metrics (placeholder until the Prometheus registry lands).

use std::time::Duration;

#[derive(Clone, Default)]
pub struct Metrics;
impl Metrics { pub fn new() -> Self { Metrics } }

impl Metrics {
    pub fn set_cluster_state(&self, _cluster: &str, _state: &str) {}
    pub fn remove_cluster(&self, _cluster: &str) {}
    pub fn observe_health_probe(&self, _took: Duration) {}
    pub fn observe_dispatch(&self, _action: &str, _took: Duration) {}
    pub fn observe_reconcile(&self, _controller: &str, _result: &str, _took: Duration) {}
}

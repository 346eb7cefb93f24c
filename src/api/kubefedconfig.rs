//! `KubeFedConfig` (`core.kubefed.io/v1beta1`): the control plane's configuration. kubefedctl
//! reads the one named [`KUBEFED_CONFIG_NAME`](crate::api::KUBEFED_CONFIG_NAME) in the KubeFed
//! namespace.

use std::borrow::Cow;

use k8s_openapi::schemars::{self, JsonSchema, Schema, SchemaGenerator};
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use crate::api::common::{ConfigurationMode, Scope};
use crate::api::schema::{controller_gen_style, root_schema, string_enum};

/// KubeFedConfigSpec defines the desired state of KubeFedConfig.
//
// Durations are kept as the strings written in the object (Go `metav1.Duration` text such
// as `20s`, `1500ms`, `5m`), so that reading and writing them back is lossless.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "core.kubefed.io",
    version = "v1beta1",
    kind = "KubeFedConfig",
    plural = "kubefedconfigs",
    namespaced,
    derive = "PartialEq",
    schema = "manual",
    crates(schemars = "::k8s_openapi::schemars")
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct KubeFedConfigSpec {
    /// The scope of the KubeFed control plane should be either `Namespaced` or `Cluster`.
    /// `Namespaced` indicates that the KubeFed namespace will be the only target of the
    /// control plane.
    pub scope: Scope,

    /// Controller timing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_duration: Option<DurationConfig>,

    /// Leader election settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_elect: Option<LeaderElectConfig>,

    /// Feature gates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_gates: Vec<FeatureGatesConfig>,

    /// Member cluster health checking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_health_check: Option<ClusterHealthCheckConfig>,

    /// Sync controller settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_controller: Option<SyncControllerConfig>,

    /// Status controller settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_controller: Option<StatusControllerConfig>,
}

/// Controller timing (Go: `DurationConfig`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct DurationConfig {
    /// Time to wait before reconciling on a healthy cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_delay: Option<String>,

    /// Time to wait before giving up on an unhealthy cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable_delay: Option<String>,

    /// Time to wait for all caches to sync before exit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_sync_timeout: Option<String>,
}

/// Leader election settings (Go: `LeaderElectConfig`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct LeaderElectConfig {
    /// The duration that non-leader candidates will wait after observing a leadership renewal
    /// until attempting to acquire leadership of a led but unrenewed leader slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_duration: Option<String>,

    /// The interval between attempts by the acting master to renew a leadership slot before
    /// it stops leading. This must be less than or equal to the lease duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_deadline: Option<String>,

    /// The duration the clients should wait between attempting acquisition and renewal of a
    /// leadership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_period: Option<String>,

    /// The type of resource object that is used for locking during leader election.
    /// Supported options are `configmaps` (default) and `endpoints`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_lock: Option<ResourceLockType>,
}

string_enum! {
    /// Object kind used as the leader election lock (Go: `ResourceLockType`).
    pub enum ResourceLockType {
        /// A ConfigMap lock (the default).
        ConfigMaps => "configmaps",
        /// An Endpoints lock.
        Endpoints => "endpoints",
    }
}

/// A feature gate setting (Go: `FeatureGatesConfig`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(transform = controller_gen_style)]
pub struct FeatureGatesConfig {
    /// Gate name: `PushReconciler`, `SchedulerPreferences` or `RawResourceStatusCollection`.
    pub name: String,

    /// Whether the gate is on.
    pub configuration: ConfigurationMode,
}

/// The `PushReconciler` feature gate.
pub const FEATURE_PUSH_RECONCILER: &str = "PushReconciler";
/// The `SchedulerPreferences` feature gate.
pub const FEATURE_SCHEDULER_PREFERENCES: &str = "SchedulerPreferences";
/// The `RawResourceStatusCollection` feature gate.
pub const FEATURE_RAW_RESOURCE_STATUS_COLLECTION: &str = "RawResourceStatusCollection";

/// Member cluster health checking (Go: `ClusterHealthCheckConfig`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct ClusterHealthCheckConfig {
    /// How often to monitor the cluster health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,

    /// Minimum consecutive failures for the cluster health to be considered failed after
    /// having succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<i64>,

    /// Minimum consecutive successes for the cluster health to be considered successful after
    /// having failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_threshold: Option<i64>,

    /// Duration after which the cluster health check times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// Sync controller settings (Go: `SyncControllerConfig`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct SyncControllerConfig {
    /// The maximum number of concurrent Reconciles of sync controller which can be run.
    /// Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_reconciles: Option<i64>,

    /// Whether to adopt pre-existing resources in member clusters. Defaults to "Enabled".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt_resources: Option<ConfigurationMode>,
}

/// Status controller settings (Go: `StatusControllerConfig`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct StatusControllerConfig {
    /// The maximum number of concurrent Reconciles of status controller which can be run.
    /// Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_reconciles: Option<i64>,
}

impl KubeFedConfigSpec {
    /// A spec with only `scope` set.
    pub fn new(scope: Scope) -> Self {
        KubeFedConfigSpec {
            scope,
            controller_duration: None,
            leader_elect: None,
            feature_gates: Vec::new(),
            cluster_health_check: None,
            sync_controller: None,
            status_controller: None,
        }
    }

    /// The spec the upstream Helm chart (`kubefedconfig.yaml` template, kubefed v0.10.0)
    /// installs with default values, for the given scope.
    ///
    /// `RawResourceStatusCollection` is not listed: the chart comments it out
    /// (kubefed issue #1333).
    pub fn chart_defaults(scope: Scope) -> Self {
        KubeFedConfigSpec {
            scope,
            controller_duration: Some(DurationConfig {
                available_delay: Some("20s".into()),
                unavailable_delay: Some("60s".into()),
                cache_sync_timeout: Some("5m".into()),
            }),
            leader_elect: Some(LeaderElectConfig {
                lease_duration: Some("15s".into()),
                renew_deadline: Some("10s".into()),
                retry_period: Some("5s".into()),
                resource_lock: Some(ResourceLockType::ConfigMaps),
            }),
            feature_gates: vec![
                FeatureGatesConfig {
                    name: FEATURE_PUSH_RECONCILER.into(),
                    configuration: ConfigurationMode::Enabled,
                },
                FeatureGatesConfig {
                    name: FEATURE_SCHEDULER_PREFERENCES.into(),
                    configuration: ConfigurationMode::Enabled,
                },
            ],
            cluster_health_check: Some(ClusterHealthCheckConfig {
                period: Some("10s".into()),
                failure_threshold: Some(3),
                success_threshold: Some(1),
                timeout: Some("3s".into()),
            }),
            sync_controller: Some(SyncControllerConfig {
                max_concurrent_reconciles: Some(1),
                adopt_resources: Some(ConfigurationMode::Enabled),
            }),
            status_controller: Some(StatusControllerConfig {
                max_concurrent_reconciles: Some(1),
            }),
        }
    }

    /// The configuration of the named feature gate, if listed.
    pub fn feature_gate(&self, name: &str) -> Option<ConfigurationMode> {
        self.feature_gates
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.configuration)
    }
}

impl JsonSchema for KubeFedConfig {
    fn schema_name() -> Cow<'static, str> {
        "KubeFedConfig".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        root_schema(
            "KubeFedConfig configures the KubeFed control plane.",
            vec![("spec", generator.subschema_for::<KubeFedConfigSpec>())],
            vec![],
            &["spec"],
        )
    }
}

//! KubeFed API types.
//!
//! KubeFed's control-plane custom resources (kubefed v0.10.0), one module per resource. The
//! Rust types are the source of truth: [`control_plane_crds`] generates the
//! CustomResourceDefinitions from them (kube-derive + schemars), and
//! `tests/crds_match_upstream.rs` checks the result against upstream's Helm chart CRDs.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

mod schema;

pub mod clusterpropagatedversion;
pub mod common;
pub mod federatedservicestatus;
pub mod federatedtypeconfig;
pub mod kubefedcluster;
pub mod kubefedconfig;
pub mod propagatedversion;
pub mod replicaschedulingpreference;

pub use clusterpropagatedversion::{ClusterPropagatedVersion, ClusterPropagatedVersionFields};
pub use common::{ConfigurationMode, Scope};
pub use federatedservicestatus::{
    FederatedServiceClusterStatus, FederatedServiceStatus, FederatedServiceStatusFields,
};
pub use federatedtypeconfig::{
    APIResource, ControllerStatus, FederatedTypeConfig, FederatedTypeConfigSpec,
    FederatedTypeConfigStatus,
};
pub use kubefedcluster::{
    ClusterCondition, KubeFedCluster, KubeFedClusterSpec, KubeFedClusterStatus,
    LocalSecretReference, TlsValidation,
};
pub use kubefedconfig::{
    ClusterHealthCheckConfig, DurationConfig, FeatureGatesConfig, KubeFedConfig, KubeFedConfigSpec,
    LeaderElectConfig, ResourceLockType, StatusControllerConfig, SyncControllerConfig,
};
pub use propagatedversion::{
    ClusterObjectVersion, PropagatedVersion, PropagatedVersionFields, PropagatedVersionStatus,
};
pub use replicaschedulingpreference::{
    ClusterPreferences, ReplicaSchedulingPreference, ReplicaSchedulingPreferenceSpec,
    ReplicaSchedulingPreferenceStatus,
};

/// The namespace KubeFed's control plane is installed in by default.
pub const KUBEFED_NAMESPACE_DEFAULT: &str = "kube-federation-system";

/// The name of the KubeFedConfig the control plane (and kubefedctl) reads.
pub const KUBEFED_CONFIG_NAME: &str = "kubefed";

/// The API group of the control-plane resources except ReplicaSchedulingPreference.
pub const CORE_GROUP: &str = "core.kubefed.io";

/// The API group of ReplicaSchedulingPreference.
pub const SCHEDULING_GROUP: &str = "scheduling.kubefed.io";

/// The CRDs of KubeFed's control plane, in a fixed order: KubeFedCluster, KubeFedConfig,
/// FederatedTypeConfig, PropagatedVersion, ClusterPropagatedVersion, FederatedServiceStatus,
/// ReplicaSchedulingPreference.
pub fn control_plane_crds() -> Vec<CustomResourceDefinition> {
    vec![
        KubeFedCluster::crd(),
        KubeFedConfig::crd(),
        FederatedTypeConfig::crd(),
        PropagatedVersion::crd(),
        ClusterPropagatedVersion::crd(),
        FederatedServiceStatus::crd(),
        ReplicaSchedulingPreference::crd(),
    ]
}

//! `ReplicaSchedulingPreference` (`scheduling.kubefed.io/v1alpha1`): how to spread the replicas
//! of the federated Deployment/ReplicaSet with the same namespace and name across clusters.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::schemars::{self, JsonSchema, Schema, SchemaGenerator};
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use crate::api::schema::{controller_gen_style, root_schema};

/// ReplicaSchedulingPreferenceSpec defines the desired state of ReplicaSchedulingPreference.
//
// The Rust root type has no `status` field: upstream's status is an empty object and has no
// status subresource. The CRD schema still declares `status` as an (empty) object, and does
// not require `spec`, exactly as upstream.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "scheduling.kubefed.io",
    version = "v1alpha1",
    kind = "ReplicaSchedulingPreference",
    plural = "replicaschedulingpreferences",
    shortname = "rsp",
    namespaced,
    derive = "PartialEq",
    schema = "manual",
    crates(schemars = "::k8s_openapi::schemars")
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct ReplicaSchedulingPreferenceSpec {
    /// The federated kind this preference applies to: `FederatedDeployment` or
    /// `FederatedReplicaSet`.
    pub target_kind: String,

    /// Total number of pods desired across federated clusters. Replicas specified in the spec
    /// for target deployment template or replicaset template will be discarded/overridden when
    /// scheduling preferences are specified.
    pub total_replicas: i32,

    /// If set to true then already scheduled and running replicas may be moved to other
    /// clusters in order to match current state to the specified preferences.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rebalance: bool,

    /// A mapping between cluster names and preferences regarding a local workload object in
    /// these clusters. "*" (if provided) applies to all clusters if an explicit mapping is not
    /// provided. If omitted, clusters without explicit preferences should not have any
    /// replicas scheduled.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clusters: BTreeMap<String, ClusterPreferences>,

    /// If set to true, the placement of target kind will be determined using the intersection
    /// of RSP placement scheduling result and the clusterSelector specified on the target kind.
    // Optional, but always serialized (as in Go).
    #[serde(default)]
    pub intersect_with_cluster_selector: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// Preferences regarding number of replicas assigned to a cluster workload object (dep, rs, ..)
/// within a federated workload object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct ClusterPreferences {
    /// Minimum number of replicas that should be assigned to this cluster workload object.
    /// 0 by default.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_replicas: i64,

    /// Maximum number of replicas that should be assigned to this cluster workload object.
    /// Unbounded if no value provided (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i64>,

    /// A number expressing the preference to put an additional replica to this cluster
    /// workload object. 0 by default.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i64,
}

/// ReplicaSchedulingPreferenceStatus defines the observed state of ReplicaSchedulingPreference
/// (always empty upstream).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(transform = controller_gen_style)]
pub struct ReplicaSchedulingPreferenceStatus {}

impl JsonSchema for ReplicaSchedulingPreference {
    fn schema_name() -> Cow<'static, str> {
        "ReplicaSchedulingPreference".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        root_schema(
            "ReplicaSchedulingPreference sets how replicas of a federated workload are spread \
             across member clusters.",
            vec![
                (
                    "spec",
                    generator.subschema_for::<ReplicaSchedulingPreferenceSpec>(),
                ),
                (
                    "status",
                    generator.subschema_for::<ReplicaSchedulingPreferenceStatus>(),
                ),
            ],
            vec![],
            &[],
        )
    }
}

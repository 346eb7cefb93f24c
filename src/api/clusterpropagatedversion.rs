//! `ClusterPropagatedVersion` (`core.kubefed.io/v1alpha1`): the cluster-scoped counterpart of
//! [`PropagatedVersion`](crate::api::PropagatedVersion), for cluster-scoped federated resources.

use std::borrow::Cow;

use k8s_openapi::schemars::{self, JsonSchema, Schema, SchemaGenerator};
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use crate::api::propagatedversion::PropagatedVersionStatus;
use crate::api::schema::{controller_gen_style, root_schema};

/// The (empty) set of top-level fields of a [`ClusterPropagatedVersion`] besides metadata and
/// status.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "core.kubefed.io",
    version = "v1alpha1",
    kind = "ClusterPropagatedVersion",
    plural = "clusterpropagatedversions",
    no_spec,
    status = "PropagatedVersionStatus",
    derive = "PartialEq",
    schema = "manual",
    crates(schemars = "::k8s_openapi::schemars")
)]
#[schemars(transform = controller_gen_style)]
pub struct ClusterPropagatedVersionFields {}

impl JsonSchema for ClusterPropagatedVersion {
    fn schema_name() -> Cow<'static, str> {
        "ClusterPropagatedVersion".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        root_schema(
            "ClusterPropagatedVersion holds version information about the state propagated \
             from KubeFed APIs (configured by FederatedTypeConfig resources) to member clusters.",
            vec![(
                "status",
                generator.subschema_for::<PropagatedVersionStatus>(),
            )],
            vec![generator.subschema_for::<ClusterPropagatedVersionFields>()],
            &[],
        )
    }
}

//! `PropagatedVersion` (`core.kubefed.io/v1alpha1`): versions of a namespaced federated
//! resource last propagated to each member cluster. The resource has no `spec`, only `status`.

use std::borrow::Cow;

use k8s_openapi::schemars::{self, JsonSchema, Schema, SchemaGenerator};
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use crate::api::schema::{controller_gen_style, root_schema};

/// The (empty) set of top-level fields of a [`PropagatedVersion`] besides metadata and status.
///
/// PropagatedVersion holds version information about the state propagated from KubeFed APIs
/// to member clusters. Its name encodes the kind and name of the resource it stores
/// information for (`<lower-case kind>-<resource name>`).
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "core.kubefed.io",
    version = "v1alpha1",
    kind = "PropagatedVersion",
    plural = "propagatedversions",
    namespaced,
    no_spec,
    status = "PropagatedVersionStatus",
    derive = "PartialEq",
    schema = "manual",
    crates(schemars = "::k8s_openapi::schemars")
)]
#[schemars(transform = controller_gen_style)]
pub struct PropagatedVersionFields {}

/// PropagatedVersionStatus defines the observed state of PropagatedVersion (also used by
/// ClusterPropagatedVersion).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct PropagatedVersionStatus {
    /// The observed version of the template for this resource.
    pub template_version: String,

    /// The observed version of the overrides for this resource.
    pub overrides_version: String,

    /// The last versions produced in each cluster for this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_versions: Vec<ClusterObjectVersion>,
}

/// The version of a resource last produced in one cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct ClusterObjectVersion {
    /// The name of the cluster the version is for.
    pub cluster_name: String,

    /// The last version produced for the resource by a KubeFed operation (`gen:<generation>`
    /// or `rv:<resourceVersion>`).
    pub version: String,
}

impl JsonSchema for PropagatedVersion {
    fn schema_name() -> Cow<'static, str> {
        "PropagatedVersion".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        root_schema(
            "PropagatedVersion holds version information about the state propagated from \
             KubeFed APIs (configured by FederatedTypeConfig resources) to member clusters.",
            vec![(
                "status",
                generator.subschema_for::<PropagatedVersionStatus>(),
            )],
            vec![generator.subschema_for::<PropagatedVersionFields>()],
            &[],
        )
    }
}

//! `FederatedServiceStatus` (`core.kubefed.io/v1alpha1`): the Service status observed in each
//! member cluster for a federated Service. Its fields sit at the top level (no `spec`).

use std::borrow::Cow;

use k8s_openapi::api::core::v1::ServiceStatus;
use k8s_openapi::schemars::{self, JsonSchema, Schema, SchemaGenerator};
use kube::CustomResource;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::schema::{controller_gen_style, root_schema};

/// The top-level fields of a [`FederatedServiceStatus`] besides metadata.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "core.kubefed.io",
    version = "v1alpha1",
    kind = "FederatedServiceStatus",
    plural = "federatedservicestatuses",
    namespaced,
    no_spec,
    derive = "PartialEq",
    schema = "manual",
    crates(schemars = "::k8s_openapi::schemars")
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct FederatedServiceStatusFields {
    /// The observed status of the Service in each member cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_status: Vec<FederatedServiceClusterStatus>,
}

/// FederatedServiceClusterStatus is the observed status of the resource for a named cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct FederatedServiceClusterStatus {
    /// Name of the member cluster.
    pub cluster_name: String,

    /// ServiceStatus represents the current status of a service.
    #[schemars(transform = without_ip_mode)]
    pub status: ServiceStatus,
}

/// Upstream embeds core/v1 `ServiceStatus` as of Kubernetes 1.2x; k8s-openapi's (1.37) adds
/// `loadBalancer.ingress[].ipMode` (Kubernetes 1.29). Drop it from the schema so the CRD has
/// exactly upstream's fields (an API server with upstream's CRD prunes `ipMode` too).
fn without_ip_mode(schema: &mut Schema) {
    if let Some(Value::Object(ingress_props)) =
        schema.pointer_mut("/properties/loadBalancer/properties/ingress/items/properties")
    {
        ingress_props.remove("ipMode");
    }
}

impl JsonSchema for FederatedServiceStatus {
    fn schema_name() -> Cow<'static, str> {
        "FederatedServiceStatus".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        root_schema(
            "FederatedServiceStatus holds the status of a federated Service in each member \
             cluster.",
            vec![],
            vec![generator.subschema_for::<FederatedServiceStatusFields>()],
            &[],
        )
    }
}

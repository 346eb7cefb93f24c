//! `FederatedTypeConfig` (`core.kubefed.io/v1beta1`): tells KubeFed to federate one API type.

use std::borrow::Cow;

use k8s_openapi::schemars::{self, JsonSchema, Schema, SchemaGenerator};
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use crate::api::common::{ConfigurationMode, Scope};
use crate::api::schema::{controller_gen_style, root_schema, string_enum};

/// FederatedTypeConfigSpec defines the desired state of FederatedTypeConfig.
///
/// The resource's name must be `<target plural>[.<target group>]`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "core.kubefed.io",
    version = "v1beta1",
    kind = "FederatedTypeConfig",
    plural = "federatedtypeconfigs",
    shortname = "ftc",
    namespaced,
    status = "FederatedTypeConfigStatus",
    derive = "PartialEq",
    schema = "manual",
    crates(schemars = "::k8s_openapi::schemars")
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct FederatedTypeConfigSpec {
    /// Configuration for the federated type that defines (via template, placement and
    /// overrides fields) how the target type should appear in multiple cluster.
    pub federated_type: APIResource,

    /// Whether or not propagation to member clusters should be enabled.
    pub propagation: ConfigurationMode,

    /// Whether or not Status object should be populated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_collection: Option<ConfigurationMode>,

    /// Configuration for the status type that holds information about which type holds the
    /// status of the federated resource. If not provided, the group and version will default
    /// to those provided for the federated type api resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_type: Option<APIResource>,

    /// The configuration of the target type. If not set, the pluralName and groupName fields
    /// will be set from the metadata.name of this resource. The kind field must be set.
    pub target_type: APIResource,
}

/// Identifies an API type (Go: `APIResource`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct APIResource {
    /// Group of the resource.
    // Empty for the core group, and then omitted when serialising, as in Go.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,

    /// Version of the resource.
    pub version: String,

    /// Camel-cased singular name of the resource (e.g. ConfigMap)
    pub kind: String,

    /// Lower-cased plural name of the resource (e.g. configmaps). If not provided, it will be
    /// computed by lower-casing the kind and suffixing an 's'.
    pub plural_name: String,

    /// Scope of the resource.
    pub scope: Scope,
}

impl APIResource {
    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group`, or just `plural` for the core group (the form FTC names take).
    pub fn group_qualified_name(&self) -> String {
        if self.group.is_empty() {
            self.plural_name.clone()
        } else {
            format!("{}.{}", self.plural_name, self.group)
        }
    }
}

/// FederatedTypeConfigStatus defines the observed state of FederatedTypeConfig.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct FederatedTypeConfigStatus {
    /// ObservedGeneration is the generation as observed by the controller consuming the
    /// FederatedTypeConfig.
    pub observed_generation: i64,

    /// PropagationController tracks the status of the sync controller.
    pub propagation_controller: ControllerStatus,

    /// StatusController tracks the status of the status controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_controller: Option<ControllerStatus>,
}

string_enum! {
    /// Whether a per-type controller is running (Go: `ControllerStatus`).
    pub enum ControllerStatus {
        /// The controller is running.
        Running => "Running",
        /// The controller is not running.
        NotRunning => "NotRunning",
    }
}

impl JsonSchema for FederatedTypeConfig {
    fn schema_name() -> Cow<'static, str> {
        "FederatedTypeConfig".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        root_schema(
            "FederatedTypeConfig programs KubeFed to know about a single API type - the \
             \"target type\" - that a user wants to federate.",
            vec![
                ("spec", generator.subschema_for::<FederatedTypeConfigSpec>()),
                (
                    "status",
                    generator.subschema_for::<FederatedTypeConfigStatus>(),
                ),
            ],
            vec![],
            &["spec"],
        )
    }
}

//! `KubeFedCluster` (`core.kubefed.io/v1beta1`): a member cluster known to the control plane.

use std::borrow::Cow;

use k8s_openapi::ByteString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::schemars::{self, JsonSchema, Schema, SchemaGenerator};
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use crate::api::schema::{controller_gen_style, root_schema, string_enum};

/// KubeFedClusterSpec defines the desired state of KubeFedCluster.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "core.kubefed.io",
    version = "v1beta1",
    kind = "KubeFedCluster",
    plural = "kubefedclusters",
    shortname = "kfc",
    namespaced,
    status = "KubeFedClusterStatus",
    derive = "PartialEq",
    schema = "manual",
    crates(schemars = "::k8s_openapi::schemars"),
    // JSON form: clippy's `duplicated_attributes` misfires on repeated `type_ = "string"`.
    printcolumn = r#"{"name":"age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"ready","type":"string","jsonPath":".status.conditions[?(@.type=='Ready')].status"}"#,
    printcolumn = r#"{"name":"kubernetes-version","type":"string","jsonPath":".status.kubernetesVersion"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct KubeFedClusterSpec {
    /// The API endpoint of the member cluster. This can be a hostname, hostname:port, IP or
    /// IP:port.
    pub api_endpoint: String,

    /// CABundle contains the certificate authority information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::byte_string")]
    pub ca_bundle: Option<ByteString>,

    /// Name of the secret containing the token required to access the member cluster. The
    /// secret needs to exist in the same namespace as the control plane and should have a
    /// "token" key.
    pub secret_ref: LocalSecretReference,

    /// DisabledTLSValidations defines a list of checks to ignore when validating the TLS
    /// connection to the member cluster. This can be any of *, SubjectName, or ValidityPeriod.
    /// If * is specified, it is expected to be the only option in list.
    #[serde(
        rename = "disabledTLSValidations",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub disabled_tls_validations: Vec<TlsValidation>,

    /// ProxyURL allows to set proxy URL for the cluster.
    // Go's kubefedctl always writes this field, as `""` when unset; set `Some(String::new())`
    // to reproduce that.
    #[serde(rename = "proxyURL", default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
}

/// A reference to a Secret in the control plane's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(transform = controller_gen_style)]
pub struct LocalSecretReference {
    /// Name of a secret within the enclosing namespace
    pub name: String,
}

string_enum! {
    /// A TLS check that may be disabled for a member cluster (Go: `TLSValidation`).
    pub enum TlsValidation {
        /// Skip all TLS validation (`*`); must be the only entry.
        All => "*",
        /// Skip the server certificate's subject name check.
        SubjectName => "SubjectName",
        /// Skip the server certificate's validity period check.
        ValidityPeriod => "ValidityPeriod",
    }
}

/// KubeFedClusterStatus contains information about the current status of a cluster updated
/// periodically by cluster controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct KubeFedClusterStatus {
    /// Conditions is an array of current cluster conditions.
    pub conditions: Vec<ClusterCondition>,

    /// KubernetesVersion is the Kubernetes git version of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,

    /// Zones are the names of availability zones in which the nodes of the cluster exist,
    /// e.g. 'us-east1-a'.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,

    /// Region is the name of the region in which all of the nodes in the cluster exist.
    /// e.g. 'us-east1'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// ClusterCondition describes current state of a cluster.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = controller_gen_style)]
pub struct ClusterCondition {
    /// Type of cluster condition: `Ready`, `Offline` or `ConfigMalformed`.
    #[serde(rename = "type")]
    pub type_: String,

    /// Status of the condition, one of True, False, Unknown.
    pub status: String,

    /// Last time the condition was checked.
    pub last_probe_time: Time,

    /// Last time the condition transit from one status to another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,

    /// (brief) reason for the condition's last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,

    /// Human readable message indicating details about last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Condition type set when the cluster's `/healthz` answers `ok`.
pub const CLUSTER_READY: &str = "Ready";
/// Condition type set when the cluster cannot be reached.
pub const CLUSTER_OFFLINE: &str = "Offline";
/// Condition type set when the KubeFedCluster cannot be turned into a client config.
pub const CLUSTER_CONFIG_MALFORMED: &str = "ConfigMalformed";

impl KubeFedClusterStatus {
    /// The condition of the given type, if present.
    pub fn condition(&self, type_: &str) -> Option<&ClusterCondition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

impl KubeFedCluster {
    /// The status of the `Ready` condition (`"True"`, `"False"`, `"Unknown"`), if reported;
    /// this is what the `ready` printer column shows.
    pub fn ready_status(&self) -> Option<&str> {
        self.status
            .as_ref()?
            .condition(CLUSTER_READY)
            .map(|c| c.status.as_str())
    }
}

impl JsonSchema for KubeFedCluster {
    fn schema_name() -> Cow<'static, str> {
        "KubeFedCluster".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        root_schema(
            "KubeFedCluster configures KubeFed to be aware of a Kubernetes cluster and \
             encapsulates the details necessary to communicate with the cluster.",
            vec![
                ("spec", generator.subschema_for::<KubeFedClusterSpec>()),
                ("status", generator.subschema_for::<KubeFedClusterStatus>()),
            ],
            vec![],
            &["spec"],
        )
    }
}

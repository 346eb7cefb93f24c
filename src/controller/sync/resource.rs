//! The federated type and the member object built from a federated object (Go:
//! `sync/resource.go` `ObjectForCluster`, `ApplyOverrides`).

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use kube::api::DynamicObject;
use kube::discovery::ApiResource;
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::api::{FederatedTypeConfig, Scope};
use crate::controller::sync::overrides::{self, Override};
use crate::controller::sync::retain;
use crate::controller::sync::status::PropagationStatus;

/// The label that marks a member object as managed by KubeFed.
pub const MANAGED_LABEL: &str = "kubefed.io/managed";
/// The annotation asking deletion to leave the member copies in place.
pub const ORPHAN_ANNOTATION: &str = "kubefed.io/orphan";
/// The annotation carrying the DeleteOptions for the member copies.
pub const DELETE_OPTION_ANNOTATION: &str = "kubefed.io/deleteoption";
/// The finalizer of the sync controller on federated objects.
pub const SYNC_FINALIZER: &str = "kubefed.io/sync-controller";

/// One federated type, from its FederatedTypeConfig.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeSpec {
    /// The FederatedTypeConfig's name (`deployments.apps`).
    pub name: String,
    pub target: ApiResource,
    pub target_namespaced: bool,
    pub federated: ApiResource,
    pub federated_namespaced: bool,
    /// The FederatedNamespace type, for namespaced targets.
    pub federated_namespace: Option<ApiResource>,
    /// `spec.statusCollection: Enabled`.
    pub status_collection: bool,
}

impl TypeSpec {
    /// From a FederatedTypeConfig and, for namespaced targets, the `namespaces` one.
    pub fn new(
        ftc: &FederatedTypeConfig,
        namespaces: Option<&FederatedTypeConfig>,
    ) -> Result<TypeSpec> {
        let name = ftc.metadata.name.clone().unwrap_or_default();
        let resource = |r: &crate::api::APIResource| ApiResource {
            group: r.group.clone(),
            version: r.version.clone(),
            api_version: r.api_version(),
            kind: r.kind.clone(),
            plural: if r.plural_name.is_empty() {
                plural_name(&r.kind)
            } else {
                r.plural_name.clone()
            },
        };
        let t = &ftc.spec.target_type;
        let f = &ftc.spec.federated_type;
        if t.kind.is_empty() || t.version.is_empty() || f.kind.is_empty() || f.version.is_empty() {
            bail!(
                "FederatedTypeConfig `{name}` lacks a kind or version in its target or federated type"
            );
        }
        let target_namespaced = t.scope == Scope::Namespaced;
        Ok(TypeSpec {
            name,
            target: resource(t),
            target_namespaced,
            federated: resource(f),
            federated_namespaced: f.scope == Scope::Namespaced,
            federated_namespace: match (target_namespaced, namespaces) {
                (true, Some(ns)) => Some(resource(&ns.spec.federated_type)),
                _ => None,
            },
            status_collection: ftc.spec.status_collection.is_some_and(|m| m.is_enabled()),
        })
    }

    /// The target is `Namespace` (the FederatedNamespace type has special rules).
    pub fn is_namespace(&self) -> bool {
        self.target.group.is_empty() && self.target.kind == "Namespace"
    }

    /// The prefix of this type's (Cluster)PropagatedVersion names: `<lowercase kind>-`.
    pub fn version_prefix(&self) -> String {
        format!("{}-", self.target.kind.to_lowercase())
    }

    /// The worker name upstream uses in metrics and as the event component.
    pub fn controller_name(&self) -> String {
        format!("{}-controller", self.federated.kind.to_lowercase())
    }
}

/// Go's `PluralName`: lowercase kind + `s`, `es` or `ies`.
pub fn plural_name(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with('s')
        || lower.ends_with('x')
        || lower.ends_with("ch")
        || lower.ends_with("sh")
    {
        format!("{lower}es")
    } else if let Some(stem) = lower
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u']))
    {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

/// A template field upstream drops (with a Warning event) because member controllers own it.
#[derive(Clone, Debug, PartialEq)]
pub struct DroppedField {
    pub reason: &'static str,
    pub field: &'static str,
}

/// Why a member object could not be built for a cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildError {
    pub status: PropagationStatus,
    pub message: String,
}

/// The object to write in `cluster` (Go: `ObjectForCluster`, `RetainClusterFields`,
/// `ApplyOverrides`): the template with name, namespace, kind and apiVersion set, what must be
/// kept from the member's copy, the cluster's overrides, then the managed label (so no
/// override can remove it).
pub fn object_for_cluster(
    ty: &TypeSpec,
    federated: &Value,
    cluster_overrides: Option<&[Override]>,
    cached: Option<&Value>,
) -> Result<(Value, Vec<DroppedField>), BuildError> {
    let mut object = match federated.pointer("/spec/template") {
        Some(Value::Object(t)) => Value::Object(t.clone()),
        _ => json!({}),
    };
    let mut dropped = Vec::new();
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    if let Some(metadata) = object["metadata"].as_object_mut() {
        for (field, reason) in [
            ("annotations", "AnnotationsNotSupported"),
            ("finalizers", "FinalizersNotSupported"),
        ] {
            let non_empty = match metadata.get(field) {
                Some(Value::Object(m)) => !m.is_empty(),
                Some(Value::Array(a)) => !a.is_empty(),
                Some(Value::Null) | None => false,
                Some(_) => true,
            };
            if metadata.remove(field).is_some() && non_empty {
                dropped.push(DroppedField { reason, field });
            }
        }
        metadata.insert("name".into(), federated["metadata"]["name"].clone());
        if ty.is_namespace() {
            metadata.remove("namespace");
        } else if let Some(ns) = federated["metadata"]["namespace"].as_str() {
            metadata.insert("namespace".into(), ns.into());
        } else {
            metadata.remove("namespace");
        }
    }
    object["kind"] = ty.target.kind.clone().into();
    if object["apiVersion"].as_str().is_none_or(str::is_empty) {
        object["apiVersion"] = ty.target.api_version.clone().into();
    }
    if let Some(cached) = cached {
        retain::retain_cluster_fields(&ty.target.kind, &mut object, cached, federated).map_err(
            |message| BuildError {
                status: PropagationStatus::FieldRetentionFailed,
                message,
            },
        )?;
    }
    if let Some(ops) = cluster_overrides {
        overrides::apply(&mut object, ops).map_err(|message| BuildError {
            status: PropagationStatus::ApplyOverridesFailed,
            message,
        })?;
    }
    if !object["metadata"].is_object() {
        return Err(BuildError {
            status: PropagationStatus::ApplyOverridesFailed,
            message: "the overrides replaced metadata with a non-object".into(),
        });
    }
    if !object["metadata"]["labels"].is_object() {
        object["metadata"]["labels"] = json!({});
    }
    object["metadata"]["labels"][MANAGED_LABEL] = "true".into();
    Ok((object, dropped))
}

/// Reduce a member copy's body (everything but `apiVersion`, `kind` and `metadata`) to what the
/// sync controller reads of it: the fields [`retain_cluster_fields`] keeps (a Service's IPs and
/// ports, a ServiceAccount's secrets, any other kind's `spec.replicas`) and, with status
/// collection, `status`. The member caches hold every managed object of every member, so the
/// rest (a ConfigMap's or Secret's data, a Deployment's pod template) is not kept. A `spec` that
/// is not an object stays whole, so retention still reports it as malformed.
///
/// [`retain_cluster_fields`]: crate::controller::sync::retain::retain_cluster_fields
pub fn slim_member_copy(target_kind: &str, keep_status: bool, body: &mut Value) {
    let Some(fields) = body.as_object_mut() else {
        return;
    };
    let spec_fields: &[&str] = match target_kind {
        "Service" => &["clusterIP", "clusterIPs", "healthCheckNodePort", "ports"],
        "ServiceAccount" => &[],
        _ => &["replicas"],
    };
    fields.retain(|key, value| match key.as_str() {
        "spec" => {
            if let Some(spec) = value.as_object_mut() {
                spec.retain(|k, _| spec_fields.contains(&k.as_str()));
            }
            !spec_fields.is_empty() || !value.is_object()
        }
        "secrets" => target_kind == "ServiceAccount",
        "status" => keep_status,
        _ => false,
    });
}

/// `kubefed.io/managed: "false"` on a member object: KubeFed must leave it alone.
pub fn managed_false(object: &Value) -> bool {
    object["metadata"]["labels"][MANAGED_LABEL] == "false"
}

/// `kubefed.io/managed: "true"` exactly (what this controller's copies carry).
pub fn managed_true(object: &Value) -> bool {
    object["metadata"]["labels"][MANAGED_LABEL] == "true"
}

/// `kubefed.io/orphan: "true"` exactly.
pub fn orphaning(federated: &Value) -> bool {
    federated["metadata"]["annotations"][ORPHAN_ANNOTATION] == "true"
}

/// The DeleteOptions of `kubefed.io/deleteoption` (only gracePeriodSeconds, propagationPolicy
/// and preconditions are used, as upstream, #1355).
pub fn delete_options(federated: &Value) -> Result<kube::api::DeleteParams, String> {
    let Some(text) = federated["metadata"]["annotations"][DELETE_OPTION_ANNOTATION].as_str() else {
        return Ok(kube::api::DeleteParams::default());
    };
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("annotation {DELETE_OPTION_ANNOTATION} is not JSON: {e}"))?;
    let mut params = kube::api::DeleteParams::default();
    if let Some(g) = value.get("gracePeriodSeconds").and_then(Value::as_u64) {
        params.grace_period_seconds = u32::try_from(g).ok();
    }
    params.propagation_policy = match value.get("propagationPolicy").and_then(Value::as_str) {
        Some("Orphan") => Some(kube::api::PropagationPolicy::Orphan),
        Some("Background") => Some(kube::api::PropagationPolicy::Background),
        Some("Foreground") => Some(kube::api::PropagationPolicy::Foreground),
        Some(other) => {
            return Err(format!(
                "annotation {DELETE_OPTION_ANNOTATION}: unknown propagationPolicy `{other}`"
            ));
        }
        None => None,
    };
    if let Some(p) = value.get("preconditions") {
        params.preconditions = Some(kube::api::Preconditions {
            resource_version: p["resourceVersion"].as_str().map(String::from),
            uid: p["uid"].as_str().map(String::from),
        });
    }
    Ok(params)
}

/// The version recorded for each cluster, by name.
pub type ClusterVersions = BTreeMap<String, String>;

/// An object's key in the controller's maps: `namespace/name`, `/name` when cluster-scoped.
pub fn object_key(namespace: Option<&str>, name: &str) -> String {
    format!("{}/{name}", namespace.unwrap_or_default())
}

/// An object as people read it: `namespace/name`, or `name` when cluster-scoped.
pub fn display_key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// The API of `ar`, in `namespace` when the resource is namespaced.
pub fn dynamic_api(
    client: &Client,
    ar: &ApiResource,
    namespaced: bool,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match (namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, ar),
        _ => Api::all_with(client.clone(), ar),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn member_copies_keep_only_what_retention_and_status_read() {
        let full = || {
            serde_json::json!({
                "data": {"secret": "c2VjcmV0"},
                "spec": {"replicas": 3, "template": {"spec": {"containers": []}},
                         "clusterIP": "10.0.0.1", "ports": [{"port": 80, "nodePort": 30080}]},
                "secrets": [{"name": "sa-token"}],
                "status": {"readyReplicas": 3},
            })
        };
        let mut deployment = full();
        super::slim_member_copy("Deployment", false, &mut deployment);
        assert_eq!(deployment, serde_json::json!({"spec": {"replicas": 3}}));

        let mut service = full();
        super::slim_member_copy("Service", true, &mut service);
        assert_eq!(
            service,
            serde_json::json!({
                "spec": {"clusterIP": "10.0.0.1", "ports": [{"port": 80, "nodePort": 30080}]},
                "status": {"readyReplicas": 3},
            })
        );

        let mut account = full();
        super::slim_member_copy("ServiceAccount", false, &mut account);
        assert_eq!(
            account,
            serde_json::json!({"secrets": [{"name": "sa-token"}]})
        );

        // Malformed stays malformed, for retention to report.
        let mut odd = serde_json::json!({"spec": "not an object", "data": {"k": "v"}});
        super::slim_member_copy("ConfigMap", false, &mut odd);
        assert_eq!(odd, serde_json::json!({"spec": "not an object"}));
    }

    use super::*;

    fn deployments() -> TypeSpec {
        TypeSpec {
            name: "deployments.apps".into(),
            target: ApiResource {
                group: "apps".into(),
                version: "v1".into(),
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                plural: "deployments".into(),
            },
            target_namespaced: true,
            federated: ApiResource {
                group: "types.kubefed.io".into(),
                version: "v1beta1".into(),
                api_version: "types.kubefed.io/v1beta1".into(),
                kind: "FederatedDeployment".into(),
                plural: "federateddeployments".into(),
            },
            federated_namespaced: true,
            federated_namespace: None,
            status_collection: false,
        }
    }

    #[test]
    fn plurals() {
        for (k, p) in [
            ("Deployment", "deployments"),
            ("Ingress", "ingresses"),
            ("NetworkPolicy", "networkpolicies"),
            ("Gateway", "gateways"),
            ("Box", "boxes"),
        ] {
            assert_eq!(plural_name(k), p);
        }
    }

    #[test]
    fn template_to_member_object() {
        let fed = json!({
            "metadata": {"name": "web", "namespace": "demo"},
            "spec": {"template": {
                "metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}, "finalizers": []},
                "spec": {"replicas": 1}
            }}
        });
        let ops = [Override {
            op: "replace".into(),
            path: "/spec/replicas".into(),
            value: Some(json!(3)),
        }];
        let (obj, dropped) = object_for_cluster(&deployments(), &fed, Some(&ops), None).unwrap();
        assert_eq!(
            obj,
            json!({
                "metadata": {"name": "web", "namespace": "demo",
                             "labels": {"app": "web", "kubefed.io/managed": "true"}},
                "spec": {"replicas": 3},
                "kind": "Deployment", "apiVersion": "apps/v1"
            })
        );
        assert_eq!(
            dropped,
            [DroppedField {
                reason: "AnnotationsNotSupported",
                field: "annotations"
            }]
        );
    }

    #[test]
    fn odd_templates_do_not_panic() {
        for template in [
            json!(null),
            json!("x"),
            json!({"metadata": "x"}),
            json!({"metadata": {"labels": "x"}}),
            json!({"metadata": {"labels": ["x"]}}),
            json!({"apiVersion": 5}),
        ] {
            let fed = json!({"metadata": {"name": "x", "namespace": "y"}, "spec": {"template": template}});
            let (obj, _) = object_for_cluster(&deployments(), &fed, None, None).unwrap();
            assert_eq!(obj["metadata"]["labels"][MANAGED_LABEL], "true");
        }
        let fed = json!({"metadata": {"name": "x"}});
        let ops = [Override {
            op: "replace".into(),
            path: "/metadata".into(),
            value: Some(json!(1)),
        }];
        assert!(object_for_cluster(&deployments(), &fed, Some(&ops), None).is_err());
    }

    #[test]
    fn delete_option_annotation() {
        let fed = json!({"metadata": {"annotations": {DELETE_OPTION_ANNOTATION: "{\"propagationPolicy\":\"Orphan\",\"gracePeriodSeconds\":5}"}}});
        let p = delete_options(&fed).unwrap();
        assert_eq!(
            p.propagation_policy,
            Some(kube::api::PropagationPolicy::Orphan)
        );
        assert_eq!(p.grace_period_seconds, Some(5));
        let fed = json!({"metadata": {"annotations": {DELETE_OPTION_ANNOTATION: "{"}}});
        assert!(delete_options(&fed).is_err());
    }
}

//! `enable`: make API types federatable: a Federated<Kind> CRD plus a FederatedTypeConfig, the
//! same objects Go kubefedctl's `enable` writes (kubefedctl-behaviour.md 4.2-4.4).

use std::collections::HashMap;

use anyhow::{Context as _, Result, anyhow};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::discovery::ApiType;
use super::{DryRun, Reporter, is_not_found};
use crate::api::FederatedTypeConfig;
use crate::error::hinted;

pub const DEFAULT_FEDERATED_GROUP: &str = "types.kubefed.io";
pub const DEFAULT_FEDERATED_VERSION: &str = "v1beta1";

/// One type to enable, with its federated group and version.
#[derive(Clone, Debug)]
pub struct EnableTarget {
    pub name: String,
    pub version: Option<String>,
    pub federated_group: String,
    pub federated_version: String,
}

/// The two objects enabling a type.
#[derive(Clone, Debug, Serialize)]
pub struct TypeObjects {
    /// The FederatedTypeConfig name, `plural[.group]` of the target.
    pub name: String,
    pub type_config: Value,
    pub crd: Value,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnabledType {
    pub objects: TypeObjects,
    /// `created` or `updated`.
    pub crd_action: &'static str,
    pub type_config_action: &'static str,
}

/// The target types' schemas, fetched at most once per group-version per run: the target CRD
/// for custom resources, else the group-version's `/openapi/v3` document (never the whole
/// `/openapi/v2`, as the Go tool downloaded for every type).
pub struct SchemaSource {
    client: Client,
    openapi_index: Mutex<Option<Value>>,
    documents: Mutex<HashMap<String, Value>>,
}

impl SchemaSource {
    pub fn new(client: Client) -> Self {
        SchemaSource {
            client,
            openapi_index: Mutex::new(None),
            documents: Mutex::new(HashMap::new()),
        }
    }

    async fn get_json(&self, path: &str) -> Result<Value> {
        let request = http::Request::get(path).body(Vec::new())?;
        Ok(self.client.request::<Value>(request).await?)
    }

    /// Whether the target's schema has `spec.replicas` as an int32 (scalable types get
    /// `spec.retainReplicas`). Errors when no schema can be found for the type.
    pub async fn has_int32_replicas(&self, t: &ApiType) -> Result<bool> {
        if !t.group.is_empty() {
            let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
            if let Some(crd) = crds.get_opt(&t.qualified_plural()).await? {
                let versions = &crd.spec.versions;
                let version = versions
                    .iter()
                    .find(|v| v.name == t.version)
                    .or_else(|| versions.first());
                let schema = version
                    .and_then(|v| v.schema.as_ref())
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                    .map(serde_json::to_value)
                    .transpose()?
                    .unwrap_or(Value::Null);
                let replicas = &schema["properties"]["spec"]["properties"]["replicas"];
                return Ok(replicas["type"] == "integer" && replicas["format"] == "int32");
            }
        }
        let gv_path = if t.group.is_empty() {
            format!("api/{}", t.version)
        } else {
            format!("apis/{}/{}", t.group, t.version)
        };
        let doc = self.document(&gv_path).await?;
        let schemas = &doc["components"]["schemas"];
        let root = schemas
            .as_object()
            .and_then(|all| {
                all.values().find(|s| {
                    s["x-kubernetes-group-version-kind"]
                        .as_array()
                        .is_some_and(|gvks| {
                            gvks.iter().any(|g| {
                                g["group"] == t.group.as_str()
                                    && g["version"] == t.version.as_str()
                                    && g["kind"] == t.kind.as_str()
                            })
                        })
                })
            })
            .ok_or_else(|| {
                anyhow!(
                    "Unable to find openapi schema for \"{}, Kind={}\"",
                    t.api_version(),
                    t.kind
                )
            })?;
        let spec = resolve(schemas, &root["properties"]["spec"]);
        let replicas = resolve(schemas, &spec["properties"]["replicas"]);
        Ok(replicas["type"] == "integer" && replicas["format"] == "int32")
    }

    async fn document(&self, gv_path: &str) -> Result<Value> {
        if let Some(doc) = self.documents.lock().await.get(gv_path) {
            return Ok(doc.clone());
        }
        let url = {
            let mut index = self.openapi_index.lock().await;
            if index.is_none() {
                *index = Some(
                    self.get_json("/openapi/v3")
                        .await
                        .context("failed to read /openapi/v3")?,
                );
            }
            index.as_ref().and_then(|i| {
                i["paths"][gv_path]["serverRelativeURL"]
                    .as_str()
                    .map(str::to_string)
            })
        }
        .unwrap_or_else(|| format!("/openapi/v3/{gv_path}"));
        let doc = self
            .get_json(&url)
            .await
            .with_context(|| format!("failed to read OpenAPI document {url}"))?;
        self.documents
            .lock()
            .await
            .insert(gv_path.to_string(), doc.clone());
        Ok(doc)
    }
}

/// Follow a `$ref` (directly or as the only `allOf` entry, as OpenAPI v3 documents do).
fn resolve<'a>(schemas: &'a Value, schema: &'a Value) -> &'a Value {
    let reference = schema["$ref"].as_str().or_else(|| {
        schema["allOf"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|r| r["$ref"].as_str())
    });
    match reference.and_then(|r| r.rsplit('/').next()) {
        Some(name) => &schemas[name],
        None => schema,
    }
}

/// The FederatedTypeConfig and Federated<Kind> CRD for a target type.
pub fn type_objects(
    t: &ApiType,
    federated_group: &str,
    federated_version: &str,
    retain_replicas: bool,
) -> TypeObjects {
    let name = t.qualified_plural();
    let target_scope = if t.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    };
    // NB: FederatedNamespace lives in the namespace it federates, so it is namespaced.
    let federated_scope = if t.group.is_empty() && t.plural == "namespaces" {
        "Namespaced"
    } else {
        target_scope
    };
    let federated_kind = format!("Federated{}", t.kind);
    let federated_plural = format!("federated{}", t.plural);
    let mut target = json!({"kind": t.kind, "pluralName": t.plural, "scope": target_scope, "version": t.version});
    if !t.group.is_empty() {
        target["group"] = json!(t.group);
    }
    let type_config = json!({
        "apiVersion": "core.kubefed.io/v1beta1",
        "kind": "FederatedTypeConfig",
        "metadata": {"name": name},
        "spec": {
            "federatedType": {
                "group": federated_group,
                "kind": federated_kind,
                "pluralName": federated_plural,
                "scope": federated_scope,
                "version": federated_version,
            },
            "propagation": "Enabled",
            "targetType": target,
        }
    });
    let mut names = json!({"kind": federated_kind, "plural": federated_plural});
    if !t.short_names.is_empty() {
        names["shortNames"] = json!(
            t.short_names
                .iter()
                .map(|s| format!("f{s}"))
                .collect::<Vec<_>>()
        );
    }
    let mut spec_properties = json!({
        "overrides": {"type": "array", "items": {"type": "object", "properties": {
            "clusterName": {"type": "string"},
            "clusterOverrides": {"type": "array", "items": {"type": "object", "required": ["path"], "properties": {
                "op": {"type": "string", "pattern": "^(add|remove|replace)?$"},
                "path": {"type": "string"},
                "value": {"x-kubernetes-preserve-unknown-fields": true}
            }}}
        }}},
        "placement": {"type": "object", "properties": {
            "clusterSelector": {"type": "object", "properties": {
                "matchExpressions": {"type": "array", "items": {"type": "object", "required": ["key", "operator"], "properties": {
                    "key": {"type": "string"},
                    "operator": {"type": "string"},
                    "values": {"type": "array", "items": {"type": "string"}}
                }}},
                "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}
            }},
            "clusters": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}
            }}}
        }},
        // NB: always present. Upstream left `template` out for a target CRD whose schema has
        // no `properties`, and the API server then pruned every template on write.
        "template": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
    });
    if retain_replicas {
        spec_properties["retainReplicas"] = json!({"type": "boolean"});
    }
    let status_schema = json!({"type": "object", "properties": {
        "clusters": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"},
            "remoteStatus": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "status": {"type": "string"}
        }}},
        "conditions": {"type": "array", "items": {"type": "object", "required": ["type", "status"], "properties": {
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "lastUpdateTime": {"type": "string", "format": "date-time"},
            "reason": {"type": "string"},
            "status": {"type": "string"},
            "type": {"type": "string"}
        }}},
        "observedGeneration": {"type": "integer", "format": "int64"}
    }});
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{federated_plural}.{federated_group}")},
        "spec": {
            "group": federated_group,
            "names": names,
            "scope": federated_scope,
            "versions": [{
                "name": federated_version,
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": {"type": "object", "properties": spec_properties},
                        "status": status_schema
                    }
                }}
            }]
        }
    });
    TypeObjects {
        name,
        type_config,
        crd,
    }
}

/// Plural names that are the same API under several groups (deprecated API versions):
/// enabling one while another is enabled is refused (upstream `IsEquivalentAPI`).
fn equivalent(a: &Value, b: &Value) -> bool {
    const TABLE: &[(&str, &[&str])] = &[
        ("deployments", &["apps", "extensions"]),
        ("daemonsets", &["apps", "extensions"]),
        ("replicasets", &["apps", "extensions"]),
        ("statefulsets", &["apps"]),
        ("networkpolicies", &["networking.k8s.io", "extensions"]),
        ("podsecuritypolicies", &["policy", "extensions"]),
        ("ingresses", &["networking.k8s.io", "extensions"]),
    ];
    let plural = a["pluralName"].as_str().unwrap_or_default();
    if plural != b["pluralName"].as_str().unwrap_or_default()
        || (a["group"] == b["group"] && a["version"] == b["version"])
    {
        return false;
    }
    let group = |v: &Value| v["group"].as_str().unwrap_or_default().to_string();
    TABLE.iter().any(|(p, groups)| {
        *p == plural && groups.contains(&group(a).as_str()) && groups.contains(&group(b).as_str())
    })
}

fn display_type(t: &Value) -> String {
    let group = t["group"].as_str().unwrap_or_default();
    let plural = t["pluralName"].as_str().unwrap_or_default();
    let version = t["version"].as_str().unwrap_or_default();
    if group.is_empty() {
        format!("{plural}/{version}")
    } else {
        format!("{plural}.{group}/{version}")
    }
}

/// Write a type's CRD (first) and FederatedTypeConfig, with upstream's conflict checks.
pub async fn write_type(
    client: &Client,
    objects: &TypeObjects,
    namespace: &str,
    host: &str,
    dry_run: DryRun,
    reporter: &dyn Reporter,
) -> Result<EnabledType> {
    let ftc_api: Api<FederatedTypeConfig> = Api::namespaced(client.clone(), namespace);
    let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = &objects.name;
    let crd_name = objects.crd["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let new_spec = &objects.type_config["spec"];
    reporter.step(&format!("enabling {name}"));

    let existing_ftc = ftc_api.get_opt(name).await.with_context(|| {
        format!("failed to read FederatedTypeConfig `{namespace}/{name}` in cluster `{host}`")
    })?;
    if let Some(existing) = &existing_ftc {
        let old = serde_json::to_value(&existing.spec.federated_type)?;
        let new = &new_spec["federatedType"];
        if old["group"] != new["group"]
            || old["version"] != new["version"]
            || old["pluralName"] != new["pluralName"]
        {
            return Err(anyhow!(
                "Federation is already enabled for \"{name}\" with federated type \"{}\". Changing the federated type to \"{}\" is not supported.",
                display_type(&old),
                display_type(new)
            ));
        }
    }

    let existing_crd = crd_api.get_opt(&crd_name).await.with_context(|| {
        format!("failed to read CustomResourceDefinition `{crd_name}` in cluster `{host}`")
    })?;
    let post = PostParams {
        dry_run: dry_run == DryRun::Server,
        field_manager: Some(super::FIELD_MANAGER.into()),
    };
    let crd: CustomResourceDefinition = serde_json::from_value(objects.crd.clone())?;
    let crd_action = match existing_crd {
        None => {
            if dry_run != DryRun::Client {
                crd_api.create(&post, &crd).await.with_context(|| {
                    format!(
                        "failed to create CustomResourceDefinition `{crd_name}` in cluster `{host}`"
                    )
                })?;
            }
            "created"
        }
        Some(mut current) => {
            let all = ftc_api
                .list(&ListParams::default())
                .await
                .with_context(|| {
                    format!(
                        "failed to list FederatedTypeConfigs in `{namespace}` of cluster `{host}`"
                    )
                })?;
            for other in all.items.iter().filter(|f| f.name_any() != *name) {
                let spec = serde_json::to_value(&other.spec)?;
                if equivalent(&spec["targetType"], &new_spec["targetType"]) {
                    return Err(anyhow!(
                        "Failed to enable \"{}\". Federation of this type is already enabled for equivalent type \"{}\" by FederatedTypeConfig \"{namespace}/{}\"",
                        display_type(&new_spec["targetType"]),
                        display_type(&spec["targetType"]),
                        other.name_any()
                    ));
                }
                let other_crd = format!(
                    "{}.{}",
                    spec["federatedType"]["pluralName"]
                        .as_str()
                        .unwrap_or_default(),
                    spec["federatedType"]["group"].as_str().unwrap_or_default()
                );
                if other_crd == crd_name {
                    return Err(hinted(
                        format!(
                            "Failed to enable federation of \"{name}\" due to the FederatedTypeConfig for \"{}\" already referencing a federated type CRD named \"{crd_name}\". If these target types are distinct despite sharing the same kind, specifying a non-default --federated-group should allow \"{name}\" to be enabled.",
                            other.name_any()
                        ),
                        format!(
                            "for example `kubefedctl enable {name} --federated-group types2.kubefed.io`"
                        ),
                    ));
                }
            }
            if dry_run != DryRun::Client {
                // Another writer may update the CRD meanwhile (409): read it again and retry.
                let mut attempts = 0;
                loop {
                    current.spec = crd.spec.clone();
                    match crd_api.replace(&crd_name, &post, &current).await {
                        Err(kube::Error::Api(s)) if s.code == 409 && attempts < 5 => {
                            attempts += 1;
                            current = crd_api.get(&crd_name).await.with_context(|| {
                                format!("failed to read CustomResourceDefinition `{crd_name}` in cluster `{host}`")
                            })?;
                        }
                        result => {
                            result.with_context(|| {
                                format!("failed to update CustomResourceDefinition `{crd_name}` in cluster `{host}`")
                            })?;
                            break;
                        }
                    }
                }
            }
            "updated"
        }
    };

    if dry_run.writes()
        && let Err(e) = wait_until_served(&crd_api, &crd_name, host).await
    {
        // Leave nothing half-done: a CRD this run created and the server will not serve goes.
        if crd_action == "created" {
            let _ = crd_api.delete(&crd_name, &Default::default()).await;
        }
        return Err(e);
    }

    let type_config_action = match existing_ftc {
        None => {
            if dry_run != DryRun::Client {
                let mut ftc: FederatedTypeConfig =
                    serde_json::from_value(objects.type_config.clone())?;
                ftc.metadata.namespace = Some(namespace.to_string());
                ftc_api.create(&post, &ftc).await.with_context(|| {
                    format!("failed to create FederatedTypeConfig `{namespace}/{name}` in cluster `{host}`")
                })?;
            }
            "created"
        }
        Some(_) => {
            if dry_run != DryRun::Client {
                let params = PatchParams {
                    dry_run: dry_run == DryRun::Server,
                    field_manager: Some(super::FIELD_MANAGER.into()),
                    ..Default::default()
                };
                ftc_api
                    .patch(name, &params, &Patch::Merge(json!({"spec": new_spec})))
                    .await
                    .with_context(|| format!("failed to update FederatedTypeConfig `{namespace}/{name}` in cluster `{host}`"))?;
            }
            "updated"
        }
    };
    Ok(EnabledType {
        objects: objects.clone(),
        crd_action,
        type_config_action,
    })
}

/// Wait until the API server serves the federated type, so it is usable right after `enable`
/// returns (Go returned earlier, and the first create of an instance could 404). A name the
/// server refuses (a kind already taken in the group) fails at once, with the server's reason.
async fn wait_until_served(
    api: &Api<CustomResourceDefinition>,
    crd_name: &str,
    host: &str,
) -> Result<()> {
    let condition = |crd: &CustomResourceDefinition, type_: &str| {
        crd.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == type_).cloned())
    };
    let settled = |crd: Option<&CustomResourceDefinition>| {
        crd.is_some_and(|crd| {
            condition(crd, "Established").is_some_and(|c| c.status == "True")
                || condition(crd, "NamesAccepted").is_some_and(|c| c.status == "False")
        })
    };
    let crd = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        kube::runtime::wait::await_condition(api.clone(), crd_name, settled),
    )
    .await
    .map_err(|_| anyhow!("CustomResourceDefinition `{crd_name}` in cluster `{host}` was not Established within 30 s"))?
    .with_context(|| format!("failed to watch CustomResourceDefinition `{crd_name}` in cluster `{host}`"))?;
    if let Some(refused) = crd
        .as_ref()
        .and_then(|c| condition(c, "NamesAccepted"))
        .filter(|c| c.status == "False")
    {
        return Err(hinted(
            format!(
                "the API server does not serve CustomResourceDefinition `{crd_name}` in cluster `{host}`: {}",
                refused.message.unwrap_or_default()
            ),
            "another federated CRD in that group has the same kind: pass a non-default --federated-group",
        ));
    }
    Ok(())
}

/// The control plane's namespace must exist before types are enabled in it.
pub async fn check_namespace(client: &Client, namespace: &str, host: &str) -> Result<()> {
    match Api::<Namespace>::all(client.clone())
        .get_opt(namespace)
        .await
    {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(hinted(
            format!("KubeFed system namespace \"{namespace}\" does not exist"),
            format!(
                "run `kubefedctl init --host-cluster-context {host}` first, or pass the right --kubefed-namespace"
            ),
        )),
        Err(e) if is_not_found(&e) => Err(anyhow!(
            "KubeFed system namespace \"{namespace}\" does not exist"
        )),
        Err(e) => Err(e)
            .with_context(|| format!("failed to read Namespace `{namespace}` in cluster `{host}`")),
    }
}

/// Sort object keys recursively: `enable -o yaml` prints keys in order, as the Go tool did.
pub fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

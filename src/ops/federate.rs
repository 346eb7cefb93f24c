//! `federate`: turn Kubernetes objects into federated objects (kubefedctl-behaviour.md 5), one
//! object, a whole namespace (`--contents`), or offline from YAML. Writes are server-side
//! applies with bounded concurrency; every object ends in a report line, none aborts the rest.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context as _, Result, anyhow};
use futures::StreamExt as _;
use kube::api::{Api, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::{Value, json};

use super::discovery::{ApiType, Discovered};
use super::enable::{DEFAULT_FEDERATED_GROUP, DEFAULT_FEDERATED_VERSION};
use super::names::validate_subdomain;
use super::{DryRun, FIELD_MANAGER, OnExisting, Reporter, is_not_found};
use crate::api::FederatedTypeConfig;

/// The federated type an object converts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    /// The target's API version used to read objects (from the FederatedTypeConfig).
    pub target_api_version: String,
}

impl FederatedType {
    /// The default generated type (`types.kubefed.io/v1beta1`), as `enable` would create it.
    pub fn default_for(t: &ApiType) -> Self {
        FederatedType {
            group: DEFAULT_FEDERATED_GROUP.into(),
            version: DEFAULT_FEDERATED_VERSION.into(),
            kind: format!("Federated{}", t.kind),
            plural: format!("federated{}", t.plural),
            namespaced: t.namespaced || is_namespace(&t.group, &t.kind),
            target_api_version: t.api_version(),
        }
    }

    pub fn from_config(ftc: &FederatedTypeConfig) -> Self {
        let f = &ftc.spec.federated_type;
        let t = &ftc.spec.target_type;
        FederatedType {
            group: f.group.clone(),
            version: f.version.clone(),
            kind: f.kind.clone(),
            plural: f.plural_name.clone(),
            namespaced: f.scope.is_namespaced(),
            target_api_version: if t.group.is_empty() {
                t.version.clone()
            } else {
                format!("{}/{}", t.group, t.version)
            },
        }
    }

    pub fn api_resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(&self.group, &self.version, &self.kind),
            &self.plural,
        )
    }

    pub fn crd_name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }
}

fn is_namespace(group: &str, kind: &str) -> bool {
    group.is_empty() && kind == "Namespace"
}

/// `spec.placement` and `spec.overrides` set at federate time.
#[derive(Clone, Debug, Default)]
pub struct Placement {
    /// `--clusters a,b`: `placement.clusters`.
    pub clusters: Option<Vec<String>>,
    /// `--cluster-selector k=v`: `placement.clusterSelector.matchLabels`.
    pub selector: BTreeMap<String, String>,
    /// `--override cluster:/path=value`.
    pub overrides: Vec<Override>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub cluster: String,
    pub path: String,
    pub value: Value,
}

impl Override {
    /// `member1:/spec/replicas=1`; the value is JSON, or a plain string when it is not.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (cluster, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("invalid --override `{s}`: expected CLUSTER:/PATH=VALUE"))?;
        let (path, value) = rest
            .split_once('=')
            .ok_or_else(|| format!("invalid --override `{s}`: expected CLUSTER:/PATH=VALUE"))?;
        if cluster.is_empty() || !path.starts_with('/') {
            return Err(format!(
                "invalid --override `{s}`: expected CLUSTER:/PATH=VALUE with a JSON pointer PATH"
            ));
        }
        let value =
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        Ok(Override {
            cluster: cluster.to_string(),
            path: path.to_string(),
            value,
        })
    }
}

impl Placement {
    fn spec(&self) -> (Value, Option<Value>) {
        let placement = match &self.clusters {
            Some(clusters) => {
                json!({"clusters": clusters.iter().map(|c| json!({"name": c})).collect::<Vec<_>>()})
            }
            // NB: upstream's default, an empty selector, selects every member cluster.
            None => json!({"clusterSelector": {"matchLabels": self.selector}}),
        };
        if self.overrides.is_empty() {
            return (placement, None);
        }
        let mut by_cluster: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for o in &self.overrides {
            by_cluster
                .entry(&o.cluster)
                .or_default()
                .push(json!({"path": o.path, "value": o.value}));
        }
        let overrides = by_cluster
            .into_iter()
            .map(|(c, list)| json!({"clusterName": c, "clusterOverrides": list}))
            .collect();
        (placement, Some(Value::Array(overrides)))
    }
}

/// Convert a target object (as JSON) to its federated object, by upstream's rules: only
/// `metadata.labels` survive in the template; Service cluster IPs and node ports, a
/// ServiceAccount's `secrets` and a Namespace's finalizers are dropped. Returns the object and
/// a warning when annotations were dropped.
pub fn convert(
    target: &Value,
    fed: &FederatedType,
    placement: &Placement,
) -> (Value, Option<String>) {
    let kind = target["kind"].as_str().unwrap_or_default().to_string();
    let api_version = target["apiVersion"].as_str().unwrap_or_default();
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let name = target["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let namespace = target["metadata"]["namespace"].as_str().map(str::to_string);
    let mut template = target.clone();
    if group.is_empty() {
        match kind.as_str() {
            "Namespace" => {
                if let Some(spec) = template.get_mut("spec").and_then(|s| s.as_object_mut()) {
                    spec.remove("finalizers");
                }
            }
            "ServiceAccount" => {
                template.as_object_mut().map(|o| o.remove("secrets"));
            }
            "Service" => {
                if let Some(spec) = template.get_mut("spec").and_then(|s| s.as_object_mut()) {
                    spec.remove("clusterIP");
                    spec.remove("clusterIPs");
                    if let Some(ports) = spec.get_mut("ports").and_then(|p| p.as_array_mut()) {
                        for port in ports {
                            port.as_object_mut().map(|p| p.remove("nodePort"));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut warning = None;
    if let Some(obj) = template.as_object_mut() {
        obj.remove("apiVersion");
        obj.remove("kind");
        obj.remove("status");
        let labels = obj.get("metadata").and_then(|m| m.get("labels")).cloned();
        if let Some(annotations) = obj.get("metadata").and_then(|m| m.get("annotations"))
            && annotations.as_object().is_some_and(|a| !a.is_empty())
        {
            warning = Some(format!(
                "Annotations defined for {kind} \"{}\" will not appear in the template of the federated resource: {annotations}",
                qualified(namespace.as_deref(), &name)
            ));
        }
        match labels {
            Some(labels) => {
                obj.insert("metadata".into(), json!({"labels": labels}));
            }
            None => {
                obj.remove("metadata");
            }
        }
    }
    let mut metadata = json!({"name": name});
    if is_namespace(group, &kind) {
        // NB: a FederatedNamespace lives in the namespace it federates.
        metadata["namespace"] = json!(name);
    } else if fed.namespaced
        && let Some(ns) = &namespace
    {
        metadata["namespace"] = json!(ns);
    }
    let (placement_spec, overrides) = placement.spec();
    let mut spec = json!({"placement": placement_spec, "template": template});
    if let Some(o) = overrides {
        spec["overrides"] = o;
    }
    (
        json!({
            "apiVersion": format!("{}/{}", fed.group, fed.version),
            "kind": fed.kind,
            "metadata": metadata,
            "spec": spec,
        }),
        warning,
    )
}

fn qualified(ns: Option<&str>, name: &str) -> String {
    match ns {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// What happened to one object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "reason", rename_all = "lowercase")]
pub enum ObjectResult {
    Created,
    Updated,
    Unchanged,
    Skipped(String),
    Failed(String),
}

#[derive(Clone, Debug, Serialize)]
pub struct ObjectReport {
    /// The target type, `plural[.group]`.
    pub resource: String,
    pub namespace: Option<String>,
    pub name: String,
    #[serde(flatten)]
    pub result: ObjectResult,
}

/// Every object federate touched, in a fixed order, plus the converted objects.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FederateReport {
    pub objects: Vec<ObjectReport>,
    #[serde(skip)]
    pub federated: Vec<Value>,
    pub warnings: Vec<String>,
}

impl FederateReport {
    pub fn count(&self, pred: impl Fn(&ObjectResult) -> bool) -> usize {
        self.objects.iter().filter(|o| pred(&o.result)).count()
    }

    pub fn failed(&self) -> usize {
        self.count(|r| matches!(r, ObjectResult::Failed(_)))
    }
}

/// A target object to federate, with its federated type.
#[derive(Clone, Debug)]
pub struct Work {
    pub resource: String,
    pub target: Value,
    pub fed: FederatedType,
}

#[derive(Clone, Debug)]
pub struct WriteOptions {
    pub dry_run: DryRun,
    pub on_existing: OnExisting,
    pub concurrency: usize,
    pub placement: Placement,
    pub host_context: String,
}

/// Convert and write `work` (already in the order to report), `concurrency` writes at a time.
/// The federated objects that exist are listed once per type (to tell created from updated
/// from unchanged) instead of one GET per object.
pub async fn write(
    client: &Client,
    work: Vec<Work>,
    options: &WriteOptions,
    reporter: &dyn Reporter,
) -> FederateReport {
    let mut report = FederateReport::default();
    let mut existing: HashMap<(String, Option<String>), HashMap<String, Existing>> = HashMap::new();
    for w in &work {
        let ns = if w.fed.namespaced { target_ns(w) } else { None };
        let key = (w.fed.crd_name(), ns.clone());
        if existing.contains_key(&key) {
            continue;
        }
        let api: Api<DynamicObject> = match &ns {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &w.fed.api_resource()),
            None => Api::all_with(client.clone(), &w.fed.api_resource()),
        };
        let versions = match api.list(&ListParams::default()).await {
            Ok(list) => list
                .items
                .into_iter()
                .map(|o| {
                    let existing = Existing {
                        resource_version: o.resource_version().unwrap_or_default(),
                        migrated_fields: migrated_fields(&o.metadata),
                        spec: o.data.get("spec").cloned().unwrap_or(Value::Null),
                    };
                    (o.name_any(), existing)
                })
                .collect(),
            Err(_) => HashMap::new(), // the type may not exist yet (dry run of --enable-type)
        };
        existing.insert(key, versions);
    }
    let total = work.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(ObjectReport, Value, Option<String>)> =
        futures::stream::iter(work.into_iter().map(|w| {
            let existing = &existing;
            let done = &done;
            async move {
                let (federated, warning) = convert(&w.target, &w.fed, &options.placement);
                let name = federated["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let ns = federated["metadata"]["namespace"]
                    .as_str()
                    .map(str::to_string);
                let before = existing
                    .get(&(w.fed.crd_name(), ns.clone()))
                    .and_then(|m| m.get(&name));
                let result = write_one(client, &w.fed, &federated, before, options).await;
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                reporter.step(&format!("federating {n}/{total}"));
                let target_ns = w.target["metadata"]["namespace"]
                    .as_str()
                    .map(str::to_string);
                let target_name = w.target["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                (
                    ObjectReport {
                        resource: w.resource.clone(),
                        namespace: target_ns,
                        name: target_name,
                        result,
                    },
                    federated,
                    warning,
                )
            }
        }))
        .buffered(options.concurrency.max(1))
        .collect()
        .await;
    for (object, federated, warning) in results {
        report.objects.push(object);
        report.federated.push(federated);
        report.warnings.extend(warning);
    }
    report
}

/// A federated object that exists before the write.
#[derive(Clone, Debug)]
pub struct Existing {
    resource_version: String,
    /// Its `spec`: when the new one is the same, nothing is written.
    spec: Value,
    /// Its managed fields with kubefedctl's `Update` entries turned into `Apply`, when it has
    /// any (written by create/update rather than server-side apply).
    migrated_fields: Option<Vec<Value>>,
}

fn migrated_fields(meta: &kube::api::ObjectMeta) -> Option<Vec<Value>> {
    let fields = meta.managed_fields.as_ref()?;
    let ours = |op: &str| {
        fields.iter().any(|f| {
            f.manager.as_deref() == Some(FIELD_MANAGER) && f.operation.as_deref() == Some(op)
        })
    };
    // Already ours by apply (or nothing to take over): leave the entries alone.
    if ours("Apply") || !ours("Update") {
        return None;
    }
    let mut changed = false;
    let out: Vec<Value> = fields
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            if f.manager.as_deref() == Some(FIELD_MANAGER)
                && f.operation.as_deref() == Some("Update")
            {
                v["operation"] = json!("Apply");
                changed = true;
            }
            v
        })
        .collect();
    changed.then_some(out)
}

/// Where the federated object of `w` lives: a Namespace's own name, else its namespace.
fn target_ns(w: &Work) -> Option<String> {
    let meta = &w.target["metadata"];
    if w.target["apiVersion"] == "v1" && w.target["kind"] == "Namespace" {
        meta["name"].as_str().map(str::to_string)
    } else {
        meta["namespace"].as_str().map(str::to_string)
    }
}

async fn write_one(
    client: &Client,
    fed: &FederatedType,
    federated: &Value,
    before: Option<&Existing>,
    options: &WriteOptions,
) -> ObjectResult {
    let name = federated["metadata"]["name"].as_str().unwrap_or_default();
    let ns = federated["metadata"]["namespace"].as_str();
    let host = &options.host_context;
    let display = qualified(ns, name);
    if before.is_some() && options.on_existing == OnExisting::Error {
        return ObjectResult::Failed(format!(
            "Error creating federated resource \"{display}\": {} \"{name}\" already exists",
            fed.crd_name()
        ));
    }
    // The same spec as stored: nothing to write (a rerun over 2,000 objects costs one list
    // per type).
    if let Some(b) = before
        && b.spec == federated["spec"]
    {
        return ObjectResult::Unchanged;
    }
    if options.dry_run == DryRun::Client {
        return if before.is_some() {
            ObjectResult::Updated
        } else {
            ObjectResult::Created
        };
    }
    let api: Api<DynamicObject> = match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &fed.api_resource()),
        None => Api::all_with(client.clone(), &fed.api_resource()),
    };
    let object: DynamicObject = match serde_json::from_value(federated.clone()) {
        Ok(o) => o,
        Err(e) => return ObjectResult::Failed(format!("invalid federated object: {e}")),
    };
    // A new object is a plain create (cheaper on the server than an apply); a later run takes
    // its fields over for server-side apply when it has something to change.
    let result = if options.on_existing == OnExisting::Error || before.is_none() {
        let pp = PostParams {
            dry_run: options.dry_run == DryRun::Server,
            field_manager: Some(FIELD_MANAGER.into()),
        };
        match api.create(&pp, &object).await {
            // Created meanwhile by someone else: apply over it.
            Err(kube::Error::Api(s))
                if s.code == 409 && options.on_existing == OnExisting::Update =>
            {
                let mut pp = PatchParams::apply(FIELD_MANAGER).force();
                pp.dry_run = options.dry_run == DryRun::Server;
                api.patch(name, &pp, &Patch::Apply(&object)).await
            }
            other => other,
        }
    } else {
        if let Some(fields) = before.and_then(|b| b.migrated_fields.as_ref())
            && options.dry_run == DryRun::None
        {
            // NB: an object written with create/update (Go kubefedctl, or --error-on-existing)
            // is owned by an `Update` entry that server-side apply never prunes: take it over
            // first, as kubectl does when moving to server-side apply, so fields the target
            // lost go away.
            let patch = json!({"metadata": {"managedFields": fields}});
            if let Err(e) = api
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                return ObjectResult::Failed(format!(
                    "failed to take over the fields of {} `{display}` in cluster `{host}`: {e}",
                    fed.kind
                ));
            }
        }
        let mut pp = PatchParams::apply(FIELD_MANAGER).force();
        pp.dry_run = options.dry_run == DryRun::Server;
        api.patch(name, &pp, &Patch::Apply(&object)).await
    };
    match result {
        Ok(after) => match before {
            None => ObjectResult::Created,
            Some(b) if after.resource_version().as_ref() == Some(&b.resource_version) => {
                ObjectResult::Unchanged
            }
            Some(_) => ObjectResult::Updated,
        },
        Err(e) => {
            let reason = match &e {
                kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
                other => other.to_string(),
            };
            ObjectResult::Failed(format!(
                "failed to write {} `{display}` in cluster `{host}`: {reason}",
                fed.kind
            ))
        }
    }
}

/// The federated type of each target type: its FederatedTypeConfig if installed, else the
/// default (when `--enable-type` or output-only), else `None`.
pub async fn federated_types(
    client: &Client,
    namespace: &str,
    host: &str,
) -> Result<HashMap<String, FederatedType>> {
    let ftcs = Api::<FederatedTypeConfig>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await;
    let ftcs = match ftcs {
        Ok(list) => list.items,
        Err(e) if is_not_found(&e) => vec![],
        Err(e) => {
            return Err(e).with_context(|| {
                format!("failed to list FederatedTypeConfigs in `{namespace}` of cluster `{host}`")
            });
        }
    };
    Ok(ftcs
        .iter()
        .map(|f| (f.name_any(), FederatedType::from_config(f)))
        .collect())
}

/// Why an object of a namespace is not federated by default (`--no-default-skips` federates
/// them as upstream did).
pub fn default_skip(t: &ApiType, object: &Value) -> Option<&'static str> {
    let meta = &object["metadata"];
    let name = meta["name"].as_str().unwrap_or_default();
    if meta["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["controller"] == true))
    {
        return Some("owned by a controller, which creates it in every cluster");
    }
    match (t.group.as_str(), t.plural.as_str()) {
        ("", "secrets") if object["type"] == "kubernetes.io/service-account-token" => {
            Some("service account token, made by each cluster")
        }
        ("", "configmaps") if name == "kube-root-ca.crt" => {
            Some("made by each cluster's root CA publisher")
        }
        ("", "serviceaccounts") if name == "default" => Some("made by each cluster"),
        ("discovery.k8s.io", "endpointslices") => Some("made by each cluster from its Services"),
        ("coordination.k8s.io", "leases") => Some("per-cluster coordination state"),
        _ => None,
    }
}

/// Types upstream never federates with `--contents`, and why.
pub fn always_skip(t: &ApiType, user_skips: &[String]) -> Option<String> {
    if !t.namespaced {
        return Some("not namespaced".into());
    }
    if t.group == DEFAULT_FEDERATED_GROUP && t.kind.starts_with("Federated") {
        return Some("a federated type".into());
    }
    if t.group == "extensions" {
        return Some("the deprecated extensions group".into());
    }
    let qualified = t.qualified_plural();
    for always in [
        "endpoints",
        "events",
        "events.events.k8s.io",
        "propagatedversions.core.kubefed.io",
    ] {
        if qualified == always {
            return Some("never federated".into());
        }
    }
    let probe = Discovered {
        types: vec![t.clone()],
        stale_groups: vec![],
    };
    for skip in user_skips {
        if *skip == t.group || probe.lookup(skip, None).is_ok() {
            return Some(format!("--skip-api-resources {skip}"));
        }
    }
    if !t.verbs.iter().any(|v| v == "list") {
        return Some("cannot be listed".into());
    }
    None
}

/// A name the federated CRD would reject (upstream skipped names with `:` with a warning).
pub fn invalid_name(object: &Value) -> Option<String> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    validate_subdomain(name).err().map(|e| format!("name {e}"))
}

/// List every namespaced type's objects in `namespace`, concurrently; list errors are kept.
pub async fn list_contents(
    client: &Client,
    namespace: &str,
    types: &[ApiType],
    concurrency: usize,
) -> Vec<(ApiType, Result<Vec<Value>>)> {
    futures::stream::iter(types.iter().cloned().map(|t| async move {
        let api = t.dynamic_api(client, None, namespace);
        let result = api
            .list(&ListParams::default())
            .await
            .map_err(|e| anyhow!(e))
            .and_then(|list| {
                let mut items: Vec<Value> = list
                    .items
                    .into_iter()
                    .map(|mut o| {
                        o.types = Some(kube::api::TypeMeta {
                            api_version: t.api_version(),
                            kind: t.kind.clone(),
                        });
                        serde_json::to_value(o).map_err(anyhow::Error::from)
                    })
                    .collect::<Result<_>>()?;
                items.sort_by(|a, b| {
                    a["metadata"]["name"]
                        .as_str()
                        .cmp(&b["metadata"]["name"].as_str())
                });
                Ok(items)
            });
        (t, result)
    }))
    .buffered(concurrency.max(1))
    .collect()
    .await
}

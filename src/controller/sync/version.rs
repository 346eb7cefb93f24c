//! (Cluster)PropagatedVersions: the template and override hashes last propagated and the
//! version each member's copy had after KubeFed wrote it (Go: `sync/version`).
//!
//! Loaded once per type at start (upstream does the same); this controller is the only
//! writer afterwards, so the cache is kept by its own writes. The objects are Go-compatible:
//! a controller swap (Go stops, ours starts) finds Go's versions and writes nothing to members
//! that are already up to date.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use anyhow::{Context, Result};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::{Value, json};

use crate::api::{
    ClusterObjectVersion, ClusterPropagatedVersion, PropagatedVersion, PropagatedVersionStatus,
};
use crate::controller::sync::resource::{ClusterVersions, TypeSpec, object_key};
use crate::controller::sync::writer::Target;

/// The versions of one type's federated objects, keyed by `namespace/name` of the federated
/// object (`/name` for cluster-scoped ones).
pub struct VersionCache {
    host: Client,
    ty: TypeSpec,
    entries: Mutex<HashMap<String, PropagatedVersionStatus>>,
    /// The keys whose version object exists on the host (listed at start or written since).
    on_server: Mutex<HashSet<String>>,
}

/// What a reconcile starts from: the recorded cluster versions when the hashes still match.
pub struct Recorded {
    pub template_version: String,
    pub overrides_version: String,
    pub clusters: ClusterVersions,
}

impl VersionCache {
    /// List this type's (Cluster)PropagatedVersions (those named `<lowercase kind>-...`).
    pub async fn load(host: Client, ty: TypeSpec, namespace: Option<&str>) -> Result<VersionCache> {
        let prefix = ty.version_prefix();
        let mut entries = HashMap::new();
        if ty.federated_namespaced {
            let api: Api<PropagatedVersion> = match namespace {
                Some(ns) => Api::namespaced(host.clone(), ns),
                None => Api::all(host.clone()),
            };
            for pv in api
                .list(&ListParams::default())
                .await
                .context("failed to list PropagatedVersions")?
            {
                let name = pv.name_any();
                if let (Some(fed), Some(status)) = (name.strip_prefix(&prefix), pv.status) {
                    entries.insert(
                        format!("{}/{fed}", pv.metadata.namespace.unwrap_or_default()),
                        status,
                    );
                }
            }
        } else {
            let api: Api<ClusterPropagatedVersion> = Api::all(host.clone());
            for pv in api
                .list(&ListParams::default())
                .await
                .context("failed to list ClusterPropagatedVersions")?
            {
                let name = pv.name_any();
                if let (Some(fed), Some(status)) = (name.strip_prefix(&prefix), pv.status) {
                    entries.insert(format!("/{fed}"), status);
                }
            }
        }
        Ok(VersionCache {
            host,
            ty,
            on_server: Mutex::new(entries.keys().cloned().collect()),
            entries: Mutex::new(entries),
        })
    }

    /// The recorded cluster versions if both hashes are unchanged, else none (so every selected
    /// cluster is compared again, as upstream).
    pub fn get(
        &self,
        namespace: Option<&str>,
        name: &str,
        template_version: &str,
        overrides_version: &str,
    ) -> ClusterVersions {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&object_key(namespace, name)) {
            Some(s)
                if s.template_version == template_version
                    && s.overrides_version == overrides_version =>
            {
                s.cluster_versions
                    .iter()
                    .map(|c| (c.cluster_name.clone(), c.version.clone()))
                    .collect()
            }
            _ => BTreeMap::new(),
        }
    }

    /// Forget a deleted federated object (its version object goes by garbage collection).
    pub fn forget(&self, namespace: Option<&str>, name: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&object_key(namespace, name));
        drop(entries);
        self.on_server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&object_key(namespace, name));
    }

    /// Record this pass (Go: `VersionManager.Update`): old versions if the hashes are
    /// unchanged, minus clusters no longer selected, plus this pass's versions. Returns the
    /// status to write when something changed; the cache holds it from now on, so the next
    /// reconcile starts from it whether or not the write landed yet.
    pub fn record(
        &self,
        namespace: Option<&str>,
        name: &str,
        template_version: &str,
        overrides_version: &str,
        selected: &std::collections::BTreeSet<String>,
        this_pass: &ClusterVersions,
    ) -> Option<PropagatedVersionStatus> {
        let mut clusters = self.get(namespace, name, template_version, overrides_version);
        clusters.retain(|c, _| selected.contains(c));
        for (c, v) in this_pass {
            clusters.insert(c.clone(), v.clone());
        }
        let status = PropagatedVersionStatus {
            template_version: template_version.to_string(),
            overrides_version: overrides_version.to_string(),
            cluster_versions: clusters
                .into_iter()
                .map(|(cluster_name, version)| ClusterObjectVersion {
                    cluster_name,
                    version,
                })
                .collect(),
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let key = object_key(namespace, name);
        if entries.get(&key) == Some(&status) {
            return None;
        }
        entries.insert(key, status.clone());
        Some(status)
    }

    /// Write the version object of `target`: a status patch when it is known to exist, else a
    /// create first.
    pub async fn write(&self, target: &Target, status: &PropagatedVersionStatus) -> Result<()> {
        let name = format!("{}{}", self.ty.version_prefix(), target.name);
        let key = object_key(target.namespace.as_deref(), &target.name);
        let existed = self
            .on_server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key);
        let owner = json!([{
            "apiVersion": self.ty.federated.api_version,
            "kind": self.ty.federated.kind,
            "name": target.name,
            "uid": target.uid,
        }]);
        let patch = json!({ "status": status });
        if self.ty.federated_namespaced {
            let ns = target.namespace.as_deref().unwrap_or_default();
            let api: Api<PropagatedVersion> = Api::namespaced(self.host.clone(), ns);
            write_one(&api, &name, owner, &patch, existed)
                .await
                .with_context(|| format!("failed to write PropagatedVersion `{ns}/{name}`"))?;
        } else {
            let api: Api<ClusterPropagatedVersion> = Api::all(self.host.clone());
            write_one(&api, &name, owner, &patch, existed)
                .await
                .with_context(|| format!("failed to write ClusterPropagatedVersion `{name}`"))?;
        }
        if !existed {
            self.on_server
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key);
        }
        Ok(())
    }
}

/// Create the object if needed (status is a subresource: a create cannot carry it), then
/// merge-patch its status. A missing object is re-created, one that exists already is patched.
async fn write_one<K>(
    api: &Api<K>,
    name: &str,
    owner: Value,
    status: &Value,
    existed: bool,
) -> Result<()>
where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + serde::Serialize,
    K::DynamicType: Default,
{
    async fn patch_status<K>(api: &Api<K>, name: &str, status: &Value) -> kube::Result<K>
    where
        K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
            .await
    }
    if existed {
        match patch_status(api, name, status).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let object: K = serde_json::from_value(json!({
        "apiVersion": K::api_version(&Default::default()),
        "kind": K::kind(&Default::default()),
        "metadata": {"name": name, "ownerReferences": owner},
    }))?;
    match api.create(&PostParams::default(), &object).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => return Err(e.into()),
    }
    patch_status(api, name, status).await?;
    Ok(())
}

//! Server-side apply with one field manager, reporting what changed the way `kubectl apply`
//! does (created / configured / unchanged), under the dry-run model.

use std::fmt::Debug;

use anyhow::Result;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DryRun, FIELD_MANAGER};

/// What applying an object did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Created,
    Configured,
    Unchanged,
}

impl Change {
    /// The verb kubectl prints, with ` (dry run)` / ` (server dry run)` as kubectl does.
    pub fn verb(self, dry_run: DryRun) -> String {
        let verb = match self {
            Change::Created => "created",
            Change::Configured => "configured",
            Change::Unchanged => "unchanged",
        };
        format!("{verb}{}", dry_run.suffix())
    }
}

/// Server-side apply `desired` (forcing ownership of the fields it sets) and say what changed.
/// With [`DryRun::Client`] nothing is sent but a GET.
pub async fn apply<K>(api: &Api<K>, desired: &K, dry_run: DryRun) -> Result<(Change, Option<K>)>
where
    K: Resource + Serialize + DeserializeOwned + Clone + Debug,
{
    let name = desired.name_any();
    let before = api.get_opt(&name).await?;
    if dry_run == DryRun::Client {
        let change = match &before {
            None => Change::Created,
            Some(b) if same_content(b, desired)? => Change::Unchanged,
            Some(_) => Change::Configured,
        };
        return Ok((change, before));
    }
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = dry_run == DryRun::Server;
    let after = api.patch(&name, &params, &Patch::Apply(desired)).await?;
    let change = match &before {
        None => Change::Created,
        Some(b) if comparable(b)? == comparable(&after)? => Change::Unchanged,
        Some(_) => Change::Configured,
    };
    Ok((change, Some(after)))
}

/// The object as JSON without what the server maintains (status, resourceVersion, managed
/// fields, generation, timestamps, uid).
fn comparable<K: Serialize>(obj: &K) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(obj)?;
    if let Some(map) = v.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            for key in [
                "resourceVersion",
                "managedFields",
                "generation",
                "creationTimestamp",
                "uid",
            ] {
                meta.remove(key);
            }
        }
    }
    Ok(v)
}

/// Whether every field `desired` sets already has that value in `current`.
fn same_content<K: Serialize>(current: &K, desired: &K) -> Result<bool> {
    Ok(contains(&comparable(current)?, &comparable(desired)?))
}

fn contains(have: &serde_json::Value, want: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| wv.is_null() || h.get(k).is_some_and(|hv| contains(hv, wv))),
        (h, w) => h == w,
    }
}

//! `orphaning-deletion`: the `kubefed.io/orphan: "true"` annotation that makes the controller
//! keep member objects when their federated object is deleted (kubefedctl-behaviour.md 6).

use anyhow::{Context as _, Result};
use kube::api::{Patch, PatchParams};
use kube::{Client, ResourceExt};

use super::DryRun;
use super::discovery::ApiType;

pub const ORPHAN_ANNOTATION: &str = "kubefed.io/orphan";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Orphaning {
    Enable,
    Disable,
    Status,
}

/// Returns whether orphaning is enabled after the operation (would be, in a dry run).
pub async fn orphaning(
    client: &Client,
    t: &ApiType,
    namespace: &str,
    name: &str,
    op: Orphaning,
    host: &str,
    dry_run: DryRun,
) -> Result<bool> {
    let api = t.dynamic_api(client, None, namespace);
    let display = t.display_name(namespace, name);
    let object = api.get(name).await.with_context(|| {
        format!(
            "Failed to retrieve resource: \"{display}\" ({} in cluster `{host}`)",
            t.kind
        )
    })?;
    let enabled = object
        .annotations()
        .get(ORPHAN_ANNOTATION)
        .is_some_and(|v| v == "true");
    let change = match op {
        Orphaning::Status => None,
        Orphaning::Enable if !enabled => Some(true),
        // Only the exact value "true" is ours to remove; "false" or others are left alone.
        Orphaning::Disable if enabled => Some(false),
        _ => None,
    };
    let Some(enable) = change else {
        return Ok(enabled);
    };
    if dry_run == DryRun::Client {
        return Ok(enable);
    }
    // NB: issue 12.6: a merge patch of the annotation alone, not a PUT of the object read
    // above, which fails with a conflict whenever the controller wrote its finalizer or status
    // in between (right after `federate`, the usual time to run this).
    let value = if enable {
        serde_json::Value::from("true")
    } else {
        serde_json::Value::Null
    };
    let patch = serde_json::json!({"metadata": {"annotations": {ORPHAN_ANNOTATION: value}}});
    api.patch(
        name,
        &PatchParams {
            dry_run: dry_run == DryRun::Server,
            field_manager: Some(super::FIELD_MANAGER.into()),
            ..Default::default()
        },
        &Patch::Merge(&patch),
    )
    .await
    .with_context(|| {
        format!(
            "Failed to update resource {} \"{display}\" in cluster `{host}`",
            t.kind
        )
    })?;
    Ok(enable)
}

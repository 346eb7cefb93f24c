//! `orphaning-deletion`: the `kubefed.io/orphan: "true"` annotation that makes the controller
//! keep member objects when their federated object is deleted (kubefedctl-behaviour.md 6).

use anyhow::{Context as _, Result};
use kube::api::PostParams;
use kube::{Client, ResourceExt};

use super::discovery::ApiType;

pub const ORPHAN_ANNOTATION: &str = "kubefed.io/orphan";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Orphaning {
    Enable,
    Disable,
    Status,
}

/// Returns whether orphaning is enabled after the operation.
pub async fn orphaning(
    client: &Client,
    t: &ApiType,
    namespace: &str,
    name: &str,
    op: Orphaning,
    host: &str,
) -> Result<bool> {
    let api = t.dynamic_api(client, None, namespace);
    let display = t.display_name(namespace, name);
    let mut object = api.get(name).await.with_context(|| {
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
    if enable {
        object
            .annotations_mut()
            .insert(ORPHAN_ANNOTATION.into(), "true".into());
    } else {
        object.annotations_mut().remove(ORPHAN_ANNOTATION);
    }
    api.replace(
        name,
        &PostParams {
            field_manager: Some(super::FIELD_MANAGER.into()),
            ..Default::default()
        },
        &object,
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

//! `disable`: stop propagating a type: propagation off, wait (bounded) for the controller to
//! stop, optionally delete the federated CRD, delete the FederatedTypeConfig
//! (kubefedctl-behaviour.md 4.5).

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use kube::discovery::ApiResource;
use kube::runtime::wait::await_condition;
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::json;

use super::{DryRun, delete_if_present, is_not_found};
use crate::api::{ConfigurationMode, ControllerStatus, FederatedTypeConfig};

#[derive(Clone, Debug)]
pub struct DisableOptions {
    /// The FederatedTypeConfig name, `plural[.group]`.
    pub name: String,
    pub namespace: String,
    pub delete_crd: bool,
    /// Federated group for the CRD name when the FederatedTypeConfig is already gone.
    pub federated_group: String,
    pub dry_run: DryRun,
    /// How long to wait for the controller to report the propagation controller stopped.
    pub wait_timeout: Duration,
    pub host_context: String,
}

#[derive(Debug, Default, Serialize)]
pub struct DisableOutcome {
    /// The Go tool's result lines, in its order.
    pub lines: Vec<String>,
    pub warnings: Vec<String>,
}

pub async fn disable(client: &Client, options: &DisableOptions) -> Result<DisableOutcome> {
    let ns = &options.namespace;
    let name = &options.name;
    let host = &options.host_context;
    let qualified = format!("{ns}/{name}");
    let ftc_api: Api<FederatedTypeConfig> = Api::namespaced(client.clone(), ns);
    let mut out = DisableOutcome::default();
    let ftc = ftc_api.get_opt(name).await.with_context(|| {
        format!("failed to read FederatedTypeConfig `{qualified}` in cluster `{host}`")
    })?;
    if ftc.is_none() {
        out.lines.push(format!(
            "FederatedTypeConfig \"{qualified}\" does not exist"
        ));
    }
    if options.dry_run == DryRun::Client {
        return Ok(out);
    }
    // The federated type: from the FederatedTypeConfig, else derived from the name.
    let (fed_group, fed_version, fed_kind, fed_plural) = match &ftc {
        Some(f) => {
            let t = &f.spec.federated_type;
            (
                t.group.clone(),
                t.version.clone(),
                t.kind.clone(),
                t.plural_name.clone(),
            )
        }
        None => {
            let plural = name.split('.').next().unwrap_or(name);
            (
                options.federated_group.clone(),
                "v1beta1".to_string(),
                String::new(),
                format!("federated{plural}"),
            )
        }
    };
    let crd_name = format!("{fed_plural}.{fed_group}");
    let server_dry = options.dry_run == DryRun::Server;
    let dp = DeleteParams {
        dry_run: server_dry,
        ..Default::default()
    };

    if let Some(ftc) = &ftc {
        if options.delete_crd {
            refuse_if_instances(
                client,
                &crd_name,
                &fed_group,
                &fed_version,
                &fed_kind,
                &fed_plural,
                host,
            )
            .await?;
        }
        if ftc.spec.propagation == ConfigurationMode::Enabled {
            let params = PatchParams {
                dry_run: server_dry,
                field_manager: Some(super::FIELD_MANAGER.into()),
                ..Default::default()
            };
            ftc_api
                .patch(name, &params, &Patch::Merge(json!({"spec": {"propagation": "Disabled"}})))
                .await
                .with_context(|| format!("failed to disable propagation of FederatedTypeConfig `{qualified}` in cluster `{host}`"))?;
            out.lines.push(format!(
                "Disabled propagation for FederatedTypeConfig \"{qualified}\""
            ));
        }
        if !server_dry {
            out.lines.push(format!("Verifying propagation controller is stopped for FederatedTypeConfig \"{qualified}\""));
            let stopped = |f: Option<&FederatedTypeConfig>| {
                f.and_then(|f| f.status.as_ref())
                    .is_some_and(|s| s.propagation_controller == ControllerStatus::NotRunning)
            };
            match tokio::time::timeout(
                options.wait_timeout,
                await_condition(ftc_api.clone(), name, stopped),
            )
            .await
            {
                Ok(Ok(_)) => out.lines.push(format!(
                    "Propagation controller for FederatedTypeConfig \"{qualified}\" is stopped"
                )),
                Ok(Err(e)) => {
                    return Err(e).with_context(|| {
                        format!(
                            "failed to watch FederatedTypeConfig `{qualified}` in cluster `{host}`"
                        )
                    });
                }
                Err(_) => {
                    let status = ftc_api
                        .get_opt(name)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|f| f.status)
                        .map(|s| s.propagation_controller.to_string());
                    out.warnings.push(format!(
                        "no KubeFed controller reported the propagation controller of `{qualified}` stopped within {} s \
                         (status.propagationController: {}); is the KubeFed controller-manager running? Continuing.",
                        options.wait_timeout.as_secs(),
                        status.unwrap_or_else(|| "not set".into())
                    ));
                }
            }
        }
    }

    if options.delete_crd {
        if ftc.is_none() {
            // Re-check without a FederatedTypeConfig: the CRD itself tells the kind.
            if let Some(crd) = Api::<CustomResourceDefinition>::all(client.clone())
                .get_opt(&crd_name)
                .await?
            {
                let kind = crd.spec.names.kind.clone();
                let version = crd
                    .spec
                    .versions
                    .first()
                    .map(|v| v.name.clone())
                    .unwrap_or(fed_version.clone());
                refuse_if_instances(
                    client,
                    &crd_name,
                    &fed_group,
                    &version,
                    &kind,
                    &fed_plural,
                    host,
                )
                .await?;
            }
        }
        let existed = delete_if_present(
            &Api::<CustomResourceDefinition>::all(client.clone()),
            &crd_name,
            &dp,
        )
        .await
        .with_context(|| {
            format!("failed to delete CustomResourceDefinition `{crd_name}` in cluster `{host}`")
        })?;
        out.lines.push(if existed {
            format!("customresourcedefinition \"{crd_name}\" deleted")
        } else {
            format!("customresourcedefinition \"{crd_name}\" does not exist")
        });
    }

    if ftc.is_some()
        && delete_if_present(&ftc_api, name, &dp)
            .await
            .with_context(|| {
                format!("failed to delete FederatedTypeConfig `{qualified}` in cluster `{host}`")
            })?
    {
        out.lines
            .push(format!("federatedtypeconfig \"{qualified}\" deleted"));
    }
    Ok(out)
}

async fn refuse_if_instances(
    client: &Client,
    crd_name: &str,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    host: &str,
) -> Result<()> {
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    match api.list_metadata(&ListParams::default().limit(1)).await {
        Ok(list) if !list.items.is_empty() => {
            let first = &list.items[0];
            Err(anyhow!(
                "{kind} `{}{}` still exists in cluster `{host}`",
                first.namespace().map(|n| format!("{n}/")).unwrap_or_default(),
                first.name_any()
            )
            .context(format!(
                "Cannot delete CRD \"{crd_name}\" while resource instances exist. Please try kubefedctl disable again after removing the resource instances or without the '--delete-crd' option"
            )))
        }
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => {
            Err(e).with_context(|| format!("failed to list {plural}.{group} in cluster `{host}`"))
        }
    }
}

//! `init`: install KubeFed's control-plane CRDs, the control-plane namespace and the
//! KubeFedConfig `kubefed` on the host cluster. Idempotent (server-side apply).

use std::time::Duration;

use anyhow::{Context as _, Result};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;

use super::apply::{Change, apply};
use super::{DryRun, Reporter};
use crate::api::{
    KUBEFED_CONFIG_NAME, KubeFedConfig, KubeFedConfigSpec, Scope, control_plane_crds,
};
use crate::error::hinted;

/// How long to wait for the CRDs to become Established.
pub const ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The control-plane namespace (`--kubefed-namespace`).
    pub namespace: String,
    /// `--scope`: the KubeFedConfig's scope (immutable once created).
    pub scope: Scope,
    pub dry_run: DryRun,
    /// The host context name, for messages.
    pub host_context: String,
}

/// One object init applied.
#[derive(Clone, Debug, Serialize)]
pub struct AppliedObject {
    /// `plural.group` as kubectl prints it, for example `customresourcedefinition.apiextensions.k8s.io`.
    pub resource: String,
    pub name: String,
    pub change: Change,
}

#[derive(Clone, Debug, Serialize)]
pub struct InitOutcome {
    pub objects: Vec<AppliedObject>,
}

/// The objects init applies, in order: the CRDs, the namespace, the KubeFedConfig.
pub fn manifests(options: &InitOptions) -> Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for crd in control_plane_crds() {
        out.push(serde_json::to_value(crd)?);
    }
    out.push(serde_json::to_value(namespace_object(&options.namespace))?);
    out.push(serde_json::to_value(kubefed_config(options))?);
    Ok(out)
}

fn namespace_object(name: &str) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn kubefed_config(options: &InitOptions) -> KubeFedConfig {
    let mut config = KubeFedConfig::new(
        KUBEFED_CONFIG_NAME,
        KubeFedConfigSpec::chart_defaults(options.scope),
    );
    config.metadata.namespace = Some(options.namespace.clone());
    config
}

/// Install the control plane's API on the host.
pub async fn init(
    client: &Client,
    options: &InitOptions,
    reporter: &dyn Reporter,
) -> Result<InitOutcome> {
    let host = &options.host_context;
    let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let kfc_api: Api<KubeFedConfig> = Api::namespaced(client.clone(), &options.namespace);

    // Scope is immutable: refuse before writing anything if an existing KubeFedConfig disagrees.
    reporter.step("checking for an existing KubeFedConfig");
    let existing_config = match kfc_api.get_opt(KUBEFED_CONFIG_NAME).await {
        Ok(c) => c,
        // The CRD itself is not installed yet: nothing exists.
        Err(e) if super::is_not_found(&e) => None,
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "failed to read KubeFedConfig `{}/{KUBEFED_CONFIG_NAME}` in cluster `{host}`",
                    options.namespace
                )
            });
        }
    };
    if let Some(existing) = &existing_config
        && existing.spec.scope != options.scope
    {
        return Err(hinted(
            format!(
                "KubeFedConfig `{}/{KUBEFED_CONFIG_NAME}` in cluster `{host}` has scope {}, not {}; scope cannot be changed",
                options.namespace, existing.spec.scope, options.scope
            ),
            format!(
                "rerun with --scope {} or use another --kubefed-namespace",
                existing.spec.scope
            ),
        ));
    }

    let mut objects = Vec::new();
    reporter.step("applying the KubeFed control-plane CRDs");
    let crds = control_plane_crds();
    let applied = futures::future::try_join_all(crds.iter().map(|crd| {
        let api = crd_api.clone();
        async move {
            let name = crd.name_any();
            apply(&api, crd, options.dry_run)
                .await
                .with_context(|| {
                    format!("failed to apply CustomResourceDefinition `{name}` in cluster `{host}`")
                })
                .map(|(change, _)| (name, change))
        }
    }))
    .await?;
    for (name, change) in applied {
        objects.push(AppliedObject {
            resource: "customresourcedefinition.apiextensions.k8s.io".into(),
            name,
            change,
        });
    }

    if options.dry_run.writes() {
        reporter.step("waiting for the CRDs to be Established");
        futures::future::try_join_all(crds.iter().map(|crd| {
            let api = crd_api.clone();
            async move {
                let name = crd.name_any();
                tokio::time::timeout(
                    ESTABLISHED_TIMEOUT,
                    await_condition(api, &name, conditions::is_crd_established()),
                )
                .await
                .map_err(|_| {
                    hinted(
                        format!(
                            "CustomResourceDefinition `{name}` in cluster `{host}` was not Established within {} s",
                            ESTABLISHED_TIMEOUT.as_secs()
                        ),
                        format!("inspect it with `kubectl --context {host} get crd {name} -o yaml`"),
                    )
                })?
                .with_context(|| format!("failed to watch CustomResourceDefinition `{name}` in cluster `{host}`"))
            }
        }))
        .await?;
    }

    reporter.step("applying the control-plane namespace");
    let ns_api: Api<Namespace> = Api::all(client.clone());
    let (ns_change, _) = apply(
        &ns_api,
        &namespace_object(&options.namespace),
        options.dry_run,
    )
    .await
    .with_context(|| {
        format!(
            "failed to apply Namespace `{}` in cluster `{host}`",
            options.namespace
        )
    })?;
    objects.push(AppliedObject {
        resource: "namespace".into(),
        name: options.namespace.clone(),
        change: ns_change,
    });

    // An existing KubeFedConfig is the operator's: never overwrite its settings.
    let change = if existing_config.is_some() {
        Change::Unchanged
    } else if options.dry_run == DryRun::Client
        || (options.dry_run == DryRun::Server
            && (ns_change == Change::Created || !crds_exist(&crd_api).await?))
    {
        // Server dry-run cannot admit a custom resource whose CRD or namespace does not exist
        // yet (both were only dry-run created).
        Change::Created
    } else {
        reporter.step("applying the KubeFedConfig");
        apply(&kfc_api, &kubefed_config(options), options.dry_run)
            .await
            .with_context(|| {
                format!(
                    "failed to apply KubeFedConfig `{}/{KUBEFED_CONFIG_NAME}` in cluster `{host}`",
                    options.namespace
                )
            })?
            .0
    };
    objects.push(AppliedObject {
        resource: format!("kubefedconfig.{}", KubeFedConfig::group(&())),
        name: KUBEFED_CONFIG_NAME.into(),
        change,
    });
    Ok(InitOutcome { objects })
}

async fn crds_exist(api: &Api<CustomResourceDefinition>) -> Result<bool> {
    let name = format!(
        "{}.{}",
        KubeFedConfig::plural(&()),
        KubeFedConfig::group(&())
    );
    Ok(api.get_opt(&name).await?.is_some())
}

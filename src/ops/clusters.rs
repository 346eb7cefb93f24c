//! `clusters`: the joined clusters, with what the controller last reported and a live probe
//! made with the stored credentials (what the control plane itself would see).

use std::time::Duration;

use anyhow::{Context as _, Result};
use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use kube::{Client, ResourceExt};
use serde::Serialize;

use crate::api::{KubeFedCluster, TlsValidation};
use crate::kubeconfig::{Protocol, build_client};

/// How long the live probe may take per cluster.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRow {
    pub name: String,
    pub api_endpoint: String,
    /// The controller's Ready condition (`True`, `False`, `Unknown`), empty when none yet.
    pub ready: String,
    pub kubernetes_version: String,
    pub secret: String,
    pub created: Option<String>,
    /// `ok (<version>)` or why the probe failed.
    pub probe: String,
    pub probe_ok: bool,
}

pub async fn list_clusters(
    host: &Client,
    namespace: &str,
    host_context: &str,
) -> Result<Vec<ClusterRow>> {
    let api: Api<KubeFedCluster> = Api::namespaced(host.clone(), namespace);
    let mut clusters = api
        .list(&ListParams::default())
        .await
        .with_context(|| format!("failed to list KubeFedClusters in namespace `{namespace}` of cluster `{host_context}`"))?
        .items;
    clusters.sort_by_key(|c| c.name_any());
    let secrets: Api<Secret> = Api::namespaced(host.clone(), namespace);
    let rows = futures::future::join_all(clusters.into_iter().map(|kfc| {
        let secrets = secrets.clone();
        async move {
            let (probe_ok, probe) = match probe(&kfc, &secrets).await {
                Ok(version) => (true, format!("ok ({version})")),
                Err(e) => (false, format!("{e:#}")),
            };
            let status = kfc.status.as_ref();
            ClusterRow {
                name: kfc.name_any(),
                api_endpoint: kfc.spec.api_endpoint.clone(),
                ready: kfc.ready_status().unwrap_or_default().to_string(),
                kubernetes_version: status
                    .and_then(|s| s.kubernetes_version.clone())
                    .unwrap_or_default(),
                secret: kfc.spec.secret_ref.name.clone(),
                created: kfc
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.to_string()),
                probe,
                probe_ok,
            }
        }
    }))
    .await;
    Ok(rows)
}

/// `GET /version` on the member with the KubeFedCluster's endpoint, CA, TLS settings, proxy
/// and the token from its Secret: exactly the credentials the controller uses.
async fn probe(kfc: &KubeFedCluster, secrets: &Api<Secret>) -> Result<String> {
    let secret_name = &kfc.spec.secret_ref.name;
    let secret = secrets
        .get_opt(secret_name)
        .await?
        .with_context(|| format!("credentials Secret `{secret_name}` is missing"))?;
    let token = secret
        .data
        .as_ref()
        .and_then(|d| d.get("token"))
        .map(|t| String::from_utf8_lossy(&t.0).into_owned())
        .with_context(|| format!("credentials Secret `{secret_name}` has no `token`"))?;
    let insecure = kfc
        .spec
        .disabled_tls_validations
        .contains(&TlsValidation::All);
    let kubeconfig = Kubeconfig {
        clusters: vec![NamedCluster {
            name: "member".into(),
            cluster: Some(Cluster {
                server: Some(kfc.spec.api_endpoint.clone()),
                certificate_authority_data: kfc
                    .spec
                    .ca_bundle
                    .as_ref()
                    .map(|ca| base64::engine::general_purpose::STANDARD.encode(&ca.0)),
                insecure_skip_tls_verify: Some(insecure),
                proxy_url: kfc.spec.proxy_url.clone().filter(|p| !p.is_empty()),
                ..Default::default()
            }),
            other: Default::default(),
        }],
        auth_infos: vec![NamedAuthInfo {
            name: "member".into(),
            auth_info: Some(AuthInfo {
                token: Some(token.into()),
                ..Default::default()
            }),
            other: Default::default(),
        }],
        contexts: vec![NamedContext {
            name: "member".into(),
            context: Some(Context {
                cluster: "member".into(),
                user: Some("member".into()),
                ..Default::default()
            }),
            other: Default::default(),
        }],
        current_context: Some("member".into()),
        ..Default::default()
    };
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    config.connect_timeout = Some(PROBE_TIMEOUT);
    let client = build_client(&config, Protocol::Multiplexed)?;
    let version = tokio::time::timeout(PROBE_TIMEOUT, client.apiserver_version())
        .await
        .context("no answer within 5 s")??;
    Ok(version.git_version)
}

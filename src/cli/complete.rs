//! Dynamic shell completion (clap_complete's environment-driven engine): context names from the
//! kubeconfig (no network), and with a short timeout, joined clusters, API types and namespaces
//! read from the host. Completion never prints errors: a failure offers nothing.

use std::ffi::OsString;
use std::time::Duration;

use clap_complete::CompletionCandidate;

use crate::kubeconfig::{LoadedKubeconfig, Protocol, build_client};

/// The budget for completions that need the host cluster.
const NETWORK_BUDGET: Duration = Duration::from_millis(1500);

/// The value of `--flag VALUE` or `--flag=VALUE` on the command line being completed.
fn flag_value(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let eq = format!("{flag}=");
    args.iter().enumerate().find_map(|(i, a)| {
        if let Some(v) = a.strip_prefix(&eq) {
            Some(v.to_string())
        } else if a == flag {
            args.get(i + 1).cloned()
        } else {
            None
        }
    })
}

fn kubeconfig() -> Option<LoadedKubeconfig> {
    let explicit = flag_value("--kubeconfig").map(std::path::PathBuf::from);
    LoadedKubeconfig::load(explicit.as_deref()).ok()
}

/// Context names of the kubeconfig (the current one first).
pub fn contexts() -> Vec<CompletionCandidate> {
    let Some(kc) = kubeconfig() else {
        return vec![];
    };
    let current = kc.current_context().map(str::to_string);
    let mut names: Vec<String> = kc.context_names().into_iter().map(str::to_string).collect();
    names.sort_by_key(|n| Some(n) != current.as_ref());
    names
        .into_iter()
        .map(|n| {
            let help = (Some(&n) == current.as_ref()).then(|| "current context".into());
            CompletionCandidate::new(OsString::from(n)).help(help)
        })
        .collect()
}

/// Run `f` against the host within the network budget; nothing on any error.
fn with_host<F, Fut>(f: F) -> Vec<CompletionCandidate>
where
    F: FnOnce(kube::Client, String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<String>>>,
{
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return vec![];
    };
    let names = rt.block_on(async {
        tokio::time::timeout(NETWORK_BUDGET, async {
            let kc = kubeconfig()?;
            let context = flag_value("--host-cluster-context");
            let access = kc.resolve(context.as_deref()).await.ok()?;
            let mut config = access.config.clone();
            config.connect_timeout = Some(NETWORK_BUDGET);
            let client = build_client(&config, Protocol::Multiplexed).ok()?;
            let ns = flag_value("--kubefed-namespace")
                .unwrap_or_else(|| crate::api::KUBEFED_NAMESPACE_DEFAULT.into());
            f(client, ns).await.ok()
        })
        .await
        .ok()
        .flatten()
    });
    names
        .unwrap_or_default()
        .into_iter()
        .map(|n| CompletionCandidate::new(OsString::from(n)))
        .collect()
}

/// The names of the objects `api` lists.
async fn names_in<K>(api: kube::Api<K>) -> anyhow::Result<Vec<String>>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let list = api.list_metadata(&Default::default()).await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect())
}

/// Joined clusters (KubeFedCluster names), for `unjoin`.
pub fn clusters() -> Vec<CompletionCandidate> {
    with_host(|client, ns| {
        names_in(kube::Api::<crate::api::KubeFedCluster>::namespaced(
            client, &ns,
        ))
    })
}

/// API type names (`plural[.group]`), for `enable`, `disable` and `federate`.
pub fn types() -> Vec<CompletionCandidate> {
    with_host(|client, _| async move {
        let d = crate::ops::discovery::discover(&client, "").await?;
        let mut names: Vec<String> = d.types.iter().map(|t| t.qualified_plural()).collect();
        names.sort();
        names.dedup();
        Ok(names)
    })
}

/// Namespaces, for `-n`.
pub fn namespaces() -> Vec<CompletionCandidate> {
    with_host(|client, _| {
        names_in(kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(
            client,
        ))
    })
}

//! `unjoin`: remove a cluster's registration: the member's ServiceAccount, token Secret, RBAC
//! and joining namespace, then the host Secret and KubeFedCluster (kubefedctl-behaviour.md
//! section 3). Idempotent: what is already gone is skipped.

use anyhow::{Context as _, Result};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;

use super::join::{HOST_CLUSTER_NAME_ANNOTATION, Location, Written};
use super::names::JoinNames;
use super::{DryRun, Reporter, is_not_found};
use crate::api::KubeFedCluster;

#[derive(Clone, Debug)]
pub struct UnjoinOptions {
    pub cluster_name: String,
    /// `--host-cluster-name`, when given.
    pub host_cluster_name: Option<String>,
    /// The host context name: the host cluster name when neither the flag nor the
    /// KubeFedCluster's annotation says otherwise.
    pub host_context: String,
    pub namespace: String,
    /// `--force`: go on past member errors (and without a reachable member).
    pub force: bool,
    pub dry_run: DryRun,
}

/// The member side of an unjoin: connected, or why not.
pub enum MemberSide<'a> {
    Connected {
        client: &'a Client,
        context: &'a str,
    },
    Unreachable {
        context: &'a str,
        error: anyhow::Error,
    },
}

#[derive(Debug, Default, Serialize)]
pub struct UnjoinOutcome {
    pub deleted: Vec<Written>,
    /// Objects that may remain on the member (unreachable member or errors under `--force`).
    pub left_on_member: Vec<String>,
    /// Member-side errors tolerated under `--force`.
    pub errors: Vec<String>,
    /// Whether the KubeFedCluster existed.
    pub was_joined: bool,
}

pub async fn unjoin(
    host: &Client,
    host_context: &str,
    member: MemberSide<'_>,
    options: &UnjoinOptions,
    reporter: &dyn Reporter,
) -> Result<UnjoinOutcome> {
    let ns = &options.namespace;
    let kfc_api: Api<KubeFedCluster> = Api::namespaced(host.clone(), ns);
    let kfc = kfc_api
        .get_opt(&options.cluster_name)
        .await
        .with_context(|| {
            format!(
                "failed to read KubeFedCluster `{ns}/{}` in cluster `{host_context}`",
                options.cluster_name
            )
        })?;
    // The host name used in the member's object names: the flag, else what join recorded,
    // else (clusters joined by Go kubefedctl) the host context name, as upstream.
    let host_cluster_name = options
        .host_cluster_name
        .clone()
        .or_else(|| {
            kfc.as_ref()
                .and_then(|k| k.annotations().get(HOST_CLUSTER_NAME_ANNOTATION).cloned())
        })
        .unwrap_or_else(|| options.host_context.clone());
    let names = JoinNames::new(&options.cluster_name, &host_cluster_name, ns);
    let mut outcome = UnjoinOutcome {
        was_joined: kfc.is_some(),
        ..Default::default()
    };
    let dp = DeleteParams {
        dry_run: options.dry_run == DryRun::Server,
        ..DeleteParams::background()
    };

    match member {
        MemberSide::Unreachable { context, error } => {
            if !options.force {
                return Err(error.context(format!(
                    "cannot unjoin cluster `{}`: its member side is unreachable (pass --force to remove the registration anyway)",
                    options.cluster_name
                )));
            }
            outcome
                .errors
                .push(format!("member `{context}` unreachable: {error:#}"));
            outcome.left_on_member = member_object_names(&names, ns);
        }
        MemberSide::Connected { client, context } => {
            reporter.step(&format!(
                "deleting the registration objects in cluster {context}"
            ));
            let mut d = Deleter {
                dry_run: options.dry_run,
                dp: &dp,
                force: options.force,
                context,
                outcome: &mut outcome,
            };
            for role in [&names.role, &names.health_check_role] {
                d.delete(
                    &Api::<ClusterRoleBinding>::all(client.clone()),
                    role,
                    "clusterrolebinding.rbac.authorization.k8s.io",
                )
                .await?;
                d.delete(
                    &Api::<ClusterRole>::all(client.clone()),
                    role,
                    "clusterrole.rbac.authorization.k8s.io",
                )
                .await?;
            }
            d.delete(
                &Api::<RoleBinding>::namespaced(client.clone(), ns),
                &names.role,
                "rolebinding.rbac.authorization.k8s.io",
            )
            .await?;
            d.delete(
                &Api::<Role>::namespaced(client.clone(), ns),
                &names.role,
                "role.rbac.authorization.k8s.io",
            )
            .await?;
            d.delete(
                &Api::<ServiceAccount>::namespaced(client.clone(), ns),
                &names.service_account,
                "serviceaccount",
            )
            .await?;
            // Upstream leaves the token Secret to the namespace deletion or the token
            // controller; deleting it explicitly leaves nothing behind on a self-joined host.
            d.delete(
                &Api::<Secret>::namespaced(client.clone(), ns),
                &names.service_account,
                "secret",
            )
            .await?;
            // The joining namespace goes too, unless it is the host's own (self-join;
            // upstream #593: compare UIDs).
            let host_ns = Api::<Namespace>::all(host.clone()).get_opt(ns).await;
            let member_ns = Api::<Namespace>::all(client.clone()).get_opt(ns).await;
            match (host_ns, member_ns) {
                (Ok(h), Ok(Some(m))) if h.as_ref().and_then(|h| h.uid()) != m.uid() => {
                    d.delete(&Api::<Namespace>::all(client.clone()), ns, "namespace")
                        .await?;
                }
                (Ok(_), Ok(_)) => {}
                (Err(e), _) | (_, Err(e)) => {
                    d.fail(anyhow::Error::from(e).context(format!(
                        "failed to read Namespace `{ns}` to compare host and member"
                    )))?;
                }
            }
        }
    }

    reporter.step("deleting the registration on the host");
    if let Some(kfc) = &kfc {
        let secret = &kfc.spec.secret_ref.name;
        delete_host(
            host,
            host_context,
            &Api::<Secret>::namespaced(host.clone(), ns),
            secret,
            "secret",
            &dp,
            options,
            &mut outcome,
        )
        .await?;
        delete_host(
            host,
            host_context,
            &kfc_api,
            &options.cluster_name,
            "kubefedcluster.core.kubefed.io",
            &dp,
            options,
            &mut outcome,
        )
        .await?;
    }
    Ok(outcome)
}

fn member_object_names(names: &JoinNames, ns: &str) -> Vec<String> {
    vec![
        format!("ClusterRoleBinding `{}`", names.role),
        format!("ClusterRole `{}`", names.role),
        format!("ClusterRoleBinding `{}`", names.health_check_role),
        format!("ClusterRole `{}`", names.health_check_role),
        format!("RoleBinding `{ns}/{}`", names.role),
        format!("Role `{ns}/{}`", names.role),
        format!("ServiceAccount `{ns}/{}`", names.service_account),
        format!("Secret `{ns}/{}`", names.service_account),
        format!("Namespace `{ns}` (unless it holds other things)"),
    ]
}

struct Deleter<'a> {
    dry_run: DryRun,
    dp: &'a DeleteParams,
    force: bool,
    context: &'a str,
    outcome: &'a mut UnjoinOutcome,
}

impl Deleter<'_> {
    async fn delete<K>(&mut self, api: &Api<K>, name: &str, resource: &'static str) -> Result<()>
    where
        K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let kind = K::kind(&K::DynamicType::default()).to_string();
        let ns = api.namespace().map(str::to_string);
        let display = match &ns {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_string(),
        };
        let result = if self.dry_run == DryRun::Client {
            api.get_opt(name).await.map(|o| o.is_some())
        } else {
            match api.delete(name, self.dp).await {
                Ok(_) => Ok(true),
                Err(e) if is_not_found(&e) => Ok(false),
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(true) => {
                self.outcome.deleted.push(Written {
                    location: Location::Member,
                    resource,
                    namespace: ns,
                    name: name.to_string(),
                    action: "deleted",
                });
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(e) => {
                let err = anyhow::Error::from(e).context(format!(
                    "failed to delete {kind} `{display}` in cluster `{}`",
                    self.context
                ));
                self.outcome
                    .left_on_member
                    .push(format!("{kind} `{display}`"));
                self.fail(err)
            }
        }
    }

    fn fail(&mut self, err: anyhow::Error) -> Result<()> {
        if self.force {
            self.outcome.errors.push(format!("{err:#}"));
            Ok(())
        } else {
            Err(err.context(crate::error::Hinted {
                message: format!(
                    "unjoin stopped in cluster `{}`; nothing was removed from the host",
                    self.context
                ),
                hint: "fix the cause and rerun, or pass --force to go on past member errors".into(),
            }))
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn delete_host<K>(
    _host: &Client,
    host_context: &str,
    api: &Api<K>,
    name: &str,
    resource: &'static str,
    dp: &DeleteParams,
    options: &UnjoinOptions,
    outcome: &mut UnjoinOutcome,
) -> Result<()>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let ns = &options.namespace;
    let existed = if options.dry_run == DryRun::Client {
        api.get_opt(name).await.map(|o| o.is_some())
    } else {
        match api.delete(name, dp).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }
    .with_context(|| {
        format!("failed to delete {kind} `{ns}/{name}` in cluster `{host_context}`")
    })?;
    if existed {
        outcome.deleted.push(Written {
            location: Location::Host,
            resource,
            namespace: Some(ns.clone()),
            name: name.to_string(),
            action: "deleted",
        });
    }
    Ok(())
}

//! `unjoin`: remove a cluster's registration: the member's ServiceAccount, token Secret, RBAC
//! and joining namespace, then the host Secret and KubeFedCluster (kubefedctl-behaviour.md
//! section 3). What is already gone is skipped. Nothing on the member is deleted for a name that
//! has neither a KubeFedCluster nor objects of its own join there, and the joining namespace is
//! kept while it holds anything that join did not create (issue 12).

use anyhow::{Context as _, Result};
use futures::FutureExt as _;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;

use super::join::{HOST_CLUSTER_NAME_ANNOTATION, Location, Written};
use super::names::JoinNames;
use super::{DryRun, Reporter, delete_if_present, delete_unless_planned};
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
    /// What kept the member's joining namespace (objects the join did not create, or types
    /// that could not be checked); empty when it was deleted or is the host's own.
    pub namespace_kept_for: Vec<String>,
}

/// What the host and the member hold of a join, read before anything is deleted.
#[derive(Debug)]
pub struct Registration {
    kfc: Option<KubeFedCluster>,
    names: JoinNames,
}

/// Find the registration `options.cluster_name` names: its KubeFedCluster, or without one
/// (a `--force` unjoin left the member side behind) objects of that name's own join on
/// `member`. Finding neither is an error, raised before anything is deleted: a typo must not
/// touch another join.
pub async fn find_registration(
    host: &Client,
    host_context: &str,
    member: Option<(&Client, &str)>,
    options: &UnjoinOptions,
) -> Result<Registration> {
    let ns = &options.namespace;
    let name = &options.cluster_name;
    let kfc_api: Api<KubeFedCluster> = Api::namespaced(host.clone(), ns);
    let kfc = kfc_api.get_opt(name).await.with_context(|| {
        format!("failed to read KubeFedCluster `{ns}/{name}` in cluster `{host_context}`")
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
    let names = JoinNames::new(name, &host_cluster_name, ns);
    if kfc.is_some() {
        return Ok(Registration { kfc, names });
    }
    let leftovers = match member {
        Some((client, context)) => join_objects_on_member(client, context, &names, ns).await?,
        None => Vec::new(),
    };
    if !leftovers.is_empty() {
        return Ok(Registration { kfc, names });
    }
    let joined: Vec<String> = kfc_api
        .list_metadata(&kube::api::ListParams::default())
        .await
        .map(|l| l.items.iter().map(|k| k.name_any()).collect())
        .unwrap_or_default();
    let message = match member {
        Some((_, context)) => format!(
            "KubeFedCluster `{ns}/{name}` does not exist in cluster `{host_context}`, and cluster `{context}` has no objects of its join; nothing was deleted"
        ),
        None => format!(
            "KubeFedCluster `{ns}/{name}` does not exist in cluster `{host_context}`; nothing was deleted"
        ),
    };
    let hint = if joined.is_empty() {
        format!(
            "no cluster is joined in namespace `{ns}` of cluster `{host_context}` (already unjoined? otherwise check --host-cluster-context and --kubefed-namespace)"
        )
    } else {
        format!(
            "joined clusters in namespace `{ns}`: {} (`kubefedctl clusters` lists them)",
            joined.join(", ")
        )
    };
    Err(crate::error::hinted(message, hint))
}

/// The objects of this name's join that exist on the member, by their derived names.
async fn join_objects_on_member(
    client: &Client,
    context: &str,
    names: &JoinNames,
    ns: &str,
) -> Result<Vec<String>> {
    async fn present<K>(api: Api<K>, name: &str, context: &str) -> Result<Option<String>>
    where
        K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let kind = K::kind(&K::DynamicType::default()).to_string();
        let display = match api.namespace() {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_string(),
        };
        let found = api
            .get_metadata_opt(name)
            .await
            .with_context(|| format!("failed to read {kind} `{display}` in cluster `{context}`"))?;
        Ok(found.map(|_| format!("{kind} `{display}`")))
    }
    let c = client;
    let found = futures::future::try_join_all([
        present(
            Api::<ServiceAccount>::namespaced(c.clone(), ns),
            &names.service_account,
            context,
        )
        .boxed(),
        present(
            Api::<Secret>::namespaced(c.clone(), ns),
            &names.service_account,
            context,
        )
        .boxed(),
        present(Api::<Role>::namespaced(c.clone(), ns), &names.role, context).boxed(),
        present(
            Api::<RoleBinding>::namespaced(c.clone(), ns),
            &names.role,
            context,
        )
        .boxed(),
        present(Api::<ClusterRole>::all(c.clone()), &names.role, context).boxed(),
        present(
            Api::<ClusterRoleBinding>::all(c.clone()),
            &names.role,
            context,
        )
        .boxed(),
        present(
            Api::<ClusterRole>::all(c.clone()),
            &names.health_check_role,
            context,
        )
        .boxed(),
        present(
            Api::<ClusterRoleBinding>::all(c.clone()),
            &names.health_check_role,
            context,
        )
        .boxed(),
    ])
    .await?;
    Ok(found.into_iter().flatten().collect())
}

pub async fn unjoin(
    host: &Client,
    host_context: &str,
    member: MemberSide<'_>,
    options: &UnjoinOptions,
    registration: &Registration,
    reporter: &dyn Reporter,
) -> Result<UnjoinOutcome> {
    let ns = &options.namespace;
    let kfc_api: Api<KubeFedCluster> = Api::namespaced(host.clone(), ns);
    let Registration { kfc, names } = registration;
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
            outcome.left_on_member = member_object_names(names, ns);
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
            // upstream #593: compare UIDs) or holds anything this join did not create: another
            // federation's join, the user's objects (issue 12).
            let host_ns = Api::<Namespace>::all(host.clone()).get_opt(ns).await;
            let member_ns = Api::<Namespace>::all(client.clone()).get_opt(ns).await;
            match (host_ns, member_ns) {
                (Ok(h), Ok(Some(m)))
                    if h.as_ref().and_then(|h| h.uid()) != m.uid()
                        && m.metadata.deletion_timestamp.is_none() =>
                {
                    let foreign = foreign_objects(client, context, ns, names).await;
                    if foreign.is_empty() {
                        d.delete(&Api::<Namespace>::all(client.clone()), ns, "namespace")
                            .await?;
                    } else {
                        d.outcome.namespace_kept_for = foreign;
                    }
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
    if let Some(kfc) = kfc {
        let secret = &kfc.spec.secret_ref.name;
        delete_host(
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

/// What lives in the member's joining namespace besides this join's own objects and what
/// Kubernetes puts in every namespace (`default` ServiceAccount, `kube-root-ca.crt`, Events):
/// `Kind `name`` entries, and the types that could not be listed (which keep the namespace
/// too: what cannot be checked is not deleted).
async fn foreign_objects(
    client: &Client,
    context: &str,
    ns: &str,
    names: &JoinNames,
) -> Vec<String> {
    use futures::StreamExt as _;
    let discovered = match super::discovery::discover(client, context).await {
        Ok(d) => d,
        Err(e) => return vec![format!("(its contents could not be listed: {e:#})")],
    };
    let types = discovered.types.into_iter().filter(|t| {
        t.namespaced
            && t.kind != "Event"
            && t.verbs.iter().any(|v| v == "list")
            && t.verbs.iter().any(|v| v == "delete")
    });
    let lists = futures::stream::iter(types.map(|t| async move {
        let api = t.dynamic_api(client, None, ns);
        let listed = api.list_metadata(&kube::api::ListParams::default()).await;
        (t, listed)
    }))
    .buffer_unordered(16)
    .collect::<Vec<_>>()
    .await;
    let mut found = Vec::new();
    for (t, listed) in lists {
        let items = match listed {
            Ok(list) => list.items,
            Err(e) => {
                found.push(format!(
                    "{} (could not be listed: {e})",
                    t.qualified_plural()
                ));
                continue;
            }
        };
        for item in items {
            let name = item.name_any();
            if !is_join_or_system_object(&t.group, &t.kind, &name, item.annotations(), names) {
                found.push(format!("{} `{name}`", t.kind));
            }
        }
    }
    found.sort();
    found
}

/// Whether an object in the joining namespace is this join's own or one Kubernetes creates in
/// every namespace.
fn is_join_or_system_object(
    group: &str,
    kind: &str,
    name: &str,
    annotations: &std::collections::BTreeMap<String, String>,
    names: &JoinNames,
) -> bool {
    match (group, kind) {
        ("", "ServiceAccount") => name == names.service_account || name == "default",
        ("", "Secret") => {
            name == names.service_account
                // The `default` ServiceAccount's token Secret of clusters before 1.24.
                || annotations
                    .get("kubernetes.io/service-account.name")
                    .is_some_and(|sa| sa == "default")
        }
        ("", "ConfigMap") => name == "kube-root-ca.crt",
        ("rbac.authorization.k8s.io", "Role" | "RoleBinding") => name == names.role,
        _ => false,
    }
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
        let result = delete_unless_planned(api, name, self.dp, self.dry_run).await;
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

async fn delete_host<K>(
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
    let existed = delete_unless_planned(api, name, dp, options.dry_run)
        .await
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

/// The label KubeFed's sync controller puts on every object it propagates to a member.
pub const MANAGED_LABEL: &str = "kubefed.io/managed";

/// What `unjoin --cleanup` would delete on the member: objects labelled
/// `kubefed.io/managed=true`, by type.
#[derive(Debug, Default, Serialize)]
pub struct CleanupPlan {
    pub types: Vec<CleanupType>,
    /// Managed namespaces are kept: they may hold objects KubeFed does not manage.
    pub kept_namespaces: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CleanupType {
    /// `plural.group` (`deployments.apps`, `configmaps`).
    pub resource: String,
    #[serde(skip)]
    pub api: kube::discovery::ApiResource,
    /// `namespace/name` or `name`.
    pub objects: Vec<(Option<String>, String)>,
}

impl CleanupPlan {
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    pub fn count(&self) -> usize {
        self.types.iter().map(|t| t.objects.len()).sum()
    }
}

/// Find what the federation propagated to a member (one discovery pass, then one labelled
/// list per listable, deletable type).
pub async fn plan_cleanup(member: &Client, context: &str) -> Result<CleanupPlan> {
    use kube::api::{DynamicObject, ListParams};
    use kube::discovery::{Discovery, verbs};
    let discovery = Discovery::new(member.clone())
        .run()
        .await
        .with_context(|| format!("failed to discover the API types of cluster `{context}`"))?;
    let selector = ListParams::default().labels(&format!("{MANAGED_LABEL}=true"));
    let mut lists = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if !caps.supports_operation(verbs::LIST) || !caps.supports_operation(verbs::DELETE) {
                continue;
            }
            lists.push(async {
                let api: Api<DynamicObject> = Api::all_with(member.clone(), &ar);
                let found = api.list_metadata(&selector).await.with_context(|| {
                    format!("failed to list {} in cluster `{context}`", ar.plural)
                })?;
                anyhow::Ok((ar, found.items))
            });
        }
    }
    let mut plan = CleanupPlan::default();
    for result in futures::future::join_all(lists).await {
        let (ar, items) = result?;
        if items.is_empty() {
            continue;
        }
        let mut objects: Vec<(Option<String>, String)> = items
            .into_iter()
            .map(|o| {
                (
                    o.metadata.namespace.clone(),
                    o.metadata.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        objects.sort();
        if ar.kind == "Namespace" && ar.group.is_empty() {
            plan.kept_namespaces
                .extend(objects.into_iter().map(|(_, n)| n));
            continue;
        }
        let resource = if ar.group.is_empty() {
            ar.plural.clone()
        } else {
            format!("{}.{}", ar.plural, ar.group)
        };
        plan.types.push(CleanupType {
            resource,
            api: ar,
            objects,
        });
    }
    plan.types.sort_by(|a, b| a.resource.cmp(&b.resource));
    Ok(plan)
}

/// Delete what [`plan_cleanup`] found. Returns how many objects were deleted.
pub async fn execute_cleanup(
    member: &Client,
    context: &str,
    plan: &CleanupPlan,
    dry_run: DryRun,
) -> Result<usize> {
    use kube::api::DynamicObject;
    if dry_run == DryRun::Client {
        return Ok(plan.count());
    }
    let dp = DeleteParams {
        dry_run: dry_run == DryRun::Server,
        ..DeleteParams::background()
    };
    use futures::StreamExt as _;
    let dp = &dp;
    let deletes = plan.types.iter().flat_map(|t| {
        t.objects.iter().map(move |(ns, name)| async move {
            let api: Api<DynamicObject> = match ns {
                Some(ns) => Api::namespaced_with(member.clone(), ns, &t.api),
                None => Api::all_with(member.clone(), &t.api),
            };
            match delete_if_present(&api, name, dp).await {
                Ok(existed) => Ok(usize::from(existed)),
                Err(e) => Err(anyhow::Error::from(e).context(format!(
                    "failed to delete {} `{}{name}` in cluster `{context}`",
                    t.api.kind,
                    ns.as_ref().map(|n| format!("{n}/")).unwrap_or_default()
                ))),
            }
        })
    });
    // Bounded concurrency: a big namespace must not open thousands of requests at once.
    let results: Vec<Result<usize>> = futures::stream::iter(deletes)
        .buffer_unordered(16)
        .collect()
        .await;
    let mut deleted = 0;
    for r in results {
        deleted += r?;
    }
    Ok(deleted)
}

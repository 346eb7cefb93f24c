//! `join`: register a member cluster with the KubeFed control plane, writing the same objects
//! as Go kubefedctl v0.10.0 (kubefedctl-behaviour.md section 2), but never half-way: if any
//! step fails, what this run created is deleted again.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use futures::StreamExt as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use kube::api::{
    Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;

use super::names::{
    InvalidName, JoinNames, suggest_subdomain, validate_path_segment, validate_subdomain,
};
use super::{DryRun, OnExisting, Reporter, delete_if_present, is_not_found};
use crate::api::{
    KUBEFED_CONFIG_NAME, KubeFedCluster, KubeFedClusterSpec, KubeFedConfig, LocalSecretReference,
    Scope, TlsValidation,
};
use crate::error::hinted;
use crate::kubeconfig::ClusterAccess;

/// Annotation on the KubeFedCluster recording the host cluster name used in the member's
/// object names, so `unjoin` finds them without being told `--host-cluster-name` again.
pub const HOST_CLUSTER_NAME_ANNOTATION: &str = "kubefedctl.io/host-cluster-name";

/// Annotation on the KubeFedCluster recording the member's `kube-system` namespace UID, which
/// identifies the physical cluster: joining it again under another name is refused.
pub const CLUSTER_UID_ANNOTATION: &str = "kubefedctl.io/cluster-uid";

/// Token Secret annotation naming its ServiceAccount.
const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
const SA_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";

#[derive(Clone, Debug)]
pub struct JoinOptions {
    /// The KubeFedCluster name.
    pub cluster_name: String,
    /// The host cluster name used in member object names (`--host-cluster-name`, else the
    /// host context name).
    pub host_cluster_name: String,
    /// The control plane's namespace on the host, also the joining namespace on the member.
    pub namespace: String,
    /// `--secret-name`: the host Secret's name; otherwise `generateName: <cluster>-`.
    pub secret_name: Option<String>,
    pub on_existing: OnExisting,
    pub dry_run: DryRun,
    /// How long to wait for the token controller to fill the member token Secret.
    pub token_timeout: Duration,
    /// `--api-endpoint`: what goes into the KubeFedCluster instead of the kubeconfig's server.
    pub api_endpoint: Option<String>,
    /// `--allow-duplicate`: join a cluster already joined under another name.
    pub allow_duplicate: bool,
}

/// A name problem found before any write.
#[derive(Debug, thiserror::Error)]
pub enum NameProblem {
    /// The cluster (KubeFedCluster) name is not a DNS-1123 subdomain.
    #[error("cluster name {invalid}")]
    ClusterName {
        invalid: InvalidName,
        suggestion: String,
    },
    /// `--host-cluster-name` has `/` or `:` (upstream's own check).
    #[error("host-cluster-name may not contain \"/\" or \":\"")]
    HostClusterNameChars,
    /// The member ServiceAccount name `<cluster>-<host>` is invalid because of the host
    /// context's name (fixable by `--host-cluster-name` or renaming the context).
    #[error("the host cluster context name makes an invalid ServiceAccount name: {invalid}")]
    HostContext {
        context: String,
        invalid: InvalidName,
        /// A safe replacement for the host context name.
        suggestion: String,
    },
    /// The ServiceAccount name is invalid although `--host-cluster-name` was given.
    #[error("--host-cluster-name makes an invalid ServiceAccount name: {invalid}")]
    HostClusterName {
        invalid: InvalidName,
        suggestion: String,
    },
}

/// Validate every name join will write, before any request. `host_cluster_name` is the flag;
/// `host_context` the (possibly defaulted) host context name.
pub fn check_names(
    cluster_name: &str,
    host_cluster_name: Option<&str>,
    host_context: &str,
    namespace: &str,
) -> Result<(), NameProblem> {
    if let Err(invalid) = validate_subdomain(cluster_name) {
        return Err(NameProblem::ClusterName {
            suggestion: suggest_subdomain(cluster_name),
            invalid,
        });
    }
    if let Some(flag) = host_cluster_name
        && (flag.contains('/') || flag.contains(':'))
    {
        return Err(NameProblem::HostClusterNameChars);
    }
    let host = host_cluster_name.unwrap_or(host_context);
    let names = JoinNames::new(cluster_name, host, namespace);
    if let Err(invalid) = validate_subdomain(&names.service_account) {
        let suggestion = suggest_subdomain(host);
        return Err(match host_cluster_name {
            Some(_) => NameProblem::HostClusterName {
                invalid,
                suggestion,
            },
            None => NameProblem::HostContext {
                context: host_context.to_string(),
                invalid,
                suggestion,
            },
        });
    }
    for role in [&names.role, &names.health_check_role] {
        if let Err(invalid) = validate_path_segment(role) {
            return Err(NameProblem::HostClusterName {
                suggestion: suggest_subdomain(host),
                invalid,
            });
        }
    }
    Ok(())
}

/// The UID of a cluster's `kube-system` namespace, which identifies the physical cluster;
/// `None` when it cannot be read (a user without that right is not checked for duplicates).
pub async fn cluster_uid(client: &Client) -> Option<String> {
    Api::<Namespace>::all(client.clone())
        .get_opt("kube-system")
        .await
        .ok()
        .flatten()
        .and_then(|n| n.uid())
}

/// One of the two clusters a join talks to.
pub struct Side<'a> {
    pub access: &'a ClusterAccess,
    pub client: &'a Client,
}

/// Where an object lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Member,
    Host,
}

/// An object join wrote (or would write).
#[derive(Clone, Debug, Serialize)]
pub struct Written {
    pub location: Location,
    /// kubectl's `resource.group`, for example `clusterrole.rbac.authorization.k8s.io`.
    pub resource: &'static str,
    pub namespace: Option<String>,
    pub name: String,
    /// `created`, `updated`, `unchanged`, `recreated`.
    pub action: &'static str,
}

#[derive(Debug, Serialize)]
pub struct JoinOutcome {
    pub cluster: String,
    pub scope: Scope,
    pub written: Vec<Written>,
    /// Every object as written (or planned in a dry run), token values redacted.
    pub objects: Vec<serde_json::Value>,
    /// Things the user should know, such as an endpoint the control plane may not reach.
    pub warnings: Vec<String>,
}

/// What this run created, for the undo on failure.
#[derive(Clone, Debug)]
enum Undo {
    Namespace(String),
    ServiceAccount(String, String),
    Secret(Location, String, String),
    ClusterRole(String),
    ClusterRoleBinding(String),
    Role(String, String),
    RoleBinding(String, String),
    KubeFedCluster(String, String),
}

struct Run<'a> {
    options: &'a JoinOptions,
    names: JoinNames,
    member: Side<'a>,
    host: Side<'a>,
    reporter: &'a dyn Reporter,
    /// Server dry-run only: the member namespace does not exist, so the API server cannot
    /// admit objects in it; they are planned without a request.
    namespace_planned: bool,
    /// Everything the checks and writes need to know up front, read in one concurrent round.
    seen: Prefetched,
}

/// The reads of a join's first round.
#[derive(Default)]
struct Prefetched {
    /// The member's `kube-system` namespace UID, when readable.
    member_uid: Option<String>,
    /// The host's `kube-system` namespace UID, when readable.
    host_uid: Option<String>,
    /// The KubeFedClusters of the control plane's namespace.
    kubefed_clusters: Vec<KubeFedCluster>,
    service_account_exists: bool,
    /// The joining namespace on the member.
    member_namespace: Option<Namespace>,
    /// `--secret-name` with `--error-on-existing`: whether that host Secret exists.
    host_secret_exists: bool,
    /// With `--error-on-existing`: the RBAC objects of the control plane's scope that exist
    /// already, as (label, description).
    rbac_leftovers: Vec<(&'static str, String)>,
}

/// What a run wrote, in order: the report, the objects, and the undo log for a failure.
#[derive(Default)]
struct Log {
    undo: Vec<Undo>,
    written: Vec<Written>,
    objects: Vec<serde_json::Value>,
}

impl Log {
    fn record(
        &mut self,
        location: Location,
        resource: &'static str,
        namespace: Option<&str>,
        name: &str,
        action: &'static str,
    ) {
        self.written.push(Written {
            location,
            resource,
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
            action,
        });
    }

    fn keep<K: Serialize>(&mut self, object: &K) {
        if let Ok(mut v) = serde_json::to_value(object) {
            redact_secret_data(&mut v);
            self.objects.push(v);
        }
    }

    fn append(&mut self, mut other: Log) {
        self.undo.append(&mut other.undo);
        self.written.append(&mut other.written);
        self.objects.append(&mut other.objects);
    }
}

/// Join `member` to the control plane on `host`.
pub async fn join(
    host: Side<'_>,
    member: Side<'_>,
    options: &JoinOptions,
    reporter: &dyn Reporter,
) -> Result<JoinOutcome> {
    let names = JoinNames::new(
        &options.cluster_name,
        &options.host_cluster_name,
        &options.namespace,
    );
    let mut run = Run {
        options,
        names,
        member,
        host,
        reporter,
        namespace_planned: false,
        seen: Prefetched::default(),
    };
    let scope = run.prefetch().await?;
    run.preflight()?;
    let mut log = Log::default();
    match run.write_all(&mut log, scope).await {
        Ok(()) => Ok(JoinOutcome {
            cluster: options.cluster_name.clone(),
            scope,
            warnings: run.endpoint_warning().into_iter().collect(),
            written: log.written,
            objects: log.objects,
        }),
        Err(err) => {
            let leftovers = run.rollback(log.undo).await;
            if leftovers.is_empty() {
                Err(err.context(format!(
                    "failed to join cluster `{}`; every object this run created was deleted again",
                    options.cluster_name
                )))
            } else {
                Err(err.context(format!(
                    "failed to join cluster `{}`, and these objects it created could not be deleted: {}",
                    options.cluster_name,
                    leftovers.join(", ")
                )))
            }
        }
    }
}

impl Run<'_> {
    fn member_ctx(&self) -> &str {
        &self.member.access.context
    }

    fn host_ctx(&self) -> &str {
        &self.host.access.context
    }

    fn post_params(&self) -> PostParams {
        PostParams {
            dry_run: self.options.dry_run == DryRun::Server,
            field_manager: Some(super::FIELD_MANAGER.to_string()),
        }
    }

    /// Every read the checks and writes need, host and member at once, then the scope.
    async fn prefetch(&mut self) -> Result<Scope> {
        let ns = &self.options.namespace;
        let sa = &self.names.service_account;
        let (role, health) = (&self.names.role, &self.names.health_check_role);
        let strict = self.options.on_existing == OnExisting::Error;
        let (m, h) = (self.member.client, self.host.client);
        let kfcs = Api::<KubeFedCluster>::namespaced(h.clone(), ns);
        let list_params = kube::api::ListParams::default();
        let host_secret = async {
            match (&self.options.secret_name, strict) {
                (Some(name), true) => Api::<Secret>::namespaced(h.clone(), ns)
                    .get_opt(name)
                    .await
                    .map(|s| s.is_some()),
                _ => Ok(false),
            }
        };
        // Left from an earlier join: which ones matter depends on the scope, read at the same
        // time; reading the other scope's too costs no extra round trip.
        let rbac = async {
            if !strict {
                return None;
            }
            let (cr, crb, r, rb, hc, hcb) = futures::join!(
                exists(Api::<ClusterRole>::all(m.clone()), role),
                exists(Api::<ClusterRoleBinding>::all(m.clone()), role),
                exists(Api::<Role>::namespaced(m.clone(), ns), role),
                exists(Api::<RoleBinding>::namespaced(m.clone(), ns), role),
                exists(Api::<ClusterRole>::all(m.clone()), health),
                exists(Api::<ClusterRoleBinding>::all(m.clone()), health),
            );
            Some(move |scope: Scope| match scope {
                Scope::Cluster => vec![
                    ("cluster role", format!("ClusterRole `{role}`"), cr),
                    (
                        "cluster role binding",
                        format!("ClusterRoleBinding `{role}`"),
                        crb,
                    ),
                ],
                Scope::Namespaced => vec![
                    ("role", format!("Role `{ns}/{role}`"), r),
                    ("role binding", format!("RoleBinding `{ns}/{role}`"), rb),
                    (
                        "health check cluster role",
                        format!("ClusterRole `{health}`"),
                        hc,
                    ),
                    (
                        "health check cluster role binding",
                        format!("ClusterRoleBinding `{health}`"),
                        hcb,
                    ),
                ],
            })
        };
        let (host_namespaces, member_namespaces) = (
            Api::<Namespace>::all(h.clone()),
            Api::<Namespace>::all(m.clone()),
        );
        let sas = Api::<ServiceAccount>::namespaced(m.clone(), ns);
        // All at once: over HTTP/2 they share one connection per server, so the round costs
        // about one round trip however many reads it has.
        let (
            (scope, host_ks, clusters, secret_exists),
            (member_ks, service_account, member_ns, rbac),
        ) = futures::join!(
            futures::future::join4(
                self.read_scope(),
                host_namespaces.get_opt("kube-system"),
                kfcs.list(&list_params),
                host_secret,
            ),
            futures::future::join4(
                member_namespaces.get_opt("kube-system"),
                sas.get_opt(sa),
                member_namespaces.get_opt(ns),
                rbac,
            ),
        );
        let scope = scope?;
        let (host_ctx, member_ctx) = (
            self.host.access.context.clone(),
            self.member.access.context.clone(),
        );
        // A user who may not read kube-system cannot be checked for duplicates; fine.
        self.seen.member_uid = member_ks.ok().flatten().and_then(|n| n.uid());
        self.seen.host_uid = host_ks.ok().flatten().and_then(|n| n.uid());
        self.seen.kubefed_clusters = clusters
            .with_context(|| {
                format!(
                    "failed to list KubeFedClusters in namespace `{ns}` of cluster `{host_ctx}`"
                )
            })?
            .items;
        self.seen.service_account_exists = service_account
            .with_context(|| {
                format!("failed to read ServiceAccount `{ns}/{sa}` in cluster `{member_ctx}`")
            })?
            .is_some();
        self.seen.member_namespace = member_ns.with_context(|| {
            format!("failed to read Namespace `{ns}` in cluster `{member_ctx}`")
        })?;
        if let Some(name) = &self.options.secret_name {
            self.seen.host_secret_exists = secret_exists.with_context(|| {
                format!("failed to read Secret `{ns}/{name}` in cluster `{host_ctx}`")
            })?;
        }
        for (label, display, found) in rbac.map(|pick| pick(scope)).unwrap_or_default() {
            let found = found
                .with_context(|| format!("failed to read {display} in cluster `{member_ctx}`"))?;
            if found {
                self.seen.rbac_leftovers.push((label, display));
            }
        }
        Ok(scope)
    }

    /// The control plane's scope, from KubeFedConfig `kubefed` on the host.
    async fn read_scope(&self) -> Result<Scope> {
        let ns = &self.options.namespace;
        let api: Api<KubeFedConfig> = Api::namespaced(self.host.client.clone(), ns);
        match api.get_opt(KUBEFED_CONFIG_NAME).await {
            Ok(Some(config)) => Ok(config.spec.scope),
            Ok(None) => Err(hinted(
                format!(
                    "A KubeFedConfig named \"{KUBEFED_CONFIG_NAME}\" was not found in namespace \"{ns}\" of cluster `{}`. Is a KubeFed control plane running in this namespace?",
                    self.host_ctx()
                ),
                format!(
                    "install it with `kubefedctl init --host-cluster-context {}` (or pass the right --kubefed-namespace)",
                    self.host_ctx()
                ),
            )),
            Err(e) if is_not_found(&e) => Err(hinted(
                format!(
                    "the KubeFed CRDs are not installed in host cluster `{}` (no KubeFedConfig API)",
                    self.host_ctx()
                ),
                format!(
                    "install them with `kubefedctl init --host-cluster-context {}`, or check --host-cluster-context",
                    self.host_ctx()
                ),
            )),
            Err(e) => Err(e).with_context(|| {
                format!(
                    "failed to read KubeFedConfig `{ns}/{KUBEFED_CONFIG_NAME}` in cluster `{}`",
                    self.host_ctx()
                )
            }),
        }
    }

    /// Refuse before any write when an object join would create already exists and
    /// `--error-on-existing` is on. Decided on what `prefetch` read; no request.
    fn preflight(&self) -> Result<()> {
        self.reporter.step("preflight checks");
        self.check_duplicate()?;
        if self.options.on_existing == OnExisting::Update {
            return Ok(());
        }
        if self.seen.service_account_exists {
            return Err(hinted(
                format!(
                    "service account: {} already exists in joining cluster: {}",
                    self.names.service_account, self.options.cluster_name
                ),
                format!(
                    "the cluster looks joined already: `kubefedctl unjoin {}` first, or rerun with --error-on-existing=false to update the join",
                    self.options.cluster_name
                ),
            ));
        }
        let name = &self.options.cluster_name;
        if self
            .seen
            .kubefed_clusters
            .iter()
            .any(|k| k.name_any() == *name)
        {
            return Err(hinted(
                format!("federated cluster {name} already exists in host cluster"),
                format!(
                    "choose another cluster name, `kubefedctl unjoin {name}` first, or pass --error-on-existing=false"
                ),
            ));
        }
        if let Some(secret) = &self.options.secret_name
            && self.seen.host_secret_exists
        {
            return Err(hinted(
                format!("host cluster secret {secret} already exists"),
                "choose another --secret-name, or pass --error-on-existing=false to update it",
            ));
        }
        // RBAC objects left from an earlier join fail the join before anything is written (Go
        // found them half-way, after creating the ServiceAccount).
        if let Some((label, display)) = self.seen.rbac_leftovers.first() {
            return Err(hinted(
                format!(
                    "{label} for service account {} in joining cluster {} already exists",
                    self.names.service_account, self.options.cluster_name
                ),
                format!(
                    "{display} in cluster `{}` is left from an earlier join: `kubefedctl unjoin {}` first, or pass --error-on-existing=false",
                    self.member_ctx(),
                    self.options.cluster_name
                ),
            ));
        }
        Ok(())
    }

    /// A loopback or `localhost` endpoint works for kubefedctl on this machine, but a control
    /// plane running inside another cluster (kind, any real deployment) cannot reach it.
    fn endpoint_warning(&self) -> Option<String> {
        let endpoint = self
            .options
            .api_endpoint
            .as_deref()
            .unwrap_or(&self.member.access.server);
        let host = endpoint
            .split("://")
            .nth(1)
            .unwrap_or(endpoint)
            .split('/')
            .next()
            .unwrap_or_default();
        let hostname = if host.starts_with('[') {
            host.split(']')
                .next()
                .unwrap_or_default()
                .trim_start_matches('[')
        } else {
            host.rsplit_once(':').map_or(host, |(h, _)| h)
        };
        let loopback = hostname == "localhost"
            || hostname
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback || self.options.api_endpoint.is_some() {
            return None;
        }
        if self.seen.host_uid.is_some() && self.seen.host_uid == self.seen.member_uid {
            return None; // the host itself: its control plane reaches its own API server
        }
        Some(format!(
            "cluster `{}` is registered with the loopback endpoint {endpoint}: a control plane running \
             inside cluster `{}` cannot reach it (fine when it runs on this machine); pass --api-endpoint \
             with an address reachable from there",
            self.options.cluster_name,
            self.host_ctx()
        ))
    }

    /// Refuse to join a physical cluster that is already joined under another name
    /// (upstream #749), recognised by its `kube-system` namespace UID.
    fn check_duplicate(&self) -> Result<()> {
        let Some(uid) = &self.seen.member_uid else {
            return Ok(());
        };
        if self.options.allow_duplicate {
            return Ok(());
        }
        if let Some(other) = self.seen.kubefed_clusters.iter().find(|k| {
            k.name_any() != self.options.cluster_name
                && k.annotations().get(CLUSTER_UID_ANNOTATION) == Some(uid)
        }) {
            return Err(hinted(
                format!(
                    "cluster `{}` (context `{}`) is already joined as `{}`: both have kube-system namespace UID {uid}",
                    self.options.cluster_name,
                    self.member_ctx(),
                    other.name_any()
                ),
                format!(
                    "use the existing registration, `kubefedctl unjoin {}` first, or pass --allow-duplicate",
                    other.name_any()
                ),
            ));
        }
        Ok(())
    }

    /// The member namespace first; then two chains at once: the ServiceAccount, its token
    /// Secret and the token, beside the RBAC objects; then the host Secret and the
    /// KubeFedCluster, which need the token. Objects are reported in that order.
    async fn write_all(&mut self, log: &mut Log, scope: Scope) -> Result<()> {
        self.ensure_member_namespace(log).await?;
        let mut rbac_log = Log::default();
        let this = &*self;
        let credentials = async {
            let create = async {
                this.create_service_account(log).await?;
                this.create_token_secret(log).await
            };
            let (events, created) = futures::join!(this.open_token_watch(), create);
            created?;
            this.wait_for_token(events).await
        };
        let rbac = async {
            match scope {
                Scope::Cluster => {
                    let role = &this.names.role;
                    this.cluster_role(&mut rbac_log, role, cluster_scope_rules())
                        .await?;
                    this.cluster_role_binding(&mut rbac_log, role).await
                }
                Scope::Namespaced => {
                    let health = &this.names.health_check_role;
                    this.role(&mut rbac_log).await?;
                    this.role_binding(&mut rbac_log).await?;
                    this.cluster_role(&mut rbac_log, health, health_check_rules())
                        .await?;
                    this.cluster_role_binding(&mut rbac_log, health).await
                }
            }
        };
        let (credentials, rbac) = futures::join!(credentials, rbac);
        log.append(rbac_log);
        let (token, ca_crt) = credentials?;
        rbac?;
        let secret_name = self.host_secret(log, token).await?;
        self.kubefed_cluster(log, secret_name, ca_crt).await
    }

    /// The joining namespace on the member (as read by `prefetch`): reused when present; when
    /// it is being deleted (a recent unjoin), wait for it to go first instead of failing
    /// (upstream #1258).
    async fn ensure_member_namespace(&mut self, log: &mut Log) -> Result<()> {
        let ns = self.options.namespace.clone();
        let api: Api<Namespace> = Api::all(self.member.client.clone());
        let ctx = self.member_ctx().to_string();
        if let Some(existing) = self.seen.member_namespace.take() {
            if existing.metadata.deletion_timestamp.is_none() {
                return Ok(());
            }
            self.reporter
                .step(&format!("waiting for namespace {ns} to finish terminating"));
            let uid = existing.uid().unwrap_or_default();
            tokio::time::timeout(
                Duration::from_secs(120),
                await_condition(api.clone(), &ns, conditions::is_deleted(&uid)),
            )
            .await
            .map_err(|_| {
                anyhow!("Namespace `{ns}` in cluster `{ctx}` is still terminating after 120 s")
            })?
            .with_context(|| format!("failed to watch Namespace `{ns}` in cluster `{ctx}`"))?;
        }
        self.reporter.step(&format!("creating namespace {ns}"));
        let object = Namespace {
            metadata: ObjectMeta {
                name: Some(ns.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        log.keep(&object);
        if self.options.dry_run == DryRun::Client {
            log.record(Location::Member, "namespace", None, &ns, "created");
            return Ok(());
        }
        match api.create(&self.post_params(), &object).await {
            Ok(_) => {
                if self.options.dry_run.writes() {
                    log.undo.push(Undo::Namespace(ns.clone()));
                } else {
                    self.namespace_planned = true;
                }
                log.record(Location::Member, "namespace", None, &ns, "created");
                Ok(())
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(e)
                .with_context(|| format!("failed to create Namespace `{ns}` in cluster `{ctx}`")),
        }
    }

    async fn create_service_account(&self, log: &mut Log) -> Result<()> {
        let ns = self.options.namespace.clone();
        let name = self.names.service_account.clone();
        let object = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                annotations: Some(BTreeMap::from([(
                    "kubernetes.io/enforce-mountable-secrets".to_string(),
                    "true".to_string(),
                )])),
                ..Default::default()
            },
            automount_service_account_token: Some(false),
            ..Default::default()
        };
        let api: Api<ServiceAccount> = Api::namespaced(self.member.client.clone(), &ns);
        self.reporter
            .step(&format!("creating service account {name}"));
        self.create_member(log, &api, object, "serviceaccount", |n, ns| {
            Undo::ServiceAccount(ns, n)
        })
        .await
    }

    async fn create_token_secret(&self, log: &mut Log) -> Result<()> {
        let ns = self.options.namespace.clone();
        let name = self.names.service_account.clone();
        let object = Secret {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                annotations: Some(BTreeMap::from([(
                    SA_NAME_ANNOTATION.to_string(),
                    name.clone(),
                )])),
                ..Default::default()
            },
            type_: Some(SA_TOKEN_TYPE.to_string()),
            ..Default::default()
        };
        let api: Api<Secret> = Api::namespaced(self.member.client.clone(), &ns);
        self.create_member(log, &api, object, "secret", |n, ns| {
            Undo::Secret(Location::Member, ns, n)
        })
        .await
    }

    /// Create a namespaced member object; an existing one is kept (upstream never updates the
    /// ServiceAccount or its token Secret) unless `--error-on-existing` says to fail.
    async fn create_member<K>(
        &self,
        log: &mut Log,
        api: &Api<K>,
        object: K,
        resource: &'static str,
        undo: impl Fn(String, String) -> Undo,
    ) -> Result<()>
    where
        K: Resource + Clone + Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let name = object.name_any();
        let ns = object.namespace().unwrap_or_default();
        let kind = K::kind(&K::DynamicType::default()).to_string();
        log.keep(&object);
        if self.options.dry_run == DryRun::Client || self.namespace_planned {
            log.record(Location::Member, resource, Some(&ns), &name, "created");
            return Ok(());
        }
        match api.create(&self.post_params(), &object).await {
            Ok(_) => {
                if self.options.dry_run.writes() {
                    log.undo.push(undo(name.clone(), ns.clone()));
                }
                log.record(Location::Member, resource, Some(&ns), &name, "created");
                Ok(())
            }
            Err(kube::Error::Api(s))
                if s.code == 409 && self.options.on_existing == OnExisting::Update =>
            {
                log.record(Location::Member, resource, Some(&ns), &name, "unchanged");
                Ok(())
            }
            Err(e) => Err(e).with_context(|| {
                format!(
                    "failed to create {kind} `{ns}/{name}` in cluster `{}`",
                    self.member_ctx()
                )
            }),
        }
    }

    fn subjects(&self) -> Vec<Subject> {
        vec![Subject {
            kind: "ServiceAccount".into(),
            name: self.names.service_account.clone(),
            namespace: Some(self.options.namespace.clone()),
            ..Default::default()
        }]
    }

    async fn cluster_role(&self, log: &mut Log, name: &str, rules: Vec<PolicyRule>) -> Result<()> {
        let api: Api<ClusterRole> = Api::all(self.member.client.clone());
        let object = ClusterRole {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                ..Default::default()
            },
            rules: Some(rules),
            ..Default::default()
        };
        log.keep(&object);
        self.upsert_rbac(
            log,
            &api,
            object,
            "clusterrole.rbac.authorization.k8s.io",
            |existing, desired| {
                let mut updated = existing.clone();
                updated.rules = desired.rules.clone();
                (updated, false)
            },
        )
        .await
    }

    async fn cluster_role_binding(&self, log: &mut Log, name: &str) -> Result<()> {
        let api: Api<ClusterRoleBinding> = Api::all(self.member.client.clone());
        let object = ClusterRoleBinding {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                ..Default::default()
            },
            role_ref: RoleRef {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: "ClusterRole".into(),
                name: name.to_string(),
            },
            subjects: Some(self.subjects()),
        };
        log.keep(&object);
        self.upsert_rbac(
            log,
            &api,
            object,
            "clusterrolebinding.rbac.authorization.k8s.io",
            |existing, desired| {
                let mut updated = existing.clone();
                updated.subjects = desired.subjects.clone();
                // roleRef is immutable: a different one means delete and create.
                (updated, existing.role_ref != desired.role_ref)
            },
        )
        .await
    }

    async fn role(&self, log: &mut Log) -> Result<()> {
        let ns = self.options.namespace.clone();
        let api: Api<Role> = Api::namespaced(self.member.client.clone(), &ns);
        let object = Role {
            metadata: ObjectMeta {
                name: Some(self.names.role.clone()),
                namespace: Some(ns),
                ..Default::default()
            },
            rules: Some(vec![all_resources_rule()]),
        };
        log.keep(&object);
        self.upsert_rbac(
            log,
            &api,
            object,
            "role.rbac.authorization.k8s.io",
            |existing, desired| {
                let mut updated = existing.clone();
                updated.rules = desired.rules.clone();
                (updated, false)
            },
        )
        .await
    }

    async fn role_binding(&self, log: &mut Log) -> Result<()> {
        let ns = self.options.namespace.clone();
        let api: Api<RoleBinding> = Api::namespaced(self.member.client.clone(), &ns);
        let object = RoleBinding {
            metadata: ObjectMeta {
                name: Some(self.names.role.clone()),
                namespace: Some(ns),
                ..Default::default()
            },
            role_ref: RoleRef {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: "Role".into(),
                name: self.names.role.clone(),
            },
            subjects: Some(self.subjects()),
        };
        log.keep(&object);
        self.upsert_rbac(
            log,
            &api,
            object,
            "rolebinding.rbac.authorization.k8s.io",
            |existing, desired| {
                let mut updated = existing.clone();
                updated.subjects = desired.subjects.clone();
                (updated, existing.role_ref != desired.role_ref)
            },
        )
        .await
    }

    /// Create (with `--error-on-existing` the preflight has refused any leftover already); with
    /// `--error-on-existing=false`, read first and replace the rules or subjects of an existing
    /// object, deleting and recreating a binding whose roleRef differs.
    async fn upsert_rbac<K>(
        &self,
        log: &mut Log,
        api: &Api<K>,
        desired: K,
        resource: &'static str,
        merge: impl Fn(&K, &K) -> (K, bool),
    ) -> Result<()>
    where
        K: Resource + Clone + Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let name = desired.name_any();
        let ns = desired.namespace();
        let kind = K::kind(&K::DynamicType::default()).to_string();
        let ctx = self.member_ctx().to_string();
        let display = match &ns {
            Some(ns) => format!("{ns}/{name}"),
            None => name.clone(),
        };
        // The preflight saw none of these with --error-on-existing: create straight away.
        let existing = if self.options.on_existing == OnExisting::Error {
            None
        } else {
            api.get_opt(&name)
                .await
                .with_context(|| format!("failed to read {kind} `{display}` in cluster `{ctx}`"))?
        };
        let undo_for = |name: &str| match kind.as_str() {
            "ClusterRole" => Undo::ClusterRole(name.to_string()),
            "ClusterRoleBinding" => Undo::ClusterRoleBinding(name.to_string()),
            "Role" => Undo::Role(ns.clone().unwrap_or_default(), name.to_string()),
            _ => Undo::RoleBinding(ns.clone().unwrap_or_default(), name.to_string()),
        };
        let Some(existing) = existing else {
            let planned_in_new_namespace = ns.is_some() && self.namespace_planned;
            if self.options.dry_run != DryRun::Client && !planned_in_new_namespace {
                api.create(&self.post_params(), &desired)
                    .await
                    .with_context(|| {
                        format!("failed to create {kind} `{display}` in cluster `{ctx}`")
                    })?;
                if self.options.dry_run.writes() {
                    log.undo.push(undo_for(&name));
                }
            }
            log.record(Location::Member, resource, ns.as_deref(), &name, "created");
            return Ok(());
        };
        let (updated, recreate) = merge(&existing, &desired);
        if self.options.dry_run == DryRun::Client {
            log.record(
                Location::Member,
                resource,
                ns.as_deref(),
                &name,
                if recreate { "recreated" } else { "updated" },
            );
            return Ok(());
        }
        let dry_run = self.options.dry_run == DryRun::Server;
        if recreate {
            let dp = DeleteParams {
                dry_run,
                ..Default::default()
            };
            api.delete(&name, &dp).await.with_context(|| {
                format!(
                    "failed to delete {kind} `{display}` in cluster `{ctx}` to change its roleRef"
                )
            })?;
            if !dry_run {
                api.create(&self.post_params(), &desired)
                    .await
                    .with_context(|| {
                        format!("failed to create {kind} `{display}` in cluster `{ctx}`")
                    })?;
            }
            log.record(
                Location::Member,
                resource,
                ns.as_deref(),
                &name,
                "recreated",
            );
        } else {
            api.replace(&name, &self.post_params(), &updated)
                .await
                .with_context(|| {
                    format!("failed to update {kind} `{display}` in cluster `{ctx}`")
                })?;
            log.record(Location::Member, resource, ns.as_deref(), &name, "updated");
        }
        Ok(())
    }

    /// Open a watch on the member token Secret before it is created, so the token
    /// controller's update arrives without another round trip. `None` in a dry run, or when
    /// the watch cannot be opened (`wait_for_token` then reads and watches the usual way).
    async fn open_token_watch(&self) -> Option<TokenEvents> {
        if !self.options.dry_run.writes() {
            return None;
        }
        let api: Api<Secret> = Api::namespaced(self.member.client.clone(), &self.options.namespace);
        let params = WatchParams::default()
            .fields(&format!("metadata.name={}", self.names.service_account))
            .timeout(self.options.token_timeout.as_secs().clamp(1, 290) as u32);
        // "0": any resource version; the server starts with the Secret as it is now, if it
        // exists, then sends every change.
        match api.watch(&params, "0").await {
            Ok(events) => Some(events.boxed()),
            Err(e) => {
                tracing::debug!("cannot watch the token Secret, will read it instead: {e}");
                None
            }
        }
    }

    /// Wait for the token controller to fill the member token Secret. Returns the token and
    /// the Secret's `ca.crt`.
    async fn wait_for_token(
        &self,
        events: Option<TokenEvents>,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        if !self.options.dry_run.writes() {
            // Nothing was created, so nothing will be signed: plan with a placeholder.
            return Ok((b"<token from the member token Secret>".to_vec(), None));
        }
        let ns = &self.options.namespace;
        let name = self.names.service_account.clone();
        let ctx = self.member_ctx().to_string();
        self.reporter
            .step(&format!("waiting for the token of service account {name}"));
        let api: Api<Secret> = Api::namespaced(self.member.client.clone(), ns);
        let has_token = |s: Option<&Secret>| {
            s.and_then(|s| s.data.as_ref())
                .is_some_and(|d| d.get("token").is_some_and(|t| !t.0.is_empty()))
        };
        let started = tokio::time::Instant::now();
        let mut found = None;
        if let Some(mut events) = events {
            // The CLI bounds the timeout; an unbounded one waits "forever", never panics.
            let deadline = started
                .checked_add(self.options.token_timeout)
                .unwrap_or_else(|| started + Duration::from_secs(365 * 24 * 3600));
            while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.next()).await {
                match event {
                    Ok(WatchEvent::Added(s) | WatchEvent::Modified(s)) if has_token(Some(&s)) => {
                        found = Some(s);
                        break;
                    }
                    Ok(WatchEvent::Deleted(_)) => bail!(
                        "Secret `{ns}/{name}` in cluster `{ctx}` disappeared while waiting for its token"
                    ),
                    Ok(WatchEvent::Error(status)) => {
                        tracing::debug!("token watch ended: {}", status.message);
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!("token watch failed: {e}");
                        break;
                    }
                }
            }
        }
        let secret = match found {
            Some(s) => s,
            None => {
                // No watch, or it ended early: one GET, then a watch for what time is left.
                let ready = api.get_opt(&name).await.with_context(|| {
                    format!("failed to read Secret `{ns}/{name}` in cluster `{ctx}`")
                })?;
                match ready {
                    Some(s) if has_token(Some(&s)) => s,
                    _ => {
                        let left = self.options.token_timeout.saturating_sub(started.elapsed());
                        self.watch_token(api, &name, left, has_token).await?
                    }
                }
            }
        };
        let data = secret.data.unwrap_or_default();
        let token = data.get("token").map(|t| t.0.clone()).unwrap_or_default();
        let ca = data.get("ca.crt").map(|c| c.0.clone());
        Ok((token, ca))
    }

    async fn watch_token(
        &self,
        api: Api<Secret>,
        name: &str,
        left: Duration,
        has_token: impl Fn(Option<&Secret>) -> bool,
    ) -> Result<Secret> {
        let ns = &self.options.namespace;
        let ctx = self.member_ctx();
        let secret = tokio::time::timeout(left, await_condition(api, name, has_token))
            .await
            .map_err(|_| {
                hinted(
                    format!(
                        "timed out after {} s waiting for a token in Secret `{ns}/{name}` in cluster `{ctx}`",
                        self.options.token_timeout.as_secs()
                    ),
                    "the cluster's token controller did not fill it: is kube-controller-manager running with a \
                     --service-account-private-key-file? (`--token-timeout` waits longer)",
                )
            })?
            .with_context(|| format!("failed to watch Secret `{ns}/{name}` in cluster `{ctx}`"))?
            .ok_or_else(|| anyhow!("Secret `{ns}/{name}` in cluster `{ctx}` disappeared while waiting for its token"))?;
        Ok(secret)
    }

    /// The host Secret holding the member token, data `token` only (as upstream). A given
    /// `--secret-name` is reused when its token is the same and replaced otherwise; without
    /// one, a re-join reuses the Secret the KubeFedCluster already references instead of
    /// leaking a new generated one per run (upstream's behaviour).
    async fn host_secret(&self, log: &mut Log, token: Vec<u8>) -> Result<String> {
        let ns = self.options.namespace.clone();
        let ctx = self.host_ctx().to_string();
        let api: Api<Secret> = Api::namespaced(self.host.client.clone(), &ns);
        let mut reuse = self.options.secret_name.clone();
        if reuse.is_none() && self.options.on_existing == OnExisting::Update {
            // The KubeFedCluster as read at the start of this run.
            if let Some(kfc) = self
                .seen
                .kubefed_clusters
                .iter()
                .find(|k| k.name_any() == self.options.cluster_name)
            {
                reuse = Some(kfc.spec.secret_ref.name.clone());
            }
        }
        let data = BTreeMap::from([("token".to_string(), ByteString(token))]);
        let mut object = Secret {
            metadata: ObjectMeta {
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            data: Some(data.clone()),
            ..Default::default()
        };
        if let Some(name) = &reuse {
            object.metadata.name = Some(name.clone());
            let existing = api.get_opt(name).await.with_context(|| {
                format!("failed to read Secret `{ns}/{name}` in cluster `{ctx}`")
            })?;
            if let Some(mut existing) = existing {
                log.keep(&object);
                if existing.data.as_ref() == Some(&data) {
                    log.record(Location::Host, "secret", Some(&ns), name, "unchanged");
                    return Ok(name.clone());
                }
                if self.options.dry_run != DryRun::Client {
                    existing.data = Some(data);
                    api.replace(name, &self.post_params(), &existing)
                        .await
                        .with_context(|| {
                            format!("failed to update Secret `{ns}/{name}` in cluster `{ctx}`")
                        })?;
                }
                log.record(Location::Host, "secret", Some(&ns), name, "updated");
                return Ok(name.clone());
            }
        } else {
            object.metadata.generate_name = Some(format!("{}-", self.options.cluster_name));
        }
        log.keep(&object);
        if self.options.dry_run == DryRun::Client {
            let name =
                reuse.unwrap_or_else(|| format!("{}-<generated>", self.options.cluster_name));
            log.record(Location::Host, "secret", Some(&ns), &name, "created");
            return Ok(name);
        }
        let created = api
            .create(&self.post_params(), &object)
            .await
            .with_context(|| {
                format!(
                    "failed to create the credentials Secret for cluster `{}` in namespace `{ns}` of cluster `{ctx}`",
                    self.options.cluster_name
                )
            })?;
        let name = created.name_any();
        if self.options.dry_run.writes() {
            log.undo
                .push(Undo::Secret(Location::Host, ns.clone(), name.clone()));
        }
        log.record(Location::Host, "secret", Some(&ns), &name, "created");
        Ok(name)
    }

    async fn kubefed_cluster(
        &self,
        log: &mut Log,
        secret_name: String,
        ca_crt: Option<Vec<u8>>,
    ) -> Result<()> {
        let ns = self.options.namespace.clone();
        let ctx = self.host_ctx().to_string();
        let name = self.options.cluster_name.clone();
        let cluster = &self.member.access.cluster;
        let insecure = cluster.insecure_skip_tls_verify.unwrap_or(false);
        // NB: upstream #1123/#1361: prefer the kubeconfig's inline CA over the token Secret's.
        let inline_ca = match cluster.certificate_authority_data.as_deref() {
            Some(data) if !data.is_empty() => Some(decode_base64(data).with_context(|| {
                format!(
                    "certificate-authority-data of context `{}` is not valid base64",
                    self.member_ctx()
                )
            })?),
            _ => None,
        };
        let ca_bundle = inline_ca.or(ca_crt).map(ByteString);
        let spec = KubeFedClusterSpec {
            api_endpoint: self
                .options
                .api_endpoint
                .clone()
                .unwrap_or_else(|| self.member.access.server.clone()),
            ca_bundle,
            secret_ref: LocalSecretReference { name: secret_name },
            disabled_tls_validations: if insecure {
                vec![TlsValidation::All]
            } else {
                vec![]
            },
            // Go's kubefedctl always writes proxyURL, "" when unset.
            proxy_url: Some(cluster.proxy_url.clone().unwrap_or_default()),
        };
        let mut object = KubeFedCluster::new(&name, spec);
        object.metadata.namespace = Some(ns.clone());
        let mut annotations = BTreeMap::from([(
            HOST_CLUSTER_NAME_ANNOTATION.to_string(),
            self.options.host_cluster_name.clone(),
        )]);
        if let Some(uid) = &self.seen.member_uid {
            annotations.insert(CLUSTER_UID_ANNOTATION.to_string(), uid.clone());
        }
        object.metadata.annotations = Some(annotations.clone());
        log.keep(&object);
        let resource = "kubefedcluster.core.kubefed.io";
        let api: Api<KubeFedCluster> = Api::namespaced(self.host.client.clone(), &ns);
        let existing = self
            .seen
            .kubefed_clusters
            .iter()
            .find(|k| k.name_any() == name)
            .cloned();
        if self.options.dry_run == DryRun::Client {
            let action = if existing.is_some() {
                "updated"
            } else {
                "created"
            };
            log.record(Location::Host, resource, Some(&ns), &name, action);
            return Ok(());
        }
        match existing {
            None => {
                api.create(&self.post_params(), &object)
                    .await
                    .with_context(|| {
                        format!("failed to create KubeFedCluster `{ns}/{name}` in cluster `{ctx}`")
                    })?;
                if self.options.dry_run.writes() {
                    log.undo
                        .push(Undo::KubeFedCluster(ns.clone(), name.clone()));
                }
                log.record(Location::Host, resource, Some(&ns), &name, "created");
            }
            Some(_) if self.options.on_existing == OnExisting::Error => {
                bail!("federated cluster {name} already exists in host cluster");
            }
            Some(existing) => {
                // NB: issue 12.4: the new spec alone, as a merge patch, can never remove a
                // field (`caBundle`, `disabledTLSValidations` serialize as absent), so a member
                // that moved from insecure to a real CA stayed insecure. As upstream's
                // `MergeFrom(existing)`: the difference from the KubeFedCluster as read, with
                // `null` for what a fresh join would not write.
                let patch = serde_json::json!({
                    "metadata": {"annotations": annotations},
                    "spec": merge_patch(
                        &serde_json::to_value(&existing.spec)?,
                        &serde_json::to_value(&object.spec)?,
                    ),
                });
                let params = PatchParams {
                    dry_run: self.options.dry_run == DryRun::Server,
                    field_manager: Some(super::FIELD_MANAGER.into()),
                    ..Default::default()
                };
                api.patch(&name, &params, &Patch::Merge(&patch))
                    .await
                    .with_context(|| {
                        format!("failed to update KubeFedCluster `{ns}/{name}` in cluster `{ctx}`")
                    })?;
                log.record(Location::Host, resource, Some(&ns), &name, "updated");
            }
        }
        Ok(())
    }

    /// Delete what this run created, newest first. Returns what could not be deleted.
    async fn rollback(&self, mut undo_log: Vec<Undo>) -> Vec<String> {
        let mut leftovers = Vec::new();
        let member = self.member.client.clone();
        let host = self.host.client.clone();
        let dp = DeleteParams::background();
        while let Some(undo) = undo_log.pop() {
            self.reporter.step(&format!("rolling back {undo:?}"));
            let (what, result) = match &undo {
                Undo::Namespace(n) => (
                    format!("Namespace `{n}`"),
                    delete_if_present(&Api::<Namespace>::all(member.clone()), n, &dp).await,
                ),
                Undo::ServiceAccount(ns, n) => (
                    format!("ServiceAccount `{ns}/{n}`"),
                    delete_if_present(
                        &Api::<ServiceAccount>::namespaced(member.clone(), ns),
                        n,
                        &dp,
                    )
                    .await,
                ),
                Undo::Secret(loc, ns, n) => {
                    let c = if *loc == Location::Member {
                        member.clone()
                    } else {
                        host.clone()
                    };
                    (
                        format!("Secret `{ns}/{n}`"),
                        delete_if_present(&Api::<Secret>::namespaced(c, ns), n, &dp).await,
                    )
                }
                Undo::ClusterRole(n) => (
                    format!("ClusterRole `{n}`"),
                    delete_if_present(&Api::<ClusterRole>::all(member.clone()), n, &dp).await,
                ),
                Undo::ClusterRoleBinding(n) => (
                    format!("ClusterRoleBinding `{n}`"),
                    delete_if_present(&Api::<ClusterRoleBinding>::all(member.clone()), n, &dp)
                        .await,
                ),
                Undo::Role(ns, n) => (
                    format!("Role `{ns}/{n}`"),
                    delete_if_present(&Api::<Role>::namespaced(member.clone(), ns), n, &dp).await,
                ),
                Undo::RoleBinding(ns, n) => (
                    format!("RoleBinding `{ns}/{n}`"),
                    delete_if_present(&Api::<RoleBinding>::namespaced(member.clone(), ns), n, &dp)
                        .await,
                ),
                Undo::KubeFedCluster(ns, n) => (
                    format!("KubeFedCluster `{ns}/{n}`"),
                    delete_if_present(&Api::<KubeFedCluster>::namespaced(host.clone(), ns), n, &dp)
                        .await,
                ),
            };
            if let Err(e) = result {
                tracing::warn!("rollback: failed to delete {what}: {e}");
                leftovers.push(what);
            }
        }
        leftovers
    }
}

/// The member token Secret's watch events.
type TokenEvents = futures::stream::BoxStream<'static, kube::Result<WatchEvent<Secret>>>;

/// Whether the named object exists (a metadata-only GET).
async fn exists<K>(api: Api<K>, name: &str) -> Result<bool, kube::Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    Ok(api.get_metadata_opt(name).await?.is_some())
}

/// The JSON merge patch (RFC 7386) that turns `old` into `new`: changed values, `null` for
/// removed keys, nested objects diffed key by key (apimachinery's `CreateMergePatch`).
fn merge_patch(old: &serde_json::Value, new: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let (Value::Object(old), Value::Object(new)) = (old, new) else {
        return new.clone();
    };
    let mut patch = serde_json::Map::new();
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        patch.insert(key.clone(), Value::Null);
    }
    for (key, value) in new {
        match old.get(key) {
            Some(before) if before == value => {}
            Some(before @ Value::Object(_)) if value.is_object() => {
                patch.insert(key.clone(), merge_patch(before, value));
            }
            _ => {
                patch.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(patch)
}

fn all_resources_rule() -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec!["*".into()]),
        resources: Some(vec!["*".into()]),
        verbs: vec!["*".into()],
        ..Default::default()
    }
}

/// Cluster scope: everything, plus GET on every non-resource URL.
fn cluster_scope_rules() -> Vec<PolicyRule> {
    vec![
        all_resources_rule(),
        PolicyRule {
            non_resource_urls: Some(vec!["*".into()]),
            verbs: vec!["get".into()],
            ..Default::default()
        },
    ]
}

/// Namespaced scope's health-check ClusterRole.
fn health_check_rules() -> Vec<PolicyRule> {
    vec![
        PolicyRule {
            non_resource_urls: Some(vec!["/healthz".into()]),
            // NB: upstream writes a capital-G "Get", which RBAC never matches (verbs are
            // case-sensitive); kept for wire compatibility. /healthz is public anyway.
            verbs: vec!["Get".into()],
            ..Default::default()
        },
        PolicyRule {
            api_groups: Some(vec!["".into()]),
            resources: Some(vec!["nodes".into()]),
            verbs: vec!["list".into()],
            ..Default::default()
        },
    ]
}

fn decode_base64(data: &str) -> Result<Vec<u8>> {
    use base64::Engine as _;
    let cleaned: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(cleaned)?)
}

/// Never print a token: Secret data values become `<redacted>`.
fn redact_secret_data(v: &mut serde_json::Value) {
    if v.get("kind").and_then(|k| k.as_str()) == Some("Secret")
        && let Some(data) = v.get_mut("data").and_then(|d| d.as_object_mut())
    {
        for value in data.values_mut() {
            *value = serde_json::Value::String("<redacted>".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_nulls_fields_a_fresh_join_would_not_write() {
        let old = json!({
            "apiEndpoint": "https://a",
            "caBundle": "Q0E=",
            "disabledTLSValidations": ["*"],
            "secretRef": {"name": "s"},
            "proxyURL": "",
        });
        let new = json!({
            "apiEndpoint": "https://b",
            "secretRef": {"name": "s"},
            "proxyURL": "",
        });
        assert_eq!(
            merge_patch(&old, &new),
            json!({"apiEndpoint": "https://b", "caBundle": null, "disabledTLSValidations": null})
        );
        assert_eq!(merge_patch(&new, &new), json!({}));
        assert_eq!(
            merge_patch(&json!({"a": {"b": 1, "c": 2}}), &json!({"a": {"b": 1}})),
            json!({"a": {"c": null}})
        );
    }
}

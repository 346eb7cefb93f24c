//! `kubefedctl federate`: create federated objects from Kubernetes objects.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow};
use clap::{ArgAction, Args};
use serde_json::Value;

use super::GlobalArgs;
use crate::error::{UsageError, hinted};
use crate::kubeconfig::Protocol;
use crate::ops::discovery::{ApiType, discover};
use crate::ops::enable::{SchemaSource, check_namespace, sorted, type_objects, write_type};
use crate::ops::federate::{
    FederateReport, FederatedType, ObjectReport, ObjectResult, Override, Placement, Work,
    WriteOptions, always_skip, convert, default_skip, federated_types, invalid_name, list_contents,
    write,
};
use crate::ops::{DryRun, OnExisting};
use crate::output::Format;

/// Create federated resources from Kubernetes resources
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # A namespace and everything in it, enabling the types that are not yet federated\n  \
    kubefedctl federate namespace demo --contents --enable-type\n\n  \
    # One Deployment, placed on two clusters with one override\n  \
    kubefedctl federate deployments.apps web -n demo --clusters member1,member2 --override member2:/spec/replicas=1\n\n  \
    # Offline: convert YAML, no cluster or kubeconfig needed\n  \
    kubectl get deploy web -o yaml | kubefedctl federate -f -")]
pub struct FederateArgs {
    /// The type of the object (any name `enable` accepts)
    #[arg(value_name = "TYPE-NAME", add = clap_complete::ArgValueCandidates::new(super::complete::types))]
    pub type_name: Option<String>,

    /// The object's name
    #[arg(value_name = "RESOURCE-NAME")]
    pub resource_name: Option<String>,

    /// Namespace of the object [default: the host context's namespace, else `default`]
    #[arg(short = 'n', long, value_name = "NAMESPACE", add = clap_complete::ArgValueCandidates::new(super::complete::namespaces))]
    pub namespace: Option<String>,

    /// Print the federated objects instead of creating them
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Format>,

    /// Enable the types that are not yet federatable
    #[arg(short = 't', long)]
    pub enable_type: bool,

    /// Federate everything in the namespace too (only for type `namespaces`)
    #[arg(short = 'c', long)]
    pub contents: bool,

    /// Read objects from a YAML file, `-` for stdin (offline: needs no kubeconfig)
    #[arg(short = 'f', long, value_name = "FILE")]
    pub filename: Option<String>,

    /// With --contents: types or API groups to leave out (comma-separated)
    #[arg(short = 's', long, value_name = "NAMES", value_delimiter = ',')]
    pub skip_api_resources: Vec<String>,

    /// With --contents: also federate objects owned by a controller (Pods of a ReplicaSet, ...)
    #[arg(long)]
    pub include_owned: bool,

    /// With --contents: no default skips at all (upstream's behaviour)
    #[arg(long)]
    pub no_default_skips: bool,

    /// How many writes run at once
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,

    /// Fail for a federated object that exists already, as Go kubefedctl did (default: update it)
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true", value_name = "BOOL")]
    pub error_on_existing: bool,

    /// Place on these clusters only (`spec.placement.clusters`)
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub clusters: Vec<String>,

    /// Place on clusters with these labels (`spec.placement.clusterSelector.matchLabels`)
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',')]
    pub cluster_selector: Vec<String>,

    /// A per-cluster override, `CLUSTER:/JSON/POINTER=VALUE` (VALUE is JSON, else a string)
    #[arg(long = "override", value_name = "OVERRIDE", value_parser = Override::parse)]
    pub overrides: Vec<Override>,
}

pub async fn run(args: FederateArgs, global: &GlobalArgs) -> Result<()> {
    let FederateArgs {
        type_name,
        resource_name,
        namespace,
        output,
        enable_type,
        contents,
        filename,
        skip_api_resources,
        include_owned,
        no_default_skips,
        concurrency,
        error_on_existing,
        clusters,
        cluster_selector,
        overrides,
    } = args;
    let printer = global.printer();
    let mut selector = BTreeMap::new();
    for kv in &cluster_selector {
        let (k, v) = kv.split_once('=').ok_or_else(|| {
            UsageError(format!(
                "invalid --cluster-selector `{kv}`: expected KEY=VALUE"
            ))
        })?;
        selector.insert(k.to_string(), v.to_string());
    }
    if !clusters.is_empty() && !selector.is_empty() {
        return Err(UsageError(
            "--clusters and --cluster-selector exclude each other (clusters win in KubeFed)".into(),
        )
        .into());
    }
    let placement = Placement {
        clusters: (!clusters.is_empty()).then_some(clusters),
        selector,
        overrides,
    };

    // -f: offline. No kubeconfig, no request.
    if let Some(file) = filename {
        if type_name.is_some() || resource_name.is_some() {
            return Err(UsageError("Flag '--filename' does not take any args".into()).into());
        }
        let objects = read_objects(&file)?;
        let mut out = Vec::new();
        for object in objects {
            let fed = offline_type(&object);
            let (federated, warning) = convert(&object, &fed, &placement);
            if let Some(w) = warning {
                printer.warn(&w);
            }
            out.push(sorted(&federated));
        }
        return printer.structured(output.unwrap_or(Format::Yaml), &out);
    }

    let type_name = type_name.ok_or_else(|| UsageError("TYPE-NAME is required".into()))?;
    let resource_name =
        resource_name.ok_or_else(|| UsageError("RESOURCE-NAME is required".into()))?;
    if enable_type && output.is_some() {
        return Err(
            UsageError("Flag '--enable-type' cannot be used with '--output'".into()).into(),
        );
    }
    let host = global.host().await?;
    let namespace = namespace
        .or_else(|| host.namespace.clone())
        .unwrap_or_else(|| "default".to_string());
    // HTTP/1.1 with a pool of connections: faster than HTTP/2 for many concurrent writes.
    let (client, _) = host.connect_with(Protocol::Pooled).await?;
    let discovered = discover(&client, &host.context).await?;
    let target_type = discovered
        .resolve(&type_name, None, &host.context)
        .with_context(|| format!("Failed to find target API resource {type_name}"))?
        .clone();
    let is_namespace = target_type.group.is_empty() && target_type.kind == "Namespace";
    if contents && !is_namespace {
        return Err(UsageError(
            "Flag '--contents' can only be used with type 'namespaces'.".into(),
        )
        .into());
    }
    let installed = federated_types(&client, &global.kubefed_namespace, &host.context).await?;
    let may_default = enable_type || output.is_some();
    let fed_for = |t: &ApiType| -> Option<FederatedType> {
        installed
            .get(&t.qualified_plural())
            .cloned()
            .or_else(|| may_default.then(|| FederatedType::default_for(t)))
    };

    // The objects: the named one, then (with --contents) the namespace's, in a fixed order.
    let mut work: Vec<Work> = Vec::new();
    let mut report = FederateReport::default();
    let fed = fed_for(&target_type).ok_or_else(|| {
        hinted(
            format!(
                "federatedtypeconfigs.core.kubefed.io \"{}\" not found. Consider using '--enable-type' to optionally enable type while federating the resource",
                target_type.qualified_plural()
            ),
            format!("or enable it first: `kubefedctl enable {}`", target_type.qualified_plural()),
        )
    })?;
    let target = get_target(
        &client,
        &target_type,
        &fed,
        &namespace,
        &resource_name,
        &host.context,
    )
    .await?;
    work.push(Work {
        resource: target_type.qualified_plural(),
        target,
        fed,
    });
    let mut to_enable: BTreeSet<String> = BTreeSet::new();
    if enable_type && !installed.contains_key(&target_type.qualified_plural()) {
        to_enable.insert(target_type.qualified_plural());
    }
    if contents {
        let mut types: Vec<ApiType> = Vec::new();
        for t in &discovered.types {
            match always_skip(t, &skip_api_resources) {
                Some(_) => continue,
                None => types.push(t.clone()),
            }
        }
        types.sort_by_key(|t| t.qualified_plural());
        let progress = printer.progress();
        crate::ops::Reporter::step(
            &progress,
            &format!("listing {} types in namespace {resource_name}", types.len()),
        );
        let listed = list_contents(&client, &resource_name, &types, concurrency).await;
        drop(progress);
        for (t, result) in listed {
            let resource = t.qualified_plural();
            let items = match result {
                Ok(items) => items,
                Err(e) => {
                    report.objects.push(ObjectReport {
                        resource: resource.clone(),
                        namespace: Some(resource_name.clone()),
                        name: "*".into(),
                        result: ObjectResult::Failed(format!("failed to list {resource} in namespace `{resource_name}` of cluster `{}`: {e:#}", host.context)),
                    });
                    continue;
                }
            };
            for item in items {
                let name = item["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let skip = |reason: String| ObjectReport {
                    resource: resource.clone(),
                    namespace: Some(resource_name.clone()),
                    name: name.clone(),
                    result: ObjectResult::Skipped(reason),
                };
                if !no_default_skips
                    && let Some(reason) = default_skip(&t, &item)
                    && !(include_owned && reason.starts_with("owned"))
                {
                    report.objects.push(skip(reason.to_string()));
                    continue;
                }
                if let Some(reason) = invalid_name(&item) {
                    report.objects.push(skip(reason));
                    continue;
                }
                let Some(fed) = fed_for(&t) else {
                    report.objects.push(ObjectReport {
                        resource: resource.clone(),
                        namespace: Some(resource_name.clone()),
                        name,
                        result: ObjectResult::Failed(format!(
                            "type `{resource}` is not enabled for federation: pass --enable-type or run `kubefedctl enable {resource}`"
                        )),
                    });
                    continue;
                };
                if enable_type && !installed.contains_key(&resource) {
                    to_enable.insert(resource.clone());
                }
                work.push(Work {
                    resource: resource.clone(),
                    target: item,
                    fed,
                });
            }
        }
    }

    if let Some(format) = output {
        let objects: Vec<Value> = work
            .iter()
            .map(|w| {
                let (federated, warning) = convert(&w.target, &w.fed, &placement);
                if let Some(w) = warning {
                    printer.warn(&w);
                }
                sorted(&federated)
            })
            .collect();
        return printer.structured(format, &objects);
    }

    let dry_run = global.dry_run();
    if !to_enable.is_empty() {
        enable_types(
            &client,
            &discovered,
            &to_enable,
            global,
            &host.context,
            &printer,
            dry_run,
        )
        .await?;
    }
    let progress = printer.progress();
    let written = write(
        &client,
        work,
        &WriteOptions {
            dry_run,
            on_existing: if error_on_existing {
                OnExisting::Error
            } else {
                OnExisting::Update
            },
            concurrency,
            placement,
            host_context: host.context.clone(),
        },
        &progress,
    )
    .await;
    drop(progress);
    // The named object first, then the contents in their fixed order; skips and list errors
    // are reported beside the writes.
    report.warnings.extend(written.warnings.clone());
    let mut all = written.objects.clone();
    all.extend(report.objects);
    render(
        &printer,
        &all,
        &written.federated,
        &report.warnings,
        dry_run,
    )
}

fn render(
    printer: &crate::output::Printer,
    objects: &[ObjectReport],
    federated: &[Value],
    warnings: &[String],
    dry_run: DryRun,
) -> Result<()> {
    let suffix = dry_run.suffix();
    for w in warnings {
        printer.warn(w);
    }
    for (o, f) in objects
        .iter()
        .zip(federated.iter().map(Some).chain(std::iter::repeat(None)))
    {
        let verb = match &o.result {
            ObjectResult::Created => "created",
            ObjectResult::Updated => "configured",
            ObjectResult::Unchanged => "unchanged",
            _ => continue,
        };
        if let Some(f) = f {
            let kind = f["kind"].as_str().unwrap_or_default().to_lowercase();
            let group = f["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .split('/')
                .next()
                .unwrap_or_default();
            let name = f["metadata"]["name"].as_str().unwrap_or_default();
            printer.object(&format!("{kind}.{group}"), name, &format!("{verb}{suffix}"));
        }
    }
    let mut failed = 0;
    for o in objects {
        let target = match &o.namespace {
            Some(ns) => format!("{}/{ns}/{}", o.resource, o.name),
            None => format!("{}/{}", o.resource, o.name),
        };
        match &o.result {
            ObjectResult::Skipped(reason) => printer.note(&format!("skipped {target}: {reason}")),
            ObjectResult::Failed(reason) => {
                failed += 1;
                eprintln!("error: {target}: {reason}");
            }
            _ => {}
        }
    }
    let count = |f: fn(&ObjectResult) -> bool| objects.iter().filter(|o| f(&o.result)).count();
    if objects.len() > 1 {
        printer.note(&format!(
            "{} created, {} configured, {} unchanged, {} skipped, {} failed{suffix}",
            count(|r| matches!(r, ObjectResult::Created)),
            count(|r| matches!(r, ObjectResult::Updated)),
            count(|r| matches!(r, ObjectResult::Unchanged)),
            count(|r| matches!(r, ObjectResult::Skipped(_))),
            failed
        ));
    }
    if failed > 0 {
        return Err(anyhow!(
            "{failed} of {} objects failed to federate",
            objects.len()
        ));
    }
    Ok(())
}

async fn get_target(
    client: &kube::Client,
    t: &ApiType,
    fed: &FederatedType,
    namespace: &str,
    name: &str,
    host: &str,
) -> Result<Value> {
    // Read at the target version the FederatedTypeConfig names.
    let version = fed.target_api_version.rsplit('/').next();
    let api = t.dynamic_api(client, version, namespace);
    let display = t.display_name(namespace, name);
    let mut object = api.get(name).await.with_context(|| {
        format!(
            "Error retrieving target {} \"{display}\" in cluster `{host}`",
            t.kind
        )
    })?;
    object.types = Some(kube::api::TypeMeta {
        api_version: fed.target_api_version.clone(),
        kind: t.kind.clone(),
    });
    Ok(serde_json::to_value(object)?)
}

/// `--enable-type`: enable the types first (the enable flow), and wait for their CRDs.
async fn enable_types(
    client: &kube::Client,
    discovered: &crate::ops::discovery::Discovered,
    names: &BTreeSet<String>,
    global: &GlobalArgs,
    host: &str,
    printer: &crate::output::Printer,
    dry_run: DryRun,
) -> Result<()> {
    check_namespace(client, &global.kubefed_namespace, host).await?;
    let schemas = SchemaSource::new(client.clone());
    for name in names {
        let t = discovered.resolve(name, None, host)?;
        let retain = schemas.has_int32_replicas(t).await?;
        let objects = type_objects(
            t,
            crate::ops::enable::DEFAULT_FEDERATED_GROUP,
            crate::ops::enable::DEFAULT_FEDERATED_VERSION,
            retain,
        );
        let done = write_type(
            client,
            &objects,
            &global.kubefed_namespace,
            host,
            dry_run,
            &crate::ops::Silent,
        )
        .await?;
        let crd = objects.crd["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        printer.object(
            "customresourcedefinition.apiextensions.k8s.io",
            &crd,
            done.crd_action,
        );
        printer.object(
            "federatedtypeconfig.core.kubefed.io",
            name,
            &format!(
                "{} in namespace {}",
                done.type_config_action, global.kubefed_namespace
            ),
        );
    }
    Ok(())
}

/// Objects from a multi-document YAML file or stdin (empty documents are dropped), with the
/// items of a `List` in its place; every object must have a kind and a name.
fn read_objects(file: &str) -> Result<Vec<Value>> {
    let text = if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("failed to read stdin")?;
        s
    } else {
        std::fs::read_to_string(PathBuf::from(file))
            .with_context(|| format!("failed to read `{file}`"))?
    };
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .with_context(|| format!("failed to parse YAML in `{file}`"))?;
    let mut objects = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        flatten(
            doc,
            &format!("document {} of `{file}`", i + 1),
            &mut objects,
        )?;
    }
    Ok(objects)
}

/// Push `object`, or the items of a list, onto `out`.
// NB: issue 12.7: a `List` (what `kubectl get a b -o yaml` prints) was federated as one
// `FederatedList` named "". As `kubectl apply -f`, its items are the objects; items of a typed
// list (`ConfigMapList`) take their kind and apiVersion from the list.
fn flatten(object: Value, what: &str, out: &mut Vec<Value>) -> Result<()> {
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    if kind.is_empty() {
        return Err(anyhow!("{what} has no kind"));
    }
    if let Some(item_kind) = kind.strip_suffix("List")
        && object.get("items").is_some()
    {
        let Some(items) = object["items"].as_array() else {
            return Err(anyhow!("{what} ({kind}): `items` is not a list"));
        };
        for (j, item) in items.iter().enumerate() {
            let mut item = item.clone();
            if let Some(fields) = item.as_object_mut()
                && !item_kind.is_empty()
                && !fields.contains_key("kind")
            {
                fields.insert("kind".into(), item_kind.into());
                if !fields.contains_key("apiVersion") {
                    fields.insert("apiVersion".into(), object["apiVersion"].clone());
                }
            }
            flatten(item, &format!("item {} of {what}", j + 1), out)?;
        }
        return Ok(());
    }
    if object["metadata"]["name"]
        .as_str()
        .is_none_or(|n| n.is_empty())
    {
        return Err(anyhow!("{what} ({kind}) has no metadata.name"));
    }
    out.push(object);
    Ok(())
}

/// The default federated type for an object read offline (kind to plural as apimachinery's
/// `UnsafeGuessKindToResource`; namespaced iff it has a namespace).
fn offline_type(object: &Value) -> FederatedType {
    let kind = object["kind"].as_str().unwrap_or_default();
    let lower = kind.to_lowercase();
    let plural = if lower.ends_with('s')
        || lower.ends_with("x")
        || lower.ends_with("ch")
        || lower.ends_with("sh")
        || lower.ends_with('z')
        || lower.ends_with('o')
    {
        format!("{lower}es")
    } else if lower.ends_with('y')
        && !lower.ends_with("ay")
        && !lower.ends_with("ey")
        && !lower.ends_with("oy")
        && !lower.ends_with("uy")
    {
        format!("{}ies", &lower[..lower.len() - 1])
    } else {
        format!("{lower}s")
    };
    FederatedType {
        group: crate::ops::enable::DEFAULT_FEDERATED_GROUP.into(),
        version: crate::ops::enable::DEFAULT_FEDERATED_VERSION.into(),
        kind: format!("Federated{kind}"),
        plural: format!("federated{plural}"),
        namespaced: object["metadata"]["namespace"].is_string() || kind == "Namespace",
        target_api_version: object["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

//! The CRDs generated from `kubefedctl::api` must match upstream kubefed v0.10.0's
//! control-plane CRDs (`tests/fixtures/kubefed-v0.10.0/control-plane-crds.yaml`) in
//! everything that affects which objects the API server accepts and how they are served.
//! No cluster needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use k8s_openapi::ByteString;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kubefedctl::api::{
    APIResource, ConfigurationMode, FederatedTypeConfig, KubeFedCluster, KubeFedClusterSpec,
    KubeFedConfig, KubeFedConfigSpec, LocalSecretReference, Scope, TlsValidation,
    control_plane_crds,
};
use serde_json::{Value, json};

fn reference(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kubefed-v0.10.0")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn upstream_crds() -> BTreeMap<String, CustomResourceDefinition> {
    let crds: Vec<CustomResourceDefinition> =
        serde_saphyr::from_multiple(&reference("control-plane-crds.yaml"))
            .expect("upstream control-plane-crds.yaml parses as CRDs");
    crds.into_iter()
        .map(|crd| {
            (
                crd.metadata.name.clone().expect("upstream CRD has a name"),
                crd,
            )
        })
        .collect()
}

fn yaml_value(text: &str) -> Value {
    serde_saphyr::from_str(text).expect("valid YAML")
}

/// Keys that upstream's schemas may have and ours may lack: they only narrow what upstream
/// accepts (or default a value), so lacking them never rejects an object upstream accepts.
/// They all come from core/v1 `ServiceStatus` embedded in FederatedServiceStatus.
const ALLOWED_MISSING: &[&str] = &[
    "default",
    "enum",
    "maxLength",
    "minLength",
    "minimum",
    "pattern",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
];

/// Annotation keywords with no effect on validation. schemars always sets `title` on the root
/// schema (to the kind); upstream has none.
const IGNORED: &[&str] = &["description", "title"];

/// Structurally compare two OpenAPI v3 schemas, ignoring `description` (and `title`). Returns the JSON path
/// and nature of the first difference. `notes` collects the tolerated `ALLOWED_MISSING` keys.
fn compare_schema(
    path: &str,
    ours: &Value,
    upstream: &Value,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let (Some(ours_obj), Some(up_obj)) = (ours.as_object(), upstream.as_object()) else {
        return if ours == upstream {
            Ok(())
        } else {
            Err(format!("{path}: ours {ours} != upstream {upstream}"))
        };
    };
    let keys = |obj: &serde_json::Map<String, Value>| -> BTreeSet<String> {
        obj.keys()
            .filter(|k| !IGNORED.contains(&k.as_str()))
            .cloned()
            .collect()
    };
    let (ours_keys, up_keys) = (keys(ours_obj), keys(up_obj));

    if let Some(extra) = ours_keys.difference(&up_keys).next() {
        return Err(format!(
            "{path}: ours has `{extra}` = {}, upstream has no such key",
            ours_obj[extra]
        ));
    }
    for missing in up_keys.difference(&ours_keys) {
        if ALLOWED_MISSING.contains(&missing.as_str()) {
            notes.push(format!(
                "{path}: upstream-only `{missing}` = {}",
                up_obj[missing]
            ));
        } else {
            return Err(format!(
                "{path}: upstream has `{missing}` = {}, ours lacks it",
                up_obj[missing]
            ));
        }
    }

    for key in ours_keys.intersection(&up_keys) {
        let (o, u) = (&ours_obj[key], &up_obj[key]);
        let sub = format!("{path}.{key}");
        match key.as_str() {
            "properties" => {
                let (Some(o), Some(u)) = (o.as_object(), u.as_object()) else {
                    return Err(format!("{sub}: not an object"));
                };
                let (ok, uk): (BTreeSet<_>, BTreeSet<_>) = (o.keys().collect(), u.keys().collect());
                if ok != uk {
                    return Err(format!(
                        "{sub}: property names differ: only ours {:?}, only upstream {:?}",
                        ok.difference(&uk).collect::<Vec<_>>(),
                        uk.difference(&ok).collect::<Vec<_>>()
                    ));
                }
                for (name, o_prop) in o {
                    compare_schema(&format!("{sub}.{name}"), o_prop, &u[name], notes)?;
                }
            }
            "items" | "additionalProperties" => compare_schema(&sub, o, u, notes)?,
            "required" => {
                let set = |v: &Value| -> BTreeSet<String> {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                };
                if set(o) != set(u) {
                    return Err(format!("{sub}: ours {o} != upstream {u}"));
                }
            }
            _ => {
                if o != u {
                    return Err(format!("{sub}: ours {o} != upstream {u}"));
                }
            }
        }
    }
    Ok(())
}

fn schema_value(crd: &CustomResourceDefinition) -> Value {
    let version = &crd.spec.versions[0];
    let schema = version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("version has an openAPIV3Schema");
    serde_json::to_value(schema).unwrap()
}

const EXPECTED_ORDER: &[&str] = &[
    "kubefedclusters.core.kubefed.io",
    "kubefedconfigs.core.kubefed.io",
    "federatedtypeconfigs.core.kubefed.io",
    "propagatedversions.core.kubefed.io",
    "clusterpropagatedversions.core.kubefed.io",
    "federatedservicestatuses.core.kubefed.io",
    "replicaschedulingpreferences.scheduling.kubefed.io",
];

#[test]
fn control_plane_crds_are_in_the_fixed_order() {
    let names: Vec<String> = control_plane_crds()
        .iter()
        .map(|crd| crd.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, EXPECTED_ORDER);
    let upstream: BTreeSet<String> = upstream_crds().into_keys().collect();
    let ours: BTreeSet<String> = names.into_iter().collect();
    assert_eq!(ours, upstream, "same set of CRDs as upstream");
}

#[test]
fn crd_metadata_matches_upstream() {
    let upstream = upstream_crds();
    for ours in control_plane_crds() {
        let name = ours.metadata.name.clone().unwrap();
        let up = &upstream[&name];
        let (o, u) = (&ours.spec, &up.spec);
        assert_eq!(o.group, u.group, "{name}: group");
        assert_eq!(o.scope, u.scope, "{name}: scope");
        assert_eq!(o.names.kind, u.names.kind, "{name}: kind");
        assert_eq!(o.names.plural, u.names.plural, "{name}: plural");
        assert_eq!(o.names.singular, u.names.singular, "{name}: singular");
        // kube-derive leaves listKind unset; the API server defaults it to `<kind>List`,
        // which is exactly what upstream spells out.
        let ours_list_kind = o
            .names
            .list_kind
            .clone()
            .unwrap_or_else(|| format!("{}List", o.names.kind));
        assert_eq!(Some(ours_list_kind), u.names.list_kind, "{name}: listKind");
        assert_eq!(
            o.names.short_names.clone().unwrap_or_default(),
            u.names.short_names.clone().unwrap_or_default(),
            "{name}: shortNames"
        );
        assert_eq!(o.names.categories, u.names.categories, "{name}: categories");
        assert!(o.conversion.is_none(), "{name}: no conversion");

        assert_eq!(
            o.versions.len(),
            u.versions.len(),
            "{name}: number of versions"
        );
        for (ov, uv) in o.versions.iter().zip(&u.versions) {
            assert_eq!(ov.name, uv.name, "{name}: version name");
            assert_eq!(ov.served, uv.served, "{name}: served");
            assert_eq!(ov.storage, uv.storage, "{name}: storage");
            assert_eq!(ov.deprecated, uv.deprecated, "{name}: deprecated");

            let sub = |v: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinitionVersion| {
                let s = v.subresources.as_ref();
                (
                    s.and_then(|s| s.status.as_ref()).is_some(),
                    s.and_then(|s| s.scale.as_ref()).is_some(),
                )
            };
            assert_eq!(sub(ov), sub(uv), "{name}: (status, scale) subresources");

            let columns = |v: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinitionVersion| {
                v.additional_printer_columns
                    .iter()
                    .flatten()
                    .map(|c| (c.name.clone(), c.type_.clone(), c.json_path.clone(), c.format.clone(), c.priority))
                    .collect::<Vec<_>>()
            };
            assert_eq!(columns(ov), columns(uv), "{name}: additionalPrinterColumns");
        }
    }
}

#[test]
fn crd_schemas_match_upstream_structurally() {
    let upstream = upstream_crds();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for ours in control_plane_crds() {
        let name = ours.metadata.name.clone().unwrap();
        if let Err(e) = compare_schema(
            &name,
            &schema_value(&ours),
            &schema_value(&upstream[&name]),
            &mut notes,
        ) {
            failures.push(e);
        }
    }
    for note in &notes {
        println!("tolerated: {note}");
    }
    assert!(
        failures.is_empty(),
        "schema differences:\n{}",
        failures.join("\n")
    );
    // The only tolerated differences are in the embedded core/v1 ServiceStatus.
    assert!(
        notes
            .iter()
            .all(|n| n.starts_with("federatedservicestatuses.")),
        "unexpected tolerated differences: {notes:#?}"
    );
}

#[test]
fn schemas_have_no_kube_or_schemars_artifacts() {
    // Belt and braces on top of the structural comparison: none of the constructs that would
    // make our CRDs stricter than (or structurally different from) upstream's.
    fn walk(path: &str, v: &Value, found: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if ["nullable", "anyOf", "oneOf", "allOf", "not", "enum", "$ref"]
                        .contains(&k.as_str())
                        || k.starts_with("x-kubernetes-")
                        || (k == "additionalProperties" && child == &Value::Bool(false))
                    {
                        found.push(format!("{path}.{k}"));
                    }
                    // Every schema node that has properties must be an object.
                    if k == "properties" && map.get("type") != Some(&json!("object")) {
                        found.push(format!("{path}: properties without type: object"));
                    }
                    walk(&format!("{path}.{k}"), child, found);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), child, found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    for crd in control_plane_crds() {
        walk(
            &crd.metadata.name.clone().unwrap(),
            &schema_value(&crd),
            &mut found,
        );
    }
    assert!(found.is_empty(), "unexpected schema constructs: {found:#?}");
}

#[test]
fn chart_defaults_match_upstream_kubefedconfig_except_documented_fields() {
    let upstream = yaml_value(&reference("kubefedconfig.yaml"));
    let mut expected = upstream["spec"].clone();

    // Upstream's kubefedconfig.yaml is its e2e-test config: it shortens leader election...
    assert_eq!(expected["leaderElect"]["leaseDuration"], json!("1500ms"));
    assert_eq!(expected["leaderElect"]["renewDeadline"], json!("1000ms"));
    assert_eq!(expected["leaderElect"]["retryPeriod"], json!("500ms"));
    expected["leaderElect"]["leaseDuration"] = json!("15s");
    expected["leaderElect"]["renewDeadline"] = json!("10s");
    expected["leaderElect"]["retryPeriod"] = json!("5s");
    // ...and enables RawResourceStatusCollection, which the chart leaves out (kubefed#1333).
    assert_eq!(
        expected["featureGates"],
        json!([
            {"name": "PushReconciler", "configuration": "Enabled"},
            {"name": "RawResourceStatusCollection", "configuration": "Enabled"},
            {"name": "SchedulerPreferences", "configuration": "Enabled"},
        ])
    );
    expected["featureGates"] = json!([
        {"name": "PushReconciler", "configuration": "Enabled"},
        {"name": "SchedulerPreferences", "configuration": "Enabled"},
    ]);

    let ours = serde_json::to_value(KubeFedConfigSpec::chart_defaults(Scope::Cluster)).unwrap();
    assert_eq!(ours, expected);

    let namespaced =
        serde_json::to_value(KubeFedConfigSpec::chart_defaults(Scope::Namespaced)).unwrap();
    assert_eq!(namespaced["scope"], json!("Namespaced"));
}

#[test]
fn upstream_kubefedconfig_round_trips() {
    let text = reference("kubefedconfig.yaml");
    let config: KubeFedConfig = serde_saphyr::from_str(&text).expect("parses as KubeFedConfig");
    assert_eq!(config.spec.scope, Scope::Cluster);
    assert_eq!(
        config.spec.feature_gate("RawResourceStatusCollection"),
        Some(ConfigurationMode::Enabled)
    );
    assert_eq!(serde_json::to_value(&config).unwrap(), yaml_value(&text));
}

#[test]
fn upstream_federatedtypeconfigs_round_trip() {
    let text = reference("federatedtypeconfigs.yaml");
    let values: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let ftcs: Vec<FederatedTypeConfig> = serde_saphyr::from_multiple(&text).unwrap();
    assert_eq!(ftcs.len(), 10);
    for (ftc, value) in ftcs.iter().zip(&values) {
        assert_eq!(&serde_json::to_value(ftc).unwrap(), value);
        let target: &APIResource = &ftc.spec.target_type;
        assert_eq!(
            ftc.metadata.name.as_deref(),
            Some(target.group_qualified_name().as_str())
        );
    }
}

#[test]
fn kubefedcluster_serialises_with_upstream_field_names() {
    let mut cluster = KubeFedCluster::new(
        "member",
        KubeFedClusterSpec {
            api_endpoint: "https://10.0.0.1:6443".into(),
            ca_bundle: Some(ByteString(b"CA".to_vec())),
            secret_ref: LocalSecretReference {
                name: "member-abcde".into(),
            },
            disabled_tls_validations: vec![TlsValidation::All],
            proxy_url: Some(String::new()),
        },
    );
    cluster.metadata.namespace = Some("kube-federation-system".into());
    assert_eq!(
        serde_json::to_value(&cluster).unwrap(),
        json!({
            "apiVersion": "core.kubefed.io/v1beta1",
            "kind": "KubeFedCluster",
            "metadata": {"name": "member", "namespace": "kube-federation-system"},
            "spec": {
                "apiEndpoint": "https://10.0.0.1:6443",
                "caBundle": "Q0E=",
                "secretRef": {"name": "member-abcde"},
                "disabledTLSValidations": ["*"],
                "proxyURL": "",
            }
        })
    );

    let minimal = KubeFedClusterSpec {
        api_endpoint: "https://h".into(),
        secret_ref: LocalSecretReference { name: "s".into() },
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&minimal).unwrap(),
        json!({"apiEndpoint": "https://h", "secretRef": {"name": "s"}})
    );
}

#[test]
fn scope_parses_and_displays() {
    assert_eq!("Namespaced".parse::<Scope>(), Ok(Scope::Namespaced));
    assert_eq!(Scope::Cluster.to_string(), "Cluster");
    assert!("namespaced".parse::<Scope>().is_err());
    assert!(serde_json::from_value::<Scope>(json!("Bogus")).is_err());
}

//! Fields kept from the member's copy, and whether an update is needed (Go:
//! `sync/dispatch/retain.go`, `util/propagatedversion.go`, `util/meta.go`).
//!
//! Before an update the desired object takes from the member's copy what the member's own
//! controllers and apiserver own: `resourceVersion`, finalizers and annotations, a Service's
//! allocated IPs and ports, a ServiceAccount's generated secrets, and (on request) the replicas
//! an HPA scales. Overrides are applied afterwards, so they can still set these fields.
//!
//! Reading follows Go's `unstructured` accessors. The metadata getters ignore wrong types (a
//! malformed value counts as absent); the typed lookups of the retain functions fail instead,
//! and the caller reports `FieldRetentionFailed`. NB: JSON null counts as absent everywhere,
//! where Go's typed lookups fail on it; an apiserver never sends such nulls.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::placement::json_type;

/// Go's `RetainClusterFields`: copy into `desired` what must be kept from the member's copy
/// `cluster`: `resourceVersion`; finalizers and annotations (removed when the member has none);
/// for a Service `clusterIP`, `clusterIPs`, `healthCheckNodePort` and the ports' `nodePort`s;
/// for a ServiceAccount its `secrets` when `desired` has none; for any other kind
/// `spec.replicas` when the federated object has `spec.retainReplicas: true`.
pub fn retain_cluster_fields(
    target_kind: &str,
    desired: &mut Value,
    cluster: &Value,
    federated: &Value,
) -> Result<(), String> {
    let metadata = |field| cluster.get("metadata").and_then(|m| m.get(field));
    let resource_version = metadata("resourceVersion")
        .and_then(Value::as_str)
        .filter(|rv| !rv.is_empty());
    set_or_remove(
        desired,
        "resourceVersion",
        resource_version.map(|rv| Value::String(rv.to_owned())),
    )?;
    let finalizers = metadata("finalizers").filter(|f| string_list(f).is_some());
    set_or_remove(desired, "finalizers", finalizers.cloned())?;
    let annotations = metadata("annotations").filter(|a| string_map(a).is_some());
    set_or_remove(desired, "annotations", annotations.cloned())?;

    match target_kind {
        "Service" => retain_service_fields(desired, cluster),
        "ServiceAccount" => retain_service_account_fields(desired, cluster),
        _ => retain_replicas(desired, cluster, federated),
    }
}

/// `gen:<metadata.generation>` when the generation is set and non-zero, else
/// `rv:<resourceVersion>` (Go's `ObjectVersion`; malformed values count as absent).
pub fn object_version(object: &Value) -> String {
    let metadata = |field| object.get("metadata").and_then(|m| m.get(field));
    match metadata("generation").and_then(Value::as_i64) {
        Some(generation) if generation != 0 => format!("gen:{generation}"),
        _ => format!(
            "rv:{}",
            metadata("resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
        ),
    }
}

/// Go's `ObjectNeedsUpdate`: the recorded version differs from [`object_version`] of the
/// member's copy (no recorded version always differs), or, for `gen:` versions, name,
/// namespace, labels or annotations differ between `desired` and `cluster` (an empty map equals
/// an absent one). `rv:` versions change with every write, so they need no metadata check.
pub fn needs_update(desired: &Value, cluster: &Value, recorded_version: Option<&str>) -> bool {
    let version = object_version(cluster);
    if recorded_version != Some(version.as_str()) {
        return true;
    }
    version.starts_with("gen:") && !metadata_equivalent(desired, cluster)
}

/// Go's `ObjectMetaObjEquivalent`.
fn metadata_equivalent(a: &Value, b: &Value) -> bool {
    let field = |object: &Value, name| object.get("metadata").and_then(|m| m.get(name)).cloned();
    let string = |object, name| field(object, name).and_then(|v| v.as_str().map(str::to_owned));
    let map = |object, name| {
        field(object, name)
            .as_ref()
            .and_then(string_map)
            .unwrap_or_default()
    };
    string(a, "name").unwrap_or_default() == string(b, "name").unwrap_or_default()
        && string(a, "namespace").unwrap_or_default() == string(b, "namespace").unwrap_or_default()
        && map(a, "labels") == map(b, "labels")
        && map(a, "annotations") == map(b, "annotations")
}

fn retain_service_fields(desired: &mut Value, cluster: &Value) -> Result<(), String> {
    // Allocated by the member's apiserver and immutable (#1347).
    if let Some(port) = typed(
        cluster,
        &["spec", "healthCheckNodePort"],
        Value::as_i64,
        "an integer",
    )? && port > 0
    {
        set(desired, &["spec", "healthCheckNodePort"], port.into())?;
    }
    if let Some(ip) = typed(cluster, &["spec", "clusterIP"], Value::as_str, "a string")?
        && !ip.is_empty()
    {
        set(desired, &["spec", "clusterIP"], ip.into())?;
    }
    if let Some(ips) = typed(
        cluster,
        &["spec", "clusterIPs"],
        string_list,
        "a list of strings",
    )? && !ips.is_empty()
    {
        set(desired, &["spec", "clusterIPs"], ips.into())?;
    }

    let Some(cluster_ports) = typed(cluster, &["spec", "ports"], Value::as_array, "a list")? else {
        return Ok(());
    };
    let mut ports = typed(desired, &["spec", "ports"], Value::as_array, "a list")
        .map_err(|e| format!("desired: {e}"))?
        .cloned()
        .unwrap_or_default();
    // NB: a port matches on Go interface equality of `name`, `protocol` and `port`, so a
    // template port without `protocol` never matches the member's defaulted `TCP` (the
    // apiserver then keeps the allocated nodePort itself).
    let key = |port: &Map<String, Value>| {
        ["name", "protocol", "port"].map(|k| port.get(k).filter(|v| !v.is_null()).cloned())
    };
    for (i, port) in ports.iter_mut().enumerate() {
        for (j, cluster_port) in cluster_ports.iter().enumerate() {
            let kind = json_type(port);
            let port = port.as_object_mut().ok_or_else(|| {
                format!("desired `spec.ports[{i}]` is {kind}, expected an object")
            })?;
            let cluster_port = cluster_port.as_object().ok_or_else(|| {
                format!(
                    "`spec.ports[{j}]` in the member is {}, expected an object",
                    json_type(cluster_port)
                )
            })?;
            if key(port) == key(cluster_port)
                && let Some(node_port) = cluster_port.get("nodePort")
            {
                port.insert("nodePort".into(), node_port.clone());
            }
        }
    }
    set(desired, &["spec", "ports"], ports.into())
}

/// Keeps the member's generated `secrets` unless the template sets some, so the sync does not
/// keep clearing them and the member's ServiceAccount controller does not keep regenerating.
fn retain_service_account_fields(desired: &mut Value, cluster: &Value) -> Result<(), String> {
    let populated = typed(desired, &["secrets"], Value::as_array, "a list")
        .map_err(|e| format!("desired: {e}"))?
        .is_some_and(|s| !s.is_empty());
    if populated {
        return Ok(());
    }
    if let Some(secrets) = typed(cluster, &["secrets"], Value::as_array, "a list")?
        && !secrets.is_empty()
    {
        set(desired, &["secrets"], secrets.clone().into())?;
    }
    Ok(())
}

/// Keeps the member's `spec.replicas` when the federated object asks for it, so that an HPA in
/// the member is not fought over.
fn retain_replicas(desired: &mut Value, cluster: &Value, federated: &Value) -> Result<(), String> {
    let retain = typed(
        federated,
        &["spec", "retainReplicas"],
        Value::as_bool,
        "a boolean",
    )
    .map_err(|e| format!("federated object: {e}"))?;
    if retain == Some(true)
        && let Some(replicas) = typed(cluster, &["spec", "replicas"], Value::as_i64, "an integer")?
    {
        set(desired, &["spec", "replicas"], replicas.into())?;
    }
    Ok(())
}

/// The value at `path` read with `read`: `None` when absent or null, an error when a parent is
/// not an object or `read` rejects the value (Go's `unstructured.Nested*`).
fn typed<'a, T>(
    object: &'a Value,
    path: &[&str],
    read: impl FnOnce(&'a Value) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, String> {
    let mut current = object;
    for (depth, field) in path.iter().enumerate() {
        match current {
            Value::Null => return Ok(None),
            Value::Object(map) => match map.get(*field) {
                Some(next) => current = next,
                None => return Ok(None),
            },
            other => {
                return Err(format!(
                    "`{}` is {}, expected an object",
                    path_name(&path[..depth]),
                    json_type(other)
                ));
            }
        }
    }
    if current.is_null() {
        return Ok(None);
    }
    read(current).map(Some).ok_or_else(|| {
        format!(
            "`{}` is {}, expected {expected}",
            path_name(path),
            json_type(current)
        )
    })
}

fn path_name(path: &[&str]) -> String {
    if path.is_empty() {
        "(the object)".into()
    } else {
        path.join(".")
    }
}

/// Sets `path` in `desired`, creating parent objects (Go's `SetNestedField`).
fn set(desired: &mut Value, path: &[&str], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().expect("a non-empty path");
    let mut current = desired;
    for (depth, field) in parents.iter().enumerate() {
        let map = as_object(current, &path[..depth])?;
        let next = map.entry(*field).or_insert(Value::Null);
        if next.is_null() {
            *next = Value::Object(Map::new());
        }
        current = next;
    }
    as_object(current, parents)?.insert((*last).into(), value);
    Ok(())
}

/// Sets or removes `metadata.<field>` in `desired` (Go's `Unstructured.Set*` with a nil value).
fn set_or_remove(desired: &mut Value, field: &str, value: Option<Value>) -> Result<(), String> {
    match value {
        Some(value) => set(desired, &["metadata", field], value),
        None => {
            let metadata = as_object(desired, &[])?.get_mut("metadata");
            if let Some(Value::Object(metadata)) = metadata {
                metadata.remove(field);
            }
            Ok(())
        }
    }
}

fn as_object<'a>(
    value: &'a mut Value,
    path: &[&str],
) -> Result<&'a mut Map<String, Value>, String> {
    let kind = json_type(value);
    value.as_object_mut().ok_or_else(|| {
        format!(
            "desired `{}` is {kind}, expected an object",
            path_name(path)
        )
    })
}

/// A list of strings (Go's `NestedStringSlice`).
fn string_list(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// A map of strings (Go's `NestedStringMap`).
fn string_map(value: &Value) -> Option<BTreeMap<String, String>> {
    value
        .as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn retain(kind: &str, desired: Value, cluster: Value) -> Result<Value, String> {
        let mut desired = desired;
        retain_cluster_fields(kind, &mut desired, &cluster, &json!({}))?;
        Ok(desired)
    }

    // Ported from upstream retain_test.go `TestRetainClusterFields`.
    #[test]
    fn upstream_retain_replicas() {
        let cases = [
            (
                "replicas not retained when retainReplicas=false",
                json!(false),
                1,
            ),
            (
                "replicas not retained when retainReplicas is not present",
                Value::Null,
                1,
            ),
            ("replicas retained when retainReplicas=true", json!(true), 2),
        ];
        for (name, retain_replicas, expected) in cases {
            let mut desired = json!({"spec": {"replicas": 1}});
            let cluster = json!({"spec": {"replicas": 2}});
            let federated = json!({"spec": {"retainReplicas": retain_replicas}});
            retain_cluster_fields("", &mut desired, &cluster, &federated).expect(name);
            assert_eq!(desired["spec"]["replicas"], json!(expected), "{name}");
        }
    }

    #[test]
    fn retain_replicas_edges() {
        let federated = json!({"spec": {"retainReplicas": true}});
        let run = |desired: Value, cluster: Value, federated: &Value| {
            let mut desired = desired;
            retain_cluster_fields("Deployment", &mut desired, &cluster, federated).map(|()| desired)
        };
        // Member without replicas: the desired value stays.
        assert_eq!(
            run(
                json!({"spec": {"replicas": 1}}),
                json!({"spec": {}}),
                &federated
            ),
            Ok(json!({"spec": {"replicas": 1}}))
        );
        // Desired without spec gets one.
        assert_eq!(
            run(json!({}), json!({"spec": {"replicas": 3}}), &federated),
            Ok(json!({"spec": {"replicas": 3}}))
        );
        // Not for Services, whose retention is separate.
        let mut desired = json!({"spec": {"replicas": 1}});
        retain_cluster_fields(
            "Service",
            &mut desired,
            &json!({"spec": {"replicas": 2}}),
            &federated,
        )
        .unwrap();
        assert_eq!(desired["spec"]["replicas"], json!(1));
        // Wrong types are errors, not panics.
        let err = run(json!({}), json!({"spec": {"replicas": "2"}}), &federated).unwrap_err();
        assert_eq!(err, "`spec.replicas` is a string, expected an integer");
        let err = run(json!({}), json!({"spec": {"replicas": 2.5}}), &federated).unwrap_err();
        assert_eq!(err, "`spec.replicas` is a number, expected an integer");
        let err = run(
            json!({}),
            json!({}),
            &json!({"spec": {"retainReplicas": "true"}}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "federated object: `spec.retainReplicas` is a string, expected a boolean"
        );
        let err = run(json!({}), json!({"spec": 1}), &federated).unwrap_err();
        assert_eq!(err, "`spec` is a number, expected an object");
    }

    // Ported from upstream retain_test.go `TestRetainHealthCheckNodePortInServiceFields`.
    #[test]
    fn upstream_health_check_node_port() {
        let cases: [(&str, Value, Option<Value>); 4] = [
            ("cluster object has no healthCheckNodePort", json!({}), None),
            (
                "cluster object has healthCheckNodePort 0",
                json!({"spec": {"healthCheckNodePort": 0}}),
                None,
            ),
            (
                "cluster object has healthCheckNodePort 1000",
                json!({"spec": {"healthCheckNodePort": 1000}}),
                Some(json!(1000)),
            ),
            (
                "cluster object has a negative healthCheckNodePort",
                json!({"spec": {"healthCheckNodePort": -1}}),
                None,
            ),
        ];
        for (name, cluster, expected) in cases {
            let desired = retain("Service", json!({}), cluster).expect(name);
            assert_eq!(
                desired.pointer("/spec/healthCheckNodePort"),
                expected.as_ref(),
                "{name}"
            );
        }
        let err = retain(
            "Service",
            json!({}),
            json!({"spec": {"healthCheckNodePort": "invalid string"}}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "`spec.healthCheckNodePort` is a string, expected an integer"
        );
    }

    // Ported from upstream retain_test.go `TestRetainClusterIPsInServiceFields`.
    #[test]
    fn upstream_cluster_ips() {
        let cases = [
            (
                "cluster object has no clusterIP or clusterIPs",
                json!({}),
                None,
                None,
            ),
            (
                "cluster object has clusterIP only",
                json!({"spec": {"clusterIP": "1.2.3.4"}}),
                Some(json!("1.2.3.4")),
                None,
            ),
            (
                "cluster object has clusterIPs only",
                json!({"spec": {"clusterIPs": ["1.2.3.4", "5.6.7.8"]}}),
                None,
                Some(json!(["1.2.3.4", "5.6.7.8"])),
            ),
            (
                "cluster object has both clusterIP and clusterIPs",
                json!({"spec": {"clusterIP": "1.2.3.4", "clusterIPs": ["5.6.7.8", "9.10.11.12"]}}),
                Some(json!("1.2.3.4")),
                Some(json!(["5.6.7.8", "9.10.11.12"])),
            ),
            (
                "empty values are not retained",
                json!({"spec": {"clusterIP": "", "clusterIPs": []}}),
                None,
                None,
            ),
        ];
        for (name, cluster, ip, ips) in cases {
            let desired = retain("Service", json!({}), cluster).expect(name);
            assert_eq!(desired.pointer("/spec/clusterIP"), ip.as_ref(), "{name}");
            assert_eq!(desired.pointer("/spec/clusterIPs"), ips.as_ref(), "{name}");
        }
        // "cluster object has clusterIP" -1000: an error.
        let err = retain("Service", json!({}), json!({"spec": {"clusterIP": -1000}})).unwrap_err();
        assert_eq!(err, "`spec.clusterIP` is a number, expected a string");
        let err = retain(
            "Service",
            json!({}),
            json!({"spec": {"clusterIPs": ["a", 1]}}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "`spec.clusterIPs` is a list, expected a list of strings"
        );
    }

    #[test]
    fn service_node_ports() {
        let cluster = json!({"spec": {"ports": [
            {"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080},
            {"name": "dns", "protocol": "UDP", "port": 53, "nodePort": 30053},
            {"port": 9000, "nodePort": 30900},
        ]}});
        let desired = json!({"spec": {"ports": [
            {"name": "http", "protocol": "TCP", "port": 80},
            {"name": "dns", "protocol": "TCP", "port": 53},
            {"name": "http", "protocol": "TCP", "port": 8080},
            {"port": 9000, "name": null},
            {"name": "x", "port": 80, "nodePort": 31000},
        ]}});
        let got = retain("Service", desired, cluster).unwrap();
        assert_eq!(
            got["spec"]["ports"],
            json!([
                {"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080},
                {"name": "dns", "protocol": "TCP", "port": 53},
                {"name": "http", "protocol": "TCP", "port": 8080},
                {"port": 9000, "name": null, "nodePort": 30900},
                {"name": "x", "port": 80, "nodePort": 31000},
            ])
        );
        // Go's quirk, kept: a template port without protocol does not match the defaulted one.
        let got = retain(
            "Service",
            json!({"spec": {"ports": [{"name": "http", "port": 80}]}}),
            json!({"spec": {"ports": [{"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080}]}}),
        )
        .unwrap();
        assert_eq!(got["spec"]["ports"], json!([{"name": "http", "port": 80}]));
        // The member's ports set an empty list in a desired object without ports (as Go).
        let got = retain("Service", json!({}), json!({"spec": {"ports": []}})).unwrap();
        assert_eq!(got, json!({"spec": {"ports": []}}));
        // No member ports: desired untouched.
        let got = retain(
            "Service",
            json!({"spec": {"ports": [1]}}),
            json!({"spec": {}}),
        )
        .unwrap();
        assert_eq!(got["spec"]["ports"], json!([1]));
        // Malformed entries are errors where Go would panic.
        let err = retain(
            "Service",
            json!({"spec": {"ports": ["http"]}}),
            json!({"spec": {"ports": [{"port": 80}]}}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "desired `spec.ports[0]` is a string, expected an object"
        );
        let err = retain(
            "Service",
            json!({"spec": {"ports": [{"port": 80}]}}),
            json!({"spec": {"ports": [7]}}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "`spec.ports[0]` in the member is a number, expected an object"
        );
        let err = retain(
            "Service",
            json!({"spec": {"ports": {}}}),
            json!({"spec": {"ports": []}}),
        )
        .unwrap_err();
        assert_eq!(err, "desired: `spec.ports` is an object, expected a list");
    }

    #[test]
    fn service_account_secrets() {
        let secrets = json!([{"name": "sa-token-abc"}]);
        let cluster = json!({"secrets": secrets});
        let cases = [
            (
                "kept when desired has none",
                json!({}),
                Some(secrets.clone()),
            ),
            (
                "kept when desired has an empty list",
                json!({"secrets": []}),
                Some(secrets.clone()),
            ),
            (
                "desired wins when it has some",
                json!({"secrets": [{"name": "mine"}]}),
                Some(json!([{"name": "mine"}])),
            ),
        ];
        for (name, desired, expected) in cases {
            let got = retain("ServiceAccount", desired, cluster.clone()).expect(name);
            assert_eq!(got.get("secrets"), expected.as_ref(), "{name}");
        }
        let got = retain("ServiceAccount", json!({}), json!({"secrets": []})).unwrap();
        assert_eq!(got.get("secrets"), None);
        let err = retain("ServiceAccount", json!({}), json!({"secrets": "x"})).unwrap_err();
        assert_eq!(err, "`secrets` is a string, expected a list");
    }

    #[test]
    fn metadata_is_taken_from_the_member() {
        let desired = json!({"metadata": {
            "name": "a", "resourceVersion": "1", "finalizers": ["mine"],
            "annotations": {"mine": "x"}, "labels": {"app": "a"},
        }});
        let cluster = json!({"metadata": {
            "name": "a", "resourceVersion": "42", "finalizers": ["theirs"],
            "annotations": {"theirs": "y"}, "labels": {"other": "b"},
        }});
        let got = retain("ConfigMap", desired.clone(), cluster).unwrap();
        assert_eq!(
            got,
            json!({"metadata": {
                "name": "a", "resourceVersion": "42", "finalizers": ["theirs"],
                "annotations": {"theirs": "y"}, "labels": {"app": "a"},
            }})
        );
        // Absent, empty-string or malformed in the member: removed from desired.
        let cluster = json!({"metadata": {"resourceVersion": "", "finalizers": [1], "annotations": {"a": 1}}});
        let got = retain("ConfigMap", desired.clone(), cluster).unwrap();
        assert_eq!(
            got,
            json!({"metadata": {"name": "a", "labels": {"app": "a"}}})
        );
        let got = retain("ConfigMap", desired, json!({"metadata": "x"})).unwrap();
        assert_eq!(
            got,
            json!({"metadata": {"name": "a", "labels": {"app": "a"}}})
        );
        // Empty lists and maps are kept as such.
        let cluster =
            json!({"metadata": {"resourceVersion": "7", "finalizers": [], "annotations": {}}});
        let got = retain("ConfigMap", json!({}), cluster).unwrap();
        assert_eq!(
            got,
            json!({"metadata": {"resourceVersion": "7", "finalizers": [], "annotations": {}}})
        );
        // A desired object that is not an object is an error.
        let err = retain(
            "ConfigMap",
            json!([]),
            json!({"metadata": {"resourceVersion": "7"}}),
        )
        .unwrap_err();
        assert_eq!(err, "desired `(the object)` is a list, expected an object");
        let err = retain(
            "ConfigMap",
            json!({"metadata": 1}),
            json!({"metadata": {"resourceVersion": "7"}}),
        )
        .unwrap_err();
        assert_eq!(err, "desired `metadata` is a number, expected an object");
    }

    #[test]
    fn object_versions() {
        let cases = [
            (
                json!({"metadata": {"generation": 3, "resourceVersion": "9"}}),
                "gen:3",
            ),
            (
                json!({"metadata": {"generation": 0, "resourceVersion": "9"}}),
                "rv:9",
            ),
            (json!({"metadata": {"resourceVersion": "9"}}), "rv:9"),
            (
                json!({"metadata": {"generation": "3", "resourceVersion": "9"}}),
                "rv:9",
            ),
            (
                json!({"metadata": {"generation": 3.0, "resourceVersion": 9}}),
                "rv:",
            ),
            (json!({}), "rv:"),
            (Value::Null, "rv:"),
            (json!({"metadata": {"generation": -2}}), "gen:-2"),
        ];
        for (object, expected) in cases {
            assert_eq!(object_version(&object), expected, "{object}");
        }
    }

    #[test]
    fn needs_update_cases() {
        let cluster = json!({"metadata": {"name": "a", "namespace": "ns", "generation": 2, "resourceVersion": "5",
            "labels": {"app": "a"}, "annotations": {"x": "1"}}});
        let same = cluster.clone();
        let cases = [
            ("nothing recorded", same.clone(), None, true),
            (
                "recorded version differs",
                same.clone(),
                Some("gen:1"),
                true,
            ),
            (
                "recorded rv instead of gen",
                same.clone(),
                Some("rv:5"),
                true,
            ),
            ("current", same.clone(), Some("gen:2"), false),
            (
                "label differs",
                json!({"metadata": {"name": "a", "namespace": "ns", "labels": {"app": "b"}, "annotations": {"x": "1"}}}),
                Some("gen:2"),
                true,
            ),
            (
                "annotation missing",
                json!({"metadata": {"name": "a", "namespace": "ns", "labels": {"app": "a"}}}),
                Some("gen:2"),
                true,
            ),
            (
                "namespace differs",
                json!({"metadata": {"name": "a", "namespace": "other", "labels": {"app": "a"}, "annotations": {"x": "1"}}}),
                Some("gen:2"),
                true,
            ),
            (
                "name differs",
                json!({"metadata": {"name": "b", "namespace": "ns", "labels": {"app": "a"}, "annotations": {"x": "1"}}}),
                Some("gen:2"),
                true,
            ),
            (
                "other fields do not count",
                json!({"metadata": {"name": "a", "namespace": "ns", "labels": {"app": "a"}, "annotations": {"x": "1"}, "resourceVersion": "1"}, "spec": {"x": 1}}),
                Some("gen:2"),
                false,
            ),
        ];
        for (name, desired, recorded, expected) in cases {
            assert_eq!(
                needs_update(&desired, &cluster, recorded),
                expected,
                "{name}"
            );
        }
        // Empty maps equal absent ones.
        let cluster = json!({"metadata": {"name": "a", "generation": 1, "labels": {}}});
        let desired = json!({"metadata": {"name": "a", "annotations": {}}});
        assert!(!needs_update(&desired, &cluster, Some("gen:1")));
        // rv: versions skip the metadata check.
        let cluster = json!({"metadata": {"name": "a", "resourceVersion": "5"}});
        let desired = json!({"metadata": {"name": "a", "labels": {"x": "y"}}});
        assert!(!needs_update(&desired, &cluster, Some("rv:5")));
        assert!(needs_update(&desired, &cluster, Some("rv:4")));
    }
}

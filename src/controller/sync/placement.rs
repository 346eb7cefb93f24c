//! Placement: which member clusters a federated object selects (Go: `util/placement.go`).
//!
//! `spec.placement` is `{clusters: [{name}], clusterSelector: metav1.LabelSelector}`. A
//! `clusters` list wins whenever it is present, even empty; otherwise the selector is matched
//! against the KubeFedCluster object labels with `metav1.LabelSelectorAsSelector`'s semantics
//! and validation. The result is always intersected with the clusters that exist.
//!
//! The spec is read the way Go's `encoding/json` decodes it into `GenericPlacement`: JSON null
//! counts as absent, unknown fields are ignored, and a wrong JSON type is an error (which the
//! caller reports as `ComputePlacementFailed`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::api::Scope;

/// A KubeFedCluster as placement sees it: its name and its object labels.
pub struct ClusterLabels<'a> {
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
}

/// Go's `ComputePlacement`: the selected cluster names for a federated object's `spec` (may be
/// `Value::Null`), intersected with the existing `clusters`.
///
/// `selector_only` is Go's `selectorOnly` (used by ReplicaSchedulingPreference): the `clusters`
/// list is ignored and only the selector counts.
pub fn selected_clusters(
    spec: &Value,
    clusters: &[ClusterLabels<'_>],
    selector_only: bool,
) -> Result<BTreeSet<String>, String> {
    let placement = Placement::parse(spec)?;
    let existing = || clusters.iter().map(|c| c.name);
    match placement.clusters {
        Some(names) if !selector_only => Ok(existing()
            .filter(|name| names.contains(*name))
            .map(str::to_owned)
            .collect()),
        _ => {
            let selector = placement.selector.map(Selector::parse).transpose()?;
            Ok(clusters
                .iter()
                .filter(|c| selector.as_ref().is_some_and(|s| s.matches(c.labels)))
                .map(|c| c.name.to_owned())
                .collect())
        }
    }
}

/// The placement of a namespaced federated object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespacedPlacement {
    pub clusters: BTreeSet<String>,
    /// The containing namespace has no FederatedNamespace and the control plane is
    /// cluster-scoped: the status reason is `NamespaceNotFederated`.
    pub namespace_not_federated: bool,
}

/// Go's `ComputeNamespacedPlacement`: the resource placement ∩ the FederatedNamespace placement.
///
/// A missing FederatedNamespace (`None`) selects no cluster in `Cluster` scope (copies are
/// deleted and `namespace_not_federated` is set); in `Namespaced` scope the control plane's own
/// namespace exists in every member by definition, so the resource placement is used verbatim.
/// The resource placement is computed first, so its errors win, as in Go.
pub fn namespaced_placement(
    spec: &Value,
    federated_namespace_spec: Option<&Value>,
    clusters: &[ClusterLabels<'_>],
    scope: Scope,
) -> Result<NamespacedPlacement, String> {
    let resource = selected_clusters(spec, clusters, false)?;
    let Some(namespace_spec) = federated_namespace_spec else {
        let limited = scope.is_namespaced();
        return Ok(NamespacedPlacement {
            clusters: if limited { resource } else { BTreeSet::new() },
            namespace_not_federated: !limited,
        });
    };
    let namespace = selected_clusters(namespace_spec, clusters, false)
        .map_err(|e| format!("in the FederatedNamespace: {e}"))?;
    Ok(NamespacedPlacement {
        clusters: resource.intersection(&namespace).cloned().collect(),
        namespace_not_federated: false,
    })
}

/// The JSON type of a value, for error messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `spec.placement` as Go's `GenericPlacementFields` decodes it.
struct Placement<'a> {
    /// `None` when absent or null (use the selector); `Some` even when empty.
    clusters: Option<BTreeSet<&'a str>>,
    /// `None` when absent or null (select nothing).
    selector: Option<&'a Map<String, Value>>,
}

impl<'a> Placement<'a> {
    fn parse(spec: &'a Value) -> Result<Self, String> {
        let mut placement = Placement {
            clusters: None,
            selector: None,
        };
        let spec = object_field(Some(spec), "spec")?;
        let placement_field = spec.and_then(|spec| spec.get("placement"));
        let Some(fields) = object_field(placement_field, "spec.placement")? else {
            return Ok(placement);
        };
        if let Some(list) = list_field(fields.get("clusters"), "spec.placement.clusters")? {
            let mut names = BTreeSet::new();
            for (i, entry) in list.iter().enumerate() {
                let what = format!("spec.placement.clusters[{i}]");
                let entry = object_field(Some(entry), &what)?;
                let name = entry.and_then(|e| e.get("name"));
                names.insert(string_field(name, &format!("{what}.name"))?.unwrap_or(""));
            }
            placement.clusters = Some(names);
        }
        placement.selector = object_field(
            fields.get("clusterSelector"),
            "spec.placement.clusterSelector",
        )?;
        Ok(placement)
    }
}

/// A parsed, validated `metav1.LabelSelector` that selects something.
enum Selector {
    /// `{}`: no matchLabels and no matchExpressions.
    Everything,
    /// All must match (matchLabels become `In` with one value, which is how `Equals` matches).
    All(Vec<Requirement>),
}

struct Requirement {
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
}

#[derive(Clone, Copy)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Selector {
    /// Go's `metav1.LabelSelectorAsSelector` for a non-nil selector, with the validation of
    /// `labels.NewRequirement`.
    fn parse(selector: &Map<String, Value>) -> Result<Self, String> {
        const WHAT: &str = "spec.placement.clusterSelector";
        let invalid = |e: String| format!("invalid `{WHAT}`: {e}");
        let mut requirements = Vec::new();
        if let Some(labels) =
            object_field(selector.get("matchLabels"), &format!("{WHAT}.matchLabels"))?
        {
            for (key, value) in labels {
                let what = format!("{WHAT}.matchLabels.{key}");
                let value = string_field(Some(value), &what)?.unwrap_or("");
                validate_key(key).map_err(|e| invalid(format!("matchLabels key `{key}`: {e}")))?;
                validate_value(value)
                    .map_err(|e| invalid(format!("matchLabels value `{value}` of `{key}`: {e}")))?;
                requirements.push(Requirement {
                    key: key.clone(),
                    operator: Operator::In,
                    values: BTreeSet::from([value.to_owned()]),
                });
            }
        }
        if let Some(expressions) = list_field(
            selector.get("matchExpressions"),
            &format!("{WHAT}.matchExpressions"),
        )? {
            for (i, expression) in expressions.iter().enumerate() {
                let what = format!("{WHAT}.matchExpressions[{i}]");
                requirements.push(
                    Requirement::parse(expression, &what)?
                        .map_err(|e| format!("invalid `{what}`: {e}"))?,
                );
            }
        }
        Ok(if requirements.is_empty() {
            Selector::Everything
        } else {
            Selector::All(requirements)
        })
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Selector::Everything => true,
            Selector::All(requirements) => requirements.iter().all(|r| r.matches(labels)),
        }
    }
}

impl Requirement {
    /// Outer error: wrong JSON types; inner error: an invalid requirement.
    fn parse(expression: &Value, what: &str) -> Result<Result<Self, String>, String> {
        let fields = object_field(Some(expression), what)?;
        let field = |name| fields.and_then(|f| f.get(name));
        let key = string_field(field("key"), &format!("{what}.key"))?.unwrap_or("");
        let operator = string_field(field("operator"), &format!("{what}.operator"))?.unwrap_or("");
        let mut values = Vec::new();
        for (i, value) in list_field(field("values"), &format!("{what}.values"))?
            .into_iter()
            .flatten()
            .enumerate()
        {
            values.push(string_field(Some(value), &format!("{what}.values[{i}]"))?.unwrap_or(""));
        }
        Ok(Self::new(key, operator, &values))
    }

    fn new(key: &str, operator: &str, values: &[&str]) -> Result<Self, String> {
        let operator = match operator {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            "" => return Err("an operator is required (In, NotIn, Exists, DoesNotExist)".into()),
            other => {
                return Err(format!(
                    "`{other}` is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)"
                ));
            }
        };
        validate_key(key).map_err(|e| format!("key `{key}`: {e}"))?;
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err("values must not be empty for the In and NotIn operators".into());
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err(
                    "values must be empty for the Exists and DoesNotExist operators".into(),
                );
            }
            _ => {}
        }
        for value in values {
            validate_value(value).map_err(|e| format!("value `{value}`: {e}"))?;
        }
        Ok(Requirement {
            key: key.to_owned(),
            operator,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        })
    }

    /// Go's `labels.Requirement.Matches`: `NotIn` matches a cluster without the label.
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// Go's `validation.IsQualifiedName` for label keys: `[prefix/]name`, the prefix a DNS-1123
/// subdomain, the name at most 63 characters of `[A-Za-z0-9_.-]` starting and ending with an
/// alphanumeric character.
fn validate_key(key: &str) -> Result<(), String> {
    let name = match key.split('/').collect::<Vec<_>>()[..] {
        [name] => name,
        [prefix, name] => {
            if prefix.is_empty() {
                return Err("the prefix part must not be empty".into());
            }
            if !is_dns1123_subdomain(prefix) {
                return Err("the prefix part must be a DNS-1123 subdomain: at most 253 \
                            characters of lowercase alphanumeric characters, '-' or '.', \
                            starting and ending with an alphanumeric character"
                    .into());
            }
            name
        }
        _ => return Err("a label key has at most one '/'".into()),
    };
    if name.is_empty() {
        return Err("the name part must not be empty".into());
    }
    if name.len() > 63 {
        return Err("the name part must be no more than 63 characters".into());
    }
    if !is_label_name(name) {
        return Err(
            "the name part must consist of alphanumeric characters, '-', '_' or '.', \
                    and must start and end with an alphanumeric character"
                .into(),
        );
    }
    Ok(())
}

/// Go's `validation.IsValidLabelValue`: empty, or a label name of at most 63 characters.
fn validate_value(value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err("a label value must be no more than 63 characters".into());
    }
    if !value.is_empty() && !is_label_name(value) {
        return Err(
            "a label value must be empty or consist of alphanumeric characters, '-', \
                    '_' or '.', and must start and end with an alphanumeric character"
                .into(),
        );
    }
    Ok(())
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, non-empty.
fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Dot-separated `[a-z0-9]([-a-z0-9]*[a-z0-9])?` labels, at most 253 characters in all.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || *c == b'-')
        })
}

/// An optional object field (`what` is its path, for the message); null counts as absent.
fn object_field<'a>(
    value: Option<&'a Value>,
    what: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(format!(
            "`{what}` is {}, expected an object",
            json_type(other)
        )),
    }
}

/// An optional list field; null counts as absent.
fn list_field<'a>(value: Option<&'a Value>, what: &str) -> Result<Option<&'a [Value]>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) => Ok(Some(list)),
        Some(other) => Err(format!("`{what}` is {}, expected a list", json_type(other))),
    }
}

/// An optional string field; null counts as absent (Go leaves the zero value, "").
fn string_field<'a>(value: Option<&'a Value>, what: &str) -> Result<Option<&'a str>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "`{what}` is {}, expected a string",
            json_type(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Runs `f` with upstream's two test clusters: `cluster1` (no labels) and `cluster2`
    /// (`foo: bar`), plus `cluster3` (`foo: baz`, `env: prod`) for the expression cases.
    fn with_clusters<T>(f: impl FnOnce(&[ClusterLabels<'_>]) -> T) -> T {
        let none = labels(&[]);
        let bar = labels(&[("foo", "bar")]);
        let baz = labels(&[("foo", "baz"), ("env", "prod")]);
        f(&[
            ClusterLabels {
                name: "cluster1",
                labels: &none,
            },
            ClusterLabels {
                name: "cluster2",
                labels: &bar,
            },
            ClusterLabels {
                name: "cluster3",
                labels: &baz,
            },
        ])
    }

    fn select(spec: Value) -> Result<BTreeSet<String>, String> {
        with_clusters(|clusters| selected_clusters(&spec, clusters, false))
    }

    // Ported from upstream placement_test.go `TestSelectedClusterNames` (with a third cluster,
    // which none of its selectors match).
    #[test]
    fn upstream_selected_cluster_names() {
        let cases: &[(&str, Value, &[&str])] = &[
            (
                "ignore cluster selector when cluster names present",
                json!({"placement": {"clusters": [{"name": "cluster1"}], "clusterSelector": {"matchLabels": {}}}}),
                &["cluster1"],
            ),
            (
                "no clusters when cluster names and selector absent",
                json!({}),
                &[],
            ),
            (
                "no clusters when cluster names empty and selector not empty",
                json!({"placement": {"clusters": [], "clusterSelector": {"matchLabels": {"foo": "bar"}}}}),
                &[],
            ),
            (
                "all clusters when cluster names absent and selector empty",
                json!({"placement": {"clusterSelector": {"matchLabels": {}}}}),
                &["cluster1", "cluster2", "cluster3"],
            ),
            (
                "selected clusters when cluster names absent and selector not empty",
                json!({"placement": {"clusterSelector": {"matchLabels": {"foo": "bar"}}}}),
                &["cluster2"],
            ),
        ];
        for (name, spec, expected) in cases {
            assert_eq!(select(spec.clone()), Ok(names(expected)), "{name}");
        }
    }

    #[test]
    fn placement_shapes() {
        let cases: &[(&str, Value, &[&str])] = &[
            ("spec null", Value::Null, &[]),
            ("placement null", json!({"placement": null}), &[]),
            ("placement empty", json!({"placement": {}}), &[]),
            (
                "clusters null falls back to the selector",
                json!({"placement": {"clusters": null, "clusterSelector": {}}}),
                &["cluster1", "cluster2", "cluster3"],
            ),
            (
                "selector null selects nothing",
                json!({"placement": {"clusterSelector": null}}),
                &[],
            ),
            (
                "unknown cluster names are dropped",
                json!({"placement": {"clusters": [{"name": "cluster3"}, {"name": "gone"}, {"name": "cluster3"}]}}),
                &["cluster3"],
            ),
            (
                "a null cluster entry is a nameless cluster",
                json!({"placement": {"clusters": [null, {}, {"name": null}]}}),
                &[],
            ),
            (
                "unknown fields are ignored",
                json!({"placement": {"clusters": [{"name": "cluster1", "x": 1}], "y": true}, "z": 1}),
                &["cluster1"],
            ),
        ];
        for (name, spec, expected) in cases {
            assert_eq!(select(spec.clone()), Ok(names(expected)), "{name}");
        }
    }

    #[test]
    fn selector_semantics() {
        let cases: &[(&str, Value, &[&str])] = &[
            (
                "In",
                json!({"matchExpressions": [{"key": "foo", "operator": "In", "values": ["bar", "baz"]}]}),
                &["cluster2", "cluster3"],
            ),
            (
                "NotIn matches clusters without the label",
                json!({"matchExpressions": [{"key": "foo", "operator": "NotIn", "values": ["bar"]}]}),
                &["cluster1", "cluster3"],
            ),
            (
                "Exists",
                json!({"matchExpressions": [{"key": "foo", "operator": "Exists"}]}),
                &["cluster2", "cluster3"],
            ),
            (
                "DoesNotExist",
                json!({"matchExpressions": [{"key": "env", "operator": "DoesNotExist", "values": []}]}),
                &["cluster1", "cluster2"],
            ),
            (
                "matchLabels AND matchExpressions",
                json!({"matchLabels": {"foo": "baz"}, "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}),
                &["cluster3"],
            ),
            (
                "nothing matches",
                json!({"matchLabels": {"foo": "bar", "env": "prod"}}),
                &[],
            ),
            (
                "empty matchLabels value matches only an empty label",
                json!({"matchLabels": {"foo": ""}}),
                &[],
            ),
            (
                "a prefixed key",
                json!({"matchExpressions": [{"key": "kubefed.io/region", "operator": "DoesNotExist"}]}),
                &["cluster1", "cluster2", "cluster3"],
            ),
            (
                "empty lists are everything",
                json!({"matchLabels": null, "matchExpressions": []}),
                &["cluster1", "cluster2", "cluster3"],
            ),
        ];
        for (name, selector, expected) in cases {
            let spec = json!({"placement": {"clusterSelector": selector}});
            assert_eq!(select(spec), Ok(names(expected)), "{name}");
        }
    }

    #[test]
    fn invalid_selectors_are_errors() {
        let cases: &[(&str, Value, &str)] = &[
            (
                "In without values",
                json!({"matchExpressions": [{"key": "foo", "operator": "In"}]}),
                "values must not be empty",
            ),
            (
                "NotIn with empty values",
                json!({"matchExpressions": [{"key": "foo", "operator": "NotIn", "values": []}]}),
                "values must not be empty",
            ),
            (
                "Exists with values",
                json!({"matchExpressions": [{"key": "foo", "operator": "Exists", "values": ["bar"]}]}),
                "values must be empty",
            ),
            (
                "unknown operator",
                json!({"matchExpressions": [{"key": "foo", "operator": "Gt", "values": ["1"]}]}),
                "`Gt` is not a valid label selector operator",
            ),
            (
                "missing operator",
                json!({"matchExpressions": [{"key": "foo"}]}),
                "an operator is required",
            ),
            (
                "null expression",
                json!({"matchExpressions": [null]}),
                "an operator is required",
            ),
            (
                "empty key",
                json!({"matchExpressions": [{"key": "", "operator": "Exists"}]}),
                "name part must not be empty",
            ),
            (
                "key with a space",
                json!({"matchLabels": {"foo bar": "x"}}),
                "matchLabels key `foo bar`",
            ),
            (
                "key too long",
                json!({"matchLabels": {"a".repeat(64): "x"}}),
                "no more than 63",
            ),
            (
                "key with two slashes",
                json!({"matchLabels": {"a/b/c": "x"}}),
                "at most one '/'",
            ),
            (
                "empty prefix",
                json!({"matchLabels": {"/c": "x"}}),
                "prefix part must not be empty",
            ),
            (
                "uppercase prefix",
                json!({"matchLabels": {"Example.com/c": "x"}}),
                "DNS-1123 subdomain",
            ),
            (
                "value with a space",
                json!({"matchLabels": {"foo": "a b"}}),
                "matchLabels value `a b`",
            ),
            (
                "value ending in a dash",
                json!({"matchExpressions": [{"key": "foo", "operator": "In", "values": ["bar-"]}]}),
                "value `bar-`",
            ),
            (
                "value too long",
                json!({"matchLabels": {"foo": "v".repeat(64)}}),
                "no more than 63",
            ),
        ];
        for (name, selector, message) in cases {
            let spec = json!({"placement": {"clusterSelector": selector}});
            let err = select(spec).expect_err(name);
            assert!(err.contains(message), "{name}: {err}");
            assert!(err.contains("clusterSelector"), "{name}: {err}");
        }
    }

    #[test]
    fn valid_keys_and_values() {
        for key in [
            "a",
            "A.b-c_d",
            "0",
            "example.com/Name",
            "a.b-c.d/x",
            &"a".repeat(63),
        ] {
            assert_eq!(validate_key(key), Ok(()), "{key}");
        }
        for value in ["", "a", "A_b.c-9", &"v".repeat(63)] {
            assert_eq!(validate_value(value), Ok(()), "{value}");
        }
        for key in ["-a", "a-", "a..b/c", "-a.com/c", "a.com-/c", "é"] {
            assert!(validate_key(key).is_err(), "{key}");
        }
        assert!(validate_key(&format!("{}/a", "a".repeat(254))).is_err());
        assert!(validate_value("_a").is_err());
    }

    #[test]
    fn wrong_json_types_are_errors() {
        let cases: &[(Value, &str)] = &[
            (json!("x"), "`spec` is a string, expected an object"),
            (
                json!({"placement": []}),
                "`spec.placement` is a list, expected an object",
            ),
            (
                json!({"placement": {"clusters": {"name": "a"}}}),
                "`spec.placement.clusters` is an object, expected a list",
            ),
            (
                json!({"placement": {"clusters": ["cluster1"]}}),
                "`spec.placement.clusters[0]` is a string, expected an object",
            ),
            (
                json!({"placement": {"clusters": [{"name": 1}]}}),
                "`spec.placement.clusters[0].name` is a number, expected a string",
            ),
            (
                json!({"placement": {"clusterSelector": "foo=bar"}}),
                "`spec.placement.clusterSelector` is a string, expected an object",
            ),
            (
                json!({"placement": {"clusterSelector": {"matchLabels": {"foo": true}}}}),
                "`spec.placement.clusterSelector.matchLabels.foo` is a boolean, expected a string",
            ),
            (
                json!({"placement": {"clusterSelector": {"matchExpressions": {}}}}),
                "matchExpressions` is an object, expected a list",
            ),
            (
                json!({"placement": {"clusterSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": [1]}]}}}),
                "matchExpressions[0].values[0]` is a number, expected a string",
            ),
        ];
        for (spec, message) in cases {
            let err = select(spec.clone()).expect_err(message);
            assert!(err.contains(message), "{spec}: {err}");
        }
    }

    #[test]
    fn selector_only_ignores_the_cluster_list() {
        let spec = json!({"placement": {"clusters": [{"name": "cluster1"}], "clusterSelector": {"matchLabels": {"foo": "bar"}}}});
        let got = with_clusters(|c| selected_clusters(&spec, c, true));
        assert_eq!(got, Ok(names(&["cluster2"])));
        let spec = json!({"placement": {"clusters": [{"name": "cluster1"}]}});
        let got = with_clusters(|c| selected_clusters(&spec, c, true));
        assert_eq!(got, Ok(names(&[])));
    }

    #[test]
    fn namespaced_placement_cases() {
        let resource =
            json!({"placement": {"clusters": [{"name": "cluster1"}, {"name": "cluster2"}]}});
        let namespace = json!({"placement": {"clusterSelector": {"matchLabels": {"foo": "bar"}}}});
        let bad = json!({"placement": {"clusters": 1}});
        let run = |spec: &Value, ns: Option<&Value>, scope| {
            with_clusters(|c| namespaced_placement(spec, ns, c, scope))
        };
        let placed = |list: &[&str], not_federated| {
            Ok(NamespacedPlacement {
                clusters: names(list),
                namespace_not_federated: not_federated,
            })
        };
        // Intersection when the FederatedNamespace exists, in either scope.
        for scope in [Scope::Cluster, Scope::Namespaced] {
            assert_eq!(
                run(&resource, Some(&namespace), scope),
                placed(&["cluster2"], false)
            );
        }
        // No FederatedNamespace: nothing in Cluster scope, verbatim in Namespaced scope.
        assert_eq!(run(&resource, None, Scope::Cluster), placed(&[], true));
        assert_eq!(
            run(&resource, None, Scope::Namespaced),
            placed(&["cluster1", "cluster2"], false)
        );
        // Errors: the resource's first, even without a FederatedNamespace.
        assert!(run(&bad, None, Scope::Cluster).is_err());
        let err = run(&resource, Some(&bad), Scope::Cluster).unwrap_err();
        assert!(err.starts_with("in the FederatedNamespace: "), "{err}");
    }
}

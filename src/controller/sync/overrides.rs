//! Per-cluster overrides: reading `spec.overrides` (Go: `util/overrides.go`, `GetOverrides`) and
//! applying one cluster's list to the member object as a JSON patch with the leniency of
//! evanphx/json-patch v4.12, which upstream uses (since the JSON-pointer paths of #991) and whose
//! quirks users rely on.
//!
//! Upstream reads the overrides by decoding the whole object into a Go struct with
//! `encoding/json`; [`decode`] reproduces that decoding (unknown fields dropped, `null` as the
//! zero value, keys matched case-insensitively, every number a float64) and is shared with the
//! overrides hash in [`super::gojson`].

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Number, Value};

use super::gojson::{self, Numbers};

/// One JSON patch operation of a cluster's overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// `add`, `remove` or `replace` (an empty `op` is read as `replace`). The CRD restricts it to
    /// those, but anything stored is passed on and fails when applied, as upstream.
    pub op: String,
    pub path: String,
    /// `None` when absent or `null`: Go decodes both to a nil `interface{}`, which `omitempty`
    /// then drops from the patch.
    pub value: Option<Value>,
}

/// Overrides by cluster name.
pub type ClusterOverrides = BTreeMap<String, Vec<Override>>;

/// Paths that would break the link between the federated object and its member copies, or the
/// kind the FTC dictates (`/apiVersion` stays allowed, for types served at several versions).
const INVALID_PATHS: [&str; 4] = [
    "/metadata/namespace",
    "/metadata/name",
    "/metadata/generateName",
    "/kind",
];

/// Go's GetOverrides: spec.overrides of the federated object, by cluster name.
///
/// Errors carry upstream's messages. A malformed list (wrong JSON types) fails with the message
/// Go's `json.Unmarshal` gives. An item without `clusterName` is not an error, as upstream: it is
/// filed under `""`, which no cluster is called.
pub fn parse(federated: &Value) -> Result<ClusterOverrides, String> {
    let mut by_cluster = ClusterOverrides::new();
    let Some(items) = decode(federated)?.and_then(|spec| spec.overrides) else {
        return Ok(by_cluster);
    };
    for item in items {
        let cluster = item.cluster_name;
        if by_cluster.contains_key(&cluster) {
            return Err(format!(
                "cluster {} appears more than once",
                go_quote(&cluster)
            ));
        }
        let decoded = item.cluster_overrides.unwrap_or_default();
        let mut paths = HashSet::new();
        let mut overrides = Vec::with_capacity(decoded.len());
        for (i, o) in decoded.into_iter().enumerate() {
            if INVALID_PATHS.contains(&o.path.as_str()) {
                return Err(format!(
                    "override[{i}] for cluster {} has an invalid path: {}",
                    go_quote(&cluster),
                    o.path
                ));
            }
            if !paths.insert(o.path.clone()) {
                return Err(format!(
                    "path {} appears more than once for cluster {}",
                    go_quote(&o.path),
                    go_quote(&cluster)
                ));
            }
            overrides.push(Override {
                op: if o.op.is_empty() {
                    "replace".to_owned()
                } else {
                    o.op
                },
                path: o.path,
                value: o.value.map(through_float64),
            });
        }
        by_cluster.insert(cluster, overrides);
    }
    Ok(by_cluster)
}

/// Apply one cluster's overrides to the whole member object JSON, with evanphx/json-patch v4.12
/// semantics.
///
/// Operations apply in order; on error the object may be half patched and the caller discards it.
/// The lenient cases upstream users meet: `replace` of a missing object key adds it, negative
/// array indices count from the end (`add /a/-1` appends), text before the first `/` of a path is
/// ignored, and `replace` of the whole document (`""`) with a scalar does nothing. Where evanphx
/// panics (a whole-document `replace` or a `test` without a value, `null` array elements under
/// `test`), this returns an error instead.
pub fn apply(object: &mut Value, overrides: &[Override]) -> Result<(), String> {
    if overrides.is_empty() {
        return Ok(());
    }
    for o in overrides {
        match o.op.as_str() {
            "add" => add(object, &o.path, o.value.clone().unwrap_or(Value::Null))?,
            "remove" => remove(object, &o.path)?,
            "replace" | "" => replace(object, &o.path, o.value.as_ref())?,
            "test" => test(object, &o.path, o.value.as_ref())?,
            // NB: the Go override struct has no `from`, so these can never succeed upstream.
            "move" | "copy" => {
                return Err(format!(
                    "{} operation failed to decode from: operation, missing from field: missing value",
                    o.op
                ));
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    check_kind(object)
}

/// Upstream decodes the patched JSON back into an `Unstructured`, which needs an object whose
/// `kind` is a non-empty string and whose `apiVersion` parses as a group/version.
fn check_kind(object: &Value) -> Result<(), String> {
    let Value::Object(map) = object else {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(object)
        ));
    };
    let text = |key| map.get(key).and_then(Value::as_str).unwrap_or("");
    // ParseGroupVersion fails on more than one '/', and GroupVersionKind() is then empty.
    let group_version_ok = text("apiVersion").matches('/').count() <= 1;
    if text("kind").is_empty() || !group_version_ok {
        let json = gojson::encode(object);
        return Err(format!(
            "Object 'Kind' is missing in '{}'",
            json.trim_end_matches('\n')
        ));
    }
    Ok(())
}

/// The container a path points into, and the last reference token.
enum Container<'a> {
    Object(&'a mut Map<String, Value>),
    Array(&'a mut Vec<Value>),
}

/// evanphx's `findObject`: split on `/`, ignore the first token, walk all but the last token
/// (each step must land on an object or array; `null` and scalars end the walk).
fn find_container<'a>(root: &'a mut Value, path: &str) -> Option<(Container<'a>, String)> {
    let tokens: Vec<&str> = path.split('/').collect();
    let (key, parents) = tokens.split_last()?;
    // NB: `strings.Split(path, "/")[1:]`: whatever precedes the first '/' is dropped, so
    // `x/kind` addresses `/kind` (and slips past the forbidden-path check, as upstream).
    let parents = parents.get(1..)?;
    let mut node = root;
    for token in parents {
        let token = unescape(token);
        node = match node {
            Value::Object(map) => map.get_mut(&token)?,
            Value::Array(items) => {
                let index = array_index(items.len(), &token).ok()?;
                items.get_mut(index)?
            }
            _ => return None,
        };
    }
    let key = unescape(key);
    match node {
        Value::Object(map) => Some((Container::Object(map), key)),
        Value::Array(items) => Some((Container::Array(items), key)),
        _ => None,
    }
}

/// RFC 6901: `~1` is `/`, then `~0` is `~`, in one left-to-right pass.
fn unescape(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('~', Some('1')) => {
                out.push('/');
                chars.next();
            }
            ('~', Some('0')) => {
                out.push('~');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, 64-bit.
fn go_atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(s)))
}

fn invalid_index(index: i64) -> String {
    format!("Unable to access invalid index: {index}: invalid index referenced")
}

fn len_i64(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// An existing element's position (`partialArray.get`/`set`): negative counts from the end.
fn array_index(len: usize, token: &str) -> Result<usize, String> {
    let index = go_atoi(token)?;
    let len = len_i64(len);
    let adjusted = if index < 0 {
        if index < -len {
            return Err(invalid_index(index));
        }
        index + len
    } else {
        index
    };
    if adjusted >= len {
        return Err(invalid_index(adjusted));
    }
    usize::try_from(adjusted).map_err(|_| invalid_index(index))
}

fn add(root: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let Some((container, key)) = find_container(root, path) else {
        return Err(format!(
            "add operation does not apply: doc is missing path: \"{path}\": missing value"
        ));
    };
    match container {
        // NB: `add` of an existing key replaces its value, lists included; users who expected a
        // merge reported that as a bug (#1224), but it is RFC 6902 and upstream behaviour.
        Container::Object(map) => {
            map.insert(key, value);
            Ok(())
        }
        Container::Array(items) => array_insert(items, &key, value)
            .map_err(|e| format!("error in add for path: '{path}': {e}")),
    }
}

/// `partialArray.add`: `-` appends; an index may equal the length; negative indices count from
/// the end of the grown array, so `-1` appends too.
fn array_insert(items: &mut Vec<Value>, key: &str, value: Value) -> Result<(), String> {
    if key == "-" {
        items.push(value);
        return Ok(());
    }
    let index =
        go_atoi(key).map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
    let size = len_i64(items.len()).saturating_add(1);
    if index >= size {
        return Err(invalid_index(index));
    }
    let adjusted = if index < 0 {
        if index < -size {
            return Err(invalid_index(index));
        }
        index + size
    } else {
        index
    };
    let adjusted = usize::try_from(adjusted).map_err(|_| invalid_index(index))?;
    items.insert(adjusted, value);
    Ok(())
}

fn remove(root: &mut Value, path: &str) -> Result<(), String> {
    let Some((container, key)) = find_container(root, path) else {
        return Err(format!(
            "remove operation does not apply: doc is missing path: \"{path}\": missing value"
        ));
    };
    let in_remove = |e: String| format!("error in remove for path: '{path}': {e}");
    match container {
        Container::Object(map) => match map.shift_remove(&key) {
            Some(_) => Ok(()),
            None => Err(in_remove(format!(
                "Unable to remove nonexistent key: {key}: missing value"
            ))),
        },
        Container::Array(items) => {
            let index = array_index(items.len(), &key).map_err(in_remove)?;
            items.remove(index);
            Ok(())
        }
    }
}

fn replace(root: &mut Value, path: &str, value: Option<&Value>) -> Result<(), String> {
    if path.is_empty() {
        return match value {
            Some(v @ (Value::Object(_) | Value::Array(_))) => {
                *root = v.clone();
                Ok(())
            }
            // NB: evanphx wraps a nil error here, so a scalar value is a silent no-op.
            Some(_) => Ok(()),
            // NB: upstream dereferences a nil value here and panics the controller.
            None => Err("replace operation value must be object or array".to_owned()),
        };
    }
    let Some((container, key)) = find_container(root, path) else {
        return Err(format!(
            "replace operation does not apply: doc is missing path: {path}: missing value"
        ));
    };
    let value = value.cloned().unwrap_or(Value::Null);
    match container {
        // NB: not RFC 6902: a missing key is not an error (`partialDoc.get` cannot fail), so
        // `replace` adds it. Users rely on this to set fields the template lacks.
        Container::Object(map) => {
            map.insert(key, value);
            Ok(())
        }
        Container::Array(items) => {
            let index = array_index(items.len(), &key).map_err(|_| {
                format!(
                    "replace operation does not apply: doc is missing key: {path}: missing value"
                )
            })?;
            if let Some(slot) = items.get_mut(index) {
                *slot = value;
            }
            Ok(())
        }
    }
}

/// RFC 6902 `test`. The CRD forbids it, but objects stored without that validation can hold it
/// and upstream applies it.
fn test(root: &mut Value, path: &str, value: Option<&Value>) -> Result<(), String> {
    let failed = || Err(format!("testing value {path} failed: test failed"));
    if path.is_empty() {
        // NB: upstream panics on a missing value here; it is a failed test instead.
        return match value {
            Some(expected) if go_equal(root, expected) => Ok(()),
            _ => failed(),
        };
    }
    let Some((container, key)) = find_container(root, path) else {
        return Err(format!(
            "test operation does not apply: is missing path: {path}: missing value"
        ));
    };
    let found = match container {
        Container::Object(map) => map.get(&key),
        Container::Array(items) => {
            let index = array_index(items.len(), &key)
                .map_err(|e| format!("error in test for path: '{path}': {e}"))?;
            items.get(index)
        }
    };
    match (found.filter(|v| !v.is_null()), value) {
        // A missing key and a `null` both compare equal to a `null` value. (Upstream panics when
        // the value is absent; that is a failed test here.)
        (None, Some(Value::Null)) => Ok(()),
        (Some(found), Some(expected)) if go_equal(found, expected) => Ok(()),
        _ => failed(),
    }
}

/// evanphx's structural equality: containers by content, scalars by their Go encoding (the
/// document's numbers as apimachinery holds them, the value's as float64).
fn go_equal(doc: &Value, value: &Value) -> bool {
    match (doc, value) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|other| go_equal(v, other)))
        }
        // NB: evanphx dereferences a `null` array element and panics; here it fails the test.
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| !x.is_null() && !y.is_null() && go_equal(x, y))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        (a, b) => {
            gojson::encode_with(a, Numbers::Unstructured)
                == gojson::encode_with(b, Numbers::Float64)
        }
    }
}

/// A value as upstream applies it: decoded into `interface{}` (float64), marshalled into the
/// patch and decoded again by apimachinery (int64 when the text parses as one). So integers
/// beyond 2^53 lose precision and `-0` becomes `0`, as in Go.
fn through_float64(value: Value) -> Value {
    match value {
        Value::Number(n) => {
            let Some(f) = n.as_f64() else {
                return Value::Number(n);
            };
            // Go prints integral float64s below 1e21 as integer digits, and ParseInt takes them
            // when they fit an int64 (2^63 itself does not).
            if f.fract() == 0.0
                && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)
            {
                #[allow(clippy::cast_possible_truncation)]
                return Value::from(f as i64);
            }
            Number::from_f64(f).map_or(Value::Number(n), Value::Number)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(through_float64).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, through_float64(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Go's `GenericOverrideSpec` after `json.Unmarshal`; `overrides: None` is a nil slice.
#[derive(Debug, Default)]
pub(crate) struct DecodedSpec {
    pub overrides: Option<Vec<DecodedItem>>,
}

/// Go's `GenericOverrideItem`; `cluster_overrides: None` is a nil slice.
#[derive(Debug, Default)]
pub(crate) struct DecodedItem {
    pub cluster_name: String,
    pub cluster_overrides: Option<Vec<DecodedOverride>>,
}

/// Go's `ClusterOverride`, before the empty `op` becomes `replace`.
#[derive(Debug, Default)]
pub(crate) struct DecodedOverride {
    pub op: String,
    pub path: String,
    pub value: Option<Value>,
}

/// Decode the federated object the way upstream's `UnstructuredToInterface` decodes it into
/// `GenericOverride`: `Ok(None)` when `spec` is absent or `null`.
///
/// Like `encoding/json`, a type mismatch does not stop the decoding; the first one (in the
/// sorted key order `unstructured.MarshalJSON` writes) is the error. Duplicate keys that fold to
/// the same field (`clusterName` and `ClusterName`, which the apiserver prunes anyway) overwrite
/// each other in that order; Go would merge two lists element by element.
pub(crate) fn decode(federated: &Value) -> Result<Option<DecodedSpec>, String> {
    let Value::Object(object) = federated else {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type util.GenericOverride",
            json_kind(federated)
        ));
    };
    let mut decoder = Decoder::default();
    let mut spec = None;
    for (key, value) in sorted(object) {
        if !field_matches(key, "spec") {
            continue;
        }
        spec = match value {
            Value::Null => None,
            Value::Object(fields) => Some(decoder.spec(fields)),
            other => {
                decoder.mismatch(other, "GenericOverride", "spec", "util.GenericOverrideSpec");
                Some(DecodedSpec::default())
            }
        };
    }
    match decoder.error {
        Some(error) => Err(error),
        None => Ok(spec),
    }
}

#[derive(Default)]
struct Decoder {
    /// The first type mismatch, in Go's `UnmarshalTypeError` wording.
    error: Option<String>,
}

impl Decoder {
    fn mismatch(&mut self, found: &Value, go_struct: &str, field: &str, go_type: &str) {
        if self.error.is_none() {
            self.error = Some(format!(
                "json: cannot unmarshal {} into Go struct field {go_struct}.{field} of type {go_type}",
                json_kind(found)
            ));
        }
    }

    fn string(&mut self, value: &Value, into: &mut String, go_struct: &str, field: &str) {
        match value {
            Value::String(s) => s.clone_into(into),
            // `null` leaves a string field alone.
            Value::Null => {}
            other => self.mismatch(other, go_struct, field, "string"),
        }
    }

    fn spec(&mut self, fields: &Map<String, Value>) -> DecodedSpec {
        let mut spec = DecodedSpec::default();
        for (key, value) in sorted(fields) {
            if !field_matches(key, "overrides") {
                continue;
            }
            spec.overrides = match value {
                Value::Null => None,
                Value::Array(items) => Some(items.iter().map(|item| self.item(item)).collect()),
                other => {
                    self.mismatch(
                        other,
                        "GenericOverrideSpec",
                        "spec.overrides",
                        "[]util.GenericOverrideItem",
                    );
                    spec.overrides
                }
            };
        }
        spec
    }

    fn item(&mut self, value: &Value) -> DecodedItem {
        let mut item = DecodedItem::default();
        let fields = match value {
            Value::Object(fields) => fields,
            // `null` decodes to the zero struct.
            Value::Null => return item,
            other => {
                self.mismatch(
                    other,
                    "GenericOverrideSpec",
                    "spec.overrides",
                    "util.GenericOverrideItem",
                );
                return item;
            }
        };
        for (key, value) in sorted(fields) {
            if field_matches(key, "clusterName") {
                let field = "spec.overrides.clusterName";
                self.string(value, &mut item.cluster_name, "GenericOverrideItem", field);
            } else if field_matches(key, "clusterOverrides") {
                item.cluster_overrides = match value {
                    Value::Null => None,
                    Value::Array(items) => {
                        Some(items.iter().map(|o| self.cluster_override(o)).collect())
                    }
                    other => {
                        self.mismatch(
                            other,
                            "GenericOverrideItem",
                            "spec.overrides.clusterOverrides",
                            "[]util.ClusterOverride",
                        );
                        item.cluster_overrides
                    }
                };
            }
        }
        item
    }

    fn cluster_override(&mut self, value: &Value) -> DecodedOverride {
        let mut o = DecodedOverride::default();
        let fields = match value {
            Value::Object(fields) => fields,
            Value::Null => return o,
            other => {
                self.mismatch(
                    other,
                    "GenericOverrideItem",
                    "spec.overrides.clusterOverrides",
                    "util.ClusterOverride",
                );
                return o;
            }
        };
        for (key, value) in sorted(fields) {
            if field_matches(key, "op") {
                let field = "spec.overrides.clusterOverrides.op";
                self.string(value, &mut o.op, "ClusterOverride", field);
            } else if field_matches(key, "path") {
                let field = "spec.overrides.clusterOverrides.path";
                self.string(value, &mut o.path, "ClusterOverride", field);
            } else if field_matches(key, "value") {
                // `null` into an `interface{}` is nil.
                o.value = Some(value.clone()).filter(|v| !v.is_null());
            }
        }
        o
    }
}

/// Object entries in the byte order of their keys, the order `unstructured.MarshalJSON` writes
/// them and so the order Go decodes them in.
fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
}

/// `encoding/json` matches a key to a struct field exactly or, failing that, under Unicode
/// simple case folding; for ASCII field names that is ASCII case plus the Kelvin sign (K) for
/// `k` and the long s (ſ) for `s`.
fn field_matches(key: &str, name: &str) -> bool {
    if key == name {
        return true;
    }
    let mut key_chars = key.chars();
    for n in name.chars() {
        let Some(c) = key_chars.next() else {
            return false;
        };
        let folds = c.eq_ignore_ascii_case(&n)
            || (c == '\u{212A}' && n.eq_ignore_ascii_case(&'k'))
            || (c == '\u{17F}' && n.eq_ignore_ascii_case(&'s'));
        if !folds {
            return false;
        }
    }
    key_chars.next().is_none()
}

/// The JSON type name `encoding/json` puts in an `UnmarshalTypeError`.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go's `%q` (`strconv.Quote`). Printability of non-ASCII characters is approximated (controls,
/// whitespace other than the space, and common format characters are escaped); Go's exact tables
/// only matter for names nobody uses.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            ' '..='~' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if go_printable(c) => out.push(c),
            c if u32::from(c) < 0x10000 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

fn go_printable(c: char) -> bool {
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c,
            '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{feff}' | '\u{e000}'..='\u{f8ff}' | '\u{fff9}'..='\u{fffb}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(op: &str, path: &str, value: Option<Value>) -> Override {
        Override {
            op: op.to_owned(),
            path: path.to_owned(),
            value,
        }
    }

    fn fed(overrides: Value) -> Value {
        json!({"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap",
               "metadata": {"name": "n", "namespace": "ns"},
               "spec": {"template": {}, "overrides": overrides}})
    }

    fn object() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "n", "namespace": "ns", "labels": {"a": "1"}},
               "data": {"k": "v"}, "list": [1, 2, 3], "nested": [{"x": [10, 20]}]})
    }

    fn applied(ops: &[Override]) -> Result<Value, String> {
        let mut obj = object();
        apply(&mut obj, ops).map(|()| obj)
    }

    #[test]
    fn parse_absent_or_empty() {
        assert_eq!(parse(&json!({})), Ok(ClusterOverrides::new()));
        assert_eq!(parse(&json!({"spec": null})), Ok(ClusterOverrides::new()));
        assert_eq!(parse(&json!({"spec": {}})), Ok(ClusterOverrides::new()));
        assert_eq!(parse(&fed(json!(null))), Ok(ClusterOverrides::new()));
        assert_eq!(parse(&fed(json!([]))), Ok(ClusterOverrides::new()));
    }

    #[test]
    fn parse_normalizes_op_and_value() {
        let parsed = parse(&fed(json!([
            {"clusterName": "c1", "clusterOverrides": [
                {"path": "/spec/replicas", "value": 3},
                {"op": "add", "path": "/metadata/labels/x", "value": null},
                {"op": "remove", "path": "/data/k", "from": "/ignored"},
                {"op": "replace", "path": "/big", "value": [9007199254740993_u64, 1e22, 1.5, -0.0]},
            ]},
            {"clusterName": "c2"},
        ])));
        let expected = ClusterOverrides::from([
            (
                "c1".to_owned(),
                vec![
                    op("replace", "/spec/replicas", Some(json!(3))),
                    op("add", "/metadata/labels/x", None),
                    op("remove", "/data/k", None),
                    op(
                        "replace",
                        "/big",
                        Some(json!([9007199254740992_i64, 1e22, 1.5, 0])),
                    ),
                ],
            ),
            ("c2".to_owned(), vec![]),
        ]);
        assert_eq!(parsed, Ok(expected));
    }

    #[test]
    fn parse_keeps_unknown_ops_for_apply_to_reject() {
        // Go's GetOverrides does not look at op; the patch fails for that cluster only.
        let parsed = parse(&fed(json!([{"clusterName": "c", "clusterOverrides": [
            {"op": "move", "path": "/a"}, {"op": "copy", "path": "/b"},
            {"op": "test", "path": "/c", "value": 1}, {"op": "frobnicate", "path": "/d"},
        ]}])));
        let ops: Vec<String> = parsed.unwrap_or_default()["c"]
            .iter()
            .map(|o| o.op.clone())
            .collect();
        assert_eq!(ops, ["move", "copy", "test", "frobnicate"]);
    }

    #[test]
    fn parse_item_without_cluster_name_is_filed_under_empty() {
        let parsed = parse(&fed(
            json!([{"clusterOverrides": [{"path": "/a", "value": 1}]}, null]),
        ));
        assert_eq!(
            parsed,
            Err("cluster \"\" appears more than once".to_owned())
        );
        let parsed = parse(&fed(
            json!([{"clusterOverrides": [{"path": "/a", "value": 1}]}]),
        ));
        assert_eq!(
            parsed.map(|m| m.keys().cloned().collect::<Vec<_>>()),
            Ok(vec![String::new()])
        );
    }

    #[test]
    fn parse_duplicate_cluster() {
        let parsed = parse(&fed(json!([{"clusterName": "c1"}, {"clusterName": "c1"}])));
        assert_eq!(
            parsed,
            Err("cluster \"c1\" appears more than once".to_owned())
        );
    }

    #[test]
    fn parse_duplicate_path() {
        let parsed = parse(&fed(json!([{"clusterName": "c1", "clusterOverrides": [
            {"path": "/a", "value": 1}, {"op": "remove", "path": "/b"}, {"op": "add", "path": "/a"},
        ]}])));
        assert_eq!(
            parsed,
            Err("path \"/a\" appears more than once for cluster \"c1\"".to_owned())
        );
    }

    #[test]
    fn parse_forbidden_paths() {
        for path in [
            "/metadata/namespace",
            "/metadata/name",
            "/metadata/generateName",
            "/kind",
        ] {
            let parsed = parse(&fed(json!([{"clusterName": "c\"1", "clusterOverrides": [
                {"path": "/ok", "value": 1}, {"path": path, "value": "x"},
            ]}])));
            assert_eq!(
                parsed,
                Err(format!(
                    "override[1] for cluster \"c\\\"1\" has an invalid path: {path}"
                ))
            );
        }
        // Only the exact strings are forbidden.
        let parsed = parse(&fed(json!([{"clusterName": "c", "clusterOverrides": [
            {"path": "/apiVersion", "value": "v2"}, {"path": "/metadata/name/", "value": "x"},
            {"path": "x/kind", "value": "Other"},
        ]}])));
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn parse_errors_come_in_list_order() {
        // The duplicate cluster is met before the later item's invalid path.
        let parsed = parse(&fed(json!([
            {"clusterName": "a"}, {"clusterName": "a"},
            {"clusterName": "b", "clusterOverrides": [{"path": "/kind"}]},
        ])));
        assert_eq!(
            parsed,
            Err("cluster \"a\" appears more than once".to_owned())
        );
    }

    /// Messages as Go's encoding/json writes them (checked with Go 1.26).
    #[test]
    fn parse_malformed() {
        let cases = [
            (
                json!({"spec": "x"}),
                "json: cannot unmarshal string into Go struct field GenericOverride.spec of type util.GenericOverrideSpec",
            ),
            (
                fed(json!({})),
                "json: cannot unmarshal object into Go struct field GenericOverrideSpec.spec.overrides of type []util.GenericOverrideItem",
            ),
            (
                fed(json!(["x"])),
                "json: cannot unmarshal string into Go struct field GenericOverrideSpec.spec.overrides of type util.GenericOverrideItem",
            ),
            (
                fed(json!([{"clusterName": 1}])),
                "json: cannot unmarshal number into Go struct field GenericOverrideItem.spec.overrides.clusterName of type string",
            ),
            (
                fed(json!([{"clusterName": "c", "clusterOverrides": "x"}])),
                "json: cannot unmarshal string into Go struct field GenericOverrideItem.spec.overrides.clusterOverrides of type []util.ClusterOverride",
            ),
            (
                fed(json!([{"clusterName": "c", "clusterOverrides": [true]}])),
                "json: cannot unmarshal bool into Go struct field GenericOverrideItem.spec.overrides.clusterOverrides of type util.ClusterOverride",
            ),
            (
                fed(json!([{"clusterName": "c", "clusterOverrides": [{"op": 1, "path": "/a"}]}])),
                "json: cannot unmarshal number into Go struct field ClusterOverride.spec.overrides.clusterOverrides.op of type string",
            ),
            (
                // The first mismatch in key order wins, and later items are still decoded.
                fed(
                    json!([{"clusterName": "c", "clusterOverrides": [{"path": {}, "op": []}]},
                           {"clusterName": false}]),
                ),
                "json: cannot unmarshal array into Go struct field ClusterOverride.spec.overrides.clusterOverrides.op of type string",
            ),
        ];
        for (federated, message) in cases {
            assert_eq!(parse(&federated), Err(message.to_owned()), "{federated}");
        }
    }

    #[test]
    fn replace_of_missing_key_adds_it() {
        let obj = applied(&[op("replace", "/data/new", Some(json!("x")))]);
        assert_eq!(obj.map(|o| o["data"]["new"].clone()), Ok(json!("x")));
        let obj = applied(&[op("replace", "/spec", Some(json!({"replicas": 2})))]);
        assert_eq!(obj.map(|o| o["spec"].clone()), Ok(json!({"replicas": 2})));
    }

    #[test]
    fn replace_under_missing_parent_fails() {
        assert_eq!(
            applied(&[op("replace", "/spec/replicas", Some(json!(2)))]),
            Err("replace operation does not apply: doc is missing path: /spec/replicas: missing value".to_owned())
        );
    }

    #[test]
    fn negative_indices() {
        let list = |ops: &[Override]| applied(ops).map(|o| o["list"].clone());
        assert_eq!(
            list(&[op("replace", "/list/-1", Some(json!(9)))]),
            Ok(json!([1, 2, 9]))
        );
        assert_eq!(
            list(&[op("replace", "/list/-3", Some(json!(9)))]),
            Ok(json!([9, 2, 3]))
        );
        assert_eq!(list(&[op("remove", "/list/-1", None)]), Ok(json!([1, 2])));
        assert_eq!(
            list(&[op("add", "/list/-1", Some(json!(9)))]),
            Ok(json!([1, 2, 3, 9]))
        );
        assert_eq!(
            list(&[op("add", "/list/-2", Some(json!(9)))]),
            Ok(json!([1, 2, 9, 3]))
        );
        assert_eq!(
            list(&[op("add", "/list/-4", Some(json!(9)))]),
            Ok(json!([9, 1, 2, 3]))
        );
        assert_eq!(
            list(&[op("add", "/list/-", Some(json!(9)))]),
            Ok(json!([1, 2, 3, 9]))
        );
        assert_eq!(
            list(&[op("add", "/list/3", Some(json!(9)))]),
            Ok(json!([1, 2, 3, 9]))
        );
        assert_eq!(
            list(&[op("add", "/list/+0", Some(json!(9)))]),
            Ok(json!([9, 1, 2, 3]))
        );
        let nested = applied(&[op("replace", "/nested/-1/x/-2", Some(json!(0)))]);
        assert_eq!(
            nested.map(|o| o["nested"].clone()),
            Ok(json!([{"x": [0, 20]}]))
        );
    }

    #[test]
    fn out_of_range_indices_fail() {
        for (o, message) in [
            (
                op("add", "/list/5", Some(json!(9))),
                "error in add for path: '/list/5': Unable to access invalid index: 5: invalid index referenced",
            ),
            (
                op("add", "/list/-5", Some(json!(9))),
                "error in add for path: '/list/-5': Unable to access invalid index: -5: invalid index referenced",
            ),
            (
                op("remove", "/list/3", None),
                "error in remove for path: '/list/3': Unable to access invalid index: 3: invalid index referenced",
            ),
            (
                op("remove", "/list/-4", None),
                "error in remove for path: '/list/-4': Unable to access invalid index: -4: invalid index referenced",
            ),
            (
                op("replace", "/list/3", Some(json!(9))),
                "replace operation does not apply: doc is missing key: /list/3: missing value",
            ),
            (
                op("replace", "/list/-4", Some(json!(9))),
                "replace operation does not apply: doc is missing key: /list/-4: missing value",
            ),
            (
                op("add", "/list/x", Some(json!(9))),
                "error in add for path: '/list/x': value was not a proper array index: 'x': strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            (
                op("remove", "/list/-", None),
                "error in remove for path: '/list/-': strconv.Atoi: parsing \"-\": invalid syntax",
            ),
            (
                op("add", "/list/18446744073709551616", Some(json!(9))),
                "error in add for path: '/list/18446744073709551616': value was not a proper array index: '18446744073709551616': strconv.Atoi: parsing \"18446744073709551616\": value out of range",
            ),
            (
                op("replace", "/list/5/x", Some(json!(9))),
                "replace operation does not apply: doc is missing path: /list/5/x: missing value",
            ),
        ] {
            assert_eq!(
                applied(std::slice::from_ref(&o)),
                Err(message.to_owned()),
                "{o:?}"
            );
        }
    }

    #[test]
    fn add_under_missing_parent_fails() {
        assert_eq!(
            applied(&[op("add", "/metadata/annotations/a", Some(json!("1")))]),
            Err("add operation does not apply: doc is missing path: \"/metadata/annotations/a\": missing value".to_owned())
        );
        // A null or scalar parent is missing too.
        let mut obj = json!({"kind": "K", "a": null, "b": "s"});
        assert!(apply(&mut obj, &[op("add", "/a/x", Some(json!(1)))]).is_err());
        assert!(apply(&mut obj, &[op("add", "/b/x", Some(json!(1)))]).is_err());
    }

    #[test]
    fn remove_of_missing_key_fails() {
        assert_eq!(
            applied(&[op("remove", "/data/nope", None)]),
            Err("error in remove for path: '/data/nope': Unable to remove nonexistent key: nope: missing value".to_owned())
        );
        assert_eq!(
            applied(&[op("remove", "/nope/x", None)]),
            Err(
                "remove operation does not apply: doc is missing path: \"/nope/x\": missing value"
                    .to_owned()
            )
        );
    }

    #[test]
    fn pointer_unescaping() {
        let mut obj = json!({"kind": "K", "metadata": {"annotations": {}}});
        let ops = [
            op(
                "add",
                "/metadata/annotations/example.com~1a",
                Some(json!("1")),
            ),
            op("add", "/metadata/annotations/t~0~01~2", Some(json!("2"))),
        ];
        assert_eq!(apply(&mut obj, &ops), Ok(()));
        assert_eq!(
            obj["metadata"]["annotations"],
            json!({"example.com/a": "1", "t~~1~2": "2"})
        );
    }

    #[test]
    fn text_before_the_first_slash_is_ignored() {
        // `data/k` is `/k`.
        let obj = applied(&[op("replace", "data/k", Some(json!("w")))]);
        assert_eq!(
            obj.map(|o| (o["k"].clone(), o["data"]["k"].clone())),
            Ok((json!("w"), json!("v")))
        );
        // ... which lets an override reach /kind, and an object without kind is rejected.
        assert_eq!(
            applied(&[op("remove", "x/kind", None)]).map(|_| ()),
            Err("Object 'Kind' is missing in '{\"apiVersion\":\"v1\",\"data\":{\"k\":\"v\"},\"list\":[1,2,3],\"metadata\":{\"labels\":{\"a\":\"1\"},\"name\":\"n\",\"namespace\":\"ns\"},\"nested\":[{\"x\":[10,20]}]}'".to_owned())
        );
        // A path without any '/' is missing.
        assert!(applied(&[op("add", "data", Some(json!(1)))]).is_err());
    }

    #[test]
    fn apiversion_with_two_slashes_is_rejected() {
        let err = applied(&[op("replace", "/apiVersion", Some(json!("a/b/c")))]);
        assert!(err.is_err_and(|e| e.starts_with("Object 'Kind' is missing in '")));
        let obj = applied(&[op("replace", "/apiVersion", Some(json!("apps/v1")))]);
        assert_eq!(obj.map(|o| o["apiVersion"].clone()), Ok(json!("apps/v1")));
    }

    #[test]
    fn whole_document() {
        let replacement = json!({"kind": "Other", "x": 1});
        let obj = applied(&[op("replace", "", Some(replacement.clone()))]);
        assert_eq!(obj, Ok(replacement));
        // A scalar is silently ignored, as evanphx does.
        assert_eq!(applied(&[op("replace", "", Some(json!(5)))]), Ok(object()));
        assert!(applied(&[op("replace", "", None)]).is_err());
        assert_eq!(
            applied(&[op("replace", "", Some(json!([1])))]),
            Err(
                "json: cannot unmarshal array into Go value of type map[string]interface {}"
                    .to_owned()
            )
        );
        assert_eq!(
            applied(&[op("add", "", Some(json!({})))]),
            Err(
                "add operation does not apply: doc is missing path: \"\": missing value".to_owned()
            )
        );
        assert!(applied(&[op("remove", "", None)]).is_err());
        // "/" is the key "" of the root object.
        let obj = applied(&[op("add", "/", Some(json!(1)))]);
        assert_eq!(obj.map(|o| o[""].clone()), Ok(json!(1)));
    }

    #[test]
    fn absent_value_writes_null() {
        let obj = applied(&[
            op("add", "/data/a", None),
            op("replace", "/data/k", None),
            op("add", "/list/0", None),
        ]);
        let obj = obj.unwrap_or_default();
        assert_eq!(obj["data"], json!({"k": null, "a": null}));
        assert_eq!(obj["list"], json!([null, 1, 2, 3]));
    }

    #[test]
    fn unsupported_ops() {
        assert_eq!(
            applied(&[op("move", "/data/x", None)]),
            Err("move operation failed to decode from: operation, missing from field: missing value".to_owned())
        );
        assert_eq!(
            applied(&[op("copy", "/data/x", None)]),
            Err("copy operation failed to decode from: operation, missing from field: missing value".to_owned())
        );
        assert_eq!(
            applied(&[op("Add", "/data/x", None)]),
            Err("Unexpected kind: Add".to_owned())
        );
        // Empty op is `replace` even when not normalized by parse.
        let obj = applied(&[op("", "/data/k", Some(json!("w")))]);
        assert_eq!(obj.map(|o| o["data"]["k"].clone()), Ok(json!("w")));
    }

    #[test]
    fn test_op() {
        let ok = |path: &str, value: Value| applied(&[op("test", path, Some(value))]).is_ok();
        assert!(ok("/data/k", json!("v")));
        assert!(!ok("/data/k", json!("w")));
        assert!(ok("/list", json!([1.0, 2, 3])));
        assert!(ok("/metadata/labels", json!({"a": "1"})));
        assert!(!ok("/metadata/labels", json!({"a": "1", "b": null})));
        assert!(ok("/data/missing", json!(null)));
        assert!(!ok("/data/missing", json!("v")));
        assert!(ok("/list/-1", json!(3)));
        assert!(!ok("/list/7", json!(3)));
        assert!(applied(&[op("test", "/data/k", None)]).is_err());
        assert!(applied(&[op("test", "/data/missing", None)]).is_err());
        assert!(ok("", object()));
        let mut obj = json!({"kind": "K", "e": [null]});
        assert!(apply(&mut obj, &[op("test", "/e", Some(json!([null])))]).is_err());
        assert!(applied(&[op("test", "", None)]).is_err());
    }

    #[test]
    fn operations_apply_in_order() {
        let obj = applied(&[
            op("add", "/data/a", Some(json!({"b": []}))),
            op("add", "/data/a/b/-", Some(json!(1))),
            op("replace", "/data/a/b/0", Some(json!(2))),
            op("remove", "/data/k", None),
        ]);
        assert_eq!(obj.map(|o| o["data"].clone()), Ok(json!({"a": {"b": [2]}})));
    }

    #[test]
    fn realistic_deployment() {
        let federated = json!({
            "apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedDeployment",
            "metadata": {"name": "web", "namespace": "demo"},
            "spec": {
                "template": {},
                "overrides": [{"clusterName": "member2", "clusterOverrides": [
                    {"path": "/spec/replicas", "value": 5},
                    {"path": "/spec/template/spec/containers/0/image", "value": "nginx:1.25"},
                    {"op": "add", "path": "/metadata/labels/x", "value": "y"},
                    {"op": "remove", "path": "/spec/template/metadata/labels/tier"},
                ]}],
            },
        });
        let mut deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "demo", "labels": {"app": "web"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web", "tier": "front"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.24"}]},
                },
            },
        });
        let parsed = parse(&federated).unwrap_or_default();
        let overrides = parsed.get("member2").cloned().unwrap_or_default();
        assert_eq!(overrides.len(), 4);
        assert_eq!(apply(&mut deployment, &overrides), Ok(()));
        assert_eq!(
            deployment,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "demo", "labels": {"app": "web", "x": "y"}},
                "spec": {
                    "replicas": 5,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
                    },
                },
            })
        );
        assert!(!parsed.contains_key("member1"));
    }

    #[test]
    fn go_atoi_matches_strconv() {
        assert_eq!(go_atoi("12"), Ok(12));
        assert_eq!(go_atoi("+12"), Ok(12));
        assert_eq!(go_atoi("-0"), Ok(0));
        assert_eq!(go_atoi("007"), Ok(7));
        assert_eq!(go_atoi("-9223372036854775808"), Ok(i64::MIN));
        for bad in ["", "-", "+", "1_0", " 1", "1.0", "0x1", "١"] {
            assert!(
                go_atoi(bad).is_err_and(|e| e.ends_with("invalid syntax")),
                "{bad}"
            );
        }
        assert!(go_atoi("9223372036854775808").is_err_and(|e| e.ends_with("value out of range")));
    }

    #[test]
    fn go_quote_escapes() {
        assert_eq!(
            go_quote("a\"b\\c\n\u{1}\u{7f}é\u{a0}"),
            "\"a\\\"b\\\\c\\n\\x01\\x7fé\\u00a0\""
        );
    }

    #[test]
    fn odd_input_never_panics() {
        let paths = [
            "",
            "/",
            "//",
            "///",
            "-",
            "/-",
            "/-/-",
            "/list/-/x",
            "/list/18446744073709551616",
            "/list/-18446744073709551616",
            "/list/9223372036854775807",
            "/list/-9223372036854775808",
            "/list/-9223372036854775807",
            "/nested/0/x/-",
            "/nested/-/x",
            "~",
            "/~",
            "/~2",
            "/data/~",
            "/list/1e3",
            "/list/ 1",
            "/list/١",
            "/metadata/labels/a/b",
            "/kind/x",
            "5",
            "/5",
            "/nested/-1/x/9223372036854775807",
        ];
        let values = [
            None,
            Some(json!(null)),
            Some(json!(1)),
            Some(json!([])),
            Some(json!({"a": 1})),
            Some(json!(1e300)),
            Some(json!(u64::MAX)),
            Some(json!("s")),
        ];
        let ops = [
            "add", "remove", "replace", "test", "move", "copy", "", "ADD", "\u{0}",
        ];
        for path in paths {
            for value in &values {
                for kind in ops {
                    let mut obj = object();
                    let _ = apply(&mut obj, &[op(kind, path, value.clone())]);
                    let mut arr = json!([[1], {"a": [2]}]);
                    let _ = apply(&mut arr, &[op(kind, path, value.clone())]);
                    let mut scalar = json!("x");
                    let _ = apply(&mut scalar, &[op(kind, path, value.clone())]);
                }
            }
        }
        let weird = [
            json!(null),
            json!(1),
            json!([]),
            json!("spec"),
            json!({"spec": 5}),
            json!({"spec": {"overrides": [[], {}, 1, "x", null, {"clusterOverrides": [[], 1, {"value": null}]}]}}),
            json!({"spec": {"overrides": [{"clusterName": "a", "clusterOverrides": [{"path": 1, "op": null, "value": [1e300]}]}]}}),
            json!({"SPEC": {"OVERRIDES": [{"CLUSTERNAME": "\u{212A}"}]}}),
        ];
        for federated in weird {
            let _ = parse(&federated);
            let _ = gojson::overrides_version(&federated);
            let _ = gojson::template_version(&federated);
        }
    }
}

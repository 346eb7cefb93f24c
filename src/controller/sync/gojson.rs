//! Go-compatible JSON and the version hashes of (Cluster)PropagatedVersions.
//!
//! Upstream hashes the bytes that Go's `json.NewEncoder(w).Encode(v)` writes (through
//! `unstructured.MarshalJSON`), and its e2e tests recompute them, so the hashes recorded here must
//! match Go byte for byte: keys sorted, HTML characters escaped, Go's float format and a trailing
//! newline. serde_json does none of that, hence this writer.
//!
//! Two number models exist upstream and both are reproduced ([`Numbers`]): the federated object as
//! apimachinery decodes it (int64 when a number parses as one, otherwise float64), and values that
//! went through `json.Unmarshal` into `interface{}` (always float64), which is what the overrides
//! hash sees.
//!
//! NB: non-integral numbers only hash like Go if serde_json parsed them to the same float64,
//! which needs its `float_roundtrip` feature: without it, parsing may be one ULP off, and in a
//! check against Go 47 of 400 random documents with floats hashed differently (none with it).
//! Integers are exact either way.

use std::fmt::Write as _;

use md5::{Digest, Md5};
use serde_json::{Number, Value};

use super::overrides;

/// How numbers were decoded on the Go side before being encoded again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Numbers {
    /// apimachinery's unstructured decoding: `int64` when the number parses as one, else `float64`.
    Unstructured,
    /// `encoding/json` into `interface{}`: every number is a `float64`.
    Float64,
}

/// What Go's `json.NewEncoder(w).Encode(v)` writes for `value` as apimachinery decodes it.
pub fn encode(value: &Value) -> String {
    encode_with(value, Numbers::Unstructured)
}

/// [`encode`] with an explicit number model.
pub(crate) fn encode_with(value: &Value, numbers: Numbers) -> String {
    let mut out = String::new();
    write_value(&mut out, value, numbers);
    out.push('\n');
    out
}

/// Lowercase hex MD5, as upstream's `hex.EncodeToString(md5.Sum(...))`.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .fold(String::with_capacity(32), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The `templateVersion` of a federated object (Go: `sync.GetTemplateHash`).
///
/// `""` when `spec.template` is absent, and also when it cannot be read as an object
/// (`spec` or `template` of another type, or a `null` template): Go's `unstructured.NestedMap`
/// returns an error there, and since `ObjectForCluster` reads the template the same way, no
/// cluster is propagated; the value only has to differ from any real hash.
pub fn template_version(federated: &Value) -> String {
    // NB: a `null` spec counts as absent (NestedFieldNoCopy stops at nil), a `null` template
    // does not: it is found, is not a map, and is an error upstream.
    match federated.get("spec") {
        Some(Value::Object(spec)) => match spec.get("template") {
            Some(template @ Value::Object(_)) => md5_hex(encode(template).as_bytes()),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// The `overridesVersion` of a federated object (Go: `sync.GetOverrideHash`).
///
/// Upstream decodes the object into its `GenericOverride` struct and hashes
/// `{"overrides": spec.overrides}`: struct field order, `omitempty`, unknown fields dropped and
/// every number a float64. `""` when `spec` is absent or `null`, and when the struct decoding
/// fails (for example `overrides` is not a list or `clusterName` not a string): Go returns an
/// error there, and [`overrides::parse`] fails in the same cases, so no cluster is propagated.
pub fn overrides_version(federated: &Value) -> String {
    overrides_hash_input(federated).map_or_else(String::new, |input| md5_hex(input.as_bytes()))
}

/// The bytes upstream hashes for `overridesVersion`, when it hashes any.
fn overrides_hash_input(federated: &Value) -> Option<String> {
    let spec = overrides::decode(federated).ok()??;
    let mut out = String::from("{\"overrides\":");
    match &spec.overrides {
        None => out.push_str("null"),
        Some(items) => write_override_items(&mut out, items),
    }
    out.push_str("}\n");
    Some(out)
}

/// `[]GenericOverrideItem` with Go's struct encoding.
fn write_override_items(out: &mut String, items: &[overrides::DecodedItem]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"clusterName\":");
        write_str(out, &item.cluster_name);
        // `omitempty` on a slice drops both nil and empty.
        if let Some(cluster_overrides) = item.cluster_overrides.as_deref().filter(|o| !o.is_empty())
        {
            out.push_str(",\"clusterOverrides\":[");
            for (j, o) in cluster_overrides.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push('{');
                if !o.op.is_empty() {
                    out.push_str("\"op\":");
                    write_str(out, &o.op);
                    out.push(',');
                }
                out.push_str("\"path\":");
                write_str(out, &o.path);
                // NB: `omitempty` on an `interface{}` drops only nil, so `false`, `0` and `""`
                // are kept; a JSON `null` decodes to nil and is dropped.
                if let Some(value) = &o.value {
                    out.push_str(",\"value\":");
                    write_value(out, value, Numbers::Float64);
                }
                out.push('}');
            }
            out.push(']');
        }
        out.push('}');
    }
    out.push(']');
}

fn write_value(out: &mut String, value: &Value, numbers: Numbers) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n, numbers),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, numbers);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Go sorts map keys by their bytes; `preserve_order` keeps insertion order here.
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item, numbers);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &Number, numbers: Numbers) {
    // A u64 above i64::MAX fails apimachinery's ParseInt and is a float64 there too.
    let integer = n.as_i64().filter(|_| numbers == Numbers::Unstructured);
    match (integer, n.as_f64()) {
        (Some(i), _) => {
            let _ = write!(out, "{i}");
        }
        // NB: a negative zero reaches us as the text `-0` (Go never writes `-0.0`), which
        // apimachinery decodes as the int64 0 but serde_json as the float -0.0. Values decoded
        // as float64 went through that int64 first (the overrides hash decodes the output of
        // `unstructured.MarshalJSON`), so they print `0` too.
        (None, Some(f)) if f.abs() == 0.0 => out.push('0'),
        (None, Some(f)) => out.push_str(&go_float(f)),
        // Unreachable without serde_json's arbitrary_precision; the digits are still JSON.
        (None, None) => {
            let _ = write!(out, "{n}");
        }
    }
}

/// Go's `encoding/json` float64 format: the shortest representation that round-trips, in `%f`
/// form unless the magnitude is below 1e-6 or at least 1e21, where it is `%e` with the exponent
/// trimmed to at least one digit (`1e-7`, `1e+21`).
pub(crate) fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's `{:e}` is also shortest-round-trip: `1e-7`, `1.5e21`, `-2.5e-10`.
        let formatted = format!("{f:e}");
        match formatted.split_once('e') {
            Some((mantissa, exponent)) => match exponent.strip_prefix('-') {
                Some(digits) => format!("{mantissa}e-{digits}"),
                None => format!("{mantissa}e+{exponent}"),
            },
            None => formatted,
        }
    } else {
        // `{}` never uses an exponent and prints integral values without `.0`, like Go's 'f'.
        format!("{f}")
    }
}

/// A JSON string as Go writes it with HTML escaping on (the encoder default).
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // NB: Go 1.22 and later write `\b` and `\f`; KubeFed v0.10.0 was built with an
            // older Go, which writes `\u0008` and `\u000c`, and that is what its hashes hold.
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{0}'..='\u{1f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn md5_of(s: &str) -> String {
        md5_hex(s.as_bytes())
    }

    #[test]
    fn md5_hex_is_lowercase_hex() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn upstream_template_vector() {
        // resource_test.go: TestGetTemplateHash.
        let fed = json!({"spec": {"template": {"spec": {"foo": null}}}});
        assert_eq!(
            encode(&fed["spec"]["template"]),
            "{\"spec\":{\"foo\":null}}\n"
        );
        assert_eq!(template_version(&fed), "a5b8d4352d5aed51c51b93900258ccf3");
    }

    #[test]
    fn verified_vector_from_the_spec() {
        let fed = json!({"spec": {
            "template": {"metadata": {"labels": {"app": "a&b"}}, "data": {"key": "<v>", "z": "1"}},
            "overrides": [{"clusterName": "cluster2", "clusterOverrides": [
                {"path": "/data/key", "value": "v2"},
                {"op": "add", "path": "/metadata/labels/x", "value": "y"},
            ]}],
        }});
        let template = encode(&fed["spec"]["template"]);
        assert_eq!(
            template,
            "{\"data\":{\"key\":\"\\u003cv\\u003e\",\"z\":\"1\"},\"metadata\":{\"labels\":{\"app\":\"a\\u0026b\"}}}\n"
        );
        assert_eq!(md5_of(&template), "751c5a73899c5a055c7bb83d59071f7c");
        assert_eq!(template_version(&fed), "751c5a73899c5a055c7bb83d59071f7c");
        let overrides = "{\"overrides\":[{\"clusterName\":\"cluster2\",\"clusterOverrides\":[{\"path\":\"/data/key\",\"value\":\"v2\"},{\"op\":\"add\",\"path\":\"/metadata/labels/x\",\"value\":\"y\"}]}]}\n";
        assert_eq!(md5_of(overrides), "6f431aeb6378182d34bc9a0d1e7a2a54");
        assert_eq!(overrides_version(&fed), "6f431aeb6378182d34bc9a0d1e7a2a54");
    }

    #[test]
    fn absent_template_and_spec() {
        assert_eq!(template_version(&json!({})), "");
        assert_eq!(template_version(&json!({"spec": null})), "");
        assert_eq!(template_version(&json!({"spec": {}})), "");
        assert_eq!(overrides_version(&json!({})), "");
        assert_eq!(overrides_version(&json!({"spec": null})), "");
    }

    #[test]
    fn unreadable_template_is_empty() {
        // Go: NestedMap errors ("... is of the type <nil>, expected map[string]interface{}").
        assert_eq!(template_version(&json!({"spec": {"template": null}})), "");
        assert_eq!(template_version(&json!({"spec": {"template": "x"}})), "");
        assert_eq!(template_version(&json!({"spec": "x"})), "");
        assert_eq!(template_version(&json!({"spec": [1]})), "");
    }

    #[test]
    fn spec_without_overrides_hashes_null() {
        assert_eq!(
            md5_of("{\"overrides\":null}\n"),
            "2979b7538b527abe06492021841caf47"
        );
        let fed = json!({"spec": {"template": {}}});
        assert_eq!(overrides_version(&fed), "2979b7538b527abe06492021841caf47");
        let fed = json!({"spec": {"overrides": null}});
        assert_eq!(overrides_version(&fed), "2979b7538b527abe06492021841caf47");
    }

    #[test]
    fn empty_template_is_hashed() {
        assert_eq!(
            template_version(&json!({"spec": {"template": {}}})),
            md5_of("{}\n")
        );
    }

    #[test]
    fn malformed_overrides_hash_empty() {
        for fed in [
            json!({"spec": "x"}),
            json!({"spec": {"overrides": {}}}),
            json!({"spec": {"overrides": "x"}}),
            json!({"spec": {"overrides": [1]}}),
            json!({"spec": {"overrides": [{"clusterName": 1}]}}),
            json!({"spec": {"overrides": [{"clusterName": "a", "clusterOverrides": {}}]}}),
            json!({"spec": {"overrides": [{"clusterName": "a", "clusterOverrides": [{"op": 1}]}]}}),
            json!({"spec": {"overrides": [{"clusterName": "a", "clusterOverrides": [{"path": []}]}]}}),
            json!({"spec": {"overrides": [{"clusterName": "a", "clusterOverrides": ["x"]}]}}),
        ] {
            assert_eq!(overrides_version(&fed), "", "{fed}");
        }
    }

    /// Vectors computed by running kubefed's GetOverrideHash against apimachinery v0.22.2.
    #[test]
    fn overrides_hash_go_vectors() {
        let cases = [
            (
                json!({"spec": {"overrides": []}}),
                "{\"overrides\":[]}\n",
                "fd97e6d9a670c7dcdc2477764f78b459",
            ),
            (
                // Nulls decode to zero structs; empty lists and nil values are omitted; op
                // stays empty (the "replace" default is applied later, to the patch only);
                // unknown fields are dropped; value maps are sorted; numbers are float64;
                // `false` and `0` are kept; keys match case-insensitively.
                json!({"spec": {"overrides": [
                    null,
                    {"clusterName": "c1", "clusterOverrides": []},
                    {"clusterName": "c2", "clusterOverrides": null, "extra": 1},
                    {"clusterName": "c3", "clusterOverrides": [
                        null,
                        {"op": "", "path": "/a", "value": null},
                        {"path": "/b", "value": {"z": 1, "a": [3, 1.5, 10000000000000000000000_f64, 9007199254740993_u64]}},
                        {"op": "remove", "path": "/c", "value": false, "from": "/x"},
                        {"path": "/d", "value": 0},
                        {"path": "/e", "value": ""},
                        {"Path": "/f", "VALUE": "v", "oP": "add"},
                    ]},
                    {"CLUSTERNAME": "c4"},
                    {"clu\u{17f}terName": "c5"},
                ]}}),
                "{\"overrides\":[{\"clusterName\":\"\"},{\"clusterName\":\"c1\"},{\"clusterName\":\"c2\"},{\"clusterName\":\"c3\",\"clusterOverrides\":[{\"path\":\"\"},{\"path\":\"/a\"},{\"path\":\"/b\",\"value\":{\"a\":[3,1.5,1e+22,9007199254740992],\"z\":1}},{\"op\":\"remove\",\"path\":\"/c\",\"value\":false},{\"path\":\"/d\",\"value\":0},{\"path\":\"/e\",\"value\":\"\"},{\"op\":\"add\",\"path\":\"/f\",\"value\":\"v\"}]},{\"clusterName\":\"c4\"},{\"clusterName\":\"c5\"}]}\n",
                "91c465695004f1473ee8a712187f40c8",
            ),
        ];
        for (fed, input, hash) in cases {
            assert_eq!(md5_of(input), hash, "{input}");
            assert_eq!(overrides_version(&fed), hash, "{fed}");
        }
    }

    /// More vectors from kubefed's hash functions run against apimachinery v0.22.2, from the
    /// JSON text a watch delivers (so `-0` is parsed as text, as on the wire).
    #[test]
    fn go_vectors_from_wire_text() {
        let cases = [
            (
                r#"{"spec":{"template":{"a":[3,-4,1.5,18446744073709551615,10000000000000000000000,9007199254740993,-0,1.0,1e-7,123456.789e3,"<\u0026>\u2028\u007f"],"Z":{"y":true,"x":null}},"overrides":[{"clusterName":"c","clusterOverrides":[{"path":"/a","value":[-0,3,1e21,0.000001,18446744073709551615,-9007199254740993]}]}]}}"#,
                "a01d008841bfced7d65dd3857aa1edf6",
                "82008869a8a2042c89e0f13a49f6c2a2",
            ),
            (
                // Hashed even though GetOverrides rejects it (duplicate cluster "").
                r#"{"spec":{"overrides":[{"clusterOverrides":[{"path":"/a","value":1}]},null]}}"#,
                "",
                "d0bb0d4c1403597e589cbdec759c265c",
            ),
            (
                r#"{"spec":{"overrides":[{"clusterName":"c\"1","clusterOverrides":[{"path":"/ok","value":1},{"path":"/kind","value":"x"}]}]}}"#,
                "",
                "656cead03a1cbc2ee8c2fb2ff63b8552",
            ),
            (
                r#"{"spec":{"overrides":[{"clusterName":"a\"b\\c\n\u0001\u007fé\u00a0"},{"clusterName":"a\"b\\c\n\u0001\u007fé\u00a0"}]}}"#,
                "",
                "7a4e418fc836af162c3b9be165652807",
            ),
        ];
        for (text, template, overrides) in cases {
            let fed: Value = serde_json::from_str(text).unwrap_or_default();
            assert_eq!(template_version(&fed), template, "{text}");
            assert_eq!(overrides_version(&fed), overrides, "{text}");
        }
        let fed: Value = serde_json::from_str(cases[0].0).unwrap_or_default();
        assert_eq!(
            encode(&fed["spec"]["template"]),
            "{\"Z\":{\"x\":null,\"y\":true},\"a\":[3,-4,1.5,18446744073709552000,1e+22,9007199254740993,0,1,1e-7,123456789,\"\\u003c\\u0026\\u003e\\u2028\u{7f}\"]}\n"
        );
    }

    #[test]
    fn go_float_format() {
        for (f, go) in [
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (123456789.0, "123456789"),
            (1.5, "1.5"),
            (-0.0, "-0"),
            (0.0, "0"),
            (1e20, "100000000000000000000"),
            (1.5e21, "1.5e+21"),
            (-1.5e21, "-1.5e+21"),
            (1e22, "1e+22"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (2.5e-10, "2.5e-10"),
            (-9.99e-7, "-9.99e-7"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (9007199254740993.0, "9007199254740992"),
            (123456.789e3, "123456789"),
        ] {
            assert_eq!(go_float(f), go, "{f:?}");
        }
    }

    #[test]
    fn numbers_by_model() {
        let v = json!([
            3,
            -4,
            1.5,
            18446744073709551615_u64,
            10000000000000000000000_f64
        ]);
        assert_eq!(
            encode_with(&v, Numbers::Unstructured),
            "[3,-4,1.5,18446744073709552000,1e+22]\n"
        );
        let v = json!([3, 9007199254740993_i64, -9007199254740993_i64]);
        assert_eq!(
            encode_with(&v, Numbers::Unstructured),
            "[3,9007199254740993,-9007199254740993]\n"
        );
        assert_eq!(
            encode_with(&v, Numbers::Float64),
            "[3,9007199254740992,-9007199254740992]\n"
        );
    }

    #[test]
    fn string_escaping() {
        let v =
            json!("<a href=\"x\">&\\\n\r\t\u{0}\u{1}\u{8}\u{c}\u{1f}\u{7f}\u{2028}\u{2029}é😀/");
        assert_eq!(
            encode(&v),
            "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\\\\\n\\r\\t\\u0000\\u0001\\u0008\\u000c\\u001f\u{7f}\\u2028\\u2029é😀/\"\n"
        );
    }

    #[test]
    fn keys_sorted_by_bytes_and_escaped() {
        let v = json!({"b": 1, "a": {"z": true, "Z": false}, "é": null, "<": [], "": {}});
        assert_eq!(
            encode(&v),
            "{\"\":{},\"\\u003c\":[],\"a\":{\"Z\":false,\"z\":true},\"b\":1,\"é\":null}\n"
        );
    }
}

//! Helpers that keep the generated OpenAPI schemas identical in shape to upstream's
//! controller-gen output (`charts/kubefed/charts/controllermanager/crds/crds.yaml`).
//!
//! Where schemars/kube-derive output differs from controller-gen's, it is corrected here, at
//! schema-generation time, so that `Kind::crd()` itself is the CRD to install:
//!
//! * schemars marks every `Option<T>` as nullable (`nullable: true` after kube's transforms),
//!   and gives `#[serde(default)]` fields a `default`. controller-gen does neither (KubeFed has
//!   no `+kubebuilder:default` markers): a field is optional simply by not being `required`.
//!   [`controller_gen_style`] is applied as a container transform
//!   (`#[schemars(transform = controller_gen_style)]`) to every struct in this module.
//! * kube-derive's root schema always has a required `spec`, an optional `status`, and omits
//!   `apiVersion`/`kind`/`metadata`. Upstream's roots vary (no spec, optional spec, top-level
//!   fields), so every resource uses `#[kube(schema = "manual")]` with a root `JsonSchema`
//!   impl built by [`root_schema`] out of the derived spec/status schemas.
//! * `k8s_openapi::ByteString` has no `JsonSchema` impl: see [`byte_string`].
//!
//! (schemars also sets `title` on the root schema; like `description` it is an annotation
//! with no effect on validation, and is left alone.)

use k8s_openapi::schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value};

const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// Container transform making a struct's property schemas look like controller-gen's:
///
/// * remove the `null` alternative schemars adds to `Option<T>` fields (both shapes it uses:
///   `type: [T, "null"]` and `anyOf: [T, {type: null}]`), so that kube's `AddNullable`
///   transform finds nothing to mark as `nullable`;
/// * remove the `default` schemars derives from `#[serde(default)]` (the API server would
///   otherwise start defaulting fields that upstream leaves absent).
pub(crate) fn controller_gen_style(schema: &mut Schema) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for property in properties.values_mut() {
        strip_null(property);
        if let Some(obj) = property.as_object_mut() {
            obj.remove("default");
        }
    }
}

fn is_null_schema(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("null")
}

fn strip_null(value: &mut Value) {
    let Some(obj) = value.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let single = types.remove(0);
            obj.insert("type".into(), single);
        }
    }
    let collapse = matches!(
        obj.get("anyOf"),
        Some(Value::Array(any_of)) if any_of.len() == 2 && is_null_schema(&any_of[1])
    );
    if collapse {
        let Some(Value::Array(mut any_of)) = obj.remove("anyOf") else {
            return;
        };
        any_of.truncate(1);
        if let Some(Value::Object(inner)) = any_of.pop() {
            // Keep the field's own keys (its description), take the rest from the inner schema.
            for (key, inner_value) in inner {
                obj.entry(key).or_insert(inner_value);
            }
        }
    }
}

/// Field schema for `k8s_openapi::ByteString` (Go `[]byte`): a base64 string, `format: byte`.
/// k8s-openapi does not implement `JsonSchema` for `ByteString`; use with
/// `#[schemars(schema_with = "crate::api::schema::byte_string")]`.
pub(crate) fn byte_string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "byte" })
}

/// Build a custom resource's root schema the way controller-gen does: `apiVersion`, `kind`
/// and `metadata` first, then the resource's own properties.
///
/// `properties` are `(name, schema)` pairs (typically `spec` and/or `status`, built with
/// `generator.subschema_for::<T>()`). `flatten` schemas contribute their properties and
/// `required` lists directly to the root (for resources without a `spec`). `required` lists
/// the root-level required properties.
pub(crate) fn root_schema(
    description: &str,
    properties: Vec<(&str, Schema)>,
    flatten: Vec<Schema>,
    required: &[&str],
) -> Schema {
    let mut props = Map::new();
    props.insert(
        "apiVersion".into(),
        serde_json::json!({"description": API_VERSION_DESCRIPTION, "type": "string"}),
    );
    props.insert(
        "kind".into(),
        serde_json::json!({"description": KIND_DESCRIPTION, "type": "string"}),
    );
    props.insert("metadata".into(), serde_json::json!({"type": "object"}));
    let mut required: Vec<Value> = required.iter().map(|r| Value::from(*r)).collect();
    for schema in flatten {
        if let Some(Value::Object(flat_props)) = schema.get("properties") {
            for (name, value) in flat_props {
                props.insert(name.clone(), value.clone());
            }
        }
        if let Some(Value::Array(flat_required)) = schema.get("required") {
            required.extend(flat_required.iter().cloned());
        }
    }
    for (name, schema) in properties {
        props.insert(name.into(), schema.to_value());
    }
    let mut root = json_schema!({
        "description": description,
        "type": "object",
        "properties": props,
    });
    if !required.is_empty() {
        root.insert("required".into(), Value::Array(required));
    }
    root
}

/// Implement `JsonSchema` for a string-valued enum as a plain `type: string` (no `enum:` list),
/// matching upstream, whose CRDs do not restrict these values (the webhook does).
macro_rules! plain_string_schema {
    ($ty:ty) => {
        impl ::k8s_openapi::schemars::JsonSchema for $ty {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }

            fn json_schema(_: &mut ::k8s_openapi::schemars::SchemaGenerator) -> ::k8s_openapi::schemars::Schema {
                ::k8s_openapi::schemars::json_schema!({ "type": "string" })
            }
        }
    };
}
pub(crate) use plain_string_schema;

/// Define a unit-only enum whose variants are written as fixed strings in API objects, with
/// `as_str`, `Display`, `FromStr`, serde (via those strings) and a plain-string `JsonSchema`.
///
/// ```text
/// string_enum! {
///     /// Docs.
///     pub enum Mode { Enabled => "Enabled", Disabled => "Disabled" }
/// }
/// ```
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident {
            $($(#[$vmeta:meta])* $variant:ident => $value:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $ty {
            $($(#[$vmeta])* $variant,)+
        }

        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The value as written in API objects.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($ty::$variant => $value,)+
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($value => Ok($ty::$variant),)+
                    other => Err(format!(
                        concat!("invalid ", stringify!($ty), " {:?}, expected one of: {}"),
                        other,
                        [$($value),+].join(", ")
                    )),
                }
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                value.parse().map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }

        $crate::api::schema::plain_string_schema!($ty);
    };
}
pub(crate) use string_enum;

//! Go-compatible JSON and the version hashes of (Cluster)PropagatedVersions.
//!
//! TODO(helper A): implement. Interface (keep the signatures):
//!
//! - `pub fn encode(value: &serde_json::Value) -> String`: exactly what Go's
//!   `json.NewEncoder(w).Encode(v)` writes for the value decoded into `interface{}` /
//!   `map[string]interface{}`: object keys sorted (byte order), `<`, `>`, `&` escaped as
//!   `\u003c` `\u003e` `\u0026`, U+2028/U+2029 escaped, Go float formatting, trailing `\n`.
//! - `pub fn template_version(federated: &serde_json::Value) -> String`: md5 hex of
//!   `encode(spec.template)`; `""` when `spec.template` is absent.
//! - `pub fn overrides_version(federated: &serde_json::Value) -> String`: md5 hex of
//!   `{"overrides": [...]}` with Go's struct field order; `""` when `spec` is absent.

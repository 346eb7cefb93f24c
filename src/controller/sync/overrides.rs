//! Per-cluster overrides (Go: `util/overrides.go` + evanphx/json-patch v4.12 leniency).
//!
//! TODO(helper A): implement. Interface (keep the signatures):
//!
//! - `pub struct Override { pub op: String, pub path: String, pub value: Option<Value> }`
//! - `pub fn parse(federated: &Value) -> Result<BTreeMap<String, Vec<Override>>, String>`
//! - `pub fn apply(object: &mut Value, overrides: &[Override]) -> Result<(), String>`

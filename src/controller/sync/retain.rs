//! TEMP stub.
use serde_json::Value;
pub fn retain_cluster_fields(_k: &str, _d: &mut Value, _c: &Value, _f: &Value) -> Result<(), String> { Ok(()) }
pub fn object_version(_o: &Value) -> String { String::new() }
pub fn needs_update(_d: &Value, _c: &Value, _r: Option<&str>) -> bool { true }

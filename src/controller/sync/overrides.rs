//! TEMP stub.
use std::collections::BTreeMap;
use serde_json::Value;
#[derive(Clone, Debug, PartialEq)]
pub struct Override { pub op: String, pub path: String, pub value: Option<Value> }
pub type ClusterOverrides = BTreeMap<String, Vec<Override>>;
pub fn parse(_f: &Value) -> Result<ClusterOverrides, String> { Ok(BTreeMap::new()) }
pub fn apply(_o: &mut Value, _ops: &[Override]) -> Result<(), String> { Ok(()) }

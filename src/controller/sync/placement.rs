//! TEMP stub.
use std::collections::{BTreeMap, BTreeSet};
use serde_json::Value;
pub struct ClusterLabels<'a> { pub name: &'a str, pub labels: &'a BTreeMap<String, String> }
pub fn selected_clusters(_s: &Value, _c: &[ClusterLabels<'_>], _so: bool) -> Result<BTreeSet<String>, String> { Ok(BTreeSet::new()) }
pub struct NamespacedPlacement { pub clusters: BTreeSet<String>, pub namespace_not_federated: bool }
pub fn namespaced_placement(_s: &Value, _f: Option<&Value>, _c: &[ClusterLabels<'_>], _scope: crate::api::Scope) -> Result<NamespacedPlacement, String> { Ok(NamespacedPlacement { clusters: BTreeSet::new(), namespace_not_federated: false }) }

//! TEMP stub.
use std::collections::BTreeMap;
use serde_json::Value;
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PropagationStatus { Ok, WaitingForRemoval, ClusterNotReady, CachedRetrievalFailed, ComputeResourceFailed, ApplyOverridesFailed, CreationFailed, UpdateFailed, DeletionFailed, LabelRemovalFailed, RetrievalFailed, AlreadyExists, FieldRetentionFailed, VersionRetrievalFailed, ClientRetrievalFailed, ManagedLabelFalse, CreationTimedOut, UpdateTimedOut, DeletionTimedOut, LabelRemovalTimedOut }
impl PropagationStatus { pub fn as_str(&self) -> &'static str { "" } pub fn is_recoverable(&self) -> bool { false } }
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateReason { Ok, ClusterRetrievalFailed, ComputePlacementFailed, CheckClusters, NamespaceNotFederated }
pub struct ClusterStatus { pub status: PropagationStatus, pub remote_status: Option<Value> }
pub struct Observed { pub generation: i64, pub reason: AggregateReason, pub clusters: BTreeMap<String, ClusterStatus> }
pub fn desired_status(_p: &Value, _o: &Observed, _now: &str) -> Option<Value> { None }
pub fn aggregate(_n: bool, _c: &BTreeMap<String, ClusterStatus>) -> AggregateReason { AggregateReason::Ok }

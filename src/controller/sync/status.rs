//! The federated object's status (Go: `sync/status/status.go`).
//!
//! ```yaml
//! status:
//!   observedGeneration: 3                      # omitted when 0, as Go's omitempty
//!   conditions:
//!   - type: Propagation
//!     status: "True"                           # "False" when there is a reason
//!     lastUpdateTime: "2006-01-02T15:04:05Z"
//!     lastTransitionTime: "2006-01-02T15:04:05Z"
//!     reason: CheckClusters                    # omitted on success
//!   clusters:                                  # omitted when empty; sorted by name
//!   - name: c1
//!     status: CreationFailed                   # omitted when OK
//!     remoteStatus: {...}                      # the member's .status, when collected
//! ```
//!
//! Like Go, a write rebuilds the status from these three fields, so unknown top-level fields of
//! the previous status are dropped; conditions of other types are kept (projected onto Go's
//! condition fields). Fixes over Go v0.10.0 (spec §9): clusters are sorted by name instead of
//! Go's map order; `observedGeneration` is the generation actually reconciled, passed in by the
//! caller, not one re-read after a conflict; a cluster without a remote status is compared as
//! such (Go's length check made it differ on every reconcile, #1373) and does not by itself
//! make the reason `CheckClusters`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A cluster's propagation result; the strings are Go's, `""` for OK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PropagationStatus {
    Ok,
    WaitingForRemoval,
    ClusterNotReady,
    CachedRetrievalFailed,
    ComputeResourceFailed,
    ApplyOverridesFailed,
    CreationFailed,
    UpdateFailed,
    DeletionFailed,
    LabelRemovalFailed,
    RetrievalFailed,
    AlreadyExists,
    FieldRetentionFailed,
    VersionRetrievalFailed,
    ClientRetrievalFailed,
    ManagedLabelFalse,
    CreationTimedOut,
    UpdateTimedOut,
    DeletionTimedOut,
    LabelRemovalTimedOut,
}

impl PropagationStatus {
    /// The value written to `status.clusters[].status`; `""` for [`PropagationStatus::Ok`].
    pub fn as_str(&self) -> &'static str {
        use PropagationStatus::*;
        match self {
            Ok => "",
            WaitingForRemoval => "WaitingForRemoval",
            ClusterNotReady => "ClusterNotReady",
            CachedRetrievalFailed => "CachedRetrievalFailed",
            ComputeResourceFailed => "ComputeResourceFailed",
            ApplyOverridesFailed => "ApplyOverridesFailed",
            CreationFailed => "CreationFailed",
            UpdateFailed => "UpdateFailed",
            DeletionFailed => "DeletionFailed",
            LabelRemovalFailed => "LabelRemovalFailed",
            RetrievalFailed => "RetrievalFailed",
            AlreadyExists => "AlreadyExists",
            FieldRetentionFailed => "FieldRetentionFailed",
            VersionRetrievalFailed => "VersionRetrievalFailed",
            ClientRetrievalFailed => "ClientRetrievalFailed",
            ManagedLabelFalse => "ManagedLabelFalse",
            CreationTimedOut => "CreationTimedOut",
            UpdateTimedOut => "UpdateTimedOut",
            DeletionTimedOut => "DeletionTimedOut",
            LabelRemovalTimedOut => "LabelRemovalTimedOut",
        }
    }

    /// Go's `IsRecoverableError` (#1428): worth a retry with backoff. `ClusterNotReady`,
    /// `AlreadyExists` and the other configuration errors wait for the next event instead.
    pub fn is_recoverable(&self) -> bool {
        use PropagationStatus::*;
        matches!(
            self,
            CreationFailed
                | UpdateFailed
                | DeletionFailed
                | LabelRemovalFailed
                | RetrievalFailed
                | ClientRetrievalFailed
                | CreationTimedOut
                | UpdateTimedOut
                | DeletionTimedOut
                | LabelRemovalTimedOut
        )
    }
}

/// The reason of the `Propagation` condition; the strings are Go's, `""` for success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateReason {
    Ok,
    ClusterRetrievalFailed,
    ComputePlacementFailed,
    CheckClusters,
    NamespaceNotFederated,
}

impl AggregateReason {
    /// The value written to the condition's `reason`; `""` (omitted) for [`AggregateReason::Ok`].
    pub fn as_str(&self) -> &'static str {
        match self {
            AggregateReason::Ok => "",
            AggregateReason::ClusterRetrievalFailed => "ClusterRetrievalFailed",
            AggregateReason::ComputePlacementFailed => "ComputePlacementFailed",
            AggregateReason::CheckClusters => "CheckClusters",
            AggregateReason::NamespaceNotFederated => "NamespaceNotFederated",
        }
    }
}

/// One cluster's entry in `status.clusters`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterStatus {
    pub status: PropagationStatus,
    /// The member object's `.status` when raw status collection is on (null counts as `None`).
    pub remote_status: Option<Value>,
}

/// What the reconcile found.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// The federated object's `metadata.generation` that this reconcile propagated.
    pub generation: i64,
    pub reason: AggregateReason,
    /// By cluster name, so the output is sorted. Empty for `ClusterRetrievalFailed` and
    /// `ComputePlacementFailed`, which removes `status.clusters`.
    pub clusters: BTreeMap<String, ClusterStatus>,
}

/// The aggregate reason given the per-cluster results: `NamespaceNotFederated` when the flag
/// is set (it takes precedence, as in Go), else `CheckClusters` when any cluster is not OK.
pub fn aggregate(
    namespace_not_federated: bool,
    clusters: &BTreeMap<String, ClusterStatus>,
) -> AggregateReason {
    if namespace_not_federated {
        AggregateReason::NamespaceNotFederated
    } else if clusters.values().any(|c| c.status != PropagationStatus::Ok) {
        AggregateReason::CheckClusters
    } else {
        AggregateReason::Ok
    }
}

/// The new `.status` to write, or `None` when Go would not write: `observedGeneration`, the
/// condition's status and reason, and the clusters (names, statuses, remote statuses compared
/// as Go's JSON-normalized `reflect.DeepEqual`, order ignored) are all unchanged.
///
/// `previous` is the object's current `.status` (absent, null or malformed parts count as
/// absent, so they are rewritten). `now` is RFC 3339 UTC with second precision. An
/// [`AggregateReason::Ok`] with a cluster that is not OK is written as `CheckClusters`, as Go.
///
/// `lastTransitionTime` becomes `now` when the condition is new or its status or reason
/// changed, else it is kept. NB: `lastUpdateTime` becomes `now` on every write. Go refreshes it
/// only when the condition transitioned or the clusters changed (or, through an operator
/// precedence slip, when members were updated under raw status collection), so a write for a
/// new generation alone kept the old time; here a new generation counts as a propagated change.
pub fn desired_status(previous: &Value, observed: &Observed, now: &str) -> Option<Value> {
    let previous = previous.as_object();
    let field = |name| previous.and_then(|p| p.get(name));

    let reason = match observed.reason {
        AggregateReason::Ok => aggregate(false, &observed.clusters),
        reason => reason,
    };
    let condition_status = if reason == AggregateReason::Ok {
        "True"
    } else {
        "False"
    };

    let mut conditions: Vec<Map<String, Value>> = field("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(project_condition)
        .collect();
    let propagation = conditions
        .iter()
        .position(|c| c.get("type").and_then(Value::as_str) == Some("Propagation"));
    let transition = propagation.is_none_or(|i| {
        let text = |name| {
            conditions[i]
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        text("status") != condition_status || text("reason") != reason.as_str()
    });

    let generation_changed = field("observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        != observed.generation;
    let clusters_changed = !clusters_equal(field("clusters"), &observed.clusters);
    if !(generation_changed || clusters_changed || transition) {
        return None;
    }

    let mut condition = Map::new();
    condition.insert("type".into(), "Propagation".into());
    condition.insert("status".into(), condition_status.into());
    condition.insert("lastUpdateTime".into(), now.into());
    let kept_transition_time = propagation
        .filter(|_| !transition)
        .and_then(|i| conditions[i].get("lastTransitionTime").cloned());
    match (transition, kept_transition_time) {
        (true, _) => {
            condition.insert("lastTransitionTime".into(), now.into());
        }
        (false, Some(time)) => {
            condition.insert("lastTransitionTime".into(), time);
        }
        (false, None) => {}
    }
    if reason != AggregateReason::Ok {
        condition.insert("reason".into(), reason.as_str().into());
    }
    match propagation {
        Some(i) => conditions[i] = condition,
        None => conditions.push(condition),
    }

    let mut status = Map::new();
    if observed.generation != 0 {
        status.insert("observedGeneration".into(), observed.generation.into());
    }
    status.insert(
        "conditions".into(),
        conditions.into_iter().map(Value::Object).collect(),
    );
    if !observed.clusters.is_empty() {
        let clusters = observed.clusters.iter().map(|(name, cluster)| {
            let mut entry = Map::new();
            entry.insert("name".into(), name.as_str().into());
            if cluster.status != PropagationStatus::Ok {
                entry.insert("status".into(), cluster.status.as_str().into());
            }
            if let Some(remote) = cluster.remote_status.as_ref().filter(|r| !r.is_null()) {
                entry.insert("remoteStatus".into(), remote.clone());
            }
            Value::Object(entry)
        });
        status.insert("clusters".into(), clusters.collect());
    }
    Some(Value::Object(status))
}

/// A previous condition as Go's `GenericCondition` reads and rewrites it: `type` and `status`
/// always, the other string fields when non-empty, anything else dropped. Entries that are not
/// objects are dropped (Go fails to decode them, or dereferences nil for a null entry).
fn project_condition(condition: &Value) -> Option<Map<String, Value>> {
    let condition = condition.as_object()?;
    let text = |name| condition.get(name).and_then(Value::as_str).unwrap_or("");
    let mut projected = Map::new();
    projected.insert("type".into(), text("type").into());
    projected.insert("status".into(), text("status").into());
    for name in ["lastUpdateTime", "lastTransitionTime", "reason"] {
        if !text(name).is_empty() {
            projected.insert(name.into(), text(name).into());
        }
    }
    Some(projected)
}

/// Whether the previous `status.clusters` holds exactly the observed clusters. A malformed
/// list, entry or duplicate name counts as different.
fn clusters_equal(previous: Option<&Value>, observed: &BTreeMap<String, ClusterStatus>) -> bool {
    let entries = match previous {
        None | Some(Value::Null) => return observed.is_empty(),
        Some(Value::Array(entries)) => entries,
        Some(_) => return false,
    };
    if entries.len() != observed.len() {
        return false;
    }
    let mut seen = BTreeMap::new();
    for entry in entries {
        let Some(name) = entry.get("name").and_then(Value::as_str) else {
            return false;
        };
        let Some(cluster) = observed.get(name) else {
            return false;
        };
        let status = match entry.get("status") {
            None | Some(Value::Null) => "",
            Some(Value::String(status)) => status,
            Some(_) => return false,
        };
        let remote = entry.get("remoteStatus").filter(|r| !r.is_null());
        let observed_remote = cluster.remote_status.as_ref().filter(|r| !r.is_null());
        let remote_equal = match (remote, observed_remote) {
            (None, None) => true,
            (Some(a), Some(b)) => json_equal(a, b),
            _ => false,
        };
        if status != cluster.status.as_str() || !remote_equal || seen.insert(name, ()).is_some() {
            return false;
        }
    }
    true
}

/// Equality after Go's JSON round trip into `interface{}`: every number is a float64, object
/// key order does not matter.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use PropagationStatus as P;

    const NOW: &str = "2024-01-02T03:04:05Z";
    const BEFORE: &str = "2023-01-01T00:00:00Z";

    fn clusters(
        entries: &[(&str, PropagationStatus, Option<Value>)],
    ) -> BTreeMap<String, ClusterStatus> {
        entries
            .iter()
            .map(|(name, status, remote)| {
                (
                    (*name).to_owned(),
                    ClusterStatus {
                        status: *status,
                        remote_status: remote.clone(),
                    },
                )
            })
            .collect()
    }

    fn observed(
        generation: i64,
        reason: AggregateReason,
        entries: &[(&str, PropagationStatus, Option<Value>)],
    ) -> Observed {
        Observed {
            generation,
            reason,
            clusters: clusters(entries),
        }
    }

    /// Upstream's starting point in `TestGenericPropagationStatusUpdateChanged`: generation 0,
    /// a True Propagation condition, and `cluster1` with the given remote status.
    fn upstream_previous(remote: Option<Value>) -> Value {
        let mut cluster = json!({"name": "cluster1"});
        if let Some(remote) = remote {
            cluster["remoteStatus"] = remote;
        }
        json!({"conditions": [{"type": "Propagation", "status": "True"}], "clusters": [cluster]})
    }

    // Ported from upstream status_test.go `TestGenericPropagationStatusUpdateChanged`. Raw
    // status collection is not a parameter here: `remote_status` is `Some` only when it is on
    // and the member has a status. The cases whose expectation came only from Go's length check
    // (a missing remote status counted as a change) expect no change here (§9, #1373).
    #[test]
    fn upstream_update_changed() {
        use AggregateReason::{NamespaceNotFederated, Ok as Success};
        let empty = || Some(json!({}));
        let remote = || Some(json!({"status": {"status": "remoteStatus"}}));
        let cases: Vec<(&str, Option<Value>, Observed, bool)> = vec![
            (
                "Cluster not propagated indicates changed",
                None,
                observed(0, Success, &[("cluster1", P::ClusterNotReady, empty())]),
                true,
            ),
            (
                "Cluster status not retrieved indicates changed",
                None,
                observed(0, Success, &[]),
                true,
            ),
            (
                "No collected remote status indicates unchanged (fixed: Go said changed with collection on)",
                None,
                observed(0, Success, &[("cluster1", P::Ok, None)]),
                false,
            ),
            (
                "A newly collected remote status indicates changed",
                None,
                observed(0, Success, &[("cluster1", P::Ok, empty())]),
                true,
            ),
            (
                "No change in remote status indicates unchanged",
                remote(),
                observed(0, Success, &[("cluster1", P::Ok, remote())]),
                false,
            ),
            (
                "A dropped remote status indicates changed",
                remote(),
                observed(0, Success, &[("cluster1", P::Ok, None)]),
                true,
            ),
            (
                "Change in clusters indicates changed",
                None,
                observed(
                    0,
                    Success,
                    &[("cluster1", P::Ok, None), ("cluster2", P::Ok, None)],
                ),
                true,
            ),
            (
                "Transition indicates changed",
                None,
                observed(0, NamespaceNotFederated, &[("cluster1", P::Ok, None)]),
                true,
            ),
            (
                "Changed generation indicates changed",
                None,
                observed(1, Success, &[("cluster1", P::Ok, None)]),
                true,
            ),
        ];
        for (name, remote, observed, changed) in cases {
            let got = desired_status(&upstream_previous(remote), &observed, NOW);
            assert_eq!(got.is_some(), changed, "{name}: {got:?}");
        }
    }

    #[test]
    fn first_write_shape() {
        let observed = observed(
            3,
            AggregateReason::Ok,
            &[
                ("c2", P::Ok, Some(json!({"replicas": 1}))),
                ("c1", P::Ok, None),
                ("a0", P::WaitingForRemoval, Some(Value::Null)),
            ],
        );
        let got = desired_status(&Value::Null, &observed, NOW).unwrap();
        assert_eq!(
            got,
            json!({
                "observedGeneration": 3,
                "conditions": [{
                    "type": "Propagation", "status": "False",
                    "lastUpdateTime": NOW, "lastTransitionTime": NOW, "reason": "CheckClusters",
                }],
                "clusters": [
                    {"name": "a0", "status": "WaitingForRemoval"},
                    {"name": "c1"},
                    {"name": "c2", "remoteStatus": {"replicas": 1}},
                ],
            })
        );
        // Go's field order, for readable diffs in kubectl.
        assert_eq!(
            serde_json::to_string(&got["conditions"][0]).unwrap(),
            format!(
                r#"{{"type":"Propagation","status":"False","lastUpdateTime":"{NOW}","lastTransitionTime":"{NOW}","reason":"CheckClusters"}}"#
            )
        );
    }

    #[test]
    fn success_without_clusters() {
        let got = desired_status(&json!({}), &observed(1, AggregateReason::Ok, &[]), NOW);
        assert_eq!(
            got,
            Some(json!({
                "observedGeneration": 1,
                "conditions": [{"type": "Propagation", "status": "True", "lastUpdateTime": NOW, "lastTransitionTime": NOW}],
            }))
        );
    }

    #[test]
    fn unchanged_is_not_written() {
        let previous = json!({
            "observedGeneration": 2,
            "conditions": [{"type": "Propagation", "status": "False", "reason": "CheckClusters",
                            "lastUpdateTime": BEFORE, "lastTransitionTime": BEFORE}],
            "clusters": [{"name": "c2", "remoteStatus": {"a": 1.0, "b": [1, {"c": 2}]}},
                         {"name": "c1", "status": "CreationFailed"}],
            "extra": true,
        });
        let same = observed(
            2,
            AggregateReason::CheckClusters,
            &[
                ("c1", P::CreationFailed, None),
                ("c2", P::Ok, Some(json!({"b": [1.0, {"c": 2}], "a": 1}))),
            ],
        );
        assert_eq!(desired_status(&previous, &same, NOW), None);
        // Ok with a failing cluster is CheckClusters, so also unchanged.
        let ok = Observed {
            reason: AggregateReason::Ok,
            ..same.clone()
        };
        assert_eq!(desired_status(&previous, &ok, NOW), None);

        // Each kind of change causes a write.
        let mut changed = Vec::new();
        let mut next = same.clone();
        next.generation = 3;
        changed.push(("generation", next));
        let mut next = same.clone();
        next.clusters.get_mut("c1").unwrap().status = P::UpdateFailed;
        changed.push(("cluster status", next));
        let mut next = same.clone();
        next.clusters.get_mut("c2").unwrap().remote_status = Some(json!({"a": 2}));
        changed.push(("remote status", next));
        let mut next = same.clone();
        next.clusters.remove("c2");
        changed.push(("cluster removed", next));
        let mut next = same.clone();
        next.reason = AggregateReason::NamespaceNotFederated;
        changed.push(("reason", next));
        for (name, next) in changed {
            let got = desired_status(&previous, &next, NOW).expect(name);
            assert_eq!(got["conditions"][0]["lastUpdateTime"], json!(NOW), "{name}");
            assert!(
                got.get("extra").is_none(),
                "{name}: unknown fields are dropped"
            );
        }
    }

    #[test]
    fn transition_times() {
        let previous = json!({
            "observedGeneration": 1,
            "conditions": [{"type": "Propagation", "status": "True",
                            "lastUpdateTime": BEFORE, "lastTransitionTime": BEFORE}],
        });
        // New generation, same condition: transition time kept, update time refreshed.
        let got = desired_status(&previous, &observed(2, AggregateReason::Ok, &[]), NOW).unwrap();
        let condition = &got["conditions"][0];
        assert_eq!(condition["lastTransitionTime"], json!(BEFORE));
        assert_eq!(condition["lastUpdateTime"], json!(NOW));
        // New reason: both refreshed.
        let failed = observed(1, AggregateReason::ComputePlacementFailed, &[]);
        let got = desired_status(&previous, &failed, NOW).unwrap();
        assert_eq!(
            got["conditions"],
            json!([{"type": "Propagation", "status": "False", "lastUpdateTime": NOW,
                    "lastTransitionTime": NOW, "reason": "ComputePlacementFailed"}])
        );
        // A reason change with the same condition status is a transition too.
        let previous = json!({
            "observedGeneration": 1,
            "conditions": [{"type": "Propagation", "status": "False", "reason": "CheckClusters",
                            "lastTransitionTime": BEFORE}],
        });
        let got = desired_status(&previous, &failed, NOW).unwrap();
        assert_eq!(got["conditions"][0]["lastTransitionTime"], json!(NOW));
        // No previous transition time and no transition: stays absent, as Go's omitempty.
        let previous = json!({"conditions": [{"type": "Propagation", "status": "True"}]});
        let got = desired_status(&previous, &observed(1, AggregateReason::Ok, &[]), NOW).unwrap();
        assert_eq!(
            got["conditions"],
            json!([{"type": "Propagation", "status": "True", "lastUpdateTime": NOW}])
        );
    }

    #[test]
    fn failures_clear_the_clusters() {
        let previous = json!({
            "observedGeneration": 1,
            "conditions": [{"type": "Propagation", "status": "True"}],
            "clusters": [{"name": "c1"}],
        });
        for reason in [
            AggregateReason::ClusterRetrievalFailed,
            AggregateReason::ComputePlacementFailed,
        ] {
            let got = desired_status(&previous, &observed(1, reason, &[]), NOW).unwrap();
            assert!(got.get("clusters").is_none(), "{reason:?}");
            assert_eq!(got["conditions"][0]["reason"], json!(reason.as_str()));
        }
    }

    #[test]
    fn other_conditions_are_kept() {
        let previous = json!({
            "observedGeneration": 1,
            "conditions": [
                {"type": "Other", "status": "Unknown", "message": "dropped", "reason": "", "lastUpdateTime": 5},
                null,
                {"type": "Propagation", "status": "True"},
            ],
        });
        let got = desired_status(&previous, &observed(2, AggregateReason::Ok, &[]), NOW).unwrap();
        assert_eq!(
            got["conditions"],
            json!([
                {"type": "Other", "status": "Unknown"},
                {"type": "Propagation", "status": "True", "lastUpdateTime": NOW},
            ])
        );
    }

    #[test]
    fn malformed_previous_status_is_rewritten() {
        let next = observed(1, AggregateReason::Ok, &[("c1", P::Ok, None)]);
        let fresh = desired_status(&Value::Null, &next, NOW).unwrap();
        for previous in [
            json!("garbage"),
            json!([]),
            json!({"observedGeneration": "1", "conditions": {}, "clusters": "c1"}),
            json!({"observedGeneration": 1, "conditions": [{"type": "Propagation", "status": "True"}],
                   "clusters": [{"name": 1}]}),
            json!({"observedGeneration": 1, "conditions": [{"type": "Propagation", "status": "True"}],
                   "clusters": [{"name": "c1", "status": 0}]}),
        ] {
            let got = desired_status(&previous, &next, NOW).expect("a write");
            assert_eq!(got["clusters"], fresh["clusters"], "{previous}");
            assert_eq!(got["observedGeneration"], json!(1), "{previous}");
        }
    }

    #[test]
    fn cluster_comparison() {
        let next = observed(
            1,
            AggregateReason::Ok,
            &[("c1", P::Ok, None), ("c2", P::Ok, None)],
        );
        let with = |clusters: Value| {
            json!({"observedGeneration": 1, "conditions": [{"type": "Propagation", "status": "True"}],
                   "clusters": clusters})
        };
        let unchanged = |clusters| desired_status(&with(clusters), &next, NOW).is_none();
        // Order does not matter; an empty status string and null are OK.
        assert!(unchanged(
            json!([{"name": "c2", "status": ""}, {"name": "c1", "remoteStatus": null}])
        ));
        // Duplicates are a change (Go's length-and-lookup check missed this).
        assert!(!unchanged(json!([{"name": "c1"}, {"name": "c1"}])));
        assert!(!unchanged(json!([{"name": "c1"}])));
        assert!(!unchanged(
            json!([{"name": "c1"}, {"name": "c2", "status": "Bogus"}])
        ));
        // An explicit null remote status from the caller equals an absent one.
        let null_remote = observed(1, AggregateReason::Ok, &[("c1", P::Ok, Some(Value::Null))]);
        let previous = with(json!([{"name": "c1"}]));
        assert_eq!(desired_status(&previous, &null_remote, NOW), None);
    }

    #[test]
    fn json_equal_is_go_deep_equal_after_normalization() {
        assert!(json_equal(
            &json!({"a": 1, "b": [2]}),
            &json!({"b": [2.0], "a": 1.0})
        ));
        assert!(!json_equal(&json!({"a": 1}), &json!({"a": 1, "b": null})));
        assert!(!json_equal(&json!([1, 2]), &json!([2, 1])));
        assert!(!json_equal(&json!("1"), &json!(1)));
        assert!(json_equal(&json!(null), &json!(null)));
    }

    #[test]
    fn aggregate_reasons() {
        let ok = clusters(&[("c1", P::Ok, None)]);
        let failing = clusters(&[("c1", P::Ok, None), ("c2", P::ClusterNotReady, None)]);
        let waiting = clusters(&[("c1", P::WaitingForRemoval, None)]);
        assert_eq!(aggregate(false, &BTreeMap::new()), AggregateReason::Ok);
        assert_eq!(aggregate(false, &ok), AggregateReason::Ok);
        assert_eq!(aggregate(false, &failing), AggregateReason::CheckClusters);
        assert_eq!(aggregate(false, &waiting), AggregateReason::CheckClusters);
        assert_eq!(
            aggregate(true, &failing),
            AggregateReason::NamespaceNotFederated
        );
        assert_eq!(aggregate(true, &ok), AggregateReason::NamespaceNotFederated);
    }

    #[test]
    fn status_strings_and_recoverability() {
        let all = [
            (P::Ok, "", false),
            (P::WaitingForRemoval, "WaitingForRemoval", false),
            (P::ClusterNotReady, "ClusterNotReady", false),
            (P::CachedRetrievalFailed, "CachedRetrievalFailed", false),
            (P::ComputeResourceFailed, "ComputeResourceFailed", false),
            (P::ApplyOverridesFailed, "ApplyOverridesFailed", false),
            (P::CreationFailed, "CreationFailed", true),
            (P::UpdateFailed, "UpdateFailed", true),
            (P::DeletionFailed, "DeletionFailed", true),
            (P::LabelRemovalFailed, "LabelRemovalFailed", true),
            (P::RetrievalFailed, "RetrievalFailed", true),
            (P::AlreadyExists, "AlreadyExists", false),
            (P::FieldRetentionFailed, "FieldRetentionFailed", false),
            (P::VersionRetrievalFailed, "VersionRetrievalFailed", false),
            (P::ClientRetrievalFailed, "ClientRetrievalFailed", true),
            (P::ManagedLabelFalse, "ManagedLabelFalse", false),
            (P::CreationTimedOut, "CreationTimedOut", true),
            (P::UpdateTimedOut, "UpdateTimedOut", true),
            (P::DeletionTimedOut, "DeletionTimedOut", true),
            (P::LabelRemovalTimedOut, "LabelRemovalTimedOut", true),
        ];
        for (status, text, recoverable) in all {
            assert_eq!(status.as_str(), text);
            assert_eq!(status.is_recoverable(), recoverable, "{text}");
        }
        let reasons = [
            (AggregateReason::Ok, ""),
            (
                AggregateReason::ClusterRetrievalFailed,
                "ClusterRetrievalFailed",
            ),
            (
                AggregateReason::ComputePlacementFailed,
                "ComputePlacementFailed",
            ),
            (AggregateReason::CheckClusters, "CheckClusters"),
            (
                AggregateReason::NamespaceNotFederated,
                "NamespaceNotFederated",
            ),
        ];
        for (reason, text) in reasons {
            assert_eq!(reason.as_str(), text);
        }
    }
}

//! Propagation of one federated type to the member clusters (Go: `pkg/controller/sync`).
//!
//! The pure rooms: [`placement`] (which clusters), [`overrides`] (per-cluster JSON patches with
//! Go's leniency), [`gojson`] (Go-compatible JSON for the version hashes), [`retain`] (fields
//! kept from the member's copy; when an update is needed), [`status`] (the federated object's
//! status). The I/O: [`events`] (Events, with a small memory for series), [`version`]
//! ((Cluster)PropagatedVersions), [`writer`] (host writes behind the reconcile) and the reconcile
//! loop with the member writes in [`controller`].

pub mod controller;
pub mod events;
pub mod gojson;
pub mod overrides;
pub mod placement;
pub mod resource;
pub mod retain;
pub mod status;
pub mod version;
pub mod writer;

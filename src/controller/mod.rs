//! The control plane: `kubefedctl controller-manager`, a drop-in replacement for KubeFed
//! v0.10.0's Go controller-manager.
//!
//! - [`config`]: the KubeFedConfig `kubefed`, read once, resolved into settings with defaults.
//! - [`cluster`]: the member-cluster registry (one client per KubeFedCluster, rebuilt when its
//!   spec or Secret changes) and the health probe that writes KubeFedCluster status.
//! - [`ftc`]: the FederatedTypeConfig controller: starts, stops and restarts per-type sync.
//! - [`sync`]: propagation of one federated type: placement, overrides, dispatch to members,
//!   PropagatedVersions, status, deletion.
//! - [`leader`]: leader election; [`http`] and [`metrics`]: `/healthz`, `/readyz`, `/metrics`.
//! - [`tls`]: member-cluster TLS (`spec.caBundle`, `spec.disabledTLSValidations`).
//!
//! No clap and no printing here; logs go through `tracing`.

pub mod cluster;
pub mod config;
pub mod ftc;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod sync;
pub mod tls;

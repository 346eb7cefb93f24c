//! The federated object's status (Go: `sync/status/status.go`).
//!
//! TODO(helper B): implement.

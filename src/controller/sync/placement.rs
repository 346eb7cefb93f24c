//! Placement (Go: `util/placement.go`).
//!
//! TODO(helper B): implement.

//! Fields retained from the member's copy, and whether an update is needed.
//!
//! TODO(helper B): implement.

//! Integration tests against the local federation of real upstream API servers
//! (scripts/local-federation). Two federations per test binary, one without nodes for most tests
//! and one with nodes for nodes.rs; tests isolate themselves by namespaces and names.

mod controller;
mod enable;
mod errors;
mod federate;
mod federation;
mod init;
mod join;
mod kubeconfig_rules;
mod nodes;
mod referee;
mod util;

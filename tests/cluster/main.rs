//! Integration tests against the local federation of real upstream API servers
//! (scripts/local-federation). One federation per test binary; tests isolate themselves by
//! namespaces and names.

mod controller;
mod enable;
mod errors;
mod federate;
mod federation;
mod init;
mod join;
mod kubeconfig_rules;
mod referee;
mod util;

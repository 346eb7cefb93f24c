//! kubefedctl: a wire-compatible successor to KubeFed's CLI.
//!
//! Layering, top to bottom:
//! - [`cli`]: clap argument structs, one file per command; builds `XxxOptions`, renders outcomes.
//! - [`ops`]: the operations (init, join, ...): typed options in, typed outcome out; no printing.
//! - [`kubeconfig`]: kubectl's loading rules, context resolution, clients with bounded timeouts.
//! - [`api`]: KubeFed's custom resources as Rust types; the CRDs are generated from them.
//! - [`output`]: the only place that prints: object lines, YAML/JSON, progress, errors.

pub mod api;
pub mod cli;
pub mod controller;
pub mod error;
pub mod kubeconfig;
pub mod ops;
pub mod output;

//! libdci: the Digital Convergence Initiative (SPDCI) registry API in Rust.
//!
//! Data flows one way: bytes in -> [`canonical`] / [`signature`] verify -> typed [`model`] ->
//! handled ([`query`] evaluator) -> typed response -> signed -> bytes out. The [`client`] and
//! the reference server (the `dci` binary in `cli/`) only move bytes around this core.

pub mod canonical;
pub mod encryption;
pub mod error;
pub mod keys;
pub mod model;
pub mod query;
pub mod registry;
pub mod signature;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod services;

pub use error::{Error, ErrorKind, Result, Violation};

/// The library version (Cargo package version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

//! `vantage-agent`: runs signed WebAssembly probe plugins on a schedule and
//! emits normalised results.
//!
//! The pieces, in the order a measurement passes through them:
//! [`config`] → [`catalog`] (packages verified against the [trust
//! store](vantage_protocol::package::TrustStore), compiled by the
//! [`host::PluginHost`]) → [`scheduler`] → [`run`] (one instance per run,
//! with the [`caps`] it was granted) → [`normalise`] → [`outbox`] →
//! [`uplink`] to the server (once [`enroll`]ed), or stdout (standalone).
//! Once enrolled, [`managed`] adds the checks the server assigns.

pub mod bindings;
pub mod caps;
pub mod catalog;
pub mod config;
pub mod enroll;
mod epoch;
mod files;
pub mod host;
pub mod icmp;
pub mod install;
mod jobs;
pub mod managed;
pub mod normalise;
pub mod outbox;
pub mod platform;
pub mod plugin;
mod precompiled;
pub mod run;
pub mod scheduler;
pub mod selftest;
pub mod standalone;
pub mod update;
pub mod uplink;

/// This build's version: the package's, unless a test build set
/// `VANTAGE_BUILD_VERSION` (see `build.rs`).
pub const VERSION: &str = env!("VANTAGE_VERSION");

/// The Rust target triple this build runs on: the platform of the
/// releases it takes.
pub const PLATFORM: &str = env!("VANTAGE_TARGET");

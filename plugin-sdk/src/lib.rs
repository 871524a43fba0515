//! Write [Vantage](https://example.invalid/vantage) probe plugins in Rust.
//!
//! A probe plugin is a WebAssembly component (built for `wasm32-wasip2`) that
//! implements the `vantage:plugin/plugin` world from the repository's `wit/`
//! folder: the host calls its `probe.run` with a [`Context`] and the check's
//! JSON configuration; the plugin measures through the capability modules
//! ([`tcp`], [`udp`], [`dns`], [`http`], [`icmp`], [`system`], [`log`], [`clock`]),
//! may keep bytes for its next run ([`state`]) and returns an [`Outcome`].
//!
//! ```
//! use vantage_plugin_sdk::prelude::*;
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Config {
//!     #[serde(default)]
//!     greeting: Option<String>,
//! }
//!
//! struct Hello;
//!
//! impl Probe for Hello {
//!     type Config = Config;
//!
//!     fn run(ctx: &Context, config: Config) -> Outcome {
//!         let greeting = config.greeting.unwrap_or_else(|| "hello".to_owned());
//!         Outcome::ok()
//!             .message(format!("{greeting}, {}", ctx.target))
//!             .sample("answer", 42.0, Unit::Count)
//!             .with_label("check", ctx.check.as_str())
//!     }
//! }
//!
//! vantage_plugin_sdk::export_probe!(Hello);
//!
//! # fn main() {
//! // The host does this through the component's export.
//! let ctx = Context { check: "demo".into(), target: "example.com".into(), timeout_ms: 1000 };
//! let outcome = Hello::run(&ctx, Config { greeting: None });
//! assert_eq!(outcome.status, Status::Ok);
//! assert_eq!(outcome.message.as_deref(), Some("hello, example.com"));
//! # }
//! ```
//!
//! The plugin crate is a `cdylib` that depends on this crate and on `serde`
//! (with the `derive` feature, which `#[derive(Deserialize)]` needs), and
//! ships a `manifest.json` declaring its capabilities, configuration schema
//! and metrics. Only declared metrics may be emitted (unless the manifest
//! declares `dynamic_metrics`); any unit of the metric's dimension is fine
//! (the host converts to the base unit).
//!
//! Capability calls go to the host and only work inside the component; in a
//! native build (unit tests, docs) they panic.

#![warn(missing_docs)]

mod counters;
mod net_error;
mod outcome;
mod probe;
mod target;
mod text;

pub use counters::{Counters, counter_key};
pub use net_error::NetError;
pub use outcome::Outcome;
pub use probe::{Context, Probe};
pub use target::{config_in_range, target_host, target_host_port};
pub use text::{excerpt, ns_to_seconds};

#[doc(hidden)]
pub use probe::run_probe as __run_probe;

// Lets the generated code name this crate the way a plugin crate does.
extern crate self as vantage_plugin_sdk;

/// The bindings that `wit_bindgen::generate!` produces from `wit/plugin.wit`.
///
/// Plugin authors rarely need this module directly: the capability modules
/// and types are re-exported at the crate root.
#[allow(unsafe_code, missing_docs, unreachable_pub, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "vantage:plugin/plugin",
        // `export_probe!` expands in the plugin crate, so the generated
        // export macro and the runtime must be reachable through this crate.
        pub_export_macro: true,
        default_bindings_module: "vantage_plugin_sdk::bindings",
        runtime_path: "vantage_plugin_sdk::__wit_bindgen::rt",
        additional_derives: [PartialEq],
        with: {
            "vantage:plugin/types@0.1.3/net-error": crate::NetError,
        },
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

// The generated modules carry the documentation of their WIT interfaces.
#[doc(inline)]
pub use bindings::vantage::plugin::types::{CheckContext, Sample, Status, Unit};
#[doc(inline)]
pub use bindings::vantage::plugin::{
    clock, dns, events, http, icmp, log, logs, state, system, tcp, types, udp,
};

/// Everything a plugin usually needs: `use vantage_plugin_sdk::prelude::*;`.
pub mod prelude {
    pub use serde::Deserialize;

    pub use crate::{
        Context, Counters, NetError, Outcome, Probe, Sample, Status, Unit, clock, config_in_range,
        counter_key, dns, events, excerpt, http, icmp, log, logs, ns_to_seconds, state, system,
        target_host, target_host_port, tcp, udp,
    };
}

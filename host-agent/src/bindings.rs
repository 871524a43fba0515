//! Host bindings generated from `wit/plugin.wit`.
//!
//! Every import is `async` (capabilities await network I/O on the agent's
//! event loop instead of blocking a thread) and `trappable` (a host fault or
//! abuse of the host, such as exhausting the run's host-call budget, traps the
//! run; errors a plugin can handle are WIT `result`s).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "vantage:plugin/plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use vantage::plugin::events::Event;
pub use vantage::plugin::types::{CheckContext, NetError, Outcome, Sample, Status, Unit};

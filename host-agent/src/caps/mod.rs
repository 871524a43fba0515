//! Host capabilities: one module per WIT interface, each with its own state
//! struct (`TcpCap`, `DnsCap`, …), its own `add_to_linker(linker, get)` and
//! its own tests. A capability knows nothing of the run that holds it:
//! [`crate::run`] composes a run's state from these structs and links each.
//! Adding a capability adds a module and a field there; nothing else moves.
//!
//! Every network capability goes through [`Access`], which enforces the
//! grant and the [`Bounds`] the run's capabilities share: the check's target
//! [`Scope`], the run's deadline and its host-call budget. [`net`] holds the
//! network helpers they share.

pub(crate) mod access;
pub(crate) mod clock;
pub(crate) mod dns;
pub(crate) mod events;
pub(crate) mod http;
pub(crate) mod icmp;
pub(crate) mod log;
pub(crate) mod logs;
pub(crate) mod net;
pub(crate) mod procfs;
pub(crate) mod scope;
pub(crate) mod state;
pub(crate) mod system;
pub(crate) mod tcp;
pub(crate) mod tls;
pub(crate) mod udp;

use std::sync::Arc;

pub use access::BudgetExhausted;
pub(crate) use access::{Access, Bounds, MAX_BATCH};
pub use scope::Scope;

use crate::icmp::IcmpService;

/// Agent-wide services behind the capabilities, shared by every run.
#[derive(Debug)]
pub(crate) struct Services {
    pub(crate) tls: Arc<tls::TlsConfigs>,
    pub(crate) system: Arc<system::SystemStats>,
    pub(crate) icmp: Arc<IcmpService>,
    pub(crate) state: Arc<state::StateSlots>,
    pub(crate) logs: Arc<logs::LogSources>,
}

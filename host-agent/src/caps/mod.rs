//! Host capabilities: one module per WIT interface, each with its own state,
//! its own `add_to_linker` and its own tests. Adding a capability adds a
//! module and a field of [`Capabilities`]; nothing else moves.
//!
//! Every network capability goes through [`Access`], which enforces the
//! grant, the check's target [`Scope`], the run's deadline and its host-call
//! budget.

pub(crate) mod clock;
pub(crate) mod dns;
pub(crate) mod http;
pub(crate) mod icmp;
pub(crate) mod log;
pub(crate) mod scope;
pub(crate) mod system;
pub(crate) mod tcp;
pub(crate) mod tls;
pub(crate) mod udp;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use vantage_protocol::manifest::Capability;
use wasmtime::component::Linker;

use crate::bindings::NetError;
use crate::run::RunState;
pub use scope::Scope;

/// The most operations one `*-many` call may carry.
pub(crate) const MAX_BATCH: usize = 4096;

/// The per-run host-call budget, shared by every capability of one run.
#[derive(Debug)]
pub(crate) struct Budget {
    left: AtomicU32,
    total: u32,
}

/// A trap raised when a plugin abuses the host.
#[derive(Debug, thiserror::Error)]
#[error("plugin exceeded its budget of {0} host operations per run")]
pub struct BudgetExhausted(pub u32);

impl Budget {
    pub(crate) fn new(total: u32) -> Arc<Self> {
        Arc::new(Budget {
            left: AtomicU32::new(total),
            total,
        })
    }

    /// Takes `n` operations from the budget, or traps the run.
    pub(crate) fn charge(&self, n: usize) -> wasmtime::Result<()> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(n)
            })
            .map(|_| ())
            .map_err(|_| wasmtime::Error::new(BudgetExhausted(self.total)))
    }
}

/// What one capability of one run may do.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    pub(crate) capability: Capability,
    pub(crate) granted: bool,
    pub(crate) scope: Arc<Scope>,
    pub(crate) budget: Arc<Budget>,
    pub(crate) deadline: Instant,
}

impl Access {
    /// Refuses when the capability was not granted to this run.
    pub(crate) fn granted(&self) -> Result<(), NetError> {
        if self.granted {
            Ok(())
        } else {
            Err(NetError::Denied(format!(
                "capability `{}` is not granted to this check",
                self.capability
            )))
        }
    }

    /// Refuses when `host` is outside the check's scope.
    pub(crate) fn reach(&self, host: &str) -> Result<(), NetError> {
        self.granted()?;
        if self.scope.permits(host) {
            Ok(())
        } else {
            Err(NetError::Denied(format!(
                "`{host}` is outside this check's scope ({})",
                self.scope
            )))
        }
    }

    /// The time an operation may take: what it asked for, capped by what is
    /// left of the run.
    pub(crate) fn timeout(&self, requested_ms: u32) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        Duration::from_millis(u64::from(requested_ms.max(1))).min(left)
    }

    /// Runs a batch of operations concurrently on the event loop, each after
    /// its own delay, and returns their results in request order.
    pub(crate) async fn batch<R, T, F, Fut>(
        &self,
        requests: Vec<R>,
        delay_ms: impl Fn(&R) -> u32,
        op: F,
    ) -> wasmtime::Result<Vec<Result<T, NetError>>>
    where
        F: Fn(R) -> Fut,
        Fut: Future<Output = Result<T, NetError>>,
    {
        if requests.len() > MAX_BATCH {
            return Err(wasmtime::format_err!(
                "plugin sent a batch of {} operations; the most is {MAX_BATCH}",
                requests.len()
            ));
        }
        self.budget.charge(requests.len())?;
        let deadline = self.deadline;
        let ops = requests.into_iter().map(|r| {
            let delay = Duration::from_millis(u64::from(delay_ms(&r)));
            let fut = op(r);
            async move {
                let start = (Instant::now() + delay).min(deadline);
                tokio::time::sleep_until(start).await;
                fut.await
            }
        });
        Ok(futures_util::future::join_all(ops).await)
    }
}

/// Maps an I/O error to the WIT error a plugin handles.
pub(crate) fn net_error(e: &std::io::Error) -> NetError {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused | K::ConnectionReset => NetError::Refused,
        K::TimedOut => NetError::Timeout,
        K::HostUnreachable | K::NetworkUnreachable => NetError::Unreachable(e.to_string()),
        _ => match e.raw_os_error() {
            Some(113) => NetError::Unreachable("no route to host".into()),
            Some(101) => NetError::Unreachable("network is unreachable".into()),
            _ => NetError::Io(e.to_string()),
        },
    }
}

/// Runs `fut` within `timeout`, mapping expiry to [`NetError::Timeout`].
pub(crate) async fn within<T>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or(Err(NetError::Timeout))
}

/// Every capability's state for one run.
pub(crate) struct Capabilities {
    pub(crate) log: log::LogCap,
    pub(crate) clock: clock::ClockCap,
    pub(crate) tcp: tcp::TcpCap,
    pub(crate) udp: udp::UdpCap,
    pub(crate) dns: dns::DnsCap,
    pub(crate) http: http::HttpCap,
    pub(crate) system: system::SystemCap,
    pub(crate) icmp: icmp::IcmpCap,
}

/// Adds every capability interface to the linker.
pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    log::add_to_linker(linker, |s| &mut s.caps.log)?;
    clock::add_to_linker(linker, |s| &mut s.caps.clock)?;
    tcp::add_to_linker(linker, |s| &mut s.caps.tcp)?;
    udp::add_to_linker(linker, |s| &mut s.caps.udp)?;
    dns::add_to_linker(linker, |s| &mut s.caps.dns)?;
    http::add_to_linker(linker, |s| &mut s.caps.http)?;
    system::add_to_linker(linker, |s| &mut s.caps.system)?;
    icmp::add_to_linker(linker, |s| &mut s.caps.icmp)?;
    Ok(())
}

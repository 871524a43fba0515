//! What a capability of one run may do: the [`Bounds`] every capability of
//! the run shares (host-call budget, target scope, deadline), and the
//! [`Access`] of one network capability (its grant, within those bounds).

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use vantage_protocol::manifest::Capability;

use super::Scope;
use crate::bindings::NetError;

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
    pub(crate) fn new(total: u32) -> Self {
        Budget {
            left: AtomicU32::new(total),
            total,
        }
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

/// The bytes the host holds for one run at once (HTTP bodies, DNS
/// answers, UDP replies on their way to the plugin), bounded by the run's
/// memory limit: a plugin cannot make the host buffer more for it than it
/// could hold itself, however many requests a batch carries.
#[derive(Debug)]
pub(crate) struct HostBytes {
    held: AtomicUsize,
    max: usize,
}

impl HostBytes {
    pub(crate) fn new(max: usize) -> Self {
        HostBytes {
            held: AtomicUsize::new(0),
            max,
        }
    }

    /// What one host call holds: released when the call returns.
    pub(crate) fn call(self: &Arc<Self>) -> CallBytes {
        CallBytes {
            run: self.clone(),
            charged: AtomicUsize::new(0),
        }
    }
}

/// The bytes one host call (a batch included) holds for the plugin.
#[derive(Debug)]
pub(crate) struct CallBytes {
    run: Arc<HostBytes>,
    charged: AtomicUsize,
}

impl CallBytes {
    /// Holds `n` more bytes, or refuses when the run would pass its limit.
    pub(crate) fn charge(&self, n: usize) -> Result<(), NetError> {
        let max = self.run.max;
        self.run
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_add(n).filter(|total| *total <= max)
            })
            .map_err(|_| {
                NetError::Denied(format!(
                    "the host would hold more than this run's memory limit ({} MiB) for it",
                    max >> 20
                ))
            })?;
        self.charged.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for CallBytes {
    fn drop(&mut self) {
        let n = *self.charged.get_mut();
        self.run.held.fetch_sub(n, Ordering::Relaxed);
    }
}

/// What every capability of one run shares: one host-call budget, the
/// check's target scope, the run's deadline and the bytes the host may
/// hold for it. Clones share them, and cost one reference count: a run
/// hands a clone to each of its capabilities.
#[derive(Debug, Clone)]
pub(crate) struct Bounds(Arc<Shared>);

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) budget: Budget,
    pub(crate) scope: Arc<Scope>,
    pub(crate) deadline: Instant,
    pub(crate) bytes: Arc<HostBytes>,
}

impl std::ops::Deref for Bounds {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Bounds {
    pub(crate) fn new(
        host_calls: u32,
        scope: Arc<Scope>,
        deadline: Instant,
        memory_bytes: usize,
    ) -> Self {
        Bounds(Arc::new(Shared {
            budget: Budget::new(host_calls),
            scope,
            deadline,
            bytes: Arc::new(HostBytes::new(memory_bytes)),
        }))
    }

    /// The time an operation may take: what it asked for, capped by what is
    /// left of the run.
    pub(crate) fn timeout(&self, requested_ms: u32) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        Duration::from_millis(u64::from(requested_ms.max(1))).min(left)
    }
}

/// What one network capability of one run may do.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    pub(crate) capability: Capability,
    pub(crate) granted: bool,
    pub(crate) bounds: Bounds,
}

impl Access {
    /// `capability` within `bounds`, granted if `grants` holds it.
    pub(crate) fn new(
        capability: Capability,
        grants: &BTreeSet<Capability>,
        bounds: &Bounds,
    ) -> Self {
        Access {
            capability,
            granted: grants.contains(&capability),
            bounds: bounds.clone(),
        }
    }

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
        if self.bounds.scope.permits(host) {
            Ok(())
        } else {
            Err(NetError::Denied(format!(
                "`{host}` is outside this check's scope ({})",
                self.bounds.scope
            )))
        }
    }

    /// Resolves `host` (in scope by name, as [`Access::reach`]) and keeps
    /// the addresses the scope permits ([`Scope::permits_address`]): a
    /// name that resolves to loopback or the metadata address reaches it
    /// only if the check lists that address. Refuses when none is left;
    /// the time resolution took.
    pub(crate) async fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> Result<(Vec<SocketAddr>, Duration), NetError> {
        self.reach(host)?;
        let (addrs, took) = super::net::resolve(host, port).await?;
        let (kept, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs
            .into_iter()
            .partition(|a| self.bounds.scope.permits_address(a.ip()));
        if kept.is_empty() {
            let why: Vec<String> = refused
                .iter()
                .map(|a| {
                    let kind = vantage_protocol::net::special(a.ip()).unwrap_or("special");
                    format!("{} ({kind})", a.ip())
                })
                .collect();
            return Err(NetError::Denied(format!(
                "`{host}` resolves only to addresses this check does not list: {}",
                why.join(", ")
            )));
        }
        Ok((kept, took))
    }

    /// See [`Bounds::timeout`].
    pub(crate) fn timeout(&self, requested_ms: u32) -> Duration {
        self.bounds.timeout(requested_ms)
    }

    /// Takes `n` operations from the run's budget, or traps the run.
    pub(crate) fn charge(&self, n: usize) -> wasmtime::Result<()> {
        self.bounds.budget.charge(n)
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
        self.charge(requests.len())?;
        let deadline = self.bounds.deadline;
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Bounds for a capability test: `host_calls` operations, `target` in
    /// scope, five seconds from now.
    pub(crate) fn bounds(host_calls: u32, target: &str) -> Bounds {
        let scope = Scope::new(target, &[]).expect("a valid scope");
        Bounds::new(
            host_calls,
            Arc::new(scope),
            Instant::now() + Duration::from_secs(5),
            64 << 20,
        )
    }

    /// Like [`bounds`], with `allow` entries.
    pub(crate) fn bounds_allowing(target: &str, allow: &[&str]) -> Bounds {
        let allow: Vec<String> = allow.iter().map(|a| (*a).to_owned()).collect();
        let scope = Scope::new(target, &allow).expect("a valid scope");
        Bounds::new(
            10,
            Arc::new(scope),
            Instant::now() + Duration::from_secs(5),
            64 << 20,
        )
    }

    /// `capability`, granted, within `bounds`.
    pub(crate) fn granted(capability: Capability, bounds: &Bounds) -> Access {
        Access::new(capability, &BTreeSet::from([capability]), bounds)
    }

    #[test]
    fn the_budget_is_shared_and_exhaustion_traps() {
        let b = bounds(3, "127.0.0.1");
        let tcp = granted(Capability::Tcp, &b);
        let udp = granted(Capability::Udp, &b);
        tcp.charge(2).unwrap();
        let e = udp.charge(2).unwrap_err();
        assert!(e.downcast_ref::<BudgetExhausted>().is_some(), "{e}");
        udp.charge(1).unwrap();
        assert!(tcp.charge(1).is_err());
    }

    #[test]
    fn an_ungranted_capability_and_an_unlisted_host_are_denied() {
        let b = bounds(10, "127.0.0.1:80");
        let denied = Access::new(Capability::Tcp, &BTreeSet::new(), &b);
        assert!(
            matches!(denied.reach("127.0.0.1"), Err(NetError::Denied(m)) if m.contains("not granted"))
        );
        let tcp = granted(Capability::Tcp, &b);
        tcp.reach("127.0.0.1").unwrap();
        assert!(
            matches!(tcp.reach("127.0.0.2"), Err(NetError::Denied(m)) if m.contains("outside"))
        );
    }

    #[tokio::test]
    async fn a_batch_keeps_request_order_and_refuses_oversize() {
        let tcp = granted(Capability::Tcp, &bounds(10_000, "127.0.0.1"));
        let out = tcp
            .batch(vec![30u32, 0, 10], |d| *d, |d| async move { Ok(d) })
            .await
            .unwrap();
        let out: Vec<u32> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(out, [30, 0, 10]);
        assert!(
            tcp.batch(vec![0; MAX_BATCH + 1], |_| 0, |d| async move { Ok(d) })
                .await
                .is_err()
        );
    }

    #[test]
    fn an_operation_never_outlives_the_run() {
        let b = bounds(1, "x");
        assert_eq!(b.timeout(0), Duration::from_millis(1));
        assert!(b.timeout(60_000) <= Duration::from_secs(5));
    }
}

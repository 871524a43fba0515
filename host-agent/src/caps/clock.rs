//! `vantage:plugin/clock`: monotonic and wall time, and a sleep that yields
//! to the agent's event loop.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use wasmtime::component::{HasSelf, Linker};

use super::Bounds;
use crate::bindings::vantage::plugin::clock;

/// The clock of one run: monotonic time counts from the run's start, and
/// a sleep ends at the latest at the run's deadline.
pub(crate) struct ClockCap {
    origin: std::time::Instant,
    bounds: Bounds,
}

impl ClockCap {
    pub(crate) fn new(bounds: &Bounds) -> Self {
        ClockCap {
            origin: std::time::Instant::now(),
            bounds: bounds.clone(),
        }
    }
}

impl clock::Host for ClockCap {
    async fn monotonic_ns(&mut self) -> wasmtime::Result<u64> {
        Ok(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    async fn wall_ms(&mut self) -> wasmtime::Result<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok(u64::try_from(now.as_millis()).unwrap_or(u64::MAX))
    }

    async fn sleep_ms(&mut self, ms: u32) -> wasmtime::Result<()> {
        self.bounds.budget.charge(1)?;
        let until =
            (Instant::now() + Duration::from_millis(u64::from(ms))).min(self.bounds.deadline);
        tokio::time::sleep_until(until).await;
        Ok(())
    }
}

/// Adds `vantage:plugin/clock` to `linker`, served by the [`ClockCap`] that `get`
/// finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut ClockCap,
) -> wasmtime::Result<()> {
    clock::add_to_linker::<T, HasSelf<ClockCap>>(linker, get)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::caps::{Scope, access::tests::bounds};

    #[tokio::test]
    async fn monotonic_time_counts_from_the_run_start_and_sleep_advances_it() {
        let mut clock = ClockCap::new(&bounds(10, "x"));
        let before = clock::Host::monotonic_ns(&mut clock).await.unwrap();
        clock::Host::sleep_ms(&mut clock, 20).await.unwrap();
        let after = clock::Host::monotonic_ns(&mut clock).await.unwrap();
        assert!(after - before >= 20_000_000, "{before} → {after}");
        assert!(before < 1_000_000_000);
        let wall = clock::Host::wall_ms(&mut clock).await.unwrap();
        assert!(wall > 1_700_000_000_000);
    }

    #[tokio::test]
    async fn a_sleep_ends_at_the_run_deadline() {
        let scope = Arc::new(Scope::new("x", &[]).unwrap());
        let near = Bounds::new(
            10,
            scope,
            Instant::now() + Duration::from_millis(30),
            1 << 20,
        );
        let mut clock = ClockCap::new(&near);
        let start = Instant::now();
        clock::Host::sleep_ms(&mut clock, 10_000).await.unwrap();
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn sleeps_are_charged_to_the_run() {
        let mut clock = ClockCap::new(&bounds(1, "x"));
        clock::Host::sleep_ms(&mut clock, 0).await.unwrap();
        assert!(clock::Host::sleep_ms(&mut clock, 0).await.is_err());
    }
}

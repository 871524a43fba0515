//! `vantage:plugin/clock`: monotonic and wall time, and a sleep that yields
//! to the agent's event loop.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use wasmtime::component::{HasSelf, Linker};

use super::Budget;
use crate::bindings::vantage::plugin::clock;
use crate::run::RunState;

pub(crate) struct ClockCap {
    pub(crate) origin: std::time::Instant,
    pub(crate) budget: Arc<Budget>,
    pub(crate) deadline: Instant,
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
        self.budget.charge(1)?;
        let until = (Instant::now() + Duration::from_millis(u64::from(ms))).min(self.deadline);
        tokio::time::sleep_until(until).await;
        Ok(())
    }
}

pub(crate) fn add_to_linker(
    linker: &mut Linker<RunState>,
    get: fn(&mut RunState) -> &mut ClockCap,
) -> wasmtime::Result<()> {
    clock::add_to_linker::<_, HasSelf<ClockCap>>(linker, get)
}

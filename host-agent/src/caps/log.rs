//! `vantage:plugin/log`: plugin log lines into the agent's log, attributed to
//! the check and bounded per run.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::Budget;
use crate::bindings::vantage::plugin::log::{self, Level};
use crate::run::RunState;
use vantage_protocol::text::clip;

/// The longest log line kept; the rest is cut.
const MAX_LINE: usize = 1024;

pub(crate) struct LogCap {
    pub(crate) check: Arc<str>,
    pub(crate) budget: Arc<Budget>,
    pub(crate) max_lines: u32,
    pub(crate) written: u32,
    pub(crate) dropped: u32,
}

impl LogCap {
    pub(crate) fn new(check: Arc<str>, budget: Arc<Budget>, max_lines: u32) -> Self {
        LogCap {
            check,
            budget,
            max_lines,
            written: 0,
            dropped: 0,
        }
    }
}

impl log::Host for LogCap {
    async fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.budget.charge(1)?;
        if self.written >= self.max_lines {
            self.dropped += 1;
            return Ok(());
        }
        self.written += 1;
        let message = clip(message, MAX_LINE);
        let check = &*self.check;
        match level {
            Level::Trace => tracing::trace!(target: "plugin", check, "{message}"),
            Level::Debug => tracing::debug!(target: "plugin", check, "{message}"),
            Level::Info => tracing::info!(target: "plugin", check, "{message}"),
            Level::Warn => tracing::warn!(target: "plugin", check, "{message}"),
            Level::Error => tracing::error!(target: "plugin", check, "{message}"),
        }
        Ok(())
    }
}

impl Drop for LogCap {
    fn drop(&mut self) {
        if self.dropped > 0 {
            tracing::warn!(
                check = &*self.check,
                dropped = self.dropped,
                "Plugin log lines over the per-run limit were dropped."
            );
        }
    }
}

pub(crate) fn add_to_linker(
    linker: &mut Linker<RunState>,
    get: fn(&mut RunState) -> &mut LogCap,
) -> wasmtime::Result<()> {
    log::add_to_linker::<_, HasSelf<LogCap>>(linker, get)
}

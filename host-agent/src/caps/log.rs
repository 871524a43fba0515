//! `vantage:plugin/log`: plugin log lines into the agent's log, attributed to
//! the check and bounded per run.

use std::sync::Arc;

use vantage_protocol::text::clip;
use wasmtime::component::{HasSelf, Linker};

use super::Bounds;
use crate::bindings::vantage::plugin::log::{self, Level};

/// The longest log line kept; the rest is cut.
const MAX_LINE: usize = 1024;

/// The log of one run: at most `max_lines` lines of at most [`MAX_LINE`]
/// bytes each, every line charged to the run's budget.
pub(crate) struct LogCap {
    check: Arc<str>,
    bounds: Bounds,
    max_lines: u32,
    written: u32,
    dropped: u32,
}

impl LogCap {
    pub(crate) fn new(check: Arc<str>, bounds: &Bounds, max_lines: u32) -> Self {
        LogCap {
            check,
            bounds: bounds.clone(),
            max_lines,
            written: 0,
            dropped: 0,
        }
    }

    /// Charges one operation and returns the line to log: clipped to
    /// [`MAX_LINE`], or `None` once the run has written its lines.
    fn admit(&mut self, message: String) -> wasmtime::Result<Option<String>> {
        self.bounds.budget.charge(1)?;
        if self.written >= self.max_lines {
            self.dropped += 1;
            return Ok(None);
        }
        self.written += 1;
        Ok(Some(clip(message, MAX_LINE)))
    }
}

impl log::Host for LogCap {
    async fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let Some(message) = self.admit(message)? else {
            return Ok(());
        };
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

/// Adds `vantage:plugin/log` to `linker`, served by the [`LogCap`] that `get`
/// finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut LogCap,
) -> wasmtime::Result<()> {
    log::add_to_linker::<T, HasSelf<LogCap>>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::access::tests::bounds;

    #[tokio::test]
    async fn lines_are_clipped_at_a_character_and_counted_past_the_limit() {
        let mut log = LogCap::new("c".into(), &bounds(100, "x"), 2);
        let line = log.admit("€".repeat(1000)).unwrap().unwrap();
        assert!(
            line.len() <= MAX_LINE && line.ends_with('…'),
            "{}",
            line.len()
        );
        assert_eq!(log.admit("short".into()).unwrap().as_deref(), Some("short"));
        assert_eq!(log.admit("third".into()).unwrap(), None);
        log::Host::write(&mut log, Level::Info, "fourth".into())
            .await
            .unwrap();
        assert_eq!((log.written, log.dropped), (2, 2));
    }

    #[test]
    fn every_line_is_charged_to_the_run() {
        let mut log = LogCap::new("c".into(), &bounds(1, "x"), 10);
        log.admit("one".into()).unwrap();
        assert!(log.admit("two".into()).is_err());
    }
}

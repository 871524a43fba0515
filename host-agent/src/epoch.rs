//! The engine's epoch, advanced every [`EPOCH_TICK`] on one thread while a
//! run is in flight, and not at all otherwise.
//!
//! Runs check their deadline and yield to the event loop at each tick
//! (`run::execute`); between runs nothing reads the epoch. A thread that
//! woke every 10 ms regardless cost an agent with 50 checks at 30 s most of
//! its idle CPU (docs/benchmarks.md, "Idle CPU"), so the thread parks when
//! the last run ends and the first run to start unparks it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::Engine;

/// How often the epoch advances while a run is in flight: the granularity
/// of run deadlines and of yielding a busy plugin to the event loop.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

#[derive(Debug, Default)]
struct Shared {
    /// Runs in flight: the ticker ticks while this is above zero.
    runs: AtomicUsize,
    stop: AtomicBool,
    /// Ticks so far (tests read it).
    ticks: AtomicU64,
}

/// Owns the ticker thread; stops it when dropped.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Keeps the epoch advancing while it lives: one per run.
#[must_use = "the epoch advances only while the guard lives"]
pub(crate) struct Awake<'a>(&'a EpochTicker);

impl EpochTicker {
    pub(crate) fn start(engine: Engine) -> EpochTicker {
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let weak = engine.weak();
        drop(engine);
        let thread = std::thread::Builder::new()
            .name("vantage-epoch".into())
            .spawn(move || {
                while !state.stop.load(Ordering::Acquire) {
                    // An unpark that came first leaves a token: no wake-up
                    // is lost between the load and the park.
                    if state.runs.load(Ordering::Acquire) == 0 {
                        std::thread::park();
                        continue;
                    }
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                    state.ticks.fetch_add(1, Ordering::Relaxed);
                }
            })
            .expect("the epoch thread starts");
        EpochTicker {
            shared,
            thread: Some(thread),
        }
    }

    /// The epoch advances until the guard is dropped.
    pub(crate) fn awake(&self) -> Awake<'_> {
        if self.shared.runs.fetch_add(1, Ordering::AcqRel) == 0 {
            self.unpark();
        }
        Awake(self)
    }

    fn unpark(&self) {
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    #[cfg(test)]
    fn ticks(&self) -> u64 {
        self.shared.ticks.load(Ordering::Relaxed)
    }
}

impl Drop for Awake<'_> {
    fn drop(&mut self) {
        self.0.shared.runs.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.unpark();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticks_over(ticker: &EpochTicker, span: Duration) -> u64 {
        let before = ticker.ticks();
        std::thread::sleep(span);
        ticker.ticks() - before
    }

    #[test]
    fn the_epoch_advances_only_while_a_run_is_in_flight() {
        let engine = Engine::default();
        let ticker = EpochTicker::start(engine.clone());
        let span = EPOCH_TICK * 10;
        assert_eq!(ticks_over(&ticker, span), 0, "no run: no tick");

        let first = ticker.awake();
        let second = ticker.awake();
        assert!(ticks_over(&ticker, span) >= 3, "two runs: it ticks");
        drop(first);
        assert!(ticks_over(&ticker, span) >= 3, "one run left: it ticks");
        drop(second);
        // The tick in progress may still land.
        std::thread::sleep(EPOCH_TICK * 2);
        assert_eq!(ticks_over(&ticker, span), 0, "the last run ended: it parks");

        let again = ticker.awake();
        assert!(ticks_over(&ticker, span) >= 3, "a new run wakes it");
        drop(again);
    }

    #[test]
    fn dropping_the_ticker_stops_its_thread_parked_or_not() {
        let engine = Engine::default();
        let parked = EpochTicker::start(engine.clone());
        drop(parked);
        let ticking = EpochTicker::start(engine.clone());
        let awake = ticking.awake();
        std::thread::sleep(EPOCH_TICK * 2);
        drop(awake);
        drop(ticking);
    }
}

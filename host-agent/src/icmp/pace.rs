//! The agent-wide [`Pacer`] of probe sends.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Paces sends agent-wide: at most `pps` per second, in order of arrival.
#[derive(Debug)]
pub(crate) struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    pub(super) fn new(pps: u32) -> Self {
        let interval = if pps == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(1_000_000_000 / u64::from(pps))
        };
        Pacer {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    /// Returns when this caller may send.
    pub(crate) async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let now = Instant::now();
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        // The timer's granularity is a millisecond: sends due within it go
        // now, later ones sleep (a burst is spread over the ticks).
        if slot > now + Duration::from_micros(500) {
            tokio::time::sleep_until(slot).await;
        }
    }
}

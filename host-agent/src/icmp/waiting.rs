//! Probes waiting for what the receive tasks hear, and their answers.

use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Answer, Kind, ProbeError, sys};

/// What the receive side heard for one probe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Heard {
    pub(crate) kind: Kind,
    pub(crate) from: IpAddr,
    pub(crate) ttl: Option<u8>,
    pub(crate) size: usize,
    /// Kernel receive stamp (realtime ns), or the receive task's clock.
    pub(crate) rx_ns: i128,
    pub(crate) rx_mono: Instant,
}

impl Heard {
    /// What `r` brought: stamped by the kernel, or now when it was not.
    pub(super) fn received(
        kind: Kind,
        from: IpAddr,
        ttl: Option<u8>,
        size: usize,
        r: &sys::Received,
    ) -> Heard {
        Heard {
            kind,
            from,
            ttl,
            size,
            rx_ns: r.stamp_ns.unwrap_or_else(sys::realtime_ns),
            rx_mono: Instant::now(),
        }
    }
}

/// A probe waiting for its answer.
#[derive(Debug)]
pub(crate) struct Waiter {
    /// The token the probe carries; answers quoting another are stale.
    pub(super) token: Option<u64>,
    pub(super) tx: oneshot::Sender<Heard>,
}

/// Computes an answer from the send stamp and what was heard.
pub(super) fn answer(heard: Heard, sent_ns: i128, sent_mono: Instant, timeout: Duration) -> Answer {
    let kernel = heard.rx_ns - sent_ns;
    let mono = heard.rx_mono.saturating_duration_since(sent_mono);
    // A realtime step between send and receive makes the stamps useless;
    // the monotonic clock then stands in.
    let rtt = if kernel >= 0 && kernel <= (timeout.as_nanos() as i128) + 1_000_000_000 {
        Duration::from_nanos(kernel as u64)
    } else {
        mono
    };
    Answer {
        kind: heard.kind,
        from: heard.from,
        rtt,
        ttl: heard.ttl,
        size: heard.size,
    }
}

/// Waits for a probe's answer.
pub(super) async fn wait(
    rx: oneshot::Receiver<Heard>,
    sent_ns: i128,
    timeout: Duration,
) -> Result<Answer, ProbeError> {
    let sent_mono = Instant::now();
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(heard)) => Ok(answer(heard, sent_ns, sent_mono, timeout)),
        Ok(Err(_)) => Err(ProbeError::Io("the ICMP receiver stopped".into())),
        Err(_) => Err(ProbeError::Timeout),
    }
}

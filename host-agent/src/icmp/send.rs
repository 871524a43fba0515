//! Sending probes: the agent-wide [`Pacer`], and the send loop that waits
//! on a full buffer and steps over errors an earlier ICMP error left pending.

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{ProbeError, sys};

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

/// The errno of an error a previous ICMP error left pending on a socket
/// (`sk_err`): the kernel reports it once, on whichever call comes next.
fn is_pending_icmp_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EHOSTUNREACH
                | libc::ENETUNREACH
                | libc::ECONNREFUSED
                | libc::EACCES
                | libc::EPROTO
                | libc::ENOPROTOOPT
                | libc::EMSGSIZE
                | libc::EOPNOTSUPP
                | libc::ETIMEDOUT
        )
    )
}

/// Sends through a non-blocking socket registered with tokio: waits while
/// the buffer is full, and retries a few times over errors that an earlier
/// ICMP error left pending. Returns the realtime send stamp.
pub(super) async fn send_paced(
    fd: &tokio::io::unix::AsyncFd<socket2::Socket>,
    dst: Option<&socket2::SockAddr>,
    ttl: Option<u8>,
    packet: &[u8],
) -> Result<i128, ProbeError> {
    let mut stale = 0;
    loop {
        let mut guard = fd
            .writable()
            .await
            .map_err(|e| ProbeError::Io(e.to_string()))?;
        match guard.try_io(|fd| sys::send_with_ttl(fd.get_ref(), dst, ttl, packet)) {
            Ok(Ok(stamp)) => return Ok(stamp),
            Ok(Err(e)) if is_pending_icmp_error(&e) && stale < 3 => stale += 1,
            Ok(Err(e)) => {
                return Err(match e.raw_os_error() {
                    Some(libc::ENETUNREACH | libc::EHOSTUNREACH) => {
                        ProbeError::Unreachable(e.to_string())
                    }
                    Some(libc::EACCES | libc::EPERM) => {
                        ProbeError::Unavailable(format!("the kernel refused to send: {e}"))
                    }
                    _ => ProbeError::Io(e.to_string()),
                });
            }
            Err(_would_block) => {}
        }
    }
}

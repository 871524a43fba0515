//! Sending probes: the send loop that waits on a full buffer and steps over
//! errors an earlier ICMP error left pending, paced by [`super::Pacer`].

use std::io;

use super::{ProbeError, sys};

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

//! UDP path probes through one connected UDP socket per flow: unprivileged
//! (`IP_RECVERR` error queue, per-packet TTL), the ports fixed within the flow.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::echo::canonical;
use super::packet::{Kind, TOKEN_LEN};
use super::{Answer, Heard, Pacer, ProbeError, Waiter, send_paced, sys};

#[derive(Debug)]
struct Inner {
    fd: AsyncFd<Socket>,
    v6: bool,
    /// Probes in flight, by token.
    pending: Mutex<HashMap<u64, Waiter>>,
}

/// One flow of UDP probes to a target; dropping it closes the socket.
#[derive(Debug)]
pub(crate) struct UdpFlow {
    inner: Arc<Inner>,
    salt: u32,
    serial: AtomicU32,
    pacer: Arc<Pacer>,
    task: AbortHandle,
}

impl Drop for UdpFlow {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl UdpFlow {
    pub(super) fn open(
        target: SocketAddr,
        salt: u32,
        pacer: Arc<Pacer>,
    ) -> Result<UdpFlow, ProbeError> {
        let io = |e: io::Error| match e.raw_os_error() {
            Some(libc::ENETUNREACH | libc::EHOSTUNREACH) => ProbeError::Unreachable(e.to_string()),
            _ => ProbeError::Io(format!("UDP probe socket: {e}")),
        };
        let v6 = target.is_ipv6();
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(io)?;
        socket.set_nonblocking(true).map_err(io)?;
        sys::enable_receive_options(&socket, v6, true).map_err(io)?;
        let any: SocketAddr = if v6 {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        };
        socket.bind(&any.into()).map_err(io)?;
        socket.connect(&target.into()).map_err(io)?;
        let fd = sys::register(socket).map_err(io)?;
        let inner = Arc::new(Inner {
            fd,
            v6,
            pending: Mutex::new(HashMap::new()),
        });
        let task = tokio::spawn(receive(inner.clone())).abort_handle();
        Ok(UdpFlow {
            inner,
            salt,
            serial: AtomicU32::new(0),
            pacer,
            task,
        })
    }

    /// Probes waiting for an answer.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        lock(&self.inner.pending).len()
    }

    /// Sends one datagram with `ttl` and waits for the ICMP error it causes
    /// (time exceeded on the way, port unreachable at the target).
    pub(crate) async fn probe(
        &self,
        ttl: Option<u8>,
        payload_size: usize,
        timeout: Duration,
    ) -> Result<Answer, ProbeError> {
        let token =
            (u64::from(self.salt) << 32) | u64::from(self.serial.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.pending).insert(
            token,
            Waiter {
                token: Some(token),
                tx,
            },
        );
        let _guard = Guard {
            inner: &self.inner,
            token,
        };
        // The token identifies the probe in the router's quote, so every
        // datagram carries at least its 8 bytes.
        let mut payload = vec![0u8; payload_size.max(TOKEN_LEN)];
        payload[..TOKEN_LEN].copy_from_slice(&token.to_be_bytes());
        for (i, b) in payload.iter_mut().enumerate().skip(TOKEN_LEN) {
            *b = (i as u8) & 0x3f | 0x40;
        }
        self.pacer.wait().await;
        let sent_ns = send_paced(&self.inner.fd, None, ttl, &payload).await?;
        super::wait(rx, sent_ns, timeout).await
    }
}

struct Guard<'a> {
    inner: &'a Inner,
    token: u64,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        lock(&self.inner.pending).remove(&self.token);
    }
}

fn lock(m: &Mutex<HashMap<u64, Waiter>>) -> std::sync::MutexGuard<'_, HashMap<u64, Waiter>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn on_error(&self, data: &[u8], r: &sys::Received) {
        let Some(error) = r.error else { return };
        if !matches!(error.origin, 2 | 3) {
            return;
        }
        let Some(from) = error.offender else { return };
        let mut pending = lock(&self.pending);
        let token = match data.get(..TOKEN_LEN) {
            Some(t) => u64::from_be_bytes(t.try_into().expect("8 bytes")),
            // A router that quotes only the UDP header (RFC 792's minimum):
            // the answer is unambiguous only with one probe in flight.
            None if pending.len() == 1 => *pending.keys().next().expect("one"),
            None => return,
        };
        if let Some(waiter) = pending.remove(&token) {
            let _ = waiter.tx.send(Heard::received(
                Kind::from_error(self.v6, error.icmp_type, error.code),
                canonical(from),
                r.ttl,
                data.len() + 16,
                r,
            ));
        }
    }
}

async fn receive(inner: Arc<Inner>) {
    let mut buf = vec![0u8; 2048];
    loop {
        let Ok(mut guard) = inner.fd.ready(Interest::READABLE | Interest::ERROR).await else {
            return;
        };
        loop {
            let mut progressed = false;
            // A reply from a UDP service on the port is not an answer a
            // path probe waits for (traceroute ports are closed); drain it.
            match sys::recv(inner.fd.get_ref(), &mut buf, false) {
                Ok(_) => progressed = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => progressed = true,
            }
            match sys::recv(inner.fd.get_ref(), &mut buf, true) {
                Ok(r) => {
                    inner.on_error(&buf[..r.len], &r);
                    progressed = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => progressed = true,
            }
            if !progressed {
                break;
            }
        }
        guard.clear_ready();
    }
}

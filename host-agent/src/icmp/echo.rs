//! One echo socket per address family, shared by every run.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;

use super::packet::{self, Kind, Quote};
use super::{
    Answer, Family, Heard, IcmpMode, Pacer, ProbeError, Waiter, ping_group_note, send_paced, sys,
};

/// Probes of one family in flight, keyed by (target, sequence number).
type Pending = HashMap<(IpAddr, u16), Waiter>;

/// An echo socket and the probes waiting on it.
#[derive(Debug)]
pub(crate) struct EchoLane {
    family: Family,
    raw: bool,
    fd: AsyncFd<Socket>,
    /// The ICMP identifier our packets carry: a ping socket's port, or a
    /// random value for a raw socket.
    ident: u16,
    pending: Mutex<Pending>,
    next_seq: AtomicU32,
    salt: u32,
    serial: AtomicU32,
    /// Answers that matched no probe (late, foreign, stale).
    unmatched: AtomicU64,
    /// Datagrams the kernel dropped for want of buffer space.
    dropped: AtomicU64,
}

/// Removes a probe from the pending map when its future ends, however it
/// ends (answer, timeout, cancelled run).
struct PendingGuard<'a> {
    lane: &'a EchoLane,
    key: (IpAddr, u16),
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.lane.lock().remove(&self.key);
    }
}

impl EchoLane {
    /// Opens the family's echo socket as `mode` allows, and starts its
    /// receive task. Returns the lane and why this kind of socket was chosen.
    pub(super) fn open(
        family: Family,
        mode: IcmpMode,
        salt: u32,
    ) -> Result<(Arc<EchoLane>, String), String> {
        let dgram = || open_socket(family, false);
        let raw = || open_socket(family, true);
        let (socket, is_raw, why) = match mode {
            IcmpMode::Dgram => match dgram() {
                Ok(s) => (s, false, format!("configured; {}", ping_group_note())),
                Err(e) => {
                    return Err(format!(
                        "ping socket refused ({e}); {}; mode \"dgram\" was configured",
                        ping_group_note()
                    ));
                }
            },
            IcmpMode::Raw => match raw() {
                Ok(s) => (s, true, "configured".to_owned()),
                Err(e) => {
                    return Err(format!(
                        "raw socket refused ({e}): the agent needs CAP_NET_RAW; mode \"raw\" was configured"
                    ));
                }
            },
            IcmpMode::Auto => match dgram() {
                Ok(s) => (s, false, ping_group_note()),
                Err(dgram_err) => match raw() {
                    Ok(s) => (
                        s,
                        true,
                        format!(
                            "ping socket refused ({dgram_err}; {}), raw socket allowed (CAP_NET_RAW)",
                            ping_group_note()
                        ),
                    ),
                    Err(raw_err) => {
                        return Err(format!(
                            "ping socket refused ({dgram_err}; {}) and raw socket refused ({raw_err}; needs CAP_NET_RAW): widen the range with `sysctl net.ipv4.ping_group_range=\"0 2147483647\"` or grant CAP_NET_RAW",
                            ping_group_note()
                        ));
                    }
                },
            },
        };
        let ident = if is_raw {
            rand::random()
        } else {
            // The kernel uses the ping socket's port as the identifier.
            socket
                .local_addr()
                .ok()
                .and_then(|a| a.as_socket())
                .map(|a| a.port())
                .ok_or_else(|| "the ping socket has no port".to_owned())?
        };
        let fd =
            sys::register(socket).map_err(|e| format!("cannot register the ICMP socket: {e}"))?;
        let lane = Arc::new(EchoLane {
            family,
            raw: is_raw,
            fd,
            ident,
            pending: Mutex::new(HashMap::new()),
            next_seq: AtomicU32::new(rand::random::<u16>().into()),
            salt,
            serial: AtomicU32::new(0),
            unmatched: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        tokio::spawn(receive(lane.clone()));
        Ok((lane, why))
    }

    pub(crate) fn is_raw(&self) -> bool {
        self.raw
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one echo request and waits for what answers it.
    pub(super) async fn probe(
        &self,
        pacer: &Pacer,
        target: IpAddr,
        ttl: Option<u8>,
        payload_size: usize,
        flow: u16,
        timeout: Duration,
    ) -> Result<Answer, ProbeError> {
        let token =
            (u64::from(self.salt) << 32) | u64::from(self.serial.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        let seq = {
            let mut pending = self.lock();
            let mut tries = 0u32;
            loop {
                let seq = self.next_seq.fetch_add(1, Ordering::Relaxed) as u16;
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    pending.entry((target, seq))
                {
                    slot.insert(Waiter {
                        token: (payload_size >= packet::TOKEN_LEN).then_some(token),
                        tx,
                    });
                    break seq;
                }
                tries += 1;
                if tries > u32::from(u16::MAX) {
                    return Err(ProbeError::Io(format!(
                        "65536 echo requests to {target} already in flight"
                    )));
                }
            }
        };
        let _guard = PendingGuard {
            lane: self,
            key: (target, seq),
        };
        let packet = packet::echo_request(
            self.family == Family::V6,
            self.ident,
            seq,
            token,
            payload_size,
            flow,
        );
        let dst = SockAddr::from(SocketAddr::new(target, 0));
        pacer.wait().await;
        let sent_ns = send_paced(&self.fd, Some(&dst), ttl, &packet).await?;
        super::wait(rx, sent_ns, timeout).await
    }

    /// Hands an answer to the probe it belongs to.
    fn deliver(&self, target: IpAddr, seq: u16, token: Option<u64>, heard: Heard) {
        let mut pending = self.lock();
        let key = (target, seq);
        let stale = match (pending.get(&key), token) {
            (None, _) => true,
            (Some(w), Some(t)) => w.token.is_some_and(|mine| mine != t),
            (Some(_), None) => false,
        };
        if stale {
            self.unmatched.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Some(waiter) = pending.remove(&key) {
            let _ = waiter.tx.send(heard);
        }
    }

    /// A datagram from the normal queue.
    fn on_packet(&self, data: &[u8], r: &sys::Received) {
        if !self.raw {
            // A ping socket only receives echo replies to its identifier.
            let (Some(from), Some((seq, token))) = (r.addr, packet::parse_dgram_echo(data)) else {
                return;
            };
            let heard =
                Heard::received(Kind::EchoReply, canonical(from.ip()), r.ttl, data.len(), r);
            self.deliver(heard.from, seq, token, heard);
            return;
        }
        let parsed = match self.family {
            Family::V4 => packet::parse_raw_icmp_v4(data),
            Family::V6 => match r.addr.map(|a| a.ip()) {
                Some(IpAddr::V6(from)) => packet::parse_raw_icmp_v6(data, from),
                _ => None,
            },
        };
        let Some(answer) = parsed else { return };
        let Quote::Echo { ident, seq, token } = answer.quote else {
            return;
        };
        if ident != self.ident {
            return; // another program's ping
        }
        let heard = Heard::received(
            answer.kind,
            answer.from,
            answer.ttl.or(r.ttl),
            answer.size,
            r,
        );
        self.deliver(answer.target, seq, token, heard);
    }

    /// An ICMP error from a ping socket's error queue: the data is our
    /// quoted echo request, the address our original destination.
    fn on_error(&self, data: &[u8], r: &sys::Received) {
        let Some(error) = r.error else { return };
        if !matches!(error.origin, 2 | 3) {
            return; // a local error: the probe times out
        }
        let (Some(target), Some((seq, token))) = (r.addr, packet::parse_dgram_echo(data)) else {
            return;
        };
        let Some(from) = error.offender else { return };
        let heard = Heard::received(
            Kind::from_error(self.family == Family::V6, error.icmp_type, error.code),
            canonical(from),
            r.ttl,
            data.len() + 8,
            r,
        );
        self.deliver(canonical(target.ip()), seq, token, heard);
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
pub(super) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn open_socket(family: Family, raw: bool) -> io::Result<Socket> {
    let (domain, protocol) = match family {
        Family::V4 => (Domain::IPV4, Protocol::ICMPV4),
        Family::V6 => (Domain::IPV6, Protocol::ICMPV6),
    };
    let kind = if raw { Type::RAW } else { Type::DGRAM };
    let socket = Socket::new(domain, kind, Some(protocol))?;
    socket.set_nonblocking(true)?;
    let v6 = family == Family::V6;
    sys::enable_receive_options(&socket, v6, !raw)?;
    // Room for bursts of answers: many runs' probes come back together.
    let _ = socket.set_recv_buffer_size(4 << 20);
    let _ = socket.set_send_buffer_size(1 << 20);
    if raw {
        // Only what can answer a probe: echo reply, destination
        // unreachable, time exceeded, parameter problem. The filters list
        // the types to *block*.
        if v6 {
            let mut block = [u32::MAX; 8];
            for t in [1u8, 2, 3, 4, 129] {
                block[usize::from(t >> 5)] &= !(1 << (t & 31));
            }
            sys::setsockopt_words(
                &socket,
                libc::IPPROTO_ICMPV6,
                1, /* ICMP6_FILTER */
                &block,
            )?;
        } else {
            let allow = (1u32 << 0) | (1 << 3) | (1 << 11) | (1 << 12);
            sys::setsockopt_words(&socket, libc::SOL_RAW, 1 /* ICMP_FILTER */, &[!allow])?;
        }
    } else {
        let any: SocketAddr = match family {
            Family::V4 => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
            Family::V6 => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        socket.bind(&any.into())?;
    }
    Ok(socket)
}

/// Drains both queues of the socket whenever it is ready, for the agent's
/// life.
async fn receive(lane: Arc<EchoLane>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let mut guard = match lane.fd.ready(Interest::READABLE | Interest::ERROR).await {
            Ok(guard) => guard,
            Err(e) => {
                tracing::error!(error = %e, "ICMP receive stopped.");
                return;
            }
        };
        // The error queue is read only when the kernel flagged an error
        // (EPOLLERR) or a receive reported one: most wake-ups are replies.
        let mut errors = guard.ready().is_error();
        loop {
            let mut progressed = false;
            match sys::recv(lane.fd.get_ref(), &mut buf, false) {
                Ok(r) => {
                    if let Some(d) = r.dropped {
                        lane.dropped.store(u64::from(d), Ordering::Relaxed);
                    }
                    lane.on_packet(&buf[..r.len], &r);
                    progressed = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // A pending ICMP error reported on this call: its details
                // are on the error queue.
                Err(_) => {
                    errors = true;
                    progressed = true;
                }
            }
            if errors {
                match sys::recv(lane.fd.get_ref(), &mut buf, true) {
                    Ok(r) => {
                        lane.on_error(&buf[..r.len], &r);
                        progressed = true;
                    }
                    // Drained (or unreadable: never spin on it).
                    Err(_) => errors = false,
                }
            }
            if !progressed && !errors {
                break;
            }
        }
        guard.clear_ready();
    }
}

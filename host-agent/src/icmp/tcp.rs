//! TCP SYN path probes over raw sockets (CAP_NET_RAW): every probe of a
//! flow leaves from the same port to the same port, in flight together;
//! the sequence number identifies the probe in SYN-ACKs, RSTs and in the
//! ICMP errors routers quote it in.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::echo::canonical;
use super::packet::{self, Kind, Quote};
use super::{Answer, Family, Heard, Pacer, ProbeError, Waiter, send_paced, sys};

/// (target, our port, sequence number).
type Key = (IpAddr, u16, u32);

/// The raw sockets of one family, shared by every TCP trace.
#[derive(Debug)]
pub(crate) struct TcpLane {
    family: Family,
    tcp: AsyncFd<Socket>,
    icmp: AsyncFd<Socket>,
    pending: Mutex<HashMap<Key, Waiter>>,
}

impl TcpLane {
    pub(super) fn open(family: Family) -> Result<Arc<TcpLane>, String> {
        let v6 = family == Family::V6;
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let why =
            |e: io::Error| format!("raw socket refused ({e}): TCP path probes need CAP_NET_RAW");
        let tcp = Socket::new(domain, Type::RAW, Some(Protocol::TCP)).map_err(why)?;
        let icmp_proto = if v6 {
            Protocol::ICMPV6
        } else {
            Protocol::ICMPV4
        };
        let icmp = Socket::new(domain, Type::RAW, Some(icmp_proto)).map_err(why)?;
        let setup = || -> io::Result<()> {
            for s in [&tcp, &icmp] {
                s.set_nonblocking(true)?;
                sys::enable_receive_options(s, v6, false)?;
                let _ = s.set_recv_buffer_size(4 << 20);
            }
            if v6 {
                // The kernel fills in the TCP checksum (offset 16) with the
                // IPv6 pseudo-header.
                sys::setsockopt_int(&tcp, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, 16)?;
            }
            Ok(())
        };
        setup().map_err(|e| format!("raw socket options: {e}"))?;
        let register =
            |s| sys::register(s).map_err(|e| format!("cannot register a raw socket: {e}"));
        let lane = Arc::new(TcpLane {
            family,
            tcp: register(tcp)?,
            icmp: register(icmp)?,
            pending: Mutex::new(HashMap::new()),
        });
        tokio::spawn(receive(lane.clone(), true));
        tokio::spawn(receive(lane.clone(), false));
        Ok(lane)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Waiter>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn deliver(&self, key: Key, heard: Heard) {
        if let Some(waiter) = self.lock().remove(&key) {
            let _ = waiter.tx.send(heard);
        }
    }

    fn on_packet(&self, from_tcp: bool, data: &[u8], r: &sys::Received) {
        let sender = r.addr.map(|a| canonical(a.ip()));
        if from_tcp {
            let from = match self.family {
                Family::V4 => None,
                Family::V6 => sender,
            };
            if self.family == Family::V6 && from.is_none() {
                return;
            }
            let Some(a) = packet::parse_tcp(data, from) else {
                return;
            };
            let heard = Heard::received(a.kind, a.from, a.ttl.or(r.ttl), a.size, r);
            self.deliver((a.from, a.dst_port, a.probe_seq), heard);
            return;
        }
        let parsed = match (self.family, sender) {
            (Family::V4, _) => packet::parse_raw_icmp_v4(data),
            (Family::V6, Some(IpAddr::V6(from))) => packet::parse_raw_icmp_v6(data, from),
            _ => None,
        };
        let Some(a) = parsed else { return };
        let Quote::Tcp { src_port, seq, .. } = a.quote else {
            return;
        };
        let heard = Heard::received(a.kind, a.from, a.ttl.or(r.ttl), a.size, r);
        self.deliver((a.target, src_port, seq), heard);
    }
}

async fn receive(lane: Arc<TcpLane>, tcp: bool) {
    let fd = if tcp { &lane.tcp } else { &lane.icmp };
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok(mut guard) = fd.ready(Interest::READABLE | Interest::ERROR).await else {
            return;
        };
        loop {
            let mut progressed = false;
            match sys::recv(fd.get_ref(), &mut buf, false) {
                Ok(r) => {
                    lane.on_packet(tcp, &buf[..r.len], &r);
                    progressed = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => progressed = true,
            }
            match sys::recv(fd.get_ref(), &mut buf, true) {
                Ok(_) => progressed = true,
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

/// One flow of SYN probes to a target.
#[derive(Debug)]
pub(crate) enum TcpFlow {
    /// Raw sockets: one source port for the whole flow, probes in flight
    /// together (Paris traceroute).
    Raw(RawFlow),
    /// Without CAP_NET_RAW: a non-blocking `connect()` per probe with its
    /// TTL and `IP_RECVERR`. The kernel allows one connection attempt per
    /// 4-tuple at a time, so concurrent probes take one source port each
    /// and load balancers may send them different ways.
    Connect(SocketAddr),
}

impl TcpFlow {
    /// Sends one SYN with `ttl` and waits for SYN-ACK, RST or an ICMP error.
    pub(crate) async fn probe(
        &self,
        pacer: &Pacer,
        ttl: Option<u8>,
        timeout: Duration,
    ) -> Result<Answer, ProbeError> {
        match self {
            TcpFlow::Raw(flow) => flow.probe(ttl, timeout).await,
            TcpFlow::Connect(target) => connect_probe(pacer, *target, ttl, timeout).await,
        }
    }
}

/// One unprivileged SYN probe: connect with `ttl`, then read what ended it.
async fn connect_probe(
    pacer: &Pacer,
    target: SocketAddr,
    ttl: Option<u8>,
    timeout: Duration,
) -> Result<Answer, ProbeError> {
    let io = |e: io::Error| match e.raw_os_error() {
        Some(libc::ENETUNREACH) => ProbeError::Unreachable(e.to_string()),
        _ => ProbeError::Io(format!("TCP probe socket: {e}")),
    };
    let v6 = target.is_ipv6();
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).map_err(io)?;
    socket.set_nonblocking(true).map_err(io)?;
    sys::enable_receive_options(&socket, v6, true).map_err(io)?;
    // One SYN per probe: no retransmission within the probe's timeout.
    sys::setsockopt_int(&socket, libc::IPPROTO_TCP, libc::TCP_SYNCNT, 1).map_err(io)?;
    if let Some(ttl) = ttl {
        if v6 {
            socket.set_unicast_hops_v6(u32::from(ttl)).map_err(io)?;
        } else {
            socket.set_ttl_v4(u32::from(ttl)).map_err(io)?;
        }
    }
    pacer.wait().await;
    let sent_ns = sys::realtime_ns();
    let sent_mono = Instant::now();
    match socket.connect(&target.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(io(e)),
    }
    let fd = sys::register(socket).map_err(io)?;
    let outcome = tokio::time::timeout(timeout, async {
        loop {
            let mut guard = fd
                .ready(Interest::WRITABLE | Interest::ERROR)
                .await
                .map_err(io)?;
            // Completion (or failure) of the attempt; keep waiting on a
            // spurious wake-up.
            match fd.get_ref().take_error().map_err(io)? {
                Some(e) => return Ok(Err(e)),
                None if guard.ready().is_writable() => return Ok(Ok(())),
                None => guard.clear_ready(),
            }
        }
    })
    .await
    .map_err(|_| ProbeError::Timeout)??;
    let (kind, from, heard_ns, ttl_in) = match outcome {
        Ok(()) => (Kind::TcpOpen, target.ip(), sys::realtime_ns(), None),
        Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
            (Kind::TcpClosed, target.ip(), sys::realtime_ns(), None)
        }
        Err(e) => {
            // An ICMP error aborted the attempt; its details are queued.
            let mut buf = [0u8; 512];
            let queued = sys::recv(fd.get_ref(), &mut buf, true)
                .ok()
                .and_then(|r| r.error.map(|err| (err, r.stamp_ns, r.ttl)));
            match queued {
                Some((err, stamp, ttl)) if matches!(err.origin, 2 | 3) => (
                    Kind::from_error(v6, err.icmp_type, err.code),
                    err.offender.map_or(target.ip(), canonical),
                    stamp.unwrap_or_else(sys::realtime_ns),
                    ttl,
                ),
                _ => return Err(io(e)),
            }
        }
    };
    let heard = Heard {
        kind,
        from,
        ttl: ttl_in,
        size: 0,
        rx_ns: heard_ns,
        rx_mono: Instant::now(),
    };
    Ok(super::answer(heard, sent_ns, sent_mono, timeout))
}

/// Raw SYN probes of one flow: a source port held for the flow's life (by
/// a bound, never-connected TCP socket, so the kernel neither hands it out
/// nor accepts the SYN-ACKs: it answers them with RST).
#[derive(Debug)]
pub(crate) struct RawFlow {
    lane: Arc<TcpLane>,
    target: SocketAddr,
    source: IpAddr,
    port: u16,
    _reservation: Socket,
    salt: u32,
    serial: AtomicU32,
    pacer: Arc<Pacer>,
}

impl RawFlow {
    pub(super) fn open(
        lane: Arc<TcpLane>,
        target: SocketAddr,
        salt: u32,
        pacer: Arc<Pacer>,
    ) -> Result<RawFlow, ProbeError> {
        let io = |e: io::Error| match e.raw_os_error() {
            Some(libc::ENETUNREACH | libc::EHOSTUNREACH) => ProbeError::Unreachable(e.to_string()),
            _ => ProbeError::Io(format!("TCP probe socket: {e}")),
        };
        let domain = if target.is_ipv6() {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        // The source address the kernel would route from.
        let route = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(io)?;
        route
            .connect(&SockAddr::from(SocketAddr::new(target.ip(), 9)))
            .map_err(io)?;
        let source = route
            .local_addr()
            .map_err(io)?
            .as_socket()
            .map(|a| canonical(a.ip()))
            .ok_or_else(|| ProbeError::Io("no source address".into()))?;
        let reservation = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).map_err(io)?;
        reservation
            .bind(&SockAddr::from(SocketAddr::new(source, 0)))
            .map_err(io)?;
        let port = reservation
            .local_addr()
            .map_err(io)?
            .as_socket()
            .map(|a| a.port())
            .ok_or_else(|| ProbeError::Io("no source port".into()))?;
        Ok(RawFlow {
            lane,
            target,
            source,
            port,
            _reservation: reservation,
            salt,
            serial: AtomicU32::new(0),
            pacer,
        })
    }

    async fn probe(&self, ttl: Option<u8>, timeout: Duration) -> Result<Answer, ProbeError> {
        let seq = self.salt.wrapping_add(
            self.serial
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9e37_79b9),
        );
        let key = (self.target.ip(), self.port, seq);
        let (tx, rx) = oneshot::channel();
        self.lane.lock().insert(key, Waiter { token: None, tx });
        let _guard = Guard {
            lane: &self.lane,
            key,
        };
        let syn = packet::tcp_syn(
            self.source,
            self.target.ip(),
            self.port,
            self.target.port(),
            seq,
        );
        // Raw IPv6 sockets want port 0 (or their protocol) in the address.
        let dst = SockAddr::from(SocketAddr::new(self.target.ip(), 0));
        self.pacer.wait().await;
        let sent_ns = send_paced(&self.lane.tcp, Some(&dst), ttl, &syn).await?;
        super::wait(rx, sent_ns, timeout).await
    }
}

struct Guard<'a> {
    lane: &'a TcpLane,
    key: Key,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.lane.lock().remove(&self.key);
    }
}

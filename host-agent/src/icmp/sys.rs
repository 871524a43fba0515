//! The socket calls the ICMP engine needs beyond `socket2`: socket options
//! socket2 has no setter for, sending with a per-packet TTL control message,
//! and receiving with the control messages (kernel timestamp, TTL, queued
//! ICMP error) parsed.
//!
//! Control messages are built and parsed as bytes with the `cmsghdr` layout of
//! Linux, so the only `unsafe` here is the one `setsockopt` call.

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::time::{SystemTime, UNIX_EPOCH};

use socket2::{MaybeUninitSlice, MsgHdr, MsgHdrMut, SockAddr, Socket};

/// Sets a socket option whose value is the given bytes.
#[allow(unsafe_code)]
fn setsockopt_bytes(socket: &Socket, level: i32, name: i32, value: &[u8]) -> io::Result<()> {
    let len = libc::socklen_t::try_from(value.len()).map_err(io::Error::other)?;
    // SAFETY: the descriptor is open for the borrow of `socket`; the kernel
    // reads exactly `len` bytes from `value`, which is a live slice of that
    // length; the call has no other memory effects.
    let rc =
        unsafe { libc::setsockopt(socket.as_raw_fd(), level, name, value.as_ptr().cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets an `int` socket option.
pub(super) fn setsockopt_int(socket: &Socket, level: i32, name: i32, value: i32) -> io::Result<()> {
    setsockopt_bytes(socket, level, name, &value.to_ne_bytes())
}

/// Sets a socket option whose value is an array of 32-bit words
/// (`ICMP_FILTER`, `ICMP6_FILTER`).
pub(super) fn setsockopt_words(
    socket: &Socket,
    level: i32,
    name: i32,
    words: &[u32],
) -> io::Result<()> {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    setsockopt_bytes(socket, level, name, &bytes)
}

/// Asks for what the engine reads on every socket: the TTL / hop limit of
/// answers, kernel receive timestamps and, with `recverr`, queued ICMP
/// errors (raw sockets see those as ordinary packets instead).
pub(super) fn enable_receive_options(socket: &Socket, v6: bool, recverr: bool) -> io::Result<()> {
    if v6 {
        if recverr {
            setsockopt_int(socket, libc::IPPROTO_IPV6, libc::IPV6_RECVERR, 1)?;
        }
        setsockopt_int(socket, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
    } else {
        if recverr {
            setsockopt_int(socket, libc::IPPROTO_IP, libc::IP_RECVERR, 1)?;
        }
        setsockopt_int(socket, libc::IPPROTO_IP, libc::IP_RECVTTL, 1)?;
    }
    setsockopt_int(socket, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
    // Counts datagrams the kernel dropped for want of buffer space.
    setsockopt_int(socket, libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1)?;
    Ok(())
}

const fn cmsg_align(len: usize) -> usize {
    let a = size_of::<usize>();
    (len + a - 1) & !(a - 1)
}

const CMSG_HEADER: usize = cmsg_align(size_of::<libc::cmsghdr>());

/// One control message carrying an `int`, in `cmsghdr` layout.
fn cmsg_int(level: i32, kind: i32, value: i32) -> Vec<u8> {
    let len = CMSG_HEADER + size_of::<i32>();
    let mut buf = vec![0u8; cmsg_align(len)];
    // cmsghdr { cmsg_len: size_t (socklen_t on musl, padded), level, type }
    buf[..size_of::<usize>()].copy_from_slice(&len.to_ne_bytes());
    let level_at = size_of::<usize>();
    buf[level_at..level_at + 4].copy_from_slice(&level.to_ne_bytes());
    buf[level_at + 4..level_at + 8].copy_from_slice(&kind.to_ne_bytes());
    buf[CMSG_HEADER..CMSG_HEADER + 4].copy_from_slice(&value.to_ne_bytes());
    buf
}

/// Nanoseconds since the Unix epoch on CLOCK_REALTIME, the clock the kernel
/// stamps received packets with.
pub(super) fn realtime_ns() -> i128 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// Sends `packet` to `dst` (or to the connected peer when `dst` is `None`)
/// with the given TTL / hop limit for this packet only. Returns the realtime
/// stamp taken immediately before the system call.
pub(super) fn send_with_ttl(
    socket: &Socket,
    dst: Option<&SockAddr>,
    ttl: Option<u8>,
    packet: &[u8],
) -> io::Result<i128> {
    let v6 = match dst {
        Some(addr) => addr.is_ipv6(),
        None => socket.local_addr()?.is_ipv6(),
    };
    let control = ttl.map(|ttl| {
        if v6 {
            cmsg_int(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, i32::from(ttl))
        } else {
            cmsg_int(libc::IPPROTO_IP, libc::IP_TTL, i32::from(ttl))
        }
    });
    let bufs = [io::IoSlice::new(packet)];
    let mut msg = MsgHdr::new().with_buffers(&bufs);
    if let Some(dst) = dst {
        msg = msg.with_addr(dst);
    }
    if let Some(control) = &control {
        msg = msg.with_control(control);
    }
    let stamp = realtime_ns();
    socket.sendmsg(&msg, libc::MSG_DONTWAIT)?;
    Ok(stamp)
}

/// An ICMP error the kernel queued for a socket (`IP_RECVERR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct QueuedError {
    /// `SO_EE_ORIGIN_*`: 2 ICMP, 3 ICMPv6, 1 local.
    pub(super) origin: u8,
    pub(super) icmp_type: u8,
    pub(super) code: u8,
    /// The router (or host) that sent the error.
    pub(super) offender: Option<IpAddr>,
}

/// What one `recvmsg` returned.
#[derive(Debug)]
pub(super) struct Received {
    pub(super) len: usize,
    /// The sender (normal queue) or the original destination (error queue).
    pub(super) addr: Option<SocketAddr>,
    /// Kernel receive timestamp, realtime nanoseconds.
    pub(super) stamp_ns: Option<i128>,
    /// TTL / hop limit of the packet as received.
    pub(super) ttl: Option<u8>,
    pub(super) error: Option<QueuedError>,
    /// Datagrams the socket dropped so far (`SO_RXQ_OVFL`).
    pub(super) dropped: Option<u32>,
}

/// Receives one datagram from the normal queue, or from the error queue with
/// `errqueue`, without blocking.
pub(super) fn recv(socket: &Socket, buf: &mut [u8], errqueue: bool) -> io::Result<Received> {
    let mut control = [0u8; 256];
    let mut addr = SockAddr::from(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)));
    let (len, control_len) = {
        let mut bufs = [MaybeUninitSlice::new(as_uninit(buf))];
        let mut msg = MsgHdrMut::new()
            .with_addr(&mut addr)
            .with_buffers(&mut bufs)
            .with_control(as_uninit(&mut control));
        let flags = libc::MSG_DONTWAIT | if errqueue { libc::MSG_ERRQUEUE } else { 0 };
        let len = socket.recvmsg(&mut msg, flags)?;
        (len, msg.control_len())
    };
    let mut received = Received {
        len: len.min(buf.len()),
        addr: addr.as_socket(),
        stamp_ns: None,
        ttl: None,
        error: None,
        dropped: None,
    };
    parse_control(&control[..control_len.min(control.len())], &mut received);
    Ok(received)
}

/// Views initialised bytes as possibly-uninitialised ones, the type
/// `recvmsg` writes into.
#[allow(unsafe_code)]
fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`. The only writer of
    // the returned slice is the kernel (through recvmsg), which writes plain
    // bytes, so the slice stays initialised when it is read again as `[u8]`.
    unsafe { &mut *(std::ptr::from_mut::<[u8]>(buf) as *mut [MaybeUninit<u8>]) }
}

fn parse_control(control: &[u8], out: &mut Received) {
    let mut at = 0;
    while at + CMSG_HEADER <= control.len() {
        let len = usize::from_ne_bytes(control[at..at + size_of::<usize>()].try_into().unwrap());
        let level_at = at + size_of::<usize>();
        let level = i32::from_ne_bytes(control[level_at..level_at + 4].try_into().unwrap());
        let kind = i32::from_ne_bytes(control[level_at + 4..level_at + 8].try_into().unwrap());
        if len < CMSG_HEADER || at + len > control.len() {
            break;
        }
        let data = &control[at + CMSG_HEADER..at + len];
        match (level, kind) {
            (libc::SOL_SOCKET, libc::SO_TIMESTAMPNS) if data.len() >= 16 => {
                let sec = i64::from_ne_bytes(data[..8].try_into().unwrap());
                let nsec = i64::from_ne_bytes(data[8..16].try_into().unwrap());
                out.stamp_ns = Some(i128::from(sec) * 1_000_000_000 + i128::from(nsec));
            }
            (libc::SOL_SOCKET, libc::SO_RXQ_OVFL) if data.len() >= 4 => {
                out.dropped = Some(u32::from_ne_bytes(data[..4].try_into().unwrap()));
            }
            (libc::IPPROTO_IP, libc::IP_TTL) | (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
                if data.len() >= 4 =>
            {
                let ttl = i32::from_ne_bytes(data[..4].try_into().unwrap());
                out.ttl = u8::try_from(ttl).ok();
            }
            (libc::IPPROTO_IP, libc::IP_RECVERR) | (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
                if data.len() >= 16 =>
            {
                // struct sock_extended_err { u32 errno; u8 origin, type, code, pad;
                // u32 info; u32 data; } followed by the offender's sockaddr.
                out.error = Some(QueuedError {
                    origin: data[4],
                    icmp_type: data[5],
                    code: data[6],
                    offender: parse_sockaddr(&data[16..]).map(|a| a.ip()),
                });
            }
            _ => {}
        }
        at += cmsg_align(len);
    }
}

/// Parses a `sockaddr_in` / `sockaddr_in6` in kernel layout.
fn parse_sockaddr(b: &[u8]) -> Option<SocketAddr> {
    let family = i32::from(u16::from_ne_bytes(b.get(..2)?.try_into().ok()?));
    let port = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
    match family {
        libc::AF_INET => {
            let ip: [u8; 4] = b.get(4..8)?.try_into().ok()?;
            Some(SocketAddrV4::new(Ipv4Addr::from(ip), port).into())
        }
        libc::AF_INET6 => {
            let ip: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            Some(SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0).into())
        }
        _ => None,
    }
}

/// Registers a socket with the runtime for readability, writability and
/// queued errors (a queued ICMP error raises only `EPOLLERR`).
#[allow(unsafe_code)]
pub(super) fn register(socket: Socket) -> io::Result<tokio::io::unix::AsyncFd<Socket>> {
    use tokio::io::Interest;
    let interest = Interest::READABLE | Interest::WRITABLE | Interest::ERROR;
    // SAFETY: a `socket2::Socket` owns its descriptor: it stays open, and
    // `as_raw_fd` returns that same descriptor, until the `Socket` is
    // dropped, which happens only when the `AsyncFd` owning it is dropped.
    // The engine never swaps the socket behind `get_mut`.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(socket, interest) }
        .map_err(|e| e.into_parts().1)
}

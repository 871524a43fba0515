//! Packet formats: ICMP/ICMPv6 echo requests with a probe token and a
//! flow-constant checksum, TCP SYN probes, and the parsers for what comes
//! back (echo replies, ICMP errors quoting a probe, SYN-ACK / RST).
//! RFC 792, RFC 4443, RFC 9293; Paris traceroute (Augustin et al., 2006).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) const ECHO_REQUEST_V4: u8 = 8;
pub(super) const ECHO_REPLY_V4: u8 = 0;
pub(super) const ECHO_REQUEST_V6: u8 = 128;
pub(super) const ECHO_REPLY_V6: u8 = 129;

/// Bytes of the probe token at the start of every probe payload.
pub(super) const TOKEN_LEN: usize = 8;

/// The ones'-complement sum of `data` as 16-bit big-endian words, folded.
pub(super) fn ones_sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

/// The Internet checksum of `data` (with an initial partial sum).
pub(super) fn checksum(acc: u32, data: &[u8]) -> u16 {
    !(ones_sum(acc, data) as u16)
}

/// The sum every echo request of `flow` is compensated to, so that the ICMP
/// checksum is the same for every probe of a flow (routers that hash the
/// checksum then keep all of a trace's probes on one path).
fn flow_sum(flow: u16) -> u16 {
    // Any fixed value per flow works; spread flows apart.
    0x5a5a_u16.wrapping_add(flow.wrapping_mul(0x9e37)) | 1
}

/// An echo request: header, then `payload_size` bytes starting with `token`.
/// With a payload of at least 10 bytes, the last two make the message's sum
/// equal to [`flow_sum`]; `ident` must then be the identifier the packet
/// leaves with (a ping socket's port).
pub(super) fn echo_request(
    v6: bool,
    ident: u16,
    seq: u16,
    token: u64,
    payload_size: usize,
    flow: u16,
) -> Vec<u8> {
    let mut p = vec![0u8; 8 + payload_size];
    p[0] = if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 };
    p[4..6].copy_from_slice(&ident.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    let token_bytes = token.to_be_bytes();
    let n = payload_size.min(TOKEN_LEN);
    p[8..8 + n].copy_from_slice(&token_bytes[..n]);
    for (i, b) in p.iter_mut().enumerate().skip(8 + TOKEN_LEN) {
        *b = (i as u8) & 0x3f | 0x40;
    }
    if payload_size >= TOKEN_LEN + 2 {
        let len = p.len();
        // Keep the compensation word 16-bit aligned within the message.
        let at = if len.is_multiple_of(2) {
            len - 2
        } else {
            len - 3
        };
        p[at] = 0;
        p[at + 1] = 0;
        let sum = ones_sum(0, &p) as u16;
        // sum + w ≡ target (mod 0xffff)
        let w = ones_add(flow_sum(flow), !sum);
        p[at..at + 2].copy_from_slice(&w.to_be_bytes());
    }
    if !v6 {
        // Ping sockets recompute it; raw IPv4 sockets need it. (For ICMPv6
        // the kernel always computes it, pseudo-header included.)
        let c = checksum(0, &p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

fn ones_add(a: u16, b: u16) -> u16 {
    let s = u32::from(a) + u32::from(b);
    ((s & 0xffff) + (s >> 16)) as u16
}

/// A TCP SYN from `src_port` to `dst_port` whose sequence number is the
/// probe's token. IPv4 needs the checksum here (with the pseudo-header);
/// IPv6 raw sockets are told to compute it (`IPV6_CHECKSUM`).
pub(super) fn tcp_syn(src: IpAddr, dst: IpAddr, src_port: u16, dst_port: u16, seq: u32) -> Vec<u8> {
    let mut p = vec![0u8; 20];
    p[0..2].copy_from_slice(&src_port.to_be_bytes());
    p[2..4].copy_from_slice(&dst_port.to_be_bytes());
    p[4..8].copy_from_slice(&seq.to_be_bytes());
    p[12] = 5 << 4; // data offset: 5 words, no options
    p[13] = 0x02; // SYN
    p[14..16].copy_from_slice(&64240u16.to_be_bytes());
    if let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) {
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend_from_slice(&s.octets());
        pseudo.extend_from_slice(&d.octets());
        pseudo.extend_from_slice(&[0, 6, 0, 20]);
        let c = checksum(ones_sum(0, &pseudo), &p);
        p[16..18].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// What an answer says about a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    EchoReply,
    TimeExceeded(u8),
    Unreachable(u8),
    TcpOpen,
    TcpClosed,
    Other(u8, u8),
}

impl Kind {
    /// Classifies an ICMP error by type and code.
    pub(super) fn from_error(v6: bool, icmp_type: u8, code: u8) -> Kind {
        match (v6, icmp_type) {
            (false, 11) | (true, 3) => Kind::TimeExceeded(code),
            (false, 3) | (true, 1) => Kind::Unreachable(code),
            _ => Kind::Other(icmp_type, code),
        }
    }
}

/// The probe a packet refers to, as far as the packet tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Quote {
    /// An ICMP echo (request quoted in an error, or the reply itself).
    Echo {
        ident: u16,
        seq: u16,
        token: Option<u64>,
    },
    /// A TCP segment: our source port and sequence number.
    Tcp {
        src_port: u16,
        dst_port: u16,
        seq: u32,
    },
    /// A UDP datagram: our ports.
    Udp { src_port: u16, dst_port: u16 },
}

/// An answer parsed from a raw socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawAnswer {
    pub(super) kind: Kind,
    /// Who sent the answer.
    pub(super) from: IpAddr,
    /// The probe's destination (the target).
    pub(super) target: IpAddr,
    pub(super) quote: Quote,
    /// TTL of the answer (IPv4 header); IPv6 takes it from a control message.
    pub(super) ttl: Option<u8>,
    /// Bytes of the ICMP (or TCP) message.
    pub(super) size: usize,
}

fn token_at(b: &[u8]) -> Option<u64> {
    b.get(..TOKEN_LEN)
        .map(|t| u64::from_be_bytes(t.try_into().expect("8 bytes")))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Parses a quoted transport header of protocol `proto`.
fn quote(proto: u8, v6: bool, b: &[u8]) -> Option<Quote> {
    match (proto, v6) {
        (1, false) | (58, true) => {
            let request = if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 };
            (b.first() == Some(&request)).then_some(())?;
            Some(Quote::Echo {
                ident: u16_at(b, 4)?,
                seq: u16_at(b, 6)?,
                token: b.get(8..).and_then(token_at),
            })
        }
        (6, _) => Some(Quote::Tcp {
            src_port: u16_at(b, 0)?,
            dst_port: u16_at(b, 2)?,
            seq: u32_at(b, 4)?,
        }),
        (17, _) => Some(Quote::Udp {
            src_port: u16_at(b, 0)?,
            dst_port: u16_at(b, 2)?,
        }),
        _ => None,
    }
}

/// Parses what a raw IPv4 socket of protocol ICMP received (IP header
/// included): an echo reply, or an ICMP error quoting one of our probes.
pub(super) fn parse_raw_icmp_v4(b: &[u8]) -> Option<RawAnswer> {
    let ihl = usize::from(b.first()? & 0x0f) * 4;
    let ttl = *b.get(8)?;
    let from = Ipv4Addr::from(<[u8; 4]>::try_from(b.get(12..16)?).ok()?);
    let icmp = b.get(ihl..)?;
    let (icmp_type, code) = (*icmp.first()?, *icmp.get(1)?);
    if icmp_type == ECHO_REPLY_V4 {
        return Some(RawAnswer {
            kind: Kind::EchoReply,
            from: from.into(),
            target: from.into(),
            quote: Quote::Echo {
                ident: u16_at(icmp, 4)?,
                seq: u16_at(icmp, 6)?,
                token: icmp.get(8..).and_then(token_at),
            },
            ttl: Some(ttl),
            size: icmp.len(),
        });
    }
    if !matches!(icmp_type, 3 | 4 | 5 | 11 | 12) {
        return None;
    }
    let inner = icmp.get(8..)?;
    let inner_ihl = usize::from(inner.first()? & 0x0f) * 4;
    let proto = *inner.get(9)?;
    let target = Ipv4Addr::from(<[u8; 4]>::try_from(inner.get(16..20)?).ok()?);
    Some(RawAnswer {
        kind: Kind::from_error(false, icmp_type, code),
        from: from.into(),
        target: target.into(),
        quote: quote(proto, false, inner.get(inner_ihl..)?)?,
        ttl: Some(ttl),
        size: icmp.len(),
    })
}

/// Parses what a raw ICMPv6 socket received (no IPv6 header): `from` is
/// the sender from the socket address.
pub(super) fn parse_raw_icmp_v6(b: &[u8], from: Ipv6Addr) -> Option<RawAnswer> {
    let (icmp_type, code) = (*b.first()?, *b.get(1)?);
    if icmp_type == ECHO_REPLY_V6 {
        return Some(RawAnswer {
            kind: Kind::EchoReply,
            from: from.into(),
            target: from.into(),
            quote: Quote::Echo {
                ident: u16_at(b, 4)?,
                seq: u16_at(b, 6)?,
                token: b.get(8..).and_then(token_at),
            },
            ttl: None,
            size: b.len(),
        });
    }
    if !matches!(icmp_type, 1..=4) {
        return None;
    }
    // The quoted IPv6 header; extension headers before the transport are
    // not expected on probes we sent.
    let inner = b.get(8..)?;
    let next = *inner.get(6)?;
    let target = Ipv6Addr::from(<[u8; 16]>::try_from(inner.get(24..40)?).ok()?);
    Some(RawAnswer {
        kind: Kind::from_error(true, icmp_type, code),
        from: from.into(),
        target: target.into(),
        quote: quote(next, true, inner.get(40..)?)?,
        ttl: None,
        size: b.len(),
    })
}

/// A TCP segment received on a raw TCP socket, reduced to what matches a SYN
/// probe: SYN-ACK means open, RST means closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TcpAnswer {
    pub(super) kind: Kind,
    pub(super) from: IpAddr,
    /// The target's port (the segment's source port).
    pub(super) src_port: u16,
    /// Our port (the segment's destination port).
    pub(super) dst_port: u16,
    /// The sequence number of the SYN this answers (ack − 1).
    pub(super) probe_seq: u32,
    pub(super) ttl: Option<u8>,
    pub(super) size: usize,
}

/// Parses a TCP segment: with `ipv4_header`, `b` starts with the IPv4
/// header (raw IPv4 sockets); otherwise `from` is the sender.
pub(super) fn parse_tcp(b: &[u8], from: Option<IpAddr>) -> Option<TcpAnswer> {
    let (seg, from, ttl) = match from {
        Some(from) => (b, from, None),
        None => {
            let ihl = usize::from(b.first()? & 0x0f) * 4;
            let src = Ipv4Addr::from(<[u8; 4]>::try_from(b.get(12..16)?).ok()?);
            (b.get(ihl..)?, IpAddr::V4(src), Some(*b.get(8)?))
        }
    };
    let flags = *seg.get(13)?;
    let ack = u32_at(seg, 8)?;
    let kind = if flags & 0x12 == 0x12 {
        Kind::TcpOpen
    } else if flags & 0x04 != 0 {
        Kind::TcpClosed
    } else {
        return None;
    };
    Some(TcpAnswer {
        kind,
        from,
        src_port: u16_at(seg, 0)?,
        dst_port: u16_at(seg, 2)?,
        probe_seq: ack.wrapping_sub(1),
        ttl,
        size: seg.len(),
    })
}

/// The sequence number and token of a ping-socket echo message (the ICMP
/// header onwards): echo replies on the normal queue, quoted requests on
/// the error queue.
pub(super) fn parse_dgram_echo(b: &[u8]) -> Option<(u16, Option<u64>)> {
    Some((u16_at(b, 6)?, b.get(8..).and_then(token_at)))
}

#[cfg(test)]
mod tests;

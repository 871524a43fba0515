//! Building probes and parsing what comes back, byte by byte.

use super::*;

#[test]
fn checksum_of_a_known_echo_request() {
    // An echo request id 0x1234 seq 1 with payload "abcd"; verified by
    // summing the finished packet, which must give 0xffff.
    let mut p = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1, b'a', b'b', b'c', b'd'];
    let c = checksum(0, &p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    assert_eq!(ones_sum(0, &p), 0xffff);
    // RFC 1071 example: 0x0001 0xf203 0xf4f5 0xf6f7 sums to 0xddf2.
    assert_eq!(
        ones_sum(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
        0xddf2
    );
}

#[test]
fn echo_requests_of_one_flow_share_their_checksum() {
    let a = echo_request(false, 777, 1, 0x1111_2222_3333_4444, 56, 0);
    let b = echo_request(false, 777, 2, 0x9999_8888_7777_6666, 56, 0);
    let c = echo_request(false, 777, 3, 0x1234_5678_9abc_def0, 57, 0);
    let other = echo_request(false, 777, 4, 0x1111_2222_3333_4444, 56, 1);
    for p in [&a, &b, &c, &other] {
        assert_eq!(ones_sum(0, p), 0xffff, "valid checksum");
    }
    assert_eq!(a[2..4], b[2..4]);
    assert_eq!(a[2..4], c[2..4]);
    assert_ne!(a[2..4], other[2..4]);
    assert_eq!(parse_dgram_echo(&a), Some((1, Some(0x1111_2222_3333_4444))));
    // Too short for a compensation word: still valid, token truncated.
    let tiny = echo_request(false, 1, 9, 0xaabb_ccdd_eeff_0011, 4, 0);
    assert_eq!(tiny.len(), 12);
    assert_eq!(ones_sum(0, &tiny), 0xffff);
    assert_eq!(parse_dgram_echo(&tiny), Some((9, None)));
}

fn ipv4_header(proto: u8, ttl: u8, src: [u8; 4], dst: [u8; 4], len: usize) -> Vec<u8> {
    let mut h = vec![0x45, 0, 0, 0, 0, 0, 0, 0, ttl, proto, 0, 0];
    h[2..4].copy_from_slice(&((20 + len) as u16).to_be_bytes());
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h
}

#[test]
fn raw_v4_time_exceeded_quoting_an_echo_request() {
    let probe = echo_request(false, 0x4242, 7, 0xfeed_beef_0000_0001, 16, 0);
    let quoted_ip = ipv4_header(1, 1, [10, 0, 1, 1], [10, 0, 4, 2], probe.len());
    let mut icmp = vec![11, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&quoted_ip);
    icmp.extend_from_slice(&probe);
    let mut packet = ipv4_header(1, 63, [10, 0, 2, 2], [10, 0, 1, 1], icmp.len());
    packet.extend_from_slice(&icmp);
    let answer = parse_raw_icmp_v4(&packet).unwrap();
    assert_eq!(answer.kind, Kind::TimeExceeded(0));
    assert_eq!(answer.from, IpAddr::from([10, 0, 2, 2]));
    assert_eq!(answer.target, IpAddr::from([10, 0, 4, 2]));
    assert_eq!(answer.ttl, Some(63));
    assert_eq!(
        answer.quote,
        Quote::Echo {
            ident: 0x4242,
            seq: 7,
            token: Some(0xfeed_beef_0000_0001)
        }
    );
    // An RFC 792 router quoting only 8 bytes: no token, still matched.
    let short = &packet[..20 + 8 + 20 + 8];
    let answer = parse_raw_icmp_v4(short).unwrap();
    assert_eq!(
        answer.quote,
        Quote::Echo {
            ident: 0x4242,
            seq: 7,
            token: None
        }
    );
    // Our own echo requests (seen by raw sockets on loopback) are not answers.
    let mut own = ipv4_header(1, 64, [10, 0, 1, 1], [10, 0, 4, 2], probe.len());
    own.extend_from_slice(&probe);
    assert_eq!(parse_raw_icmp_v4(&own), None);
}

#[test]
fn raw_v6_unreachable_quoting_a_tcp_syn() {
    let syn = tcp_syn(
        "fd00::1".parse().unwrap(),
        "fd09:1::5".parse().unwrap(),
        40000,
        443,
        0xdead_beef,
    );
    let mut quoted_ip = vec![0x60, 0, 0, 0, 0, 20, 6, 3];
    quoted_ip.extend_from_slice(&"fd00::1".parse::<Ipv6Addr>().unwrap().octets());
    quoted_ip.extend_from_slice(&"fd09:1::5".parse::<Ipv6Addr>().unwrap().octets());
    let mut icmp = vec![1, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&quoted_ip);
    icmp.extend_from_slice(&syn);
    let router: Ipv6Addr = "fd00:3::2".parse().unwrap();
    let answer = parse_raw_icmp_v6(&icmp, router).unwrap();
    assert_eq!(answer.kind, Kind::Unreachable(0));
    assert_eq!(answer.target, "fd09:1::5".parse::<IpAddr>().unwrap());
    assert_eq!(
        answer.quote,
        Quote::Tcp {
            src_port: 40000,
            dst_port: 443,
            seq: 0xdead_beef
        }
    );
}

#[test]
fn syn_ack_and_rst() {
    let syn = tcp_syn([10, 0, 1, 1].into(), [10, 0, 4, 2].into(), 40000, 80, 41);
    assert_eq!(
        ones_sum(ones_sum(0, &[10, 0, 1, 1, 10, 0, 4, 2, 0, 6, 0, 20]), &syn),
        0xffff
    );
    let mut reply = vec![0u8; 20];
    reply[0..2].copy_from_slice(&80u16.to_be_bytes());
    reply[2..4].copy_from_slice(&40000u16.to_be_bytes());
    reply[8..12].copy_from_slice(&42u32.to_be_bytes());
    reply[12] = 5 << 4;
    reply[13] = 0x12;
    let from: IpAddr = [10, 0, 4, 2].into();
    let open = parse_tcp(&reply, Some(from)).unwrap();
    assert_eq!(
        (open.kind, open.probe_seq, open.dst_port),
        (Kind::TcpOpen, 41, 40000)
    );
    reply[13] = 0x14;
    assert_eq!(parse_tcp(&reply, Some(from)).unwrap().kind, Kind::TcpClosed);
    reply[13] = 0x10; // a bare ACK answers nothing
    assert_eq!(parse_tcp(&reply, Some(from)), None);
    let mut with_ip = ipv4_header(6, 61, [10, 0, 4, 2], [10, 0, 1, 1], 20);
    reply[13] = 0x12;
    with_ip.extend_from_slice(&reply);
    let parsed = parse_tcp(&with_ip, None).unwrap();
    assert_eq!((parsed.from, parsed.ttl), (from, Some(61)));
}

//! The engine against the loopback interface (root: raw sockets). Paths
//! through routers, loss, ping sockets and unprivileged runs are covered
//! in network namespaces by `tests/icmp*.rs`.

use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};

use tokio::time::Instant;

use super::*;

fn service(mode: IcmpMode) -> IcmpService {
    IcmpService::new(IcmpOptions { mode, max_pps: 0 })
}

const TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test]
async fn raw_echo_on_loopback_v4_and_v6() {
    let icmp = service(IcmpMode::Raw);
    assert_eq!(icmp.describe(false), Ok("raw"));
    for target in [
        IpAddr::from(Ipv4Addr::LOCALHOST),
        Ipv6Addr::LOCALHOST.into(),
    ] {
        let answers = futures_util::future::join_all(
            (0..20).map(|i| icmp.echo(target, Some(64), 56, (i % 3) as u16, TIMEOUT)),
        )
        .await;
        for a in answers {
            let a = a.unwrap_or_else(|e| panic!("{target}: {e:?}"));
            assert_eq!(a.kind, Kind::EchoReply);
            assert_eq!(a.from, target);
            assert_eq!(a.size, 64, "8-byte header + 56 bytes");
            assert!(a.rtt > Duration::ZERO && a.rtt < TIMEOUT, "{:?}", a.rtt);
            assert_eq!(a.ttl, Some(64), "loopback does not decrement");
        }
    }
}

#[tokio::test]
async fn an_unanswered_probe_times_out_and_leaves_nothing_pending() {
    let icmp = service(IcmpMode::Auto);
    // An open UDP port that never answers: no reply, no ICMP error.
    let silent = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let flow = icmp.udp_flow(silent.local_addr().unwrap()).unwrap();
    let e = flow.probe(None, 16, Duration::from_millis(100)).await;
    assert_eq!(e.unwrap_err(), ProbeError::Timeout);
    assert_eq!(flow.in_flight(), 0);
    let mut buf = [0u8; 64];
    let (n, _) = silent.recv_from(&mut buf).unwrap();
    assert_eq!(n, 16, "the datagram arrived");
}

#[tokio::test]
async fn udp_probe_to_a_closed_port_is_port_unreachable_from_the_target() {
    let icmp = service(IcmpMode::Auto);
    for target in [
        IpAddr::from(Ipv4Addr::LOCALHOST),
        Ipv6Addr::LOCALHOST.into(),
    ] {
        let port = {
            let s = std::net::UdpSocket::bind((target, 0)).unwrap();
            s.local_addr().unwrap().port()
        };
        let flow = icmp.udp_flow(SocketAddr::new(target, port)).unwrap();
        let answers =
            futures_util::future::join_all((0..5).map(|_| flow.probe(Some(3), 24, TIMEOUT))).await;
        for a in answers {
            let a = a.unwrap();
            let code = if target.is_ipv4() { 3 } else { 4 };
            assert_eq!(a.kind, Kind::Unreachable(code), "{target}");
            assert_eq!(a.from, target);
        }
    }
}

#[tokio::test]
async fn tcp_syn_to_open_and_closed_ports() {
    for target in [
        IpAddr::from(Ipv4Addr::LOCALHOST),
        Ipv6Addr::LOCALHOST.into(),
    ] {
        let listener = TcpListener::bind((target, 0)).unwrap();
        let open = listener.local_addr().unwrap();
        let closed = {
            let l = TcpListener::bind((target, 0)).unwrap();
            l.local_addr().unwrap()
        };
        for mode in [IcmpMode::Raw, IcmpMode::Dgram] {
            let icmp = service(mode);
            let flow = icmp.tcp_flow(open).unwrap();
            assert_eq!(matches!(flow, TcpFlow::Raw(_)), mode == IcmpMode::Raw);
            let answers = futures_util::future::join_all(
                (0..3).map(|_| flow.probe(icmp.pacer(), Some(5), TIMEOUT)),
            )
            .await;
            for a in answers {
                assert_eq!(a.unwrap().kind, Kind::TcpOpen, "{open} {mode:?}");
            }
            let flow = icmp.tcp_flow(closed).unwrap();
            let a = flow.probe(icmp.pacer(), None, TIMEOUT).await.unwrap();
            assert_eq!((a.kind, a.from), (Kind::TcpClosed, target), "{mode:?}");
        }
    }
}

#[tokio::test]
async fn pacing_spreads_sends() {
    let pacer = Pacer::new(1000);
    let start = Instant::now();
    for _ in 0..50 {
        pacer.wait().await;
    }
    // 50 sends at 1000/s take at least 49 ms (the first goes at once).
    assert!(
        start.elapsed() >= Duration::from_millis(48),
        "{:?}",
        start.elapsed()
    );
}

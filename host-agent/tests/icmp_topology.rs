//! The five-namespace topology (`support::topo`) proved with the classic
//! tools only: iputils `ping`, `traceroute` and `mtr` see the hops, gaps,
//! ICMP errors and loss that the topology promises. Every test builds and
//! removes its own topology; no packet leaves its namespaces.

mod support;

use std::fs::Permissions;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use support::peers::{
    iputils_ping, mtr_report, parse_mtr_report, parse_ping, parse_traceroute, traceroute,
};
use support::topo::exec;
use support::topo::{Family, Options, Topology};

const PORT: u16 = 8080;

#[test]
fn traces_list_every_hop_in_icmp_udp_and_tcp_modes() {
    let Some(topo) = Topology::build(Options::default()) else {
        return;
    };
    let _listener = topo.tcp_listener(PORT);
    let port = PORT.to_string();
    for family in Family::BOTH {
        let target = topo.h2_addr(family).to_string();
        let ping = iputils_ping(&topo.h1(), topo.h2_addr(family), 3, 0.01, &[family.flag()]);
        assert_eq!((ping.sent, ping.received), (3, 3), "{}", ping.output);
        let connect = exec(
            &topo.h1(),
            "python3",
            &[
                "-c",
                "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2).close()",
                &target,
                &port,
            ],
        );
        assert!(
            connect.status.success(),
            "no TCP to [{target}]:{port}: {connect:?}"
        );

        let expected: Vec<Vec<IpAddr>> = topo.hops(family).into_iter().map(|a| vec![a]).collect();
        for mode in [&["-I"][..], &[], &["-T", "-p", &port]] {
            let mut args = vec![family.flag(), "-w", "1"];
            args.extend(mode);
            args.push(&target);
            assert_eq!(
                traceroute(&topo.h1(), &args),
                expected,
                "traceroute {args:?}"
            );
        }
        let expected: Vec<Option<IpAddr>> = topo.hops(family).into_iter().map(Some).collect();
        for mode in [&[][..], &["-u"], &["-T", "-P", &port]] {
            let mut args = vec![family.flag(), "-c", "2", "-i", "0.1", "-G", "0.5"];
            args.extend(mode);
            args.push(&target);
            assert_eq!(mtr_report(&topo.h1(), &args), expected, "mtr {args:?}");
        }
    }
}

#[test]
fn a_silent_router_leaves_a_gap_and_later_hops_still_answer() {
    let options = Options {
        silent_router: Some(2),
        ..Options::default()
    };
    let Some(topo) = Topology::build(options) else {
        return;
    };
    for family in Family::BOTH {
        let target = topo.h2_addr(family).to_string();
        let mut expected: Vec<Vec<IpAddr>> =
            topo.hops(family).into_iter().map(|a| vec![a]).collect();
        expected[1].clear();
        // Answers take well under a millisecond here; the silent hop costs
        // each trace the whole wait.
        for mode in [&["-I"][..], &[]] {
            let mut args = vec![family.flag(), "-w", "0.5"];
            args.extend(mode);
            args.push(&target);
            assert_eq!(
                traceroute(&topo.h1(), &args),
                expected,
                "traceroute {args:?}"
            );
        }
        let mut expected: Vec<Option<IpAddr>> = topo.hops(family).into_iter().map(Some).collect();
        expected[1] = None;
        let args = [family.flag(), "-c", "2", "-i", "0.1", "-G", "0.5", &target];
        assert_eq!(mtr_report(&topo.h1(), &args), expected, "mtr {args:?}");
    }
}

#[test]
fn unreachable_and_prohibited_prefixes_answer_from_r3() {
    let Some(topo) = Topology::build(Options::default()) else {
        return;
    };
    let r3 = |family| topo.router_addr(3, family);
    let cases = [
        (
            topo.unreachable_addr(Family::V4),
            "Destination Host Unreachable",
        ),
        (topo.prohibit_addr(Family::V4), "Packet filtered"),
        (
            topo.unreachable_addr(Family::V6),
            "Destination unreachable: No route",
        ),
        (
            topo.prohibit_addr(Family::V6),
            "Destination unreachable: Administratively prohibited",
        ),
    ];
    // r3 rejects with nft, so ICMP errors obey only the (disabled) ICMP
    // rate limits and every probe is answered. The hook runs after the TTL
    // check, so a trace shows r3 twice: time exceeded at hop 3, then the
    // rejection at hop 4.
    for (target, message) in cases {
        let family = if target.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        };
        let r = iputils_ping(&topo.h1(), target, 10, 0.01, &[family.flag(), "-W", "1"]);
        assert_eq!(
            (r.sent, r.received, r.errors.len()),
            (10, 0, 10),
            "{}",
            r.output
        );
        for e in &r.errors {
            assert_eq!(
                (e.from, e.message.as_str()),
                (r3(family), message),
                "{}",
                r.output
            );
        }
        let hops = traceroute(
            &topo.h1(),
            &[family.flag(), "-I", "-w", "1", &target.to_string()],
        );
        let expected: Vec<Vec<IpAddr>> = [1, 2, 3, 3]
            .map(|i| vec![topo.router_addr(i, family)])
            .into();
        assert_eq!(hops, expected, "traceroute to {target}");
    }
}

/// 1000 echo requests with 10% dropped one way: the count received is
/// binomial, σ = √(1000 · 0.1 · 0.9) ≈ 9.5 packets ≈ 0.95 points, so ±4
/// points is ≈ 4.2σ (a false failure about once in 40 000 runs), and it
/// rules out the ≈ 19% that dropping both directions would give.
#[test]
fn loss_on_r1_drops_the_configured_share_one_way() {
    let options = Options {
        loss_percent: Some((1, 10)),
        ..Options::default()
    };
    let Some(topo) = Topology::build(options) else {
        return;
    };
    for family in Family::BOTH {
        let started = std::time::Instant::now();
        let r = iputils_ping(
            &topo.h1(),
            topo.h2_addr(family),
            1000,
            0.002,
            &[family.flag(), "-W", "1"],
        );
        eprintln!(
            "{family:?}: {} of {} lost ({:.1}%) in {:.2?}",
            r.sent - r.received,
            r.sent,
            100.0 * r.loss(),
            started.elapsed()
        );
        assert_eq!(r.sent, 1000, "{}", r.output);
        assert_eq!(r.rtts_ms.len(), r.received as usize);
        assert!(
            (r.loss() - 0.10).abs() <= 0.04,
            "loss {} outside 6–14%",
            r.loss()
        );
    }
}

/// With ping sockets closed in h1, an unprivileged ping fails there and
/// works from h2. It runs a copy of iputils' `ping`: the installed one
/// carries `cap_net_raw` as a file capability, which a copy loses.
#[test]
fn ping_sockets_are_open_everywhere_but_in_h1_on_request() {
    let options = Options {
        ping_group_range_h1: false,
        ..Options::default()
    };
    let Some(topo) = Topology::build(options) else {
        return;
    };
    let range = |ns: &str| {
        let out = exec(ns, "sysctl", &["-n", "net.ipv4.ping_group_range"]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(range(&topo.h1()), "1 0");
    assert_eq!(range(&topo.h2()), "0 2147483647");
    assert_eq!(range(&topo.router(2)), "0 2147483647");

    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), Permissions::from_mode(0o755)).unwrap();
    let ping = dir.path().join("ping");
    std::fs::copy("/usr/bin/ping", &ping).unwrap();
    let ping = ping.to_str().unwrap();
    let nobody_ping = |ns: &str, target: IpAddr| {
        let target = target.to_string();
        let args = [
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            ping,
            "-n",
            "-c",
            "1",
            "-W",
            "1",
            &target,
        ];
        exec(ns, "setpriv", &args)
    };
    for family in Family::BOTH {
        let out = nobody_ping(&topo.h2(), topo.h1_addr(family));
        assert!(out.status.success(), "{family:?} from h2: {out:?}");
        let out = nobody_ping(&topo.h1(), topo.h2_addr(family));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{family:?} from h1: {out:?}");
        assert!(stderr.contains("Operation not permitted"), "{stderr}");
    }
}

#[test]
fn dropping_the_topology_removes_its_namespaces() {
    let Some(topo) = Topology::build(Options::default()) else {
        return;
    };
    let names = [
        topo.h1(),
        topo.router(1),
        topo.router(2),
        topo.router(3),
        topo.h2(),
    ];
    let listed = || {
        let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let list = String::from_utf8_lossy(&out.stdout).into_owned();
        names
            .iter()
            .filter(|n| {
                list.lines()
                    .any(|l| l.split_whitespace().next() == Some(n.as_str()))
            })
            .count()
    };
    assert_eq!(listed(), 5);
    drop(topo);
    assert_eq!(listed(), 0);
}

/// The parsers, on output the Debian 12 tools printed in this topology.
#[test]
fn parsers_read_what_the_tools_print() {
    let ping = parse_ping(
        "PING 10.250.9.5 (10.250.9.5) 56(84) bytes of data.\n\
         64 bytes from 10.250.4.2: icmp_seq=1 ttl=61 time=0.152 ms\n\
         From 10.250.3.2 icmp_seq=2 Destination Host Unreachable\n\
         \n--- 10.250.9.5 ping statistics ---\n\
         3 packets transmitted, 1 received, +1 errors, 66.6667% packet loss, time 408ms\n",
    );
    assert_eq!(
        (ping.sent, ping.received, ping.rtts_ms.clone()),
        (3, 1, vec![0.152])
    );
    assert_eq!(ping.errors[0].from, "10.250.3.2".parse::<IpAddr>().unwrap());
    assert_eq!(
        (ping.errors[0].seq, ping.errors[0].message.as_str()),
        (2, "Destination Host Unreachable")
    );

    let hops = parse_traceroute(
        "traceroute to 10.250.9.5 (10.250.9.5), 30 hops max, 60 byte packets\n \
         1  10.250.1.2  0.024 ms  0.010 ms  0.009 ms\n \
         2  * * *\n \
         3  * 10.250.3.2  0.141 ms !H  0.012 ms !H\n",
    );
    let a = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        hops,
        vec![vec![a("10.250.1.2")], vec![], vec![a("10.250.3.2")]]
    );

    let hops = parse_mtr_report(
        "Start: 2026-11-22T05:35:08+0000\n\
         HOST: vm                          Loss%   Snt   Last   Avg  Best  Wrst StDev\n  \
         1.|-- fd7e:99:1::2               0.0%     3    0.1   0.1   0.1   0.1   0.0\n  \
         2.|-- ???                       100.0     3    0.0   0.0   0.0   0.0   0.0\n",
    );
    assert_eq!(hops, vec![Some(a("fd7e:99:1::2")), None]);
}

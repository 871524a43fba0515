//! A real two-node lab (as root): h1 — h2 on one veth link, pinged across
//! in both families, a TCP listener reached, and every namespace gone after
//! drop. Skipped with `VANTAGE_SKIP_NETNS=1` where namespaces cannot be made.

use std::process::Command;
use std::time::Duration;

use vantage_netlab::{Family, Lab, Names, Plan, Side};

/// A range of no other lab (they use 10.199, 10.213 and 10.220–249).
const PLAN: Plan = Plan::new([10, 198], [0xfd7c, 0x198]);

/// A new, empty lab, after sweeping what a killed earlier run left; `None`
/// when skipped.
fn new_lab() -> Option<Lab> {
    if !vantage_netlab::available_or_skip(&[]) {
        return None;
    }
    vantage_netlab::sweep_stale("vx", &["h1", "h2"]);
    Some(Lab::new(Names::numbered("vx"), PLAN))
}

fn listed(names: &[String]) -> usize {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    names
        .iter()
        .filter(|n| list.lines().any(|l| l.split_whitespace().next() == Some(n)))
        .count()
}

#[test]
fn two_nodes_ping_each_other_and_are_removed_on_drop() {
    let Some(mut lab) = new_lab() else {
        return;
    };
    for node in ["h1", "h2"] {
        lab.add_node(node).expect("adding a node");
    }
    lab.link(1, "h1", "h2").expect("linking h1 and h2");
    lab.sysctl("h2", &vantage_netlab::ICMP_UNLIMITED)
        .expect("sysctl");
    lab.wait_for_carrier().expect("carrier");
    for family in Family::BOTH {
        lab.ping("h1", PLAN.addr(1, 2, family))
            .expect("h1 reaches h2");
    }
    // What `link` set up, seen from inside h2.
    let dev = lab.interface(1, Side::B);
    let addrs = lab.ip("h2", &["-br", "addr", "show", "dev", &dev]).unwrap();
    assert!(addrs.contains("10.198.1.2/24"), "{addrs}");
    assert!(addrs.contains("fd7c:198:1::2/64"), "{addrs}");

    let _listener = lab.tcp_listener("h2", 8080).expect("listener");
    let connect = "import socket, sys; socket.create_connection((sys.argv[1], 8080), 2).close()";
    for family in Family::BOTH {
        let target = PLAN.addr(1, 2, family).to_string();
        let out = lab
            .output(
                "h1",
                "python3",
                &["-c", connect, &target],
                Duration::from_secs(10),
            )
            .unwrap();
        assert!(out.status.success(), "no TCP to [{target}]:8080: {out:?}");
    }

    // Nothing leads out: h1 has its loopback and its end of the link,
    // and a route to the link's network only.
    let links = lab.ip("h1", &["-br", "link"]).unwrap();
    let names: Vec<&str> = links
        .lines()
        .filter_map(|l| l.split(['@', ' ']).next())
        .collect();
    assert_eq!(names, ["lo", lab.interface(1, Side::A).as_str()], "{links}");
    let routes = lab.ip("h1", &["-4", "route"]).unwrap();
    assert_eq!(routes.lines().count(), 1, "{routes}");
    assert!(routes.starts_with("10.198.1.0/24 dev"), "{routes}");
    assert!(
        lab.ip("nowhere", &["link"]).is_err(),
        "only the lab's nodes"
    );

    let names: Vec<String> = lab.nodes().map(|n| lab.ns(n)).collect();
    assert_eq!(listed(&names), 2);
    drop(lab);
    assert_eq!(listed(&names), 0);
}

#[test]
fn a_lab_that_fails_half_way_removes_what_it_made() {
    let Some(mut lab) = new_lab() else {
        return;
    };
    let made = lab.add_node("h1").unwrap();
    let err = lab.link(1, "h1", "h2").expect_err("h2 was never added");
    assert!(err.to_string().contains("has no node h2"), "{err}");
    let err = lab.run(
        "h1",
        "ip",
        &["route", "add", "default", "via", "10.198.9.9"],
    );
    let text = err.expect_err("no such network").to_string();
    assert!(
        text.contains("ip netns exec") && text.contains("route add"),
        "{text}"
    );
    drop(lab);
    assert_eq!(listed(&[made]), 0);
}

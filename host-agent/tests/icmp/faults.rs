//! Paths that are not simple: ECMP flows, a silent router, unreachable
//! prefixes and injected loss.

use super::*;

/// Per flow, per hop, the addresses that answered and how many answers.
fn paths_by_flow(r: &CheckResult) -> BTreeMap<u16, BTreeMap<u32, (BTreeSet<IpAddr>, usize)>> {
    let mut flows: BTreeMap<u16, BTreeMap<u32, (BTreeSet<IpAddr>, usize)>> = BTreeMap::new();
    for d in r.distributions_of("hop_rtt") {
        let hop = flows
            .entry(d.labels["flow"].parse().unwrap())
            .or_default()
            .entry(d.labels["hop"].parse().unwrap())
            .or_default();
        hop.0.insert(d.labels["address"].parse().unwrap());
        hop.1 += d.values.len();
    }
    flows
}

#[test]
fn ecmp_paths_stay_fixed_per_flow_and_flows_reveal_both() {
    const FLOWS: u16 = 16;
    const QUERIES: usize = 3;
    let Some(topo) = Topology::build(Options {
        ecmp: true,
        ..Options::default()
    }) else {
        return;
    };
    let port = 8443;
    let _listener = topo.tcp_listener(port);
    let mut run = AgentRun::new("auto");
    for family in Family::BOTH {
        for mode in ["icmp", "udp", "tcp"] {
            run.check(
                &format!("ecmp-{mode}-{}", family_name(family)),
                "traceroute",
                topo.h2_addr(family),
                &format!(
                    "mode = \"{mode}\"\nport = {port}\nmax_hops = 4\nflows = {FLOWS}\n\
                     queries = {QUERIES}\ntimeout_ms = 1000"
                ),
            );
        }
    }
    // Root: TCP probes go through raw sockets, one source port a flow.
    let (results, _) = run.run(&topo.h1(), None);
    for family in Family::BOTH {
        let [r1, r2, r3, h2] = topo.hops(family)[..] else {
            unreachable!()
        };
        let r2b = topo.router_b_addr(family);
        for mode in ["icmp", "udp", "tcp"] {
            let r = &results[&format!("ecmp-{mode}-{}", family_name(family))];
            assert_eq!(r.status, Status::Ok, "{mode} {family:?}: {r:#?}");
            let flows = paths_by_flow(r);
            assert_eq!(flows.len(), usize::from(FLOWS), "{mode} {family:?}: {r:#?}");
            let mut middle = BTreeSet::new();
            for (flow, hops) in &flows {
                let at = |hop| hops.get(&hop).map(|(a, _)| a.clone()).unwrap_or_default();
                let context = format!("{mode} {family:?} flow {flow}: {hops:?}");
                // Where the two paths meet, every flow sees the same hop.
                assert_eq!(at(1), BTreeSet::from([r1]), "{context}");
                assert_eq!(at(3), BTreeSet::from([r3]), "{context}");
                assert_eq!(at(4), BTreeSet::from([h2]), "{context}");
                // Every answer at hop 2 comes from one router: the flow
                // keeps to one path (Paris traceroute).
                let (addresses, answers) = &hops[&2];
                assert_eq!(*answers, QUERIES, "{context}");
                assert_eq!(addresses.len(), 1, "{context}");
                assert!(addresses.is_subset(&BTreeSet::from([r2, r2b])), "{context}");
                middle.extend(addresses);
            }
            // UDP and TCP flows differ in their source ports, which r1
            // hashes (policy 1), so both paths show. With a fair hash all 16
            // flows take one path with probability 2·2^-16 = 2^-15, for each
            // of the four family and mode pairs: a false failure about once
            // in 8,000 runs. ICMP flows differ in identifier and checksum,
            // which Linux leaves out of the multipath hash (it finds no
            // ports in ICMP): in every run so far all 16 ICMP flows, v4 and
            // v6, took one and the same path (as did 20 `ping -t 2` by hand,
            // each with its own identifier), so for ICMP only the pinning
            // above holds.
            if mode != "icmp" {
                assert_eq!(middle, BTreeSet::from([r2, r2b]), "{mode} {family:?}");
            }
        }
        // Classic traceroute changes the ports with every probe, so its
        // probes at one hop scatter over both paths. It sends at most 10 a
        // hop, so two runs: 20 probes at hop 2 all take one path with
        // probability 2·2^-20 = 2^-19.
        let target = topo.h2_addr(family).to_string();
        let args = [family.flag(), "-q", "10", "-w", "1", "-m", "2", &target];
        let theirs: BTreeSet<IpAddr> = (0..2)
            .flat_map(|_| peers::traceroute(&topo.h1(), &args).swap_remove(1))
            .collect();
        assert_eq!(theirs, BTreeSet::from([r2, r2b]), "traceroute {family:?}");
    }
}

#[test]
fn a_silent_router_is_a_silent_hop_and_unreachable_names_the_router() {
    let options = Options {
        silent_router: Some(2),
        ..Options::default()
    };
    let Some(topo) = Topology::build(options) else {
        return;
    };
    let mut run = AgentRun::new("auto");
    for family in Family::BOTH {
        let f = family_name(family);
        run.check(
            &format!("trace-{f}"),
            "traceroute",
            topo.h2_addr(family),
            "max_hops = 10\ntimeout_ms = 500",
        );
        run.check(
            &format!("trace-unreachable-{f}"),
            "traceroute",
            topo.unreachable_addr(family),
            "max_hops = 10\ntimeout_ms = 500",
        );
        run.check(
            &format!("ping-unreachable-{f}"),
            "ping",
            topo.unreachable_addr(family),
            "count = 3\ninterval_ms = 10\ntimeout_ms = 500",
        );
        run.check(
            &format!("ping-prohibit-{f}"),
            "ping",
            topo.prohibit_addr(family),
            "count = 3\ninterval_ms = 10\ntimeout_ms = 500",
        );
    }
    let (results, _) = run.run(&topo.h1(), None);
    for family in Family::BOTH {
        let f = family_name(family);
        let r = &results[&format!("trace-{f}")];
        assert_eq!(r.status, Status::Ok, "{r:#?}");
        let mut expected: Vec<Vec<IpAddr>> =
            topo.hops(family).into_iter().map(|a| vec![a]).collect();
        expected[1].clear();
        assert_eq!(
            hops(r),
            expected,
            "{family:?}: hop 2 silent, the trace goes on"
        );
        let loss: BTreeMap<String, f64> = by_label(r, "hop_loss", "hop").into_iter().collect();
        assert_eq!(loss["2"], 1.0);
        let (path, _) = by_label(r, "path_fingerprint", "path").remove(0);
        assert_eq!(path.split(',').nth(1), Some("*"), "{path}");

        let r3 = topo.router_addr(3, family).to_string();
        let r = &results[&format!("trace-unreachable-{f}")];
        assert_eq!(r.status, Status::Unreachable, "{r:#?}");
        assert!(r.message.as_deref().unwrap_or("").contains(&r3), "{r:#?}");
        for (check, v4_code, v6_code) in [("ping-unreachable", 1, 0), ("ping-prohibit", 13, 1)] {
            let code = if family == Family::V4 {
                v4_code
            } else {
                v6_code
            };
            let r = &results[&format!("{check}-{f}")];
            assert_eq!(r.status, Status::Unreachable, "{r:#?}");
            let message = r.message.as_deref().unwrap_or("");
            assert!(message.contains(&r3), "{check}: {message}");
            assert!(
                message.contains(&format!("code {code}")),
                "{check}: {message}"
            );
        }
        // iputils sees the same router say the same thing.
        let peer = peers::iputils_ping(&topo.h1(), topo.unreachable_addr(family), 1, 0.2, &[]);
        assert!(
            peer.errors.iter().any(|e| e.from.to_string() == r3),
            "{}",
            peer.output
        );
    }
}

#[test]
fn injected_loss_is_measured_within_tolerance() {
    let options = Options {
        loss_percent: Some((1, 10)),
        ..Options::default()
    };
    let Some(topo) = Topology::build(options) else {
        return;
    };
    let mut run = AgentRun::new("auto");
    run.check(
        "ping-loss",
        "ping",
        topo.h2_addr(Family::V4),
        "count = 1000\ninterval_ms = 2\ntimeout_ms = 1000",
    );
    let (results, _) = run.run(&topo.h1(), None);
    let r = &results["ping-loss"];
    assert_eq!(r.status, Status::Ok, "{r:#?}");
    let ours = metric(r, "loss");
    let peer = peers::iputils_ping(&topo.h1(), topo.h2_addr(Family::V4), 1000, 0.002, &[]);
    let theirs = peer.loss();
    // 1000 Bernoulli trials at p = 0.1: σ = √(0.1·0.9/1000) ≈ 0.0095, so
    // ±0.04 is over 4σ (a false failure about once in 30,000 runs); the
    // difference of two such measurements has σ ≈ 0.0134, ±0.055 ≈ 4σ.
    assert!((0.06..=0.14).contains(&ours), "agent measured {ours}");
    assert!((0.06..=0.14).contains(&theirs), "iputils measured {theirs}");
    assert!(
        (ours - theirs).abs() <= 0.055,
        "agent {ours} vs iputils {theirs}"
    );
    assert_eq!(metric(r, "sent"), 1000.0);
}

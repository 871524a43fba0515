//! The `ping` and `traceroute` plugins end to end: the real agent binary runs
//! inside h1 of a five-namespace topology (h1 — r1 — r2 — r3 — h2, IPv4 and
//! IPv6, see `support/topo.rs`), as root and as an unprivileged user, and its
//! results are compared with the topology and with iputils `ping` and
//! `traceroute` run in the same namespace.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

use support::peers;
use support::topo::{Family, Options, Topology};
use vantage_protocol::result::{CheckResult, Status};

/// One agent configuration, run once inside a namespace.
struct AgentRun {
    dir: tempfile::TempDir,
    checks: String,
    mode: &'static str,
}

impl AgentRun {
    fn new(mode: &'static str) -> AgentRun {
        let dir = tempfile::Builder::new()
            .prefix("vantage-icmp-")
            .tempdir()
            .unwrap();
        // The unprivileged runs read the configuration and write the cache.
        set_mode(dir.path(), 0o777);
        AgentRun {
            dir,
            checks: String::new(),
            mode,
        }
    }

    fn check(&mut self, name: &str, plugin: &str, target: IpAddr, config: &str) -> &mut Self {
        self.checks.push_str(&format!(
            "[[check]]\nname = \"{name}\"\nplugin = \"{plugin}\"\ntargets = [\"{target}\"]\n\
             interval = \"1h\"\ntimeout = \"20s\"\n[check.config]\n{config}\n\n"
        ));
        self
    }

    /// Runs the agent in `ns` (as `uid` when given) and returns its results
    /// by check name, and its log.
    fn run(&self, ns: &str, uid: Option<u32>) -> (BTreeMap<String, CheckResult>, String) {
        let plugins = support::plugin_dir();
        let config = format!(
            "[agent]\nname = \"h1\"\ndata_dir = \"{data}\"\n\
             [trust]\nkeys = [\"{key}\"]\n[plugins]\ndirs = [\"{plugins}\"]\n\
             [icmp]\nmode = \"{mode}\"\n\n{checks}",
            data = self.dir.path().join("data").display(),
            key = plugins.join("dev.pub").display(),
            plugins = plugins.display(),
            mode = self.mode,
            checks = self.checks,
        );
        let path = self.dir.path().join("agent.toml");
        std::fs::write(&path, config).unwrap();
        set_mode(&path, 0o644);
        let agent = PathBuf::from(env!("CARGO_BIN_EXE_vantage-agent"));
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns]);
        if let Some(uid) = uid {
            command.args([
                "setpriv",
                &format!("--reuid={uid}"),
                &format!("--regid={uid}"),
                "--clear-groups",
            ]);
        }
        let out = command
            .arg(&agent)
            .args(["run", "--once", "--config"])
            .arg(&path)
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "agent failed: {log}");
        let results = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<CheckResult>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .map(|r| (r.check.clone(), r))
            .collect();
        (results, log)
    }
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

/// The values of one metric, by the value of one label.
fn by_label(r: &CheckResult, metric: &str, label: &str) -> Vec<(String, f64)> {
    r.samples
        .iter()
        .filter(|s| s.metric == metric)
        .map(|s| (s.labels.get(label).cloned().unwrap_or_default(), s.value))
        .collect()
}

fn metric(r: &CheckResult, metric: &str) -> f64 {
    r.samples
        .iter()
        .find(|s| s.metric == metric)
        .unwrap_or_else(|| panic!("no `{metric}` in {r:#?}"))
        .value
}

/// The hops a traceroute result lists: per hop number, its addresses
/// (empty for a silent hop), up to the last hop reported.
fn hops(r: &CheckResult) -> Vec<Vec<IpAddr>> {
    let mut hops: BTreeMap<u32, Vec<IpAddr>> = BTreeMap::new();
    for (hop, _) in by_label(r, "hop_loss", "hop") {
        hops.entry(hop.parse().unwrap()).or_default();
    }
    for s in r.samples.iter().filter(|s| s.metric == "hop_rtt") {
        let hop: u32 = s.labels["hop"].parse().unwrap();
        let addr: IpAddr = s.labels["address"].parse().unwrap();
        let entry = hops.entry(hop).or_default();
        if !entry.contains(&addr) {
            entry.push(addr);
        }
    }
    hops.into_values().collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn ping_in_both_socket_modes_agrees_with_iputils() {
    let Some(topo) = Topology::build(Options::default()) else {
        return;
    };
    for mode in ["dgram", "raw"] {
        let mut run = AgentRun::new(mode);
        for family in Family::BOTH {
            run.check(
                &format!("ping-{}", family_name(family)),
                "ping",
                topo.h2_addr(family),
                "count = 20\ninterval_ms = 10\ntimeout_ms = 1000",
            );
        }
        let (results, log) = run.run(&topo.h1(), None);
        assert!(
            log.contains(&format!("mode=\"{mode}\"")) || log.contains(&format!("mode={mode}")),
            "the agent logs its ICMP mode: {log}"
        );
        for family in Family::BOTH {
            let r = &results[&format!("ping-{}", family_name(family))];
            assert_eq!(r.status, Status::Ok, "{mode} {family:?}: {r:#?}");
            assert_eq!(metric(r, "loss"), 0.0);
            let rtts: Vec<f64> = by_label(r, "rtt", "seq")
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            assert_eq!(rtts.len(), 20, "every packet's RTT is reported");
            // Three routers between the hosts: the reply arrives with 61.
            for (_, ttl) in by_label(r, "reply_ttl", "seq") {
                assert_eq!(ttl, 61.0, "{mode} {family:?}");
            }
            let peer = peers::iputils_ping(&topo.h1(), topo.h2_addr(family), 20, 0.01, &[]);
            assert_eq!(peer.received, 20, "{}", peer.output);
            assert!(peer.output.contains("ttl=61"), "{}", peer.output);
            // Same path, same kernel: the medians agree to well within a
            // millisecond (the accuracy figure is a benchmark, not a test).
            let ours = median(&mut rtts.clone()) * 1e3;
            let theirs = median(&mut peer.rtts_ms.clone());
            assert!(
                (ours - theirs).abs() < 1.0,
                "{mode} {family:?}: agent {ours:.3} ms vs iputils {theirs:.3} ms"
            );
            let min = metric(r, "rtt_min");
            let max = metric(r, "rtt_max");
            let avg = metric(r, "rtt_avg");
            assert!(min > 0.0 && min <= avg && avg <= max, "{min} {avg} {max}");
        }
    }
}

#[test]
fn traceroute_lists_the_topology_in_every_mode_like_traceroute() {
    let Some(topo) = Topology::build(Options::default()) else {
        return;
    };
    let port = 8443;
    let _listener = topo.tcp_listener(port);
    let mut run = AgentRun::new("auto");
    for family in Family::BOTH {
        for mode in ["icmp", "udp", "tcp"] {
            run.check(
                &format!("trace-{mode}-{}", family_name(family)),
                "traceroute",
                topo.h2_addr(family),
                &format!("mode = \"{mode}\"\nport = {port}\nmax_hops = 10\ntimeout_ms = 1000"),
            );
        }
    }
    let (results, _) = run.run(&topo.h1(), None);
    for family in Family::BOTH {
        let expected: Vec<Vec<IpAddr>> = topo.hops(family).into_iter().map(|a| vec![a]).collect();
        for (mode, peer_args) in [
            ("icmp", vec!["-I"]),
            ("udp", vec![]),
            ("tcp", vec!["-T", "-p", "8443"]),
        ] {
            let r = &results[&format!("trace-{mode}-{}", family_name(family))];
            assert_eq!(r.status, Status::Ok, "{mode} {family:?}: {r:#?}");
            assert_eq!(hops(r), expected, "{mode} {family:?}: {r:#?}");
            assert_eq!(metric(r, "hop_count"), 4.0);
            for (hop, loss) in by_label(r, "hop_loss", "hop") {
                assert_eq!(loss, 0.0, "{mode} {family:?} hop {hop}");
            }
            let target = topo.h2_addr(family).to_string();
            let mut args = vec![family.flag(), "-q", "1", "-w", "1", "-m", "10"];
            args.extend(peer_args.iter().copied());
            args.push(&target);
            let theirs = peers::traceroute(&topo.h1(), &args);
            assert_eq!(hops(r), theirs, "{mode} {family:?}: agent vs traceroute");
        }
        // One path, one fingerprint, whatever the probe type.
        let prints: Vec<(String, f64)> = ["icmp", "udp", "tcp"]
            .iter()
            .flat_map(|m| {
                by_label(
                    &results[&format!("trace-{m}-{}", family_name(family))],
                    "path_fingerprint",
                    "path",
                )
            })
            .collect();
        assert!(prints.windows(2).all(|w| w[0] == w[1]), "{prints:?}");
    }
}

/// Per flow, per hop, the addresses that answered and how many answers.
fn paths_by_flow(r: &CheckResult) -> BTreeMap<u16, BTreeMap<u32, (BTreeSet<IpAddr>, usize)>> {
    let mut flows: BTreeMap<u16, BTreeMap<u32, (BTreeSet<IpAddr>, usize)>> = BTreeMap::new();
    for s in r.samples.iter().filter(|s| s.metric == "hop_rtt") {
        let hop = flows
            .entry(s.labels["flow"].parse().unwrap())
            .or_default()
            .entry(s.labels["hop"].parse().unwrap())
            .or_default();
        hop.0.insert(s.labels["address"].parse().unwrap());
        hop.1 += 1;
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

#[test]
fn unprivileged_agent_uses_ping_sockets_and_says_why_when_it_cannot() {
    const NOBODY: u32 = 65534;
    let Some(topo) = Topology::build(Options::default()) else {
        return;
    };
    let port = 8443;
    let _listener = topo.tcp_listener(port);
    let mut run = AgentRun::new("auto");
    for family in Family::BOTH {
        let f = family_name(family);
        run.check(
            &format!("ping-{f}"),
            "ping",
            topo.h2_addr(family),
            "count = 5\ninterval_ms = 10",
        );
        for mode in ["icmp", "udp", "tcp"] {
            run.check(
                &format!("trace-{mode}-{f}"),
                "traceroute",
                topo.h2_addr(family),
                &format!("mode = \"{mode}\"\nport = {port}\nmax_hops = 10\ntimeout_ms = 1000"),
            );
        }
    }
    let (results, log) = run.run(&topo.h1(), Some(NOBODY));
    assert!(log.contains("dgram"), "{log}");
    for family in Family::BOTH {
        let f = family_name(family);
        let expected: Vec<Vec<IpAddr>> = topo.hops(family).into_iter().map(|a| vec![a]).collect();
        assert_eq!(results[&format!("ping-{f}")].status, Status::Ok);
        for mode in ["icmp", "udp", "tcp"] {
            let r = &results[&format!("trace-{mode}-{f}")];
            assert_eq!(
                r.status,
                Status::Ok,
                "unprivileged {mode} {family:?}: {r:#?}"
            );
            assert_eq!(hops(r), expected, "unprivileged {mode} {family:?}");
        }
    }

    // Without ping_group_range, an unprivileged agent cannot probe: every
    // ping fails with a message naming the sysctl, and the log says so at
    // start. Root falls back to raw sockets.
    let closed = Topology::build(Options {
        ping_group_range_h1: false,
        ..Options::default()
    })
    .expect("built above");
    let mut run = AgentRun::new("auto");
    run.check(
        "ping",
        "ping",
        closed.h2_addr(Family::V4),
        "count = 2\ninterval_ms = 10",
    );
    let (results, log) = run.run(&closed.h1(), Some(NOBODY));
    let r = &results["ping"];
    assert_eq!(r.status, Status::Error, "{r:#?}");
    let message = r.message.as_deref().unwrap_or("");
    assert!(message.contains("ping_group_range"), "{message}");
    assert!(
        log.contains("ping_group_range") && log.contains("CAP_NET_RAW"),
        "{log}"
    );
    let (results, log) = run.run(&closed.h1(), None);
    assert_eq!(results["ping"].status, Status::Ok);
    assert!(log.contains("raw"), "{log}");
}

#[test]
fn bad_plugin_configuration_is_refused_naming_the_field() {
    for (plugin, config, field) in [
        ("ping", "count = 0", "count"),
        ("ping", "interval_ms = -5", "interval_ms"),
        ("ping", "family = \"ipx\"", "family"),
        ("traceroute", "max_hops = 0", "max_hops"),
        ("traceroute", "max_hops = 65", "max_hops"),
        ("traceroute", "mode = \"sctp\"", "mode"),
        ("traceroute", "queries = 0", "queries"),
    ] {
        let mut run = AgentRun::new("auto");
        run.check("bad", plugin, "127.0.0.1".parse().unwrap(), config);
        let plugins = support::plugin_dir();
        let path = run.dir.path().join("agent.toml");
        std::fs::write(
            &path,
            format!(
                "[trust]\nkeys = [\"{}\"]\n[plugins]\ndirs = [\"{}\"]\n[agent]\ndata_dir = \"{}\"\n\n{}",
                plugins.join("dev.pub").display(),
                plugins.display(),
                run.dir.path().join("data").display(),
                run.checks
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_vantage-agent"))
            .args(["check", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{plugin} {config}: {stderr}");
        assert!(stderr.contains(field), "{plugin} {config}: {stderr}");
    }
}

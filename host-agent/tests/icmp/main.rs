//! The `ping` and `traceroute` plugins end to end: the real agent binary runs
//! inside h1 of a five-namespace topology (h1 — r1 — r2 — r3 — h2, IPv4 and
//! IPv6, see `support/topo.rs`), as root and as an unprivileged user, and its
//! results are compared with the topology and with iputils `ping` and
//! `traceroute` run in the same namespace.

#[path = "../support/mod.rs"]
mod support;

mod faults;

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
    for d in r.distributions_of("hop_rtt") {
        let hop: u32 = d.labels["hop"].parse().unwrap();
        let addr: IpAddr = d.labels["address"].parse().unwrap();
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
            let rtts = &r.distributions_of("rtt").next().expect("rtt").values;
            assert_eq!(
                rtts.len(),
                20,
                "every packet's RTT is reported, in one distribution"
            );
            // Three routers between the hosts: the reply arrives with 61.
            let ttls = &r
                .distributions_of("reply_ttl")
                .next()
                .expect("reply_ttl")
                .values;
            assert_eq!(ttls, &[61.0; 20], "{mode} {family:?}");
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

//! Traceroute: wall time and hop list of a trace from h1 to h2 (three
//! routers), the agent's traceroute plugin in icmp, udp and tcp mode
//! against traceroute and mtr in the same modes, IPv4 and IPv6.

use std::collections::{BTreeMap, BTreeSet};

use super::super::lab::Family;
use super::{Icmp, Startup, median, ms, samples, table};

/// A port h2 listens on, for TCP traces.
const PORT: u16 = 8443;
/// Runs per agent mode and traceroute mode (mtr, paced at one round a
/// second, runs once).
const REPEATS: usize = 3;

/// Hop number → the addresses that answered there.
type Hops = BTreeMap<u32, BTreeSet<String>>;

/// One way of tracing: who, in what mode, and the command line.
struct Tracer {
    name: &'static str,
    program: &'static str,
    args: Vec<String>,
}

pub(super) fn run(icmp: &Icmp, startup: &Startup) -> anyhow::Result<()> {
    let _listener = icmp.lab.tcp_listener(PORT)?;
    let port = PORT.to_string();
    let mut rows = Vec::new();
    for family in Family::BOTH {
        let target = icmp.lab.h2_addr(family).to_string();
        let expected: Hops = (1..)
            .zip(icmp.lab.hops(family))
            .map(|(hop, a)| (hop, BTreeSet::from([a.to_string()])))
            .collect();
        for mode in ["icmp", "udp", "tcp"] {
            let port = if mode == "tcp" {
                format!(", port = {PORT}")
            } else {
                String::new()
            };
            let check = format!(
                "\n[[check]]\nname = \"trace\"\nplugin = \"traceroute\"\ntargets = [\"{target}\"]\n\
                 interval = \"1h\"\ntimeout = \"60s\"\n\
                 config = {{ mode = \"{mode}\", queries = 3, max_hops = 30, timeout_ms = 1000{port} }}\n"
            );
            let name = format!("trace-{}-{mode}", family.name().to_lowercase());
            icmp.write_config(&name, "", "auto", &check)?;
            let mut walls = Vec::new();
            let (mut hops, mut packets) = (Hops::new(), 0);
            for _ in 0..REPEATS {
                let before = icmp.lab.h1_packets_out()?;
                let run = icmp.agent(&name)?;
                packets = icmp.lab.h1_packets_out()? - before;
                super::expect_ok(&run, &name)?;
                walls.push(run.finished.wall.as_secs_f64());
                hops = agent_hops(&run.results[0]);
            }
            let wall = median(&mut walls);
            rows.push(vec![
                family.name().to_owned(),
                format!("agent, mode = \"{mode}\""),
                format!("{:.1}", wall * 1e3),
                format!("{:.1}", wall * 1e3 - ms(startup.wall)),
                packets.to_string(),
                compare(&hops, &expected),
            ]);
        }
        let f = family.flag();
        let tracers = [
            (
                "traceroute (udp)",
                "traceroute",
                vec![f, "-n", "-q", "3", "-w", "1"],
            ),
            (
                "traceroute -I",
                "traceroute",
                vec![f, "-I", "-n", "-q", "3", "-w", "1"],
            ),
            (
                "traceroute -T",
                "traceroute",
                vec![f, "-T", "-p", &port, "-n", "-q", "3", "-w", "1"],
            ),
            ("mtr (icmp)", "mtr", vec![f, "--report", "-n", "-c", "3"]),
            ("mtr -u", "mtr", vec![f, "--report", "-n", "-c", "3", "-u"]),
            (
                "mtr -T",
                "mtr",
                vec![f, "--report", "-n", "-c", "3", "-T", "-P", &port],
            ),
        ]
        .map(|(name, program, args)| Tracer {
            name,
            program,
            args: args
                .into_iter()
                .map(String::from)
                .chain([target.clone()])
                .collect(),
        });
        for tracer in &tracers {
            let repeats = if tracer.program == "mtr" { 1 } else { REPEATS };
            let file = format!(
                "trace-{}-{}",
                family.name().to_lowercase(),
                tracer.name.replace([' ', '(', ')'], "")
            );
            let mut walls = Vec::new();
            let (mut hops, mut packets) = (Hops::new(), 0);
            for _ in 0..repeats {
                let before = icmp.lab.h1_packets_out()?;
                let run = icmp.tool(&file, tracer.program, &tracer.args)?;
                packets = icmp.lab.h1_packets_out()? - before;
                walls.push(run.finished.wall.as_secs_f64());
                hops = if tracer.program == "mtr" {
                    mtr_hops(&run.stdout)
                } else {
                    traceroute_hops(&run.stdout)
                };
            }
            rows.push(vec![
                family.name().to_owned(),
                format!("`{} {}`", tracer.program, tracer.args.join(" ")),
                format!("{:.1}", median(&mut walls) * 1e3),
                String::new(),
                packets.to_string(),
                compare(&hops, &expected),
            ]);
        }
    }
    println!(
        "\nTraceroute from h1 to h2 (3 routers, 4 hops), 3 queries per hop, 30 hops at most; \
         wall time in ms, median of {REPEATS} (mtr: 1); TCP to a listener on port {PORT}; \
         agent start {:.1} ms; packets: what left h1 during one run:",
        ms(startup.wall)
    );
    table(
        &[
            "family",
            "tracer",
            "wall ms",
            "less agent start",
            "packets",
            "hops",
        ],
        &rows,
    );
    Ok(())
}

/// The hops the agent reported (`hop_rtt` labels), up to `hop_count` when
/// the destination was reached.
fn agent_hops(result: &vantage_protocol::result::CheckResult) -> Hops {
    let last = samples(result, "hop_count").next().map(|s| s.value as u32);
    let mut hops = Hops::new();
    for d in result.distributions_of("hop_rtt") {
        let (Some(hop), Some(address)) = (
            d.labels.get("hop").and_then(|h| h.parse::<u32>().ok()),
            d.labels.get("address"),
        ) else {
            continue;
        };
        if last.is_none_or(|last| hop <= last) {
            hops.entry(hop).or_default().insert(address.clone());
        }
    }
    hops
}

/// `traceroute -n` lines: ` 2  10.199.2.2  0.014 ms  0.007 ms  *`.
fn traceroute_hops(stdout: &str) -> Hops {
    let mut hops = Hops::new();
    for line in stdout.lines().skip(1) {
        let mut words = line.split_whitespace();
        let Some(Ok(hop)) = words.next().map(str::parse::<u32>) else {
            continue;
        };
        let addresses = hops.entry(hop).or_default();
        addresses.extend(
            words
                .filter(|w| w.parse::<std::net::IpAddr>().is_ok())
                .map(str::to_owned),
        );
    }
    hops
}

/// `mtr --report -n` lines: `  2.|-- 10.199.2.2   0.0%   3   0.1 …`, and
/// `    |-- 10.199.9.9` for a further address of the hop above.
fn mtr_hops(stdout: &str) -> Hops {
    let mut hops = Hops::new();
    let mut hop = 0;
    for line in stdout.lines() {
        let Some((left, right)) = line.split_once("|--") else {
            continue;
        };
        if let Ok(n) = left.trim().trim_end_matches('.').parse::<u32>() {
            hop = n;
        }
        let addresses = hops.entry(hop).or_default();
        if let Some(address) = right.split_whitespace().next()
            && address.parse::<std::net::IpAddr>().is_ok()
        {
            addresses.insert(address.to_owned());
        }
    }
    hops
}

/// "4 hops, as expected", or what differs from the expected hop list.
fn compare(got: &Hops, expected: &Hops) -> String {
    if got == expected {
        return "4 hops, as expected".to_owned();
    }
    let mut differences = Vec::new();
    for hop in expected.keys().chain(got.keys()).collect::<BTreeSet<_>>() {
        let (want, have) = (expected.get(hop), got.get(hop));
        if want != have {
            let list = |s: Option<&BTreeSet<String>>| match s {
                Some(s) if !s.is_empty() => s.iter().cloned().collect::<Vec<_>>().join(","),
                _ => "*".to_owned(),
            };
            differences.push(format!(
                "hop {hop}: {} (expected {})",
                list(have),
                list(want)
            ));
        }
    }
    format!("**differs**: {}", differences.join("; "))
}

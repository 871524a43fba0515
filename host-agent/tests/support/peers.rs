//! The classic tools as reference peers: iputils `ping`, `traceroute` and
//! `mtr` run inside a namespace, with parsers for the output they print on
//! Debian 12 (iputils 20221126, traceroute 2.1.2, mtr-tiny 0.95).

use std::net::IpAddr;

use super::topo::exec;

/// What `ping -n` printed.
#[derive(Clone, Debug, Default)]
pub struct PingReport {
    /// "N packets transmitted".
    pub sent: u32,
    /// "M received".
    pub received: u32,
    /// Every `time=` of an echo reply, in order.
    pub rtts_ms: Vec<f64>,
    /// Every "From <addr> icmp_seq=<n> <message>" line (ICMP errors).
    pub errors: Vec<PingError>,
    /// The whole output, for assertion messages.
    pub output: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PingError {
    pub from: IpAddr,
    pub seq: u32,
    /// For example "Destination Host Unreachable".
    pub message: String,
}

impl PingReport {
    /// The share of echo requests without a reply, 0.0..=1.0.
    pub fn loss(&self) -> f64 {
        1.0 - f64::from(self.received) / f64::from(self.sent.max(1))
    }
}

/// `ping -n -c <count> -i <interval_s> <extra…> <target>` inside `ns`.
pub fn iputils_ping(
    ns: &str,
    target: IpAddr,
    count: u32,
    interval_s: f64,
    extra: &[&str],
) -> PingReport {
    let (count, interval, target) = (
        count.to_string(),
        interval_s.to_string(),
        target.to_string(),
    );
    let mut args = vec!["-n", "-c", &count, "-i", &interval];
    args.extend(extra);
    args.push(&target);
    parse_ping(&output(ns, "ping", &args))
}

/// Parses iputils `ping -n` output, for example
/// `64 bytes from 10.220.4.2: icmp_seq=1 ttl=61 time=0.152 ms`,
/// `From 10.220.3.2 icmp_seq=1 Destination Host Unreachable` and
/// `3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 408ms`.
pub fn parse_ping(output: &str) -> PingReport {
    let mut report = PingReport {
        output: output.to_owned(),
        ..PingReport::default()
    };
    let mut summary = false;
    for line in output.lines() {
        if let Some(time) = line
            .split(" time=")
            .nth(1)
            .filter(|_| line.contains(" bytes from "))
        {
            let ms = time.split_whitespace().next().unwrap_or_default();
            report.rtts_ms.push(
                ms.parse()
                    .unwrap_or_else(|_| panic!("bad time in {line:?}")),
            );
        } else if let Some(rest) = line.strip_prefix("From ") {
            let mut words = rest.splitn(3, ' ');
            let from = words.next().and_then(|w| w.parse().ok());
            let seq = words
                .next()
                .and_then(|w| w.strip_prefix("icmp_seq="))
                .and_then(|s| s.parse().ok());
            let (Some(from), Some(seq)) = (from, seq) else {
                panic!("unexpected ping line {line:?} in\n{output}");
            };
            let message = words.next().unwrap_or_default().to_owned();
            report.errors.push(PingError { from, seq, message });
        } else if line.contains(" packets transmitted, ") {
            for part in line.split(", ") {
                let mut words = part.split_whitespace();
                let number = words.next().and_then(|n| n.parse().ok());
                match (number, words.next()) {
                    (Some(n), Some("packets")) => report.sent = n,
                    (Some(n), Some("received")) => report.received = n,
                    _ => {}
                }
            }
            summary = true;
        }
    }
    assert!(summary, "no ping summary in\n{output}");
    report
}

/// `traceroute -n <args…>` inside `ns`: the addresses that answered each
/// hop (empty for a hop of `*`).
pub fn traceroute(ns: &str, args: &[&str]) -> Vec<Vec<IpAddr>> {
    let mut all = vec!["-n"];
    all.extend(args);
    parse_traceroute(&output(ns, "traceroute", &all))
}

/// Parses `traceroute -n` output: a header line, then one line a hop,
/// ` 2  10.220.2.2  0.036 ms  0.014 ms !H` or ` 2  * 10.220.2.2  0.1 ms *`.
pub fn parse_traceroute(output: &str) -> Vec<Vec<IpAddr>> {
    let mut hops: Vec<Vec<IpAddr>> = Vec::new();
    for line in output
        .lines()
        .skip_while(|l| !l.starts_with("traceroute to "))
        .skip(1)
    {
        let mut words = line.split_whitespace();
        let hop: usize = words
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("unexpected traceroute line {line:?} in\n{output}"));
        assert_eq!(hop, hops.len() + 1, "hops out of order in\n{output}");
        let mut addrs = Vec::new();
        for addr in words.filter_map(|w| w.parse::<IpAddr>().ok()) {
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        hops.push(addrs);
    }
    assert!(!hops.is_empty(), "no hops in traceroute output\n{output}");
    hops
}

/// `mtr --report -n <args…>` inside `ns`: each hop's address, `None` for
/// `???` (pass `-c`, `-i` and `-G` to keep it short).
pub fn mtr_report(ns: &str, args: &[&str]) -> Vec<Option<IpAddr>> {
    let mut all = vec!["--report", "-n"];
    all.extend(args);
    parse_mtr_report(&output(ns, "mtr", &all))
}

/// Parses `mtr --report -n` output, whose hop lines look like
/// `  1.|-- 10.220.1.2    0.0%     3    0.1   0.1   0.1   0.1   0.0` and
/// `  2.|-- ???          100.0     3    0.0 …`.
pub fn parse_mtr_report(output: &str) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for line in output.lines() {
        let Some((hop, rest)) = line.trim_start().split_once(".|-- ") else {
            continue; // "Start:", "HOST:" and the extra-responder lines
        };
        let hop: usize = hop
            .parse()
            .unwrap_or_else(|_| panic!("bad mtr line {line:?}"));
        assert_eq!(hop, hops.len() + 1, "hops out of order in\n{output}");
        let host = rest.split_whitespace().next().unwrap_or_default();
        hops.push(match host {
            "???" => None,
            _ => Some(
                host.parse()
                    .unwrap_or_else(|_| panic!("bad mtr host in {line:?}")),
            ),
        });
    }
    assert!(!hops.is_empty(), "no hops in mtr output\n{output}");
    hops
}

/// Runs a tool in `ns` and returns its standard output, panicking with its
/// standard error when it cannot run at all.
fn output(ns: &str, program: &str, args: &[&str]) -> String {
    let out = exec(ns, program, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // ping exits 1 when replies are missing; 2 and up (and 124/127) mean
    // that the tool itself failed.
    if out.status.code().is_none_or(|c| c > 1) {
        panic!(
            "{program} {args:?} in {ns} failed with {}: {}\n{stdout}\n\
             (the tools come from Debian packages iputils-ping, traceroute and mtr-tiny, \
             which `cargo xtask test` installs)",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    stdout
}

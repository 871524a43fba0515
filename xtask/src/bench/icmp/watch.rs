//! What the kernel saw of a process's ICMP traffic while it ran, read from
//! `/proc/PID/net` (the files of the process's network namespace) every
//! 250 ms: echo requests sent, and datagrams dropped on ICMP sockets; and
//! the SNMP counters of a node of the lab.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::super::lab::Lab;
use super::median;

const EVERY: Duration = Duration::from_millis(250);

/// A running watch; [`NetWatch::stop`] returns what it saw.
pub(super) struct NetWatch {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Watched>,
}

/// What a [`NetWatch`] saw.
#[derive(Debug, Default)]
pub(super) struct Watched {
    /// The most datagrams the namespace's ICMP sockets had dropped for want
    /// of buffer space at any one time (`drops` of
    /// `/proc/PID/net/{icmp,icmp6,raw,raw6}`; the sockets vanish at exit).
    pub(super) socket_drops: u64,
    /// Echo requests sent so far (`IcmpOutEchos` + `Icmp6OutEchos`).
    samples: Vec<(Instant, u64)>,
}

impl NetWatch {
    pub(super) fn start(pid: u32) -> NetWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut watched = Watched::default();
            while !flag.load(Ordering::Relaxed) {
                let now = Instant::now();
                watched.socket_drops = watched.socket_drops.max(socket_drops(pid));
                if let Some(sent) = echo_requests(pid) {
                    watched.samples.push((now, sent));
                }
                std::thread::sleep(EVERY);
            }
            watched
        });
        NetWatch { stop, thread }
    }

    pub(super) fn stop(self) -> Watched {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

impl Watched {
    /// Echo requests per second while sending: the median over every
    /// one-second span between the first and the last increase of the
    /// kernel's counter (0 when there were none).
    pub(super) fn sustained_pps(&self) -> f64 {
        let s = &self.samples;
        let Some(first) = s.windows(2).position(|w| w[1].1 > w[0].1) else {
            return 0.0;
        };
        let last = s.windows(2).rposition(|w| w[1].1 > w[0].1).unwrap_or(first) + 1;
        let mut rates = Vec::new();
        for i in first..=last {
            if let Some(j) = (i..=last).find(|&j| s[j].0 - s[i].0 >= Duration::from_secs(1)) {
                rates.push((s[j].1 - s[i].1) as f64 / (s[j].0 - s[i].0).as_secs_f64());
            }
        }
        median(&mut rates)
    }
}

fn socket_drops(pid: u32) -> u64 {
    let mut sum = 0;
    for table in ["icmp", "icmp6", "raw", "raw6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        // The last column of every socket line is `drops`.
        sum += text
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    sum
}

fn echo_requests(pid: u32) -> Option<u64> {
    let v4 = std::fs::read_to_string(format!("/proc/{pid}/net/snmp")).ok()?;
    let v6 = std::fs::read_to_string(format!("/proc/{pid}/net/snmp6")).ok()?;
    let counters = snmp(&v4, &v6);
    Some(
        counters
            .iter()
            .filter(|(name, _)| name == "IcmpOutEchos" || name == "Icmp6OutEchos")
            .map(|(_, v)| v)
            .sum(),
    )
}

/// `/proc/net/snmp` and `/proc/net/snmp6` of node `i` of the lab (see
/// [`snmp`]).
pub(super) fn node_counters(lab: &Lab, i: usize) -> anyhow::Result<Vec<(String, u64)>> {
    let ns = lab.ns(i);
    let v4 = lab.exec(&ns, "cat", &["/proc/net/snmp"])?;
    let v6 = lab.exec(&ns, "cat", &["/proc/net/snmp6"])?;
    Ok(snmp(&v4, &v6))
}

/// The counters of `/proc/net/snmp` (`v4`) and `/proc/net/snmp6` (`v6`) as
/// `(Group+Name, value)` pairs: `IcmpOutEchos`, `Icmp6InEchoReplies`…
fn snmp(v4: &str, v6: &str) -> Vec<(String, u64)> {
    let mut counters = Vec::new();
    // snmp: a header line of names and a line of values per group.
    let lines: Vec<&str> = v4.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let (Some((group, names)), Some((_, values))) =
            (names.split_once(':'), values.split_once(':'))
        else {
            continue;
        };
        for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
            if let Ok(value) = value.parse() {
                counters.push((format!("{group}{name}"), value));
            }
        }
    }
    // snmp6: one `Name value` per line.
    for line in v6.lines() {
        let mut words = line.split_whitespace();
        if let (Some(name), Some(Ok(value))) = (words.next(), words.next().map(str::parse)) {
            counters.push((name.to_owned(), value));
        }
    }
    counters
}

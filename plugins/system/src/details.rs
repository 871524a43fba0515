//! What the `details` call adds: counts of processes, threads and open
//! handles; per-second rates of each disk's and interface's counters since
//! the previous run (kept in the check's state slot); and the process
//! table, the busiest by CPU and the largest by memory, each once.

use std::collections::BTreeSet;

use vantage_plugin_sdk::prelude::*;
use vantage_plugin_sdk::system::{DetailsSnapshot, ProcessDetail, Snapshot};

/// Adds the details to `out`.
pub(crate) fn report(out: Outcome, stats: &Snapshot, more: &DetailsSnapshot) -> Outcome {
    let mut out = out
        .sample("processes", f64::from(more.processes), Unit::Count)
        .sample("threads", f64::from(more.threads), Unit::Count);
    if let Some(handles) = more.handles {
        out = out.sample("file_handles", handles as f64, Unit::Count);
    }
    for nic in &more.interfaces {
        for (metric, value) in [
            ("net_rx_dropped", nic.rx_dropped),
            ("net_tx_dropped", nic.tx_dropped),
        ] {
            out = out
                .sample(metric, value as f64, Unit::Count)
                .with_label("interface", nic.name.as_str());
        }
    }
    let out = rates(out, stats, more);
    process_table(out, more)
}

/// A counter of this run: metric, label name and value, counter, unit.
type Reading<'a> = (&'static str, &'static str, &'a str, u64, Unit);

/// Per-second rates since the previous run, which saved its counters;
/// nothing on a check's first run. A disk's busy time per second is its
/// utilisation.
fn rates(mut out: Outcome, stats: &Snapshot, more: &DetailsSnapshot) -> Outcome {
    let mut readings: Vec<Reading<'_>> = Vec::new();
    for nic in &stats.interfaces {
        let name = nic.name.as_str();
        readings.extend([
            (
                "net_rx_bytes_per_second",
                "interface",
                name,
                nic.rx_bytes,
                Unit::Bytes,
            ),
            (
                "net_tx_bytes_per_second",
                "interface",
                name,
                nic.tx_bytes,
                Unit::Bytes,
            ),
            (
                "net_rx_packets_per_second",
                "interface",
                name,
                nic.rx_packets,
                Unit::Count,
            ),
            (
                "net_tx_packets_per_second",
                "interface",
                name,
                nic.tx_packets,
                Unit::Count,
            ),
            (
                "net_rx_errors_per_second",
                "interface",
                name,
                nic.rx_errors,
                Unit::Count,
            ),
            (
                "net_tx_errors_per_second",
                "interface",
                name,
                nic.tx_errors,
                Unit::Count,
            ),
        ]);
    }
    for nic in &more.interfaces {
        let name = nic.name.as_str();
        readings.extend([
            (
                "net_rx_dropped_per_second",
                "interface",
                name,
                nic.rx_dropped,
                Unit::Count,
            ),
            (
                "net_tx_dropped_per_second",
                "interface",
                name,
                nic.tx_dropped,
                Unit::Count,
            ),
        ]);
    }
    for disk in &more.disks {
        let name = disk.device.as_str();
        readings.extend([
            (
                "disk_read_bytes_per_second",
                "device",
                name,
                disk.read_bytes,
                Unit::Bytes,
            ),
            (
                "disk_written_bytes_per_second",
                "device",
                name,
                disk.written_bytes,
                Unit::Bytes,
            ),
            (
                "disk_reads_per_second",
                "device",
                name,
                disk.reads,
                Unit::Count,
            ),
            (
                "disk_writes_per_second",
                "device",
                name,
                disk.writes,
                Unit::Count,
            ),
            // Milliseconds busy per second, as a ratio.
            ("disk_busy", "device", name, disk.busy_ms, Unit::Ratio),
        ]);
    }
    let earlier = Counters::previous();
    let mut now = Counters::new(clock::wall_ms());
    for (metric, label, value, counter, unit) in readings {
        let key = counter_key(metric, &[(label.to_owned(), value.to_owned())]);
        now.insert(key.clone(), counter as f64);
        let Some(rate) = earlier.as_ref().and_then(|e| now.rate(e, &key)) else {
            continue;
        };
        let rate = if metric == "disk_busy" {
            rate / 1000.0
        } else {
            rate
        };
        out = out.sample(metric, rate, unit).with_label(label, value);
    }
    if let Err(e) = now.save() {
        log::write(
            log::Level::Warn,
            &format!("counters not kept for the next run: {e}"),
        );
    }
    out
}

/// The busiest processes by CPU and the largest by memory, each process
/// once (labels `pid`, `name` and `user`).
fn process_table(mut out: Outcome, more: &DetailsSnapshot) -> Outcome {
    let mut seen = BTreeSet::new();
    let table: Vec<&ProcessDetail> = more
        .top_cpu
        .iter()
        .chain(&more.top_memory)
        .filter(|p| seen.insert(p.pid))
        .collect();
    for p in table {
        let pid = p.pid.to_string();
        let mut rows = vec![
            ("process_cpu_usage", f64::from(p.cpu_usage), Unit::Ratio),
            ("process_memory", p.memory_bytes as f64, Unit::Bytes),
            ("process_threads", f64::from(p.threads), Unit::Count),
        ];
        if let Some(handles) = p.handles {
            rows.push(("process_handles", f64::from(handles), Unit::Count));
        }
        for (metric, value, unit) in rows {
            out = out
                .sample(metric, value, unit)
                .with_label("pid", pid.as_str())
                .with_label("name", p.name.as_str())
                .with_label("user", p.user.as_str());
        }
    }
    out
}

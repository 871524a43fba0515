//! `system`: the agent machine's CPU, memory, swap, load, uptime, disks,
//! network interfaces and busiest processes, from the host's `system`
//! capability. The check's target is not used. [`details`] adds process,
//! thread and handle counts, disk I/O, interface rates and the process
//! table.

mod details;

use vantage_plugin_sdk::prelude::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_top_processes")]
    top_processes: u32,
}

fn default_top_processes() -> u32 {
    12
}

struct System;

impl Probe for System {
    type Config = Config;

    fn run(_ctx: &Context, config: Config) -> Outcome {
        // The process table comes from `details`, which measures each
        // process's CPU since the previous run.
        let (stats, more) = match (
            system::stats(0),
            system::details(config.top_processes.min(50)),
        ) {
            (Ok(stats), Ok(more)) => (stats, more),
            (Err(problem), _) | (_, Err(problem)) => {
                return Outcome::error(format!("system statistics are unavailable: {problem}"));
            }
        };
        let out = Outcome::ok()
            .sample("cpu_usage", f64::from(stats.cpu_usage), Unit::Ratio)
            .sample("memory_total", stats.memory_total_bytes as f64, Unit::Bytes)
            .sample("memory_used", stats.memory_used_bytes as f64, Unit::Bytes)
            .sample(
                "memory_available",
                stats.memory_available_bytes as f64,
                Unit::Bytes,
            )
            .sample("swap_total", stats.swap_total_bytes as f64, Unit::Bytes)
            .sample("swap_used", stats.swap_used_bytes as f64, Unit::Bytes)
            .sample("load1", stats.load1, Unit::None)
            .sample("load5", stats.load5, Unit::None)
            .sample("load15", stats.load15, Unit::None)
            .sample("uptime", stats.uptime_seconds as f64, Unit::Seconds);
        let out = cores(out, &stats.cores);
        let out = disks(out, &stats.disks);
        let out = interfaces(out, &stats.interfaces);
        details::report(out, &stats, &more)
    }
}

/// Usage and frequency per core (label `core`).
fn cores(mut out: Outcome, cores: &[system::CpuCore]) -> Outcome {
    for core in cores {
        let index = core.index.to_string();
        out = out
            .sample("cpu_usage", f64::from(core.usage), Unit::Ratio)
            .with_label("core", index.as_str())
            .sample("cpu_frequency", core.frequency_mhz as f64, Unit::Megahertz)
            .with_label("core", index);
    }
    out
}

/// Size and free space per file system (labels `mount` and `device`).
fn disks(mut out: Outcome, disks: &[system::Disk]) -> Outcome {
    for disk in disks {
        for (metric, value) in [
            ("disk_total", disk.total_bytes),
            ("disk_available", disk.available_bytes),
        ] {
            out = out
                .sample(metric, value as f64, Unit::Bytes)
                .with_label("mount", disk.mount_point.as_str())
                .with_label("device", disk.name.as_str());
        }
    }
    out
}

/// Counters since boot per network interface (label `interface`).
fn interfaces(mut out: Outcome, interfaces: &[system::InterfaceCounters]) -> Outcome {
    for nic in interfaces {
        for (metric, value, unit) in [
            ("net_rx_bytes", nic.rx_bytes, Unit::Bytes),
            ("net_tx_bytes", nic.tx_bytes, Unit::Bytes),
            ("net_rx_packets", nic.rx_packets, Unit::Count),
            ("net_tx_packets", nic.tx_packets, Unit::Count),
            ("net_rx_errors", nic.rx_errors, Unit::Count),
            ("net_tx_errors", nic.tx_errors, Unit::Count),
        ] {
            out = out
                .sample(metric, value as f64, unit)
                .with_label("interface", nic.name.as_str());
        }
    }
    out
}

vantage_plugin_sdk::export_probe!(System);

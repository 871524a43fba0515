//! `vantage:plugin/system`: statistics of the agent's machine, read with
//! sysinfo on the host (a plugin cannot read `/proc`).
//!
//! One [`SystemStats`] is shared by every run so that CPU usage is measured
//! between consecutive calls, as `top` does.

use std::cmp::Ordering;
use std::sync::Arc;

use sysinfo::{Disks, Networks, ProcessesToUpdate, System};
use tokio::sync::Mutex;
use wasmtime::component::{HasSelf, Linker};

use super::Access;
use crate::bindings::vantage::plugin::system::{
    self, CpuCore, Disk, InterfaceCounters, Process, Snapshot,
};

/// The most processes a plugin may ask for.
const MAX_TOP: u32 = 100;

/// The machine's statistics source, shared across runs.
#[derive(Default)]
pub(crate) struct SystemStats {
    inner: Mutex<Option<Sources>>,
}

impl std::fmt::Debug for SystemStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SystemStats")
    }
}

struct Sources {
    system: System,
    disks: Disks,
    networks: Networks,
}

impl SystemStats {
    /// Reads current statistics. The first read primes the CPU counters and
    /// waits the minimum interval sysinfo needs to compute usage.
    pub(crate) async fn read(&self, top: u32) -> Snapshot {
        let mut guard = self.inner.lock().await;
        let sources = match guard.as_mut() {
            Some(s) => {
                s.system.refresh_cpu_all();
                s.system.refresh_memory();
                s.disks.refresh(true);
                s.networks.refresh(true);
                s
            }
            None => {
                let mut system = System::new();
                system.refresh_cpu_all();
                system.refresh_processes(ProcessesToUpdate::All, true);
                tokio::time::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL).await;
                system.refresh_cpu_all();
                system.refresh_memory();
                guard.insert(Sources {
                    system,
                    disks: Disks::new_with_refreshed_list(),
                    networks: Networks::new_with_refreshed_list(),
                })
            }
        };
        if top > 0 {
            sources
                .system
                .refresh_processes(ProcessesToUpdate::All, true);
        }
        snapshot(sources, top.min(MAX_TOP))
    }
}

fn snapshot(s: &Sources, top: u32) -> Snapshot {
    let sys = &s.system;
    let load = System::load_average();
    let mut processes: Vec<Process> = if top == 0 {
        Vec::new()
    } else {
        sys.processes()
            .values()
            .map(|p| Process {
                pid: p.pid().as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                cpu_usage: p.cpu_usage() / 100.0,
                memory_bytes: p.memory(),
            })
            .collect()
    };
    processes.sort_by(|a, b| {
        b.cpu_usage
            .partial_cmp(&a.cpu_usage)
            .unwrap_or(Ordering::Equal)
    });
    processes.truncate(top as usize);
    Snapshot {
        hostname: System::host_name().unwrap_or_default(),
        cpu_usage: sys.global_cpu_usage() / 100.0,
        cores: sys
            .cpus()
            .iter()
            .enumerate()
            .map(|(i, c)| CpuCore {
                index: i as u32,
                usage: c.cpu_usage() / 100.0,
                frequency_mhz: c.frequency(),
            })
            .collect(),
        memory_total_bytes: sys.total_memory(),
        memory_used_bytes: sys.used_memory(),
        memory_available_bytes: sys.available_memory(),
        swap_total_bytes: sys.total_swap(),
        swap_used_bytes: sys.used_swap(),
        load1: load.one,
        load5: load.five,
        load15: load.fifteen,
        uptime_seconds: System::uptime(),
        disks: s
            .disks
            .iter()
            .map(|d| Disk {
                name: d.name().to_string_lossy().into_owned(),
                mount_point: d.mount_point().to_string_lossy().into_owned(),
                file_system: d.file_system().to_string_lossy().into_owned(),
                total_bytes: d.total_space(),
                available_bytes: d.available_space(),
            })
            .collect(),
        interfaces: s
            .networks
            .iter()
            .map(|(name, n)| InterfaceCounters {
                name: name.clone(),
                rx_bytes: n.total_received(),
                tx_bytes: n.total_transmitted(),
                rx_packets: n.total_packets_received(),
                tx_packets: n.total_packets_transmitted(),
                rx_errors: n.total_errors_on_received(),
                tx_errors: n.total_errors_on_transmitted(),
            })
            .collect(),
        top_processes: processes,
    }
}

pub(crate) struct SystemCap {
    access: Access,
    stats: Arc<SystemStats>,
}

impl SystemCap {
    pub(crate) fn new(access: Access, stats: Arc<SystemStats>) -> Self {
        SystemCap { access, stats }
    }
}

impl system::Host for SystemCap {
    async fn stats(&mut self, top_processes: u32) -> wasmtime::Result<Result<Snapshot, String>> {
        self.access.charge(1)?;
        if let Err(e) = self.access.granted() {
            return Ok(Err(match e {
                crate::bindings::NetError::Denied(m) => m,
                other => format!("{other:?}"),
            }));
        }
        Ok(Ok(self.stats.read(top_processes).await))
    }
}

/// Adds `vantage:plugin/system` to `linker`, served by the [`SystemCap`] that `get`
/// finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut SystemCap,
) -> wasmtime::Result<()> {
    system::add_to_linker::<T, HasSelf<SystemCap>>(linker, get)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use vantage_protocol::manifest::Capability;

    use super::*;
    use crate::caps::access::tests::{bounds, granted};

    #[tokio::test]
    async fn a_granted_run_reads_this_host_and_an_ungranted_one_is_told_why() {
        let stats = Arc::new(SystemStats::default());
        let b = bounds(10, "localhost");
        let mut system = SystemCap::new(granted(Capability::System, &b), stats.clone());
        let snapshot = system::Host::stats(&mut system, 1).await.unwrap().unwrap();
        assert!(snapshot.memory_total_bytes > 0);
        assert!(snapshot.top_processes.len() <= 1);
        let ungranted = Access::new(Capability::System, &BTreeSet::new(), &b);
        let mut system = SystemCap::new(ungranted, stats);
        let refused = system::Host::stats(&mut system, 0).await.unwrap();
        assert!(
            matches!(&refused, Err(m) if m.contains("not granted")),
            "{refused:?}"
        );
    }
}

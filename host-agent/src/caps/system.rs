//! `vantage:plugin/system`: statistics of the agent's machine, read with
//! sysinfo on the host (a plugin cannot read `/proc`).
//!
//! One [`SystemStats`] is shared by every run so that CPU usage is measured
//! between consecutive calls, as `top` does.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use sysinfo::{Disks, Networks, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind, Users};
use tokio::sync::Mutex;
use wasmtime::component::{HasSelf, Linker};

use super::{Access, procfs};
use crate::bindings::vantage::plugin::system::{
    self, CpuCore, DetailsSnapshot, Disk, DiskIo, InterfaceCounters, InterfaceDrops, Process,
    ProcessDetail, Snapshot,
};

/// The most processes a plugin may ask for.
const MAX_TOP: u32 = 100;
/// The most processes of each `details` list.
const MAX_DETAIL_TOP: u32 = 50;

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
    /// Read on the first `details` call, again when a process's uid is new.
    users: Option<Users>,
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
            None => guard.insert(Sources::primed().await),
        };
        if top > 0 {
            sources
                .system
                .refresh_processes(ProcessesToUpdate::All, true);
        }
        snapshot(sources, top.min(MAX_TOP))
    }

    /// Reads what `details` reports; process CPU usage is measured since
    /// the previous read of processes (by either call).
    pub(crate) async fn details(&self, top: u32) -> DetailsSnapshot {
        let mut guard = self.inner.lock().await;
        let sources = match guard.as_mut() {
            Some(s) => s,
            None => guard.insert(Sources::primed().await),
        };
        sources.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .with_user(UpdateKind::OnlyIfNotSet),
        );
        details(sources, top.min(MAX_DETAIL_TOP))
    }
}

impl Sources {
    async fn primed() -> Sources {
        let mut system = System::new();
        system.refresh_cpu_all();
        system.refresh_processes(ProcessesToUpdate::All, true);
        tokio::time::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL).await;
        system.refresh_cpu_all();
        system.refresh_memory();
        Sources {
            system,
            disks: Disks::new_with_refreshed_list(),
            networks: Networks::new_with_refreshed_list(),
            users: None,
        }
    }

    /// The user name of `uid`, or the uid itself.
    fn user(&mut self, uid: Option<&sysinfo::Uid>) -> String {
        let Some(uid) = uid else {
            return String::new();
        };
        let users = self
            .users
            .get_or_insert_with(Users::new_with_refreshed_list);
        if users.get_user_by_id(uid).is_none() {
            users.refresh();
        }
        users
            .get_user_by_id(uid)
            .map(|u| u.name().to_owned())
            .unwrap_or_else(|| uid.to_string())
    }
}

fn details(s: &mut Sources, top: u32) -> DetailsSnapshot {
    // sysinfo lists a process's threads beside it on Linux: leave them out.
    let mut by_cpu: Vec<(sysinfo::Pid, f32, u64)> = s
        .system
        .processes()
        .iter()
        .filter(|(_, p)| p.thread_kind().is_none())
        .map(|(pid, p)| (*pid, p.cpu_usage(), p.memory()))
        .collect();
    let processes = u32::try_from(by_cpu.len()).unwrap_or(u32::MAX);
    let mut by_memory = by_cpu.clone();
    by_cpu.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal));
    by_memory.sort_by_key(|p| std::cmp::Reverse(p.2));
    // A process in both lists is read from /proc once.
    let mut seen: HashMap<sysinfo::Pid, ProcessDetail> = HashMap::new();
    let mut detail = |pid: sysinfo::Pid| -> Option<ProcessDetail> {
        if let Some(known) = seen.get(&pid) {
            return Some(known.clone());
        }
        let p = s.system.process(pid)?;
        let (name, cpu, memory, uid) = (
            p.name().to_string_lossy().into_owned(),
            p.cpu_usage() / 100.0,
            p.memory(),
            p.user_id().cloned(),
        );
        let id = pid.as_u32();
        let row = ProcessDetail {
            pid: id,
            name,
            user: s.user(uid.as_ref()),
            cpu_usage: cpu,
            memory_bytes: memory,
            threads: procfs::process_threads(id).unwrap_or(1),
            handles: procfs::process_handles(id),
        };
        seen.insert(pid, row.clone());
        Some(row)
    };
    let top_cpu = by_cpu
        .iter()
        .take(top as usize)
        .filter_map(|(pid, ..)| detail(*pid))
        .collect();
    let top_memory = by_memory
        .iter()
        .take(top as usize)
        .filter_map(|(pid, ..)| detail(*pid))
        .collect();
    DetailsSnapshot {
        processes,
        threads: procfs::threads().unwrap_or(processes),
        handles: procfs::file_handles(),
        disks: procfs::disk_io()
            .into_iter()
            .map(|d| DiskIo {
                device: d.device,
                read_bytes: d.read_bytes,
                written_bytes: d.written_bytes,
                reads: d.reads,
                writes: d.writes,
                busy_ms: d.busy_ms,
            })
            .collect(),
        interfaces: procfs::interface_drops()
            .into_iter()
            .map(|(name, rx_dropped, tx_dropped)| InterfaceDrops {
                name,
                rx_dropped,
                tx_dropped,
            })
            .collect(),
        top_cpu,
        top_memory,
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
            .filter(|p| p.thread_kind().is_none())
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

    /// Charges the call; the refusal's text when `system` is not granted.
    fn granted(&mut self) -> wasmtime::Result<Result<(), String>> {
        self.access.charge(1)?;
        Ok(self.access.granted().map_err(|e| match e {
            crate::bindings::NetError::Denied(m) => m,
            other => format!("{other:?}"),
        }))
    }
}

impl system::Host for SystemCap {
    async fn stats(&mut self, top_processes: u32) -> wasmtime::Result<Result<Snapshot, String>> {
        if let Err(refused) = self.granted()? {
            return Ok(Err(refused));
        }
        Ok(Ok(self.stats.read(top_processes).await))
    }

    async fn details(&mut self, top: u32) -> wasmtime::Result<Result<DetailsSnapshot, String>> {
        if let Err(refused) = self.granted()? {
            return Ok(Err(refused));
        }
        Ok(Ok(self.stats.details(top).await))
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

    #[tokio::test]
    async fn details_list_the_top_processes_with_owner_threads_and_handles() {
        let stats = Arc::new(SystemStats::default());
        let b = bounds(10, "localhost");
        let mut system = SystemCap::new(granted(Capability::System, &b), stats.clone());
        let d = system::Host::details(&mut system, 500)
            .await
            .unwrap()
            .unwrap();
        assert!(d.processes >= 1 && d.threads >= d.processes, "{d:?}");
        assert!(d.handles.is_some_and(|h| h > 0));
        assert_eq!(d.top_memory.len(), (d.processes as usize).min(50));
        assert!(d.top_cpu.len() <= 50);
        let me = d
            .top_memory
            .iter()
            .chain(&d.top_cpu)
            .find(|p| p.pid == std::process::id());
        // This test binary is rarely among the 50 largest; when it is, it
        // is described whole.
        if let Some(me) = me {
            assert!(
                me.threads >= 1 && me.handles.is_some_and(|h| h >= 3),
                "{me:?}"
            );
        }
        let largest = &d.top_memory[0];
        assert!(
            !largest.user.is_empty() && largest.memory_bytes > 0,
            "{largest:?}"
        );
        assert!(
            d.top_memory
                .windows(2)
                .all(|w| w[0].memory_bytes >= w[1].memory_bytes)
        );
        let ungranted = Access::new(Capability::System, &BTreeSet::new(), &b);
        let mut system = SystemCap::new(ungranted, stats);
        assert!(
            system::Host::details(&mut system, 5)
                .await
                .unwrap()
                .is_err()
        );
    }
}

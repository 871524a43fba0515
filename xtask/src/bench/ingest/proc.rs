//! CPU time of processes and the machine's load, from `/proc`.

use crate::bench::procfs::{CUTIME, PPID, UTIME, stat_after_name};

/// The numeric fields of `/proc/PID/stat` after the command name; one that
/// is not a number (the state, a negative nice) reads 0.
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    Some(
        stat_after_name(pid)
            .ok()?
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// User + system CPU ticks of `pid` (0 when it is gone).
pub(super) fn ticks(pid: u32) -> u64 {
    super::super::procfs::cpu_ticks(pid).unwrap_or(0)
}

/// User + system CPU ticks of `pid`, of its children that exited and were
/// reaped, and of its live children: a process tree such as PostgreSQL's,
/// whose backends come and go.
pub(super) fn tree_ticks(pid: u32) -> u64 {
    let Some(own) = stat_fields(pid) else {
        return 0;
    };
    let mut total = own[UTIME] + own[UTIME + 1] + own[CUTIME] + own[CUTIME + 1];
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return total;
    };
    for entry in entries.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(f) = stat_fields(child)
            && f[PPID] == u64::from(pid)
        {
            total += f[UTIME] + f[UTIME + 1];
        }
    }
    total
}

/// This process's own CPU ticks (the load generator).
pub(super) fn own_ticks() -> u64 {
    ticks(std::process::id())
}

pub(super) use crate::bench::record::load;

/// Busy CPU ticks of the whole machine (every state but idle and iowait),
/// from the first line of `/proc/stat`.
pub(super) fn machine_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("cpu "))
        .map(|l| {
            l.split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    // user nice system idle iowait irq softirq steal (guest is in user).
    fields.iter().take(8).sum::<u64>() - fields.get(3).unwrap_or(&0) - fields.get(4).unwrap_or(&0)
}

/// A CPU reading of the server, the database, the load generator and the
/// whole machine.
#[derive(Debug, Clone, Copy)]
pub(super) struct CpuMark {
    pub(super) server: u64,
    pub(super) db: u64,
    pub(super) client: u64,
    pub(super) machine: u64,
    pub(super) at: std::time::Instant,
}

impl CpuMark {
    /// `servers` are the server processes' pids (their ticks summed); `db`
    /// is the postmaster's pid, or `None` when the database is inside the
    /// server (SQLite).
    pub(super) fn take(servers: &[u32], db: Option<u32>) -> CpuMark {
        CpuMark {
            server: servers.iter().map(|&pid| ticks(pid)).sum(),
            db: db.map_or(0, tree_ticks),
            client: own_ticks(),
            machine: machine_ticks(),
            at: std::time::Instant::now(),
        }
    }

    /// % of one core of each, from `self` to `later`, and what the rest of
    /// the machine used (other processes: builds of other engineers).
    pub(super) fn percent_until(&self, later: &CpuMark) -> Cpu {
        let wall = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let pct = |a: u64, b: u64| {
            b.saturating_sub(a) as f64 / super::super::procfs::clock_ticks() / wall * 100.0
        };
        let ours = |m: &CpuMark| m.server + m.db + m.client;
        Cpu {
            server: pct(self.server, later.server),
            db: pct(self.db, later.db),
            client: pct(self.client, later.client),
            others: pct(self.machine + ours(later), later.machine + ours(self)),
        }
    }
}

/// CPU use over a window, in % of one core.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Cpu {
    pub(super) server: f64,
    pub(super) db: f64,
    pub(super) client: f64,
    /// The machine's busy time less the three above.
    pub(super) others: f64,
}

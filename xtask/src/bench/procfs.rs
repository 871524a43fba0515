//! What `/proc` says of a process: its memory, and the CPU time it used.

use std::process::Command;

use anyhow::Context as _;

/// Memory figures of `/proc/PID/status`, in bytes.
pub(crate) struct ProcStatus {
    pub(crate) rss: u64,
    pub(crate) hwm: u64,
    pub(crate) anon: u64,
    pub(crate) file: u64,
}

impl ProcStatus {
    pub(crate) fn read(pid: u32) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status (did it exit?)"))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let kib = text
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
            Ok(kib * 1024)
        };
        Ok(ProcStatus {
            rss: field("VmRSS")?,
            hwm: field("VmHWM")?,
            anon: field("RssAnon")?,
            file: field("RssFile")?,
        })
    }
}

/// Fields of `/proc/PID/stat` after the command name (0 = state): the
/// parent, then user and system time (`UTIME`, `UTIME + 1`), and the
/// waited-for children's user and system time (`CUTIME`, `CUTIME + 1`).
pub(crate) const PPID: usize = 1;
pub(crate) const UTIME: usize = 11;
pub(crate) const CUTIME: usize = 13;

/// `/proc/PID/stat` from the field after the command name, which is in
/// parentheses and may hold spaces and parentheses itself.
pub(crate) fn stat_after_name(pid: u32) -> anyhow::Result<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat (did it exit?)"))?;
    let (_, rest) = stat.rsplit_once(')').context("malformed /proc stat")?;
    Ok(rest.to_owned())
}

/// User plus system CPU time of `pid`, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let rest = stat_after_name(pid)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> anyhow::Result<u64> {
        Ok(fields.get(i).context("short /proc stat")?.parse()?)
    };
    Ok(tick(UTIME)? + tick(UTIME + 1)?)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux in practice).
pub(crate) fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Time `pid`'s main thread has run, in ns (`/proc/PID/schedstat`): the
/// whole of a single-threaded process such as fping, finer than ticks.
pub(crate) fn on_cpu_ns(pid: u32) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .with_context(|| format!("reading /proc/{pid}/schedstat (did it exit?)"))?;
    let ns = text.split_whitespace().next().context("empty schedstat")?;
    Ok(ns.parse()?)
}

//! What sysinfo does not read, read from Linux's `/proc` and `/sys`: block
//! device I/O, interface drops, open file handles, the number of threads,
//! and a process's threads and descriptors. Each reader parses text (so
//! the parsers are tested on fixed input) and returns nothing rather than
//! fail: a missing file is a platform without it.

use std::collections::BTreeSet;
use std::path::Path;

/// Counters of one block device since boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiskIo {
    pub(crate) device: String,
    pub(crate) read_bytes: u64,
    pub(crate) written_bytes: u64,
    pub(crate) reads: u64,
    pub(crate) writes: u64,
    pub(crate) busy_ms: u64,
}

/// `/proc/diskstats` sectors are 512 bytes whatever the device's own size.
const SECTOR: u64 = 512;

/// Whole disks from `/proc/diskstats`: those `/sys/block` lists, without
/// RAM disks, loop devices and floppies (as node_exporter leaves them out).
pub(crate) fn disk_io() -> Vec<DiskIo> {
    let Ok(text) = std::fs::read_to_string("/proc/diskstats") else {
        return Vec::new();
    };
    let whole: BTreeSet<String> = std::fs::read_dir("/sys/block")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    parse_diskstats(&text, &whole)
}

pub(crate) fn parse_diskstats(text: &str, whole: &BTreeSet<String>) -> Vec<DiskIo> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let name = *f.get(2)?;
            let skipped = ["ram", "loop", "fd", "zram"]
                .iter()
                .any(|p| name.starts_with(p));
            if skipped || !whole.contains(name) {
                return None;
            }
            let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
            Some(DiskIo {
                device: name.to_owned(),
                reads: n(3)?,
                read_bytes: n(5)?.saturating_mul(SECTOR),
                writes: n(7)?,
                written_bytes: n(9)?.saturating_mul(SECTOR),
                busy_ms: n(12)?,
            })
        })
        .collect()
}

/// Receive and transmit drops per interface, from `/proc/net/dev`.
pub(crate) fn interface_drops() -> Vec<(String, u64, u64)> {
    std::fs::read_to_string("/proc/net/dev")
        .map(|t| parse_net_dev(&t))
        .unwrap_or_default()
}

pub(crate) fn parse_net_dev(text: &str) -> Vec<(String, u64, u64)> {
    text.lines()
        .filter_map(|line| {
            let (name, counters) = line.split_once(':')?;
            let f: Vec<u64> = counters
                .split_whitespace()
                .map(|v| v.parse().ok())
                .collect::<Option<_>>()?;
            // rx: bytes packets errs drop fifo frame compressed multicast;
            // tx: bytes packets errs drop …
            Some((name.trim().to_owned(), *f.get(3)?, *f.get(11)?))
        })
        .collect()
}

/// Allocated file handles of the whole system (`/proc/sys/fs/file-nr`).
pub(crate) fn file_handles() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/sys/fs/file-nr").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Threads of the whole system: the fourth field of `/proc/loadavg` is
/// `running/total` scheduling entities.
pub(crate) fn threads() -> Option<u32> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    parse_loadavg_threads(&text)
}

pub(crate) fn parse_loadavg_threads(text: &str) -> Option<u32> {
    text.split_whitespace()
        .nth(3)?
        .split_once('/')?
        .1
        .parse()
        .ok()
}

/// A process's threads, from its `status` file.
pub(crate) fn process_threads(pid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// A process's open descriptors; none when the agent may not list them.
pub(crate) fn process_handles(pid: u32) -> Option<u32> {
    let dir = std::fs::read_dir(Path::new("/proc").join(pid.to_string()).join("fd")).ok()?;
    u32::try_from(dir.count()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diskstats_keep_whole_disks_in_bytes_and_leave_out_partitions_and_loops() {
        let text = "\
 259       0 nvme0n1 1000 5 2048 300 400 6 4096 500 0 700 800 0 0 0 0
 259       1 nvme0n1p1 10 0 20 3 4 0 8 5 0 7 8 0 0 0 0
   7       0 loop0 9 0 18 1 0 0 0 0 0 2 1 0 0 0 0
   8       0 sda 1 2 3 4 5 6 7 8 9 10 11
";
        let whole: BTreeSet<String> = ["nvme0n1", "sda", "loop0"].map(String::from).into();
        let io = parse_diskstats(text, &whole);
        assert_eq!(
            io,
            [
                DiskIo {
                    device: "nvme0n1".into(),
                    reads: 1000,
                    read_bytes: 2048 * 512,
                    writes: 400,
                    written_bytes: 4096 * 512,
                    busy_ms: 700,
                },
                DiskIo {
                    device: "sda".into(),
                    reads: 1,
                    read_bytes: 3 * 512,
                    writes: 5,
                    written_bytes: 7 * 512,
                    busy_ms: 10,
                }
            ]
        );
    }

    #[test]
    fn net_dev_gives_each_interfaces_drops() {
        let text = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000 10 0 1 0 0 0 0 1000 10 0 2 0 0 0 0
  eth0: 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20
";
        assert_eq!(
            parse_net_dev(text),
            [("lo".to_owned(), 1, 2), ("eth0".to_owned(), 8, 16)]
        );
    }

    #[test]
    fn loadavg_gives_the_number_of_threads() {
        assert_eq!(
            parse_loadavg_threads("0.10 0.20 0.30 2/345 6789\n"),
            Some(345)
        );
        assert_eq!(parse_loadavg_threads("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_threads_and_open_descriptors() {
        let me = std::process::id();
        assert!(process_threads(me).unwrap() >= 1);
        assert!(process_handles(me).unwrap() >= 3);
        assert!(file_handles().unwrap() > 0);
        assert!(threads().unwrap() >= 1);
    }
}

//! The outbox: every result the agent produces is appended here, on disk,
//! before anything else sees it, and stays until the server acknowledges it.
//!
//! Layout in `<data_dir>/outbox/`: append-only segment files
//! `seg-<seq>.log` (see [`segment`]), `state.json` (which records are
//! acknowledged, and the persisted counters), and `rejected.jsonl` (results
//! the server refused as invalid, kept for inspection).
//!
//! A completed `write(2)` survives `kill -9`; a torn record at the end of the
//! last segment (a crash mid-write) is cut off at start, corruption elsewhere
//! is skipped and counted. Segments are synced to disk every second (for
//! power loss). The outbox is bounded in bytes: beyond the bound the oldest
//! segment is dropped, and its unacknowledged records are counted as dropped
//! and reported to the server.

mod inspect;
mod segment;

use std::collections::BTreeMap;

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vantage_protocol::ingest::OutboxStats;
use vantage_protocol::result::CheckResult;

use crate::config::OutboxSection;
pub use inspect::{Inspection, inspect};
use segment::{HEADER, Segment};

/// A record: its segment's sequence number and its index there.
pub type RecordId = (u64, u32);

/// Counters that survive restarts.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    pub dropped_results: u64,
    pub dropped_bytes: u64,
    pub corrupt_bytes: u64,
    pub rejected_results: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct State {
    /// Per segment, the acknowledged record indexes as `[start, end)` ranges.
    acked: BTreeMap<u64, Vec<(u32, u32)>>,
    counters: Counters,
}

#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    limits: OutboxSection,
    segments: BTreeMap<u64, Segment>,
    counters: Counters,
    unsynced: bool,
}

impl Outbox {
    /// Opens (or creates) the outbox in `dir`, recovering from a crash.
    pub fn open(dir: &Path, limits: &OutboxSection) -> io::Result<Outbox> {
        // Results may name internal hosts: the agent's user only.
        crate::platform::create_private_dir(dir)?;
        let state: State = match std::fs::read(dir.join("state.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "The outbox state file is unreadable; every record is sent again (the server drops duplicates).");
                State::default()
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e),
        };
        let mut seqs: Vec<u64> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| segment::seq_of(&e.file_name().to_string_lossy()))
            .collect();
        seqs.sort_unstable();
        let mut outbox = Outbox {
            dir: dir.to_owned(),
            limits: limits.clone(),
            segments: BTreeMap::new(),
            counters: state.counters,
            unsynced: false,
        };
        for (i, seq) in seqs.iter().enumerate() {
            let last = i + 1 == seqs.len();
            let scan = Segment::scan(&dir.join(segment::name(*seq)), last)?;
            if scan.bad_bytes > 0 {
                if last {
                    tracing::warn!(
                        bytes = scan.bad_bytes,
                        "The outbox's last record was torn (the agent died mid-write); it is cut off."
                    );
                } else {
                    tracing::warn!(
                        bytes = scan.bad_bytes,
                        segment = seq,
                        "An outbox segment is corrupt past a point; the rest of it is skipped."
                    );
                    outbox.counters.corrupt_bytes += scan.bad_bytes;
                }
            }
            let mut seg = scan.segment;
            for &(start, end) in state.acked.get(seq).map(Vec::as_slice).unwrap_or_default() {
                for i in start..end.min(seg.slots.len() as u32) {
                    if !seg.acked[i as usize] {
                        seg.acked[i as usize] = true;
                        seg.unacked -= 1;
                    }
                }
            }
            outbox.segments.insert(*seq, seg);
        }
        outbox.forget_acked_segments()?;
        if outbox.segments.is_empty() {
            outbox.roll()?;
        }
        outbox.save_state()?;
        Ok(outbox)
    }

    /// Appends a result. When this returns, the result is durable against
    /// the agent being killed, and counts as produced.
    pub fn append(&mut self, result: &CheckResult) -> io::Result<()> {
        let json = serde_json::to_vec(result).map_err(io::Error::other)?;
        let full = self.writer().is_some_and(|s| {
            s.bytes > 0 && s.bytes + HEADER + json.len() as u64 > self.limits.segment_bytes
        });
        if full {
            self.sync()?;
            self.roll()?;
        }
        self.writer_mut()?.append(&json)?;
        self.unsynced = true;
        self.enforce_bound()
    }

    /// Up to `max` unacknowledged records (and about `max_bytes` of JSON):
    /// half of the newest, the rest oldest first, so a backlog drains
    /// without starving fresh results.
    pub fn next_batch(&self, max: usize, max_bytes: usize) -> io::Result<Vec<(RecordId, Vec<u8>)>> {
        let unacked: Vec<(RecordId, segment::Slot)> = self
            .segments
            .iter()
            .flat_map(|(seq, s)| {
                s.slots
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !s.acked[*i])
                    .map(move |(i, slot)| ((*seq, i as u32), *slot))
            })
            .collect();
        let chosen: Vec<&(RecordId, segment::Slot)> = if unacked.len() <= max {
            unacked.iter().collect()
        } else {
            let fresh = max / 2;
            unacked[..max - fresh]
                .iter()
                .chain(&unacked[unacked.len() - fresh..])
                .collect()
        };
        let mut out = Vec::with_capacity(chosen.len());
        let mut bytes = 0;
        for (id, slot) in chosen {
            if !out.is_empty() && bytes + slot.len as usize > max_bytes {
                break;
            }
            bytes += slot.len as usize;
            out.push((*id, self.segments[&id.0].read(*slot)?));
        }
        Ok(out)
    }

    /// True when every record is still in the outbox (none was dropped by
    /// the bound since the batch was formed).
    pub fn holds(&self, ids: &[RecordId]) -> bool {
        ids.iter().all(|(seq, i)| {
            self.segments
                .get(seq)
                .is_some_and(|s| (*i as usize) < s.slots.len())
        })
    }

    /// Marks records acknowledged, deletes segments with nothing left to
    /// send, and persists the state.
    pub fn ack(&mut self, ids: &[RecordId]) -> io::Result<()> {
        for (seq, i) in ids {
            let Some(s) = self.segments.get_mut(seq) else {
                continue;
            };
            if let Some(acked) = s.acked.get_mut(*i as usize)
                && !*acked
            {
                *acked = true;
                s.unacked -= 1;
            }
        }
        self.forget_acked_segments()?;
        self.save_state()
    }

    /// Keeps refused records in `rejected.jsonl` with the reason, and
    /// acknowledges them: they will never be accepted as they are.
    pub fn reject(&mut self, records: &[(RecordId, Vec<u8>)], reason: &str) -> io::Result<()> {
        let mut file = crate::platform::private_options()
            .create(true)
            .append(true)
            .open(self.dir.join("rejected.jsonl"))?;
        for (_, json) in records {
            let result: serde_json::Value =
                serde_json::from_slice(json).unwrap_or(serde_json::Value::Null);
            let line = serde_json::json!({"reason": reason, "result": result});
            writeln!(file, "{line}")?;
        }
        file.sync_data()?;
        self.counters.rejected_results += records.len() as u64;
        let ids: Vec<RecordId> = records.iter().map(|(id, _)| *id).collect();
        self.ack(&ids)
    }

    pub fn stats(&self) -> OutboxStats {
        let (results, bytes) = self.segments.values().fold((0, 0), |(r, b), s| {
            let unacked_bytes: u64 = s
                .slots
                .iter()
                .zip(&s.acked)
                .filter(|(_, a)| !**a)
                .map(|(slot, _)| HEADER + u64::from(slot.len))
                .sum();
            (r + s.unacked as u64, b + unacked_bytes)
        });
        OutboxStats {
            backlog_results: results,
            backlog_bytes: bytes,
            dropped_results: self.counters.dropped_results,
            dropped_bytes: self.counters.dropped_bytes,
        }
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Records waiting to be sent.
    pub fn pending(&self) -> usize {
        self.segments.values().map(|s| s.unacked).sum()
    }

    /// Flushes appended records to the disk (for power loss; a kill needs nothing).
    pub fn sync(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.unsynced)
            && let Some(s) = self.writer()
        {
            s.file.sync_data()?;
        }
        Ok(())
    }

    fn writer(&self) -> Option<&Segment> {
        self.segments.values().next_back()
    }

    fn writer_mut(&mut self) -> io::Result<&mut Segment> {
        if self.segments.is_empty() {
            self.roll()?;
        }
        Ok(self
            .segments
            .values_mut()
            .next_back()
            .expect("a segment was just made"))
    }

    fn roll(&mut self) -> io::Result<()> {
        let seq = self.segments.keys().next_back().map_or(1, |s| s + 1);
        let segment = Segment::create(self.dir.join(segment::name(seq)))?;
        self.segments.insert(seq, segment);
        crate::platform::sync_dir(&self.dir)
    }

    fn total_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.bytes).sum()
    }

    /// Drops the oldest segments (never the one being written) while the
    /// outbox is over its bound, counting what was not yet sent.
    fn enforce_bound(&mut self) -> io::Result<()> {
        while self.total_bytes() > self.limits.max_bytes && self.segments.len() > 1 {
            let Some((seq, segment)) = self.segments.pop_first() else {
                break;
            };
            let lost_bytes: u64 = segment
                .slots
                .iter()
                .zip(&segment.acked)
                .filter(|(_, a)| !**a)
                .map(|(slot, _)| HEADER + u64::from(slot.len))
                .sum();
            self.counters.dropped_results += segment.unacked as u64;
            self.counters.dropped_bytes += lost_bytes;
            tracing::warn!(
                segment = seq,
                results = segment.unacked,
                bytes = lost_bytes,
                total_dropped = self.counters.dropped_results,
                "The outbox is full: its oldest unsent results were dropped (the count is reported to the server)."
            );
            std::fs::remove_file(&segment.path)?;
            self.save_state()?;
        }
        Ok(())
    }

    /// Deletes segments whose records are all acknowledged (not the writer's).
    fn forget_acked_segments(&mut self) -> io::Result<()> {
        let writer = self.segments.keys().next_back().copied();
        let done: Vec<u64> = self
            .segments
            .iter()
            .filter(|(seq, s)| s.unacked == 0 && Some(**seq) != writer)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in done {
            if let Some(s) = self.segments.remove(&seq) {
                std::fs::remove_file(&s.path)?;
            }
        }
        Ok(())
    }

    /// Writes `state.json` atomically: a temporary file, synced, renamed.
    fn save_state(&self) -> io::Result<()> {
        let mut acked = BTreeMap::new();
        for (seq, s) in &self.segments {
            let mut ranges = Vec::new();
            let mut start = None;
            for (i, a) in s.acked.iter().enumerate() {
                match (a, start) {
                    (true, None) => start = Some(i as u32),
                    (false, Some(st)) => {
                        ranges.push((st, i as u32));
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(st) = start {
                ranges.push((st, s.acked.len() as u32));
            }
            if !ranges.is_empty() {
                acked.insert(*seq, ranges);
            }
        }
        let state = State {
            acked,
            counters: self.counters,
        };
        let tmp = self.dir.join("state.json.tmp");
        let mut file = crate::platform::private_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        file.write_all(&serde_json::to_vec(&state).map_err(io::Error::other)?)?;
        file.sync_data()?;
        std::fs::rename(&tmp, self.dir.join("state.json"))?;
        crate::platform::sync_dir(&self.dir)
    }
}

/// Ids present in a batch, for [`Outbox::ack`] and [`Outbox::holds`].
pub fn ids(records: &[(RecordId, Vec<u8>)]) -> Vec<RecordId> {
    records.iter().map(|(id, _)| *id).collect()
}

#[cfg(test)]
mod tests;

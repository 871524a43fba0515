//! One segment file: records `[u32 len LE][u32 crc32 LE][JSON]`, appended only.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Bytes before each record's JSON.
pub(crate) const HEADER: u64 = 8;
/// A record larger than this is corruption, not a result.
const MAX_RECORD: u32 = 16 << 20;

/// Where a record sits in its segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) offset: u64,
    pub(crate) len: u32,
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    pub(crate) slots: Vec<Slot>,
    pub(crate) acked: Vec<bool>,
    pub(crate) unacked: usize,
    pub(crate) bytes: u64,
}

pub(crate) fn name(seq: u64) -> String {
    format!("seg-{seq:020}.log")
}

pub(crate) fn seq_of(file_name: &str) -> Option<u64> {
    file_name
        .strip_prefix("seg-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

/// What scanning a segment found.
#[derive(Debug)]
pub(crate) struct Scan {
    pub(crate) segment: Segment,
    /// Bytes after the last good record (a torn write, or corruption).
    pub(crate) bad_bytes: u64,
}

impl Segment {
    pub(crate) fn create(path: PathBuf) -> io::Result<Segment> {
        let file = crate::platform::private_options()
            .create_new(true)
            .read(true)
            .append(true)
            .open(&path)?;
        Ok(Segment {
            path,
            file,
            slots: Vec::new(),
            acked: Vec::new(),
            unacked: 0,
            bytes: 0,
        })
    }

    /// Reads every good record. A bad one ends the scan; when `truncate`,
    /// the file is cut back to the last good record (a torn tail after a
    /// crash), so appending can go on.
    pub(crate) fn scan(path: &Path, truncate: bool) -> io::Result<Scan> {
        let bytes = std::fs::read(path)?;
        let mut slots = Vec::new();
        let mut at = 0u64;
        while let Some(slot) = record_at(&bytes, at) {
            slots.push(slot);
            at = slot.offset + HEADER + u64::from(slot.len);
        }
        let bad_bytes = bytes.len() as u64 - at;
        let file = OpenOptions::new().read(true).append(true).open(path)?;
        if truncate && bad_bytes > 0 {
            file.set_len(at)?;
            file.sync_data()?;
        }
        let n = slots.len();
        Ok(Scan {
            segment: Segment {
                path: path.to_owned(),
                file,
                acked: vec![false; n],
                unacked: n,
                slots,
                bytes: at,
            },
            bad_bytes,
        })
    }

    /// Appends one record with a single `write(2)`: once it returns, the
    /// record survives the process being killed.
    pub(crate) fn append(&mut self, json: &[u8]) -> io::Result<()> {
        let len = u32::try_from(json.len()).map_err(|_| io::Error::other("result too large"))?;
        let mut record = Vec::with_capacity(json.len() + HEADER as usize);
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(json).to_le_bytes());
        record.extend_from_slice(json);
        self.file.write_all(&record)?;
        self.slots.push(Slot {
            offset: self.bytes,
            len,
        });
        self.acked.push(false);
        self.unacked += 1;
        self.bytes += record.len() as u64;
        Ok(())
    }

    pub(crate) fn read(&self, slot: Slot) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; slot.len as usize];
        crate::platform::read_exact_at(&self.file, &mut buf, slot.offset + HEADER)?;
        Ok(buf)
    }
}

/// The record starting at `at`, if it is whole and its checksum matches.
pub(crate) fn record_at(bytes: &[u8], at: u64) -> Option<Slot> {
    let at_usize = usize::try_from(at).ok()?;
    let header = bytes.get(at_usize..at_usize + HEADER as usize)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?);
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    if len > MAX_RECORD {
        return None;
    }
    let body = bytes.get(at_usize + HEADER as usize..at_usize + HEADER as usize + len as usize)?;
    (crc32fast::hash(body) == crc).then_some(Slot { offset: at, len })
}

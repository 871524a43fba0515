//! Reading an outbox without touching it: a new build's self-test checks
//! that it can read the outbox the running agent holds, and must not cut,
//! roll or re-save anything of it.

use std::io;
use std::path::Path;

use super::{State, segment};

/// What [`inspect`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspection {
    /// Segment files.
    pub segments: usize,
    /// Whole records in them, acknowledged or not.
    pub records: usize,
}

/// Reads every segment and the state file in `dir`, read-only. A missing
/// folder is an empty outbox; an unreadable file or state is an error.
pub fn inspect(dir: &Path) -> io::Result<Inspection> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Inspection {
                segments: 0,
                records: 0,
            });
        }
        Err(e) => return Err(e),
    };
    match std::fs::read(dir.join("state.json")) {
        Ok(bytes) => {
            serde_json::from_slice::<State>(&bytes).map_err(io::Error::other)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut found = Inspection {
        segments: 0,
        records: 0,
    };
    for entry in entries {
        let entry = entry?;
        if segment::seq_of(&entry.file_name().to_string_lossy()).is_none() {
            continue;
        }
        let bytes = std::fs::read(entry.path())?;
        let mut at = 0u64;
        while let Some(slot) = segment::record_at(&bytes, at) {
            found.records += 1;
            at = slot.offset + segment::HEADER + u64::from(slot.len);
        }
        found.segments += 1;
    }
    Ok(found)
}

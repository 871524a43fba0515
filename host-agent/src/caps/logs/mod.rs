//! `vantage:plugin/logs`: the lines of the files and journal units a check
//! is granted ([`Scope`](crate::caps::Scope)'s path globs and
//! `journal:UNIT`), from where the previous run left off.
//!
//! Positions are kept per plugin, check and target, like state slots and
//! in the same kind of store ([`StateSlots`]), as JSON. A run works on a
//! copy; [`LogsCap::commit`] stores it once the run returned an outcome,
//! so a run that traps or overruns reads the same lines again.

mod journal;
mod tail;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wasmtime::component::{HasSelf, Linker};

pub use journal::JournalOptions;
use journal::JournalPos;
use tail::FilePositions;

use super::state::{SlotKey, StateSlots};
use super::{Access, Bounds};
use crate::bindings::vantage::plugin::logs::{self, ReadRequest, ReadResponse, Source};

/// The most lines one read returns.
const MAX_LINES: u32 = 10_000;
/// The most bytes of text one read returns.
const MAX_BYTES: u32 = 4 << 20;

/// One line for the plugin.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub(crate) origin: String,
    pub(crate) text: String,
    pub(crate) at_ms: u64,
}

/// What one read may still return.
#[derive(Debug)]
pub(crate) struct Quota {
    lines: usize,
    bytes: usize,
}

impl Quota {
    fn new(request: &ReadRequest) -> Self {
        Quota {
            lines: request.max_lines.min(MAX_LINES) as usize,
            // At least one longest line fits, so a read always moves on.
            bytes: request.max_bytes.clamp(tail::MAX_LINE as u32, MAX_BYTES) as usize,
        }
    }

    pub(crate) fn spent(&self) -> bool {
        self.lines == 0 || self.bytes == 0
    }

    pub(crate) fn lines_left(&self) -> usize {
        self.lines
    }

    /// Takes one line of `len` bytes, or says it does not fit.
    pub(crate) fn take(&mut self, len: usize) -> bool {
        if self.lines == 0 || len > self.bytes {
            return false;
        }
        self.lines -= 1;
        self.bytes -= len;
        true
    }
}

/// Every position of one check and target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Positions {
    /// Sources read at least once: `files:GLOB`, `journal:UNIT`.
    #[serde(default)]
    seen: BTreeSet<String>,
    #[serde(default)]
    files: FilePositions,
    #[serde(default)]
    journal: std::collections::BTreeMap<String, JournalPos>,
}

/// The agent-wide side of `logs`: the positions and where the journal is.
#[derive(Debug, Default)]
pub(crate) struct LogSources {
    pub(crate) positions: StateSlots,
    pub(crate) journal: JournalOptions,
}

/// One run's `logs`.
pub(crate) struct LogsCap {
    access: Access,
    sources: Arc<LogSources>,
    key: SlotKey,
    /// The run's positions, loaded on its first read.
    positions: Option<Positions>,
}

impl LogsCap {
    pub(crate) fn new(access: Access, sources: Arc<LogSources>, key: SlotKey) -> Self {
        LogsCap {
            access,
            sources,
            key,
            positions: None,
        }
    }

    /// Stores the positions the run read up to (called when it returned).
    pub(crate) fn commit(&mut self) {
        if let Some(positions) = self.positions.take() {
            let json = serde_json::to_vec(&positions).expect("positions serialise");
            self.sources.positions.save(&self.key, json);
        }
    }

    fn load(&mut self) -> Positions {
        self.positions.take().unwrap_or_else(|| {
            self.sources
                .positions
                .load(&self.key)
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default()
        })
    }

    fn bounds(&self) -> &Bounds {
        &self.access.bounds
    }

    async fn read_files(
        &self,
        glob: String,
        positions: &mut Positions,
        quota: &mut Quota,
    ) -> Result<ReadResponse, String> {
        let seen = format!("files:{glob}");
        let first = !positions.seen.contains(&seen);
        let scope = self.bounds().scope.clone();
        let mut files = std::mem::take(&mut positions.files);
        let mut moved_quota = std::mem::replace(quota, Quota { lines: 0, bytes: 0 });
        let now = now_ms();
        // File reads block: off the event loop.
        let (result, files, moved_quota) = tokio::task::spawn_blocking(move || {
            let result = tail::read_glob(&glob, &scope, &mut files, first, &mut moved_quota, now);
            (result, files, moved_quota)
        })
        .await
        .map_err(|e| format!("reading the files failed: {e}"))?;
        positions.files = files;
        *quota = moved_quota;
        let tail = result?;
        positions.seen.insert(seen);
        Ok(ReadResponse {
            lines: tail.lines.into_iter().map(Into::into).collect(),
            more: tail.more,
            notes: tail.notes,
        })
    }

    async fn read_journal(
        &self,
        unit: String,
        positions: &mut Positions,
        quota: &mut Quota,
    ) -> Result<ReadResponse, String> {
        if vantage_protocol::allow::unit_pattern(&unit).is_err() || unit.contains(['*', '?', '[']) {
            return Err(format!("`{unit}` is not a systemd unit name"));
        }
        if !self.bounds().scope.permits_unit(&unit) {
            return Err(format!(
                "denied: the journal of `{unit}` is not granted to this check ({})",
                self.bounds().scope.log_grants()
            ));
        }
        let deadline = self.bounds().deadline;
        let journal = &self.sources.journal;
        let Some(pos) = positions.journal.get(&unit) else {
            let end = journal.end(&unit, deadline, now_ms() * 1000).await?;
            positions.journal.insert(unit, end);
            return Ok(ReadResponse {
                lines: Vec::new(),
                more: false,
                notes: Vec::new(),
            });
        };
        let (lines, next, more) = journal.read(&unit, pos, quota, deadline).await?;
        positions.journal.insert(unit, next);
        Ok(ReadResponse {
            lines: lines.into_iter().map(Into::into).collect(),
            more,
            notes: Vec::new(),
        })
    }
}

impl From<Line> for logs::Line {
    fn from(line: Line) -> Self {
        logs::Line {
            origin: line.origin,
            text: line.text,
            at_ms: line.at_ms,
        }
    }
}

fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

impl logs::Host for LogsCap {
    async fn read(
        &mut self,
        request: ReadRequest,
    ) -> wasmtime::Result<Result<ReadResponse, String>> {
        self.access.charge(1)?;
        if let Err(crate::bindings::NetError::Denied(refused)) = self.access.granted() {
            return Ok(Err(refused));
        }
        let mut quota = Quota::new(&request);
        let mut positions = self.load();
        let read = match request.source {
            Source::Files(glob) => self.read_files(glob, &mut positions, &mut quota).await,
            Source::Journal(unit) => self.read_journal(unit, &mut positions, &mut quota).await,
        };
        self.positions = Some(positions);
        Ok(read)
    }
}

/// Adds `vantage:plugin/logs` to `linker`, served by the [`LogsCap`] that
/// `get` finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut LogsCap,
) -> wasmtime::Result<()> {
    logs::add_to_linker::<T, HasSelf<LogsCap>>(linker, get)
}

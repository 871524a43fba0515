//! Events: what runs saw as text (matched log lines), stored with their
//! results by ingest (`IngestStore::ingest`, the results that are new
//! only), searched newest first, and deleted by their own retention.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::dispatch::store_trait;
use super::types::StoreResult;

/// One event of a result, ready to store with it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventIn {
    pub at: DateTime<Utc>,
    pub text: String,
    /// Canonical JSON of the labels (sorted keys), `{}` when none.
    pub labels: String,
}

/// What a search asks for; every field given must match.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub agent_id: Option<Uuid>,
    pub check: Option<String>,
    pub target: Option<String>,
    /// A substring of the text, compared case-insensitively and literally
    /// (`%`, `_` and `\` are themselves).
    pub text: Option<String>,
    /// Events at or after this time.
    pub from: DateTime<Utc>,
    /// Events before this time.
    pub to: DateTime<Utc>,
    /// Events after this one in the search's order (older, or as old with a
    /// smaller id): the next page. An id no longer stored gives none.
    pub before: Option<i64>,
    pub limit: u32,
}

impl EventFilter {
    /// Whether the search is narrowed to some check targets: it then reads
    /// their events by check rather than every event by time.
    pub fn by_check(&self) -> bool {
        self.agent_id.is_some() || self.check.is_some() || self.target.is_some()
    }
}

/// A stored event, with where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub agent_id: Uuid,
    pub agent: String,
    pub check: String,
    pub target: String,
    pub text: String,
    /// Canonical JSON of the labels.
    pub labels: String,
}

store_trait! {
    /// Searching events and their retention.
    pub trait EventStore {
        /// Events matching `filter`, newest first (by time, then id), at
        /// most `filter.limit`.
        async fn events(&self, filter: &EventFilter) -> StoreResult<Vec<EventRecord>>;
        /// Events older than `before`, in bounded chunks; rows removed.
        async fn delete_events_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    }
}

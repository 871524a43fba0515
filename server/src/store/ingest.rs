//! Ingest: check targets and series by id, and storing a batch exactly once.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::ingest::{IngestAck, OutboxStats};
use vantage_protocol::manifest::BaseUnit;
use vantage_protocol::result::Status;

use super::dispatch::store_trait;
use super::events::EventIn;
use super::types::StoreResult;
use crate::alerting::evaluate::AlertInput;

/// One sample ready to store: its series already resolved.
#[derive(Debug, Clone, Copy)]
pub struct SampleRow {
    pub series_id: i64,
    pub value: f64,
}

/// One distribution ready to store: its series already resolved, its
/// values in the order measured.
#[derive(Debug, Clone)]
pub struct DistributionRow {
    pub series_id: i64,
    pub values: Vec<f64>,
}

/// One result ready to store. `samples`, `distributions` and `events` are
/// stored only when the result is new.
#[derive(Debug, Clone)]
pub struct ResultRow {
    pub id: Uuid,
    pub check_id: i64,
    pub started_at: DateTime<Utc>,
    pub status: Status,
    pub duration: f64,
    pub plugin_version: String,
    pub message: Option<String>,
    pub samples: Vec<SampleRow>,
    pub distributions: Vec<DistributionRow>,
    /// In the order reported (stored with it as their order).
    pub events: Vec<EventIn>,
}

/// What identifies a check target: one row of `checks`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckKey {
    pub agent_id: Uuid,
    pub check: String,
    pub target: String,
    pub plugin: String,
}

/// What identifies a series: one row of `series`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    pub check_id: i64,
    pub metric: String,
    pub unit: BaseUnit,
    /// Canonical JSON of the labels (sorted keys), `{}` when none.
    pub labels: String,
}

/// A batch that passed validation, with check and series ids resolved.
#[derive(Debug, Clone)]
pub struct StoreBatch {
    pub agent_id: Uuid,
    pub batch_id: Uuid,
    pub results: Vec<ResultRow>,
    pub outbox: OutboxStats,
    /// Results validation acknowledged without storing (too old).
    pub expired: u32,
    /// What each alert rule that selects a result read of it; judged in
    /// the batch's transaction for the results that are new.
    pub alerts: Vec<AlertInput>,
}

/// What storing a batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The agent's answer.
    pub ack: IngestAck,
    /// Alert steps went to the outbox: the notifier has something to send.
    pub told: bool,
}

impl Ingested {
    /// A replay's answer: the first's, storing and telling nothing.
    pub(crate) fn replay(ack: IngestAck) -> Ingested {
        Ingested { ack, told: false }
    }
}

/// The one id of a one-key `series_ids`.
pub(crate) fn one(ids: Vec<i64>) -> StoreResult<i64> {
    ids.into_iter()
        .next()
        .ok_or_else(|| super::StoreError::Corrupt("no id for a series".into()))
}

store_trait! {
    /// Writes of results and samples, after validation.
    pub trait IngestStore {
        /// The id of a check target, created on first sight. A check that
        /// now runs another plugin keeps its row.
        async fn check_id(&self, key: &CheckKey) -> StoreResult<i64>;
        /// The ids of many check targets, in `keys`' order, as `check_id`
        /// gives each: a replica that has not seen an agent yet (one just
        /// started, or one a balancer sends it to for the first time)
        /// looks a batch's checks up at once.
        async fn check_ids(&self, keys: &[CheckKey]) -> StoreResult<Vec<i64>>;
        /// The id of a series, created on first sight (`series_ids` of one).
        async fn series_id(&self, key: &SeriesKey) -> StoreResult<i64>;
        /// The ids of many series, in `keys`' order, each created on first
        /// sight: one look-up for all, one insert for those that are new.
        async fn series_ids(&self, keys: &[SeriesKey]) -> StoreResult<Vec<i64>>;
        /// Stores a batch in one transaction: the batch id, the results that
        /// are new (by id), their samples, distributions and events, a dirty
        /// range for the rollups, the agent's outbox stats and `last_seen_at`. A batch id seen before
        /// stores nothing and returns the first acknowledgement with
        /// `replayed: true`.
        async fn ingest(&self, batch: &StoreBatch, now: DateTime<Utc>) -> StoreResult<Ingested>;
    }
}

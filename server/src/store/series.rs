//! Reads of what ingest stored: latest results, series, raw samples,
//! rollups and status counts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use vantage_protocol::manifest::BaseUnit;
use vantage_protocol::result::Status;

use super::dispatch::store_trait;
use super::sketch::Sketch;
use super::types::StoreResult;

/// The latest result of one check target.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LatestRow {
    pub check_id: i64,
    pub agent_id: Uuid,
    pub agent: String,
    pub check: String,
    pub target: String,
    pub plugin: String,
    pub plugin_version: String,
    pub result_id: Uuid,
    pub status: Status,
    pub started_at: DateTime<Utc>,
    pub duration: f64,
    pub message: Option<String>,
}

/// A series with what names it.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesRow {
    pub series_id: i64,
    pub check_id: i64,
    pub agent_id: Uuid,
    pub agent: String,
    pub check: String,
    pub target: String,
    pub plugin: String,
    pub metric: String,
    pub unit: BaseUnit,
    pub labels: String,
}

/// Which series a query is about. Every field given must match.
#[derive(Debug, Clone, Default)]
pub struct SeriesFilter {
    pub agent_id: Option<Uuid>,
    pub check: Option<String>,
    pub target: Option<String>,
    pub metric: Option<String>,
}

/// A raw sample read back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawPoint {
    pub series_id: i64,
    pub ts: DateTime<Utc>,
    pub value: f64,
}

/// A run's distribution read back: its values in the order measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDistribution {
    pub series_id: i64,
    pub ts: DateTime<Utc>,
    pub values: Vec<f64>,
}

impl RawDistribution {
    /// Each value as a raw point at the run's time.
    pub fn points(&self) -> impl Iterator<Item = RawPoint> + '_ {
        self.values.iter().map(|&value| RawPoint {
            series_id: self.series_id,
            ts: self.ts,
            value,
        })
    }
}

/// Rolled-up resolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Rollup {
    #[serde(rename = "1m")]
    Minute,
    #[serde(rename = "1h")]
    Hour,
    /// A UTC day, rolled up from its hours once it has ended; reports
    /// read it for the days they count whole.
    #[serde(rename = "1d")]
    Day,
}

impl Rollup {
    pub fn seconds(self) -> i64 {
        match self {
            Rollup::Minute => 60,
            Rollup::Hour => 3600,
            Rollup::Day => 86_400,
        }
    }
}

/// One bucket of one series at a rolled-up resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupRow {
    pub series_id: i64,
    pub bucket: DateTime<Utc>,
    pub count: i64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub sketch: Sketch,
}

impl RollupRow {
    /// A bucket with no values yet.
    pub fn empty(series_id: i64, bucket: DateTime<Utc>) -> RollupRow {
        RollupRow {
            series_id,
            bucket,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sketch: Sketch::new(),
        }
    }

    /// Adds one raw value.
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sketch.add(value);
    }

    /// Adds the values of a finer row whose bucket lies in this one.
    pub fn absorb(&mut self, finer: &RollupRow) {
        self.count += finer.count;
        self.sum += finer.sum;
        self.min = self.min.min(finer.min);
        self.max = self.max.max(finer.max);
        self.sketch.merge(&finer.sketch);
    }
}

/// Run counts per status of one check target over a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub ok: u64,
    pub timeout: u64,
    pub unreachable: u64,
    pub refused: u64,
    pub error: u64,
}

impl StatusCounts {
    pub fn total(&self) -> u64 {
        self.ok + self.timeout + self.unreachable + self.refused + self.error
    }

    pub fn add(&mut self, status: Status, n: u64) {
        match status {
            Status::Ok => self.ok += n,
            Status::Timeout => self.timeout += n,
            Status::Unreachable => self.unreachable += n,
            Status::Refused => self.refused += n,
            Status::Error => self.error += n,
        }
    }
}

store_trait! {
    /// Reads of results, series, samples and rollups.
    pub trait SeriesStore {
        /// The latest result of every check target (of one agent, when given).
        async fn latest(&self, agent_id: Option<Uuid>) -> StoreResult<Vec<LatestRow>>;
        /// The series that match, by id.
        async fn series(&self, filter: &SeriesFilter) -> StoreResult<Vec<SeriesRow>>;
        /// Raw samples of the series in `[from, to)`, ordered by series then
        /// time; at most `limit` rows.
        async fn raw_samples(
            &self,
            series: &[i64],
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            limit: usize
        ) -> StoreResult<Vec<RawPoint>>;
        /// Hands every raw sample in `[from, to)` (the rollup job's input) to
        /// `each` as it is read, ordered by series then time; how many there
        /// were. Nothing holds them all: at 100 000 samples a second a
        /// 10-minute chunk is 60 million.
        async fn each_raw_sample(
            &self,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            each: &mut (dyn FnMut(RawPoint) + Send)
        ) -> StoreResult<u64>;
        /// Distributions of the series in `[from, to)`, ordered by series then
        /// time; at most `limit` rows.
        async fn raw_distributions(
            &self,
            series: &[i64],
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            limit: usize
        ) -> StoreResult<Vec<RawDistribution>>;
        /// Every distribution in `[from, to)` (the rollup job's input),
        /// ordered by series then time.
        async fn all_raw_distributions(
            &self,
            from: DateTime<Utc>,
            to: DateTime<Utc>
        ) -> StoreResult<Vec<RawDistribution>>;
        /// Rollup rows of the series in `[from, to)`, ordered by series then
        /// bucket; at most `limit` rows.
        async fn rollups(
            &self,
            resolution: Rollup,
            series: &[i64],
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            limit: usize
        ) -> StoreResult<Vec<RollupRow>>;
        /// Results per status of the check targets in `[from, to)`.
        async fn status_counts(
            &self,
            check_ids: &[i64],
            from: DateTime<Utc>,
            to: DateTime<Utc>
        ) -> StoreResult<StatusCounts>;
    }
}

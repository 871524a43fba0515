//! SLAs (`slas`, saved by name like maintenance windows) and what reports
//! read: each check's runs and ups per minute or per hour, and the
//! history of the alerts an SLA counts by.

use chrono::{DateTime, Utc};
use vantage_protocol::config::{AlertEventView, ReportDeliveryView, SlaSpec};

use super::alerts::RuleSaved;
use super::dispatch::store_trait;
use super::series::{Rollup, RollupRow};
use super::sketch::Sketch;
use super::types::StoreResult;
use super::windows::Saved;

/// A minute or an hour of a `check_up` series: its runs, how many were
/// up (the sum of `check_up`, a whole number), and its least value (below
/// 1: a run failed in it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpRow {
    pub series_id: i64,
    pub bucket: DateTime<Utc>,
    pub runs: i64,
    pub up: f64,
    pub min: f64,
}

impl UpRow {
    /// Its failed runs.
    pub fn failed(&self) -> u64 {
        (self.runs as f64 - self.up).round().max(0.0) as u64
    }
}

/// A `check_up` series' hour rows over a range, summed: the runs of the
/// hours that count whole, those of the other hours, and the hours in
/// which a run failed (in order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpSum {
    pub series_id: i64,
    pub counted_runs: i64,
    pub other_runs: i64,
    pub failing: Vec<DateTime<Utc>>,
}

/// A step a raised parent suppressed, and the parent check targets that
/// did.
#[derive(Debug, Clone)]
pub struct ChildStep {
    pub step: vantage_protocol::config::AlertEventView,
    pub parents: Vec<super::notify::CheckTarget>,
}

/// A series' rollup rows merged: how many values, their sum, and (when
/// asked) their sketches merged.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    pub series_id: i64,
    pub count: i64,
    pub sum: f64,
    pub sketch: Option<Sketch>,
}

/// Rows merged as they come, per series.
#[derive(Debug, Default)]
pub struct MergedBySeries(std::collections::HashMap<i64, Merged>);

impl From<Vec<Merged>> for MergedBySeries {
    fn from(merged: Vec<Merged>) -> MergedBySeries {
        MergedBySeries(merged.into_iter().map(|m| (m.series_id, m)).collect())
    }
}

impl MergedBySeries {
    /// Adds a row: its values' count and sum, and its sketch's bytes when
    /// read (merged as they are: no map apiece).
    pub fn add(
        &mut self,
        series_id: i64,
        count: i64,
        sum: f64,
        sketch: Option<&[u8]>,
    ) -> StoreResult<()> {
        let m = self.counted(series_id, count, sum);
        if let Some(bytes) = sketch {
            m.sketch
                .get_or_insert_with(Sketch::new)
                .merge_bytes(bytes)
                .map_err(super::types::StoreError::Corrupt)?;
        }
        Ok(())
    }

    /// Adds a row already read, with its sketch when `sketch`.
    pub fn add_row(&mut self, row: &RollupRow, sketch: bool) {
        let m = self.counted(row.series_id, row.count, row.sum);
        if sketch {
            m.sketch.get_or_insert_with(Sketch::new).merge(&row.sketch);
        }
    }

    /// Adds a series' rows merged elsewhere.
    pub fn absorb(&mut self, other: Merged) {
        let m = self.counted(other.series_id, other.count, other.sum);
        match (&mut m.sketch, other.sketch) {
            (Some(mine), Some(theirs)) => mine.merge(&theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }

    pub fn done(self) -> Vec<Merged> {
        self.0.into_values().collect()
    }

    /// The series' merge, with a row's count and sum added.
    fn counted(&mut self, series_id: i64, count: i64, sum: f64) -> &mut Merged {
        let m = self.0.entry(series_id).or_insert_with(|| Merged {
            series_id,
            ..Merged::default()
        });
        m.count += count;
        m.sum += sum;
        m
    }
}

store_trait! {
    /// SLAs and the minutes reports count.
    pub trait ReportStore {
        /// Inserts or replaces an SLA; the revision moves only on change.
        async fn put_sla(&self, spec: &SlaSpec, now: DateTime<Utc>) -> StoreResult<RuleSaved>;
        /// True when the SLA existed.
        async fn delete_sla(&self, name: &str) -> StoreResult<bool>;
        /// Every SLA by name.
        async fn slas(&self) -> StoreResult<Vec<Saved<SlaSpec>>>;
        /// Records a try of a report's delivery: its attempts move by one.
        async fn record_delivery(
            &self,
            sla: &str,
            period: &str,
            channel: &str,
            sent: bool,
            detail: &str,
            at: DateTime<Utc>
        ) -> StoreResult<()>;
        /// The channels an SLA's report of a period was sent to.
        async fn delivered(&self, sla: &str, period: &str) -> StoreResult<Vec<String>>;
        /// An SLA's deliveries, newest first.
        async fn deliveries(&self, sla: &str, limit: u32) -> StoreResult<Vec<ReportDeliveryView>>;
        /// The rollups of the series in `[from, to)` at `resolution`,
        /// without their sketches, ordered by bucket then series.
        async fn ups(
            &self,
            resolution: Rollup,
            series: &[i64],
            from: DateTime<Utc>,
            to: DateTime<Utc>
        ) -> StoreResult<Vec<UpRow>>;
        /// The rows at `resolution` of each (series, start) pair's span
        /// (an hour or a day from its start), ordered by bucket then
        /// series: an hour's row, or its minutes'; a day's hours.
        async fn ups_in(
            &self,
            resolution: Rollup,
            pairs: &[(i64, DateTime<Utc>)],
            span: Rollup
        ) -> StoreResult<Vec<UpRow>>;
        /// The rows at `resolution` (hours or days) of the series in
        /// `[from, to)` summed per series, in one pass: `whole` are the
        /// buckets that count whole.
        async fn up_sums(
            &self,
            resolution: Rollup,
            series: &[i64],
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            whole: &[DateTime<Utc>]
        ) -> StoreResult<Vec<UpSum>>;
        /// The rows at `resolution` (hours or days) of the series at the
        /// buckets `whole` in `[from, to)`, merged per series; their
        /// sketches too with `sketches` (streamed: the rows are never all
        /// in memory).
        async fn merged_rollups(
            &self,
            resolution: Rollup,
            series: &[i64],
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            whole: &[DateTime<Utc>],
            sketches: bool
        ) -> StoreResult<Vec<Merged>>;
        /// The steps over `[from, to)` that a raised parent check target
        /// suppressed, with those parents, in time order.
        async fn suppressed_steps(
            &self,
            from: DateTime<Utc>,
            to: DateTime<Utc>
        ) -> StoreResult<Vec<ChildStep>>;
        /// The history of these rules' alerts over `[from, to)` (by the
        /// time of the results judged), with `state_before` after each
        /// alert's last step before `from` (its state then), in the order
        /// they were judged.
        async fn alert_steps(
            &self,
            rules: &[String],
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            state_before: bool
        ) -> StoreResult<Vec<AlertEventView>>;
    }
}

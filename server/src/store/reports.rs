//! SLAs (`slas`, saved by name like maintenance windows) and what reports
//! read: each check target's runs and ups per minute.

use chrono::{DateTime, Utc};
use vantage_protocol::config::SlaSpec;

use super::alerts::RuleSaved;
use super::dispatch::store_trait;
use super::types::StoreResult;
use super::windows::Saved;

/// One minute of a `check_up` series: its runs, and how many were up
/// (the sum of `check_up`, a whole number).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinuteRow {
    pub series_id: i64,
    pub bucket: DateTime<Utc>,
    pub runs: i64,
    pub up: f64,
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
        /// The minute rollups of the series in `[from, to)`, ordered by
        /// bucket then series.
        async fn minutes(
            &self,
            series: &[i64],
            from: DateTime<Utc>,
            to: DateTime<Utc>
        ) -> StoreResult<Vec<MinuteRow>>;
    }
}

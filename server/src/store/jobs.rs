//! Primitives of the server's jobs (`crate::jobs` holds their logic once):
//! leading them (a lease, or an advisory lock), dirty ranges, rollup rows, retention and partitions.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::dispatch::store_trait;
use super::series::{Rollup, RollupRow};
use super::types::StoreResult;

/// A time range `[from, to)` whose raw samples changed since the last rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirtyRange {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl DirtyRange {
    /// `ranges` sorted, those that overlap or touch merged into one.
    pub fn merged(mut ranges: Vec<DirtyRange>) -> Vec<DirtyRange> {
        ranges.sort_by_key(|r| r.from);
        let mut out: Vec<DirtyRange> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match out.last_mut() {
                Some(last) if r.from <= last.to => last.to = last.to.max(r.to),
                _ => out.push(r),
            }
        }
        out
    }
}

/// Dirty ranges as read: ordered, with the ids of the rows that held them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirtyRead {
    pub ranges: Vec<DirtyRange>,
    pub ids: Vec<i64>,
}

/// How long each resolution is kept, for a database that drops old rows by
/// its own policies (TimescaleDB's `add_retention_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeRetention {
    pub raw: chrono::Duration,
    pub minute: chrono::Duration,
    pub hour: chrono::Duration,
    pub day: chrono::Duration,
}

store_trait! {
    /// What the rollup, retention and partition jobs do to the database.
    pub trait JobStore {
        /// Takes or renews a named lease; true when `holder` has it until `now + ttl`.
        async fn try_lease(
            &self,
            name: &str,
            holder: Uuid,
            now: DateTime<Utc>,
            ttl: chrono::Duration
        ) -> StoreResult<bool>;
        /// Leads the singleton jobs `name`; true while `holder` does.
        /// PostgreSQL holds a session advisory lock on a connection of its
        /// own, which the database releases the moment that session ends
        /// (the process killed, its connection cut): another replica leads
        /// on its next try, with no lease to run out. SQLite, one process
        /// by construction, takes the lease (`try_lease`).
        async fn lead(
            &self,
            name: &str,
            holder: Uuid,
            now: DateTime<Utc>,
            ttl: chrono::Duration
        ) -> StoreResult<bool>;
        /// Gives up leading `name` (a replica stopping): the next try of
        /// another replica leads at once.
        async fn resign(&self, name: &str, holder: Uuid) -> StoreResult<()>;
        /// Every dirty range, ordered, and the ids of their rows. They
        /// stay until [`JobStore::clear_dirty`]: a round that dies half-way
        /// (the process killed) leaves them to the next.
        async fn read_dirty(&self) -> StoreResult<DirtyRead>;
        /// Deletes the rows `read` (rolled up), and adds `later` (the parts
        /// not rolled up yet), in one transaction. Rows added since the
        /// read stay.
        async fn clear_dirty(&self, read: &[i64], later: &[DirtyRange]) -> StoreResult<()>;
        /// Adds dirty ranges.
        async fn put_dirty(&self, ranges: &[DirtyRange]) -> StoreResult<()>;
        /// Marks UTC days (midnights) whose hours changed: their day rows
        /// are to be written again once they have ended.
        async fn mark_days(&self, days: &[DateTime<Utc>]) -> StoreResult<()>;
        /// The marked days, ordered.
        async fn dirty_days(&self) -> StoreResult<Vec<DateTime<Utc>>>;
        /// Unmarks a day whose day rows were written.
        async fn clear_day(&self, day: DateTime<Utc>) -> StoreResult<()>;
        /// Replaces the rollup rows of every series for the buckets in
        /// `[from, to)` with `rows`, atomically; returns the series that
        /// had rows there before, ordered.
        async fn replace_rollups(
            &self,
            resolution: Rollup,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            rows: &[RollupRow]
        ) -> StoreResult<Vec<i64>>;
        /// Replaces the rollup rows of `series` (only) for the buckets in
        /// `[from, to)` with `rows`, atomically.
        async fn replace_series_rollups(
            &self,
            resolution: Rollup,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            series: &[i64],
            rows: &[RollupRow]
        ) -> StoreResult<()>;
        /// True where the database rolls `samples` up itself (TimescaleDB's
        /// continuous aggregates, `meta.rollups = native`): the rollup job
        /// then computes only the distributions' rollups, and has the
        /// database refresh the samples' ([`JobStore::refresh_native`]).
        fn native_rollups(&self) -> bool;
        /// Has the database bring its own rollups of `resolution` up to
        /// date for the buckets in `[from, to)` (a no-op without them).
        async fn refresh_native(
            &self,
            resolution: Rollup,
            from: DateTime<Utc>,
            to: DateTime<Utc>
        ) -> StoreResult<()>;
        /// The series with rollup rows of `resolution` in `[from, to)`
        /// that the job itself wrote (`replace_rollups`), ordered.
        async fn rolled_series(
            &self,
            resolution: Rollup,
            from: DateTime<Utc>,
            to: DateTime<Utc>
        ) -> StoreResult<Vec<i64>>;
        /// Keeps the database's own refresh and retention policies in line
        /// with `keep` (a no-op without native rollups); cheap when they are.
        async fn keep_native_policies(&self, keep: &NativeRetention) -> StoreResult<()>;
        /// Raw rows (results, samples) older than `before`; rows removed.
        /// Partitioned storage drops only whole days (partitions, chunks)
        /// that end at or before `before`, and may count their rows from
        /// statistics.
        async fn delete_raw_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
        /// Rollup rows of buckets before `before`; rows removed.
        async fn delete_rollups_before(
            &self,
            resolution: Rollup,
            before: DateTime<Utc>
        ) -> StoreResult<u64>;
        /// Sessions past their expiry; rows removed.
        async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;
        /// Batch ids older than `before` (replays after that are stored by
        /// result id); rows removed.
        async fn delete_batches_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
        /// Makes sure partitions exist for `[from, to)` (a no-op where there are none).
        async fn ensure_partitions(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<()>;
    }
}

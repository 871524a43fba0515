//! TimescaleDB's own rollups (`meta.rollups = native`, migration 0025):
//! continuous aggregates of `samples` at 1 minute, 1 hour and 1 day, which
//! the rollup job refreshes range by range as ingest marks them dirty, and
//! the refresh and retention policies that keep them without the server.
//!
//! The job drives the refreshes so that a rollup is there one round after
//! its minute closed, as in the other modes, and so that late data of any
//! age (an outbox emptied after days) is rolled up at once. The policies
//! are the database's own backstop while no replica runs the jobs. (On
//! PostgreSQL 15.20 with TimescaleDB 2.28.3 every policy run by the
//! scheduler ends `cannot drop portal "" while it is being set up`, its
//! work committed but the job marked failed and backed off: one more
//! reason not to depend on them alone.)

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::PgStore;
use crate::store::*;

/// A continuous aggregate per resolution.
fn aggregate(resolution: Rollup) -> &'static str {
    match resolution {
        Rollup::Minute => "rollup_hist_1m",
        Rollup::Hour => "rollup_hist_1h",
        Rollup::Day => "rollup_hist_1d",
    }
}

/// How far behind now each aggregate's refresh policy stops: its last
/// bucket, still filling.
fn end_offset(resolution: Rollup) -> chrono::Duration {
    chrono::Duration::seconds(resolution.seconds())
}

/// The policies' own schedule.
fn schedule(resolution: Rollup) -> chrono::Duration {
    match resolution {
        Rollup::Minute => chrono::Duration::minutes(5),
        Rollup::Hour => chrono::Duration::minutes(30),
        Rollup::Day => chrono::Duration::hours(6),
    }
}

/// A policy as `timescaledb_information.jobs` shows it, in seconds.
#[derive(Debug, PartialEq)]
struct Policy {
    table: String,
    proc: String,
    /// `drop_after` (retention) or `start_offset` (refresh).
    reach: Option<i64>,
}

impl PgStore {
    /// Refreshes `resolution`'s aggregate over `[from, to)`; TimescaleDB
    /// refreshes the whole buckets inside it whose raw rows changed.
    pub(super) async fn refresh(
        &self,
        resolution: Rollup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<()> {
        if !self.native || to <= from {
            return Ok(());
        }
        sqlx::query("CALL refresh_continuous_aggregate($1::regclass, $2, $3)")
            .bind(aggregate(resolution))
            .bind(from)
            .bind(to)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Drops the aggregate's chunks that end before `before` (what its
    /// retention policy does, at once); rows removed, estimated.
    pub(super) async fn drop_native_before(
        &self,
        resolution: Rollup,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        if !self.native {
            return Ok(0);
        }
        let chunks: Vec<String> =
            sqlx::query_scalar("SELECT c::text FROM show_chunks($1::regclass, older_than => $2) c")
                .bind(aggregate(resolution))
                .bind(before)
                .fetch_all(&self.pool)
                .await?;
        let mut removed = 0;
        for chunk in &chunks {
            removed += self.rows_in(chunk).await?;
        }
        if !chunks.is_empty() {
            sqlx::query("SELECT drop_chunks($1::regclass, older_than => $2)")
                .bind(aggregate(resolution))
                .bind(before)
                .execute(&self.pool)
                .await?;
        }
        Ok(removed)
    }

    /// Makes the policies those of `keep`, replacing the ones that differ:
    /// - retention of the raw hypertables after `keep.raw`, of each
    ///   aggregate after its resolution's time;
    /// - a refresh of each aggregate over its last `keep.raw` (never
    ///   further back: refreshing where raw chunks are gone would empty
    ///   the aggregate there), up to its last, unfinished bucket.
    pub(super) async fn keep_policies(&self, keep: &NativeRetention) -> StoreResult<()> {
        if !self.native {
            return Ok(());
        }
        // (table, the aggregate's resolution for a refresh policy or none
        // for a retention policy, its reach)
        let mut want: Vec<(&str, Option<Rollup>, chrono::Duration)> = super::mode::RAW_TABLES
            .into_iter()
            .map(|table| (table, None, keep.raw))
            .collect();
        for (resolution, kept) in [
            (Rollup::Minute, keep.minute),
            (Rollup::Hour, keep.hour),
            (Rollup::Day, keep.day),
        ] {
            want.push((aggregate(resolution), None, kept));
            want.push((aggregate(resolution), Some(resolution), keep.raw));
        }
        let have = self.policies().await?;
        for (table, refresh, reach) in want {
            let proc = match refresh {
                Some(_) => "policy_refresh_continuous_aggregate",
                None => "policy_retention",
            };
            let wanted = Policy {
                table: table.into(),
                proc: proc.into(),
                reach: Some(reach.num_seconds()),
            };
            if have.contains(&wanted) {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            match refresh {
                None => {
                    sqlx::query("SELECT remove_retention_policy($1::regclass, if_exists => true)")
                        .bind(table)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("SELECT add_retention_policy($1::regclass, drop_after => $2)")
                        .bind(table)
                        .bind(reach)
                        .execute(&mut *tx)
                        .await?;
                }
                Some(resolution) => {
                    sqlx::query(
                        "SELECT remove_continuous_aggregate_policy($1::regclass, if_exists => true)",
                    )
                    .bind(table)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "SELECT add_continuous_aggregate_policy($1::regclass,
                             start_offset => $2, end_offset => $3, schedule_interval => $4)",
                    )
                    .bind(table)
                    .bind(reach)
                    .bind(end_offset(resolution))
                    .bind(schedule(resolution))
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            tracing::info!(
                table,
                policy = proc,
                seconds = reach.num_seconds(),
                "TimescaleDB policy set."
            );
        }
        Ok(())
    }

    /// The retention and refresh policies there are, an aggregate's by its
    /// view (its jobs name its materialization hypertable).
    async fn policies(&self) -> StoreResult<Vec<Policy>> {
        let rows = sqlx::query(
            "SELECT coalesce(a.view_name, j.hypertable_name)::text AS tab, j.proc_name::text AS proc,
                    extract(epoch FROM coalesce((j.config->>'drop_after')::interval,
                                                (j.config->>'start_offset')::interval))::int8 AS reach
             FROM timescaledb_information.jobs j
             LEFT JOIN timescaledb_information.continuous_aggregates a
               ON a.materialization_hypertable_name = j.hypertable_name
             WHERE j.proc_name IN ('policy_retention', 'policy_refresh_continuous_aggregate')",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Policy {
                    table: row.try_get("tab")?,
                    proc: row.try_get("proc")?,
                    reach: row.try_get("reach")?,
                })
            })
            .collect()
    }
}

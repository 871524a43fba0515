//! What the storage modes do differently: where raw rows live and how they
//! are dropped.
//!
//! - `postgres`: `results`, `samples` and `distributions` are
//!   range-partitioned by day. A
//!   partition is `<table>_pYYYYMMDD` and holds `[day 00:00 UTC, next day
//!   00:00 UTC)`. [`PgStore::create_partition_days`] adds the missing ones;
//!   retention (`JobStore::delete_raw_before`) drops whole partitions whose
//!   end is at or before the cut.
//! - `timescaledb`: all three are hypertables with 1-day chunks, which TimescaleDB
//!   creates on insert; retention calls `drop_chunks` (Apache-licensed, so it
//!   works under both licenses).
//!
//! `events` is a plain table in both modes, deleted in chunks by its own
//! retention (`0024_events.sql`).
//!
//! The mode itself is chosen by the first migration and read from `meta` by
//! [`PgStore::connect`].

use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::PgStore;
use crate::store::*;

/// The partitioned (or hypertable) tables.
pub(super) const RAW_TABLES: [&str; 3] = ["results", "samples", "distributions"];

/// Serialises partition DDL between replicas (`pg_advisory_xact_lock`).
pub(super) const PARTITION_LOCK: i64 = 0x7661_6e74_6167_6570; // "vantagep"

/// A daily partition of one of [`RAW_TABLES`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Partition {
    table: &'static str,
    day: NaiveDate,
}

impl Partition {
    pub(super) fn name(&self) -> String {
        format!("{}_p{}", self.table, self.day.format("%Y%m%d"))
    }

    fn parse(table: &str, name: &str) -> Option<Partition> {
        let table = RAW_TABLES.into_iter().find(|t| *t == table)?;
        let digits = name.strip_prefix(table)?.strip_prefix("_p")?;
        let day = NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
        Some(Partition { table, day })
    }

    /// Midnight UTC at the start of `day`.
    fn start(day: NaiveDate) -> DateTime<Utc> {
        day.and_time(NaiveTime::MIN).and_utc()
    }

    /// The partition's exclusive upper bound.
    pub(super) fn end(&self) -> Option<DateTime<Utc>> {
        self.day
            .checked_add_days(Days::new(1))
            .map(Partition::start)
    }
}

impl PgStore {
    /// Creates the partitions of these days that are missing, each day in its
    /// own short transaction (creating a partition locks its parent).
    pub(super) async fn create_partition_days(
        &self,
        days: impl IntoIterator<Item = NaiveDate>,
    ) -> StoreResult<()> {
        if self.mode != StorageMode::Postgres {
            return Ok(());
        }
        let existing = self.partitions().await?;
        for day in days {
            let missing: Vec<Partition> = RAW_TABLES
                .into_iter()
                .map(|table| Partition { table, day })
                .filter(|p| !existing.contains(p))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let end = day
                .checked_add_days(Days::new(1))
                .ok_or_else(|| StoreError::Corrupt(format!("no partition can follow {day}")))?;
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PARTITION_LOCK)
                .execute(&mut *tx)
                .await?;
            for p in missing {
                // Names and bounds come from dates, never from input text.
                let sql = format!(
                    "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table}
                     FOR VALUES FROM ('{day} 00:00:00+00') TO ('{end} 00:00:00+00')",
                    name = p.name(),
                    table = p.table,
                    day = day.format("%Y-%m-%d"),
                    end = end.format("%Y-%m-%d"),
                );
                sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// The daily partitions that exist (postgres mode).
    pub(super) async fn partitions(&self) -> StoreResult<BTreeSet<Partition>> {
        let rows = sqlx::query(
            "SELECT parent.relname::text AS parent, child.relname::text AS child
             FROM pg_inherits i
             JOIN pg_class parent ON parent.oid = i.inhparent
             JOIN pg_class child ON child.oid = i.inhrelid
             WHERE i.inhparent IN ('results'::regclass, 'samples'::regclass,
                                   'distributions'::regclass)",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut partitions = BTreeSet::new();
        for row in &rows {
            let (parent, child): (&str, &str) = (row.try_get("parent")?, row.try_get("child")?);
            // Partitions someone attached by hand under other names are left alone.
            if let Some(p) = Partition::parse(parent, child) {
                partitions.insert(p);
            }
        }
        Ok(partitions)
    }

    /// Rows of a relation named by the catalog (a partition or a chunk).
    pub(super) async fn rows_in(&self, relation: &str) -> StoreResult<u64> {
        let estimate: f32 =
            sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = $1::regclass")
                .bind(relation)
                .fetch_one(&self.pool)
                .await?;
        if estimate >= 0.0 {
            return Ok(estimate as u64);
        }
        // -1: never vacuumed or analysed, hence young or small.
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {relation}")))
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}

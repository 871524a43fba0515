//! Primitives of the server's jobs: leases, dirty ranges, rollup rows and
//! retention.
//!
//! Retention deletes in chunks of [`DELETE_CHUNK`] rows, each its own short
//! transaction, so the write connection goes back to the pool between
//! chunks and ingest never waits long behind a large delete.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::bulk::BulkValues;
use sqlx::{Row as _, Sqlite, SqliteConnection, Transaction};

use super::{SqliteStore, id_list, micros, time_at};
use crate::store::*;

/// Rows one retention statement deletes at most.
const DELETE_CHUNK: i64 = 10_000;

static ROLLUP_1M: BulkValues = BulkValues::new(
    "INSERT INTO rollup_1m (series_id, bucket, n, sum, min, max, sketch) VALUES ",
    7,
    "",
    11,
);
static ROLLUP_1H: BulkValues = BulkValues::new(
    "INSERT INTO rollup_1h (series_id, bucket, n, sum, min, max, sketch) VALUES ",
    7,
    "",
    11,
);
static ROLLUP_1D: BulkValues = BulkValues::new(
    "INSERT INTO rollup_1d (series_id, bucket, n, sum, min, max, sketch) VALUES ",
    7,
    "",
    11,
);
static DAYS: BulkValues = BulkValues::new(
    "INSERT INTO rollup_days_dirty (day) VALUES ",
    1,
    " ON CONFLICT (day) DO NOTHING",
    10,
);
static DIRTY: BulkValues = BulkValues::new("INSERT INTO rollup_dirty (lo, hi) VALUES ", 2, "", 10);

impl JobStore for SqliteStore {
    async fn try_lease(
        &self,
        name: &str,
        holder: Uuid,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> StoreResult<bool> {
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.expires_at <= ?4 OR leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(micros(now.checked_add_signed(ttl).unwrap_or(DateTime::<Utc>::MAX_UTC)))
        .bind(micros(now))
        .execute(&self.write)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn lead(
        &self,
        name: &str,
        holder: Uuid,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> StoreResult<bool> {
        self.try_lease(name, holder, now, ttl).await
    }

    async fn resign(&self, name: &str, holder: Uuid) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = ?1 AND holder = ?2")
            .bind(name)
            .bind(holder)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn read_dirty(&self) -> StoreResult<DirtyRead> {
        let rows = sqlx::query("SELECT rowid, lo, hi FROM rollup_dirty ORDER BY lo, hi")
            .fetch_all(&self.read)
            .await?;
        let mut read = DirtyRead::default();
        for row in &rows {
            read.ids.push(row.try_get("rowid")?);
            read.ranges.push(DirtyRange {
                from: time_at(row, "lo")?,
                to: time_at(row, "hi")?,
            });
        }
        Ok(read)
    }

    async fn clear_dirty(&self, read: &[i64], later: &[DirtyRange]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM rollup_dirty WHERE rowid IN (SELECT value FROM json_each(?1))")
            .bind(id_list(read))
            .execute(&mut *tx)
            .await?;
        insert_dirty(&mut tx, later).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_dirty(&self, ranges: &[DirtyRange]) -> StoreResult<()> {
        if ranges.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        insert_dirty(&mut tx, ranges).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mark_days(&self, days: &[DateTime<Utc>]) -> StoreResult<()> {
        if days.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for (rows, sql) in DAYS.statements(days.len()) {
            let mut query = sqlx::query(sql);
            for day in &days[rows] {
                query = query.bind(micros(*day));
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn dirty_days(&self) -> StoreResult<Vec<DateTime<Utc>>> {
        let rows = sqlx::query("SELECT day FROM rollup_days_dirty ORDER BY day")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| time_at(row, "day")).collect()
    }

    async fn clear_day(&self, day: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("DELETE FROM rollup_days_dirty WHERE day = ?1")
            .bind(micros(day))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Delete and insert in one transaction, so readers see the old rows or
    /// the new ones, and running it twice changes nothing.
    async fn replace_rollups(
        &self,
        resolution: Rollup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rows: &[RollupRow],
    ) -> StoreResult<Vec<i64>> {
        let mut tx = self.begin().await?;
        let had: Vec<i64> = sqlx::query_scalar(rollup_sql!(
            resolution,
            "SELECT DISTINCT series_id FROM ",
            " WHERE bucket >= ?1 AND bucket < ?2 ORDER BY 1"
        ))
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(rollup_sql!(
            resolution,
            "DELETE FROM ",
            " WHERE bucket >= ?1 AND bucket < ?2"
        ))
        .bind(micros(from))
        .bind(micros(to))
        .execute(&mut *tx)
        .await?;
        insert_rollups(&mut tx, resolution, rows).await?;
        tx.commit().await?;
        Ok(had)
    }

    async fn replace_series_rollups(
        &self,
        resolution: Rollup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        series: &[i64],
        rows: &[RollupRow],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(rollup_sql!(
            resolution,
            "DELETE FROM ",
            " WHERE bucket >= ?1 AND bucket < ?2
               AND series_id IN (SELECT value FROM json_each(?3))"
        ))
        .bind(micros(from))
        .bind(micros(to))
        .bind(id_list(series))
        .execute(&mut *tx)
        .await?;
        insert_rollups(&mut tx, resolution, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Samples and distributions first, then results: a crash between them
    /// leaves results without samples, which the next round deletes, never
    /// the reverse.
    async fn delete_raw_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let distributions = self
            .delete_in_chunks(
                "DELETE FROM distributions WHERE rowid IN (
                     SELECT rowid FROM distributions INDEXED BY distributions_series_ts
                     WHERE series_id IN (SELECT id FROM series) AND ts < ?1 LIMIT ?2)",
                before,
            )
            .await?;
        let samples = self
            .delete_in_chunks(
                "DELETE FROM samples WHERE rowid IN (
                     SELECT rowid FROM samples INDEXED BY samples_series_ts
                     WHERE series_id IN (SELECT id FROM series) AND ts < ?1 LIMIT ?2)",
                before,
            )
            .await?;
        let results = self
            .delete_in_chunks(
                "DELETE FROM results WHERE id IN (
                     SELECT id FROM results INDEXED BY results_check_started
                     WHERE check_id IN (SELECT id FROM checks) AND started_at < ?1 LIMIT ?2)",
                before,
            )
            .await?;
        Ok(distributions + samples + results)
    }

    async fn delete_rollups_before(
        &self,
        resolution: Rollup,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let sql = match resolution {
            Rollup::Minute => {
                "DELETE FROM rollup_1m WHERE (series_id, bucket) IN (
                     SELECT series_id, bucket FROM rollup_1m INDEXED BY rollup_1m_bucket
                     WHERE bucket < ?1 LIMIT ?2)"
            }
            Rollup::Hour => {
                "DELETE FROM rollup_1h WHERE (series_id, bucket) IN (
                     SELECT series_id, bucket FROM rollup_1h INDEXED BY rollup_1h_bucket
                     WHERE bucket < ?1 LIMIT ?2)"
            }
            Rollup::Day => {
                "DELETE FROM rollup_1d WHERE (series_id, bucket) IN (
                     SELECT series_id, bucket FROM rollup_1d INDEXED BY rollup_1d_bucket
                     WHERE bucket < ?1 LIMIT ?2)"
            }
        };
        self.delete_in_chunks(sql, before).await
    }

    fn native_rollups(&self) -> bool {
        false
    }

    async fn refresh_native(
        &self,
        _resolution: Rollup,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
    ) -> StoreResult<()> {
        Ok(())
    }

    async fn rolled_series(
        &self,
        resolution: Rollup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(rollup_sql!(
            resolution,
            "SELECT DISTINCT series_id FROM ",
            " WHERE bucket >= ?1 AND bucket < ?2 ORDER BY 1"
        ))
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(&self.read)
        .await?)
    }

    async fn keep_native_policies(&self, _keep: &NativeRetention) -> StoreResult<()> {
        Ok(())
    }

    async fn delete_batches_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.delete_in_chunks(
            "DELETE FROM ingest_batches WHERE (agent_id, batch_id) IN (
                 SELECT agent_id, batch_id FROM ingest_batches INDEXED BY ingest_batches_received_at
                 WHERE received_at < ?1 LIMIT ?2)",
            before,
        )
        .await
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?1")
            .bind(micros(now))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    /// No partitions in SQLite: retention deletes rows in chunks.
    async fn ensure_partitions(&self, _from: DateTime<Utc>, _to: DateTime<Utc>) -> StoreResult<()> {
        Ok(())
    }
}

impl SqliteStore {
    /// Runs `sql` (parameters: the cut-off, the chunk size) until a chunk
    /// deletes fewer rows than it may; the total deleted.
    pub(super) async fn delete_in_chunks(
        &self,
        sql: &'static str,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let deleted = sqlx::query(sql)
                .bind(micros(before))
                .bind(DELETE_CHUNK)
                .execute(&self.write)
                .await?
                .rows_affected();
            total += deleted;
            if deleted < DELETE_CHUNK as u64 {
                return Ok(total);
            }
            // Give batches waiting for the writer a chance to go first.
            tokio::task::yield_now().await;
        }
    }
}

/// Inserts rollup rows, as many a statement as SQLite's bound allows.
async fn insert_rollups(
    tx: &mut Transaction<'static, Sqlite>,
    resolution: Rollup,
    rows: &[RollupRow],
) -> StoreResult<()> {
    let insert = match resolution {
        Rollup::Minute => &ROLLUP_1M,
        Rollup::Hour => &ROLLUP_1H,
        Rollup::Day => &ROLLUP_1D,
    };
    for (range, sql) in insert.statements(rows.len()) {
        let mut query = sqlx::query(sql);
        for r in &rows[range] {
            query = query
                .bind(r.series_id)
                .bind(micros(r.bucket))
                .bind(r.count)
                .bind(r.sum)
                .bind(r.min)
                .bind(r.max)
                .bind(r.sketch.to_bytes());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Marks `ranges` dirty (also ingest's, [`super::batches`]).
pub(super) async fn insert_dirty(
    tx: &mut SqliteConnection,
    ranges: &[DirtyRange],
) -> StoreResult<()> {
    for (rows, sql) in DIRTY.statements(ranges.len()) {
        let mut query = sqlx::query(sql);
        for r in &ranges[rows] {
            query = query.bind(micros(r.from)).bind(micros(r.to));
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

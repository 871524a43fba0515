//! Primitives of the server's jobs: leases and leading (`leader.rs`), dirty ranges, rollup rows,
//! retention and partitions (what each storage mode does is in [`super::mode`]).

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::mode::{PARTITION_LOCK, RAW_TABLES};
use super::{PgStore, id32};
use crate::store::*;

/// Rollup rows per `INSERT … UNNEST` statement.
const ROLLUPS_PER_STATEMENT: usize = 10_000;

impl JobStore for PgStore {
    async fn try_lease(
        &self,
        name: &str,
        holder: Uuid,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> StoreResult<bool> {
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
             WHERE leases.expires_at <= $4 OR leases.holder = EXCLUDED.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(now + ttl)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn lead(
        &self,
        name: &str,
        _holder: Uuid,
        _now: DateTime<Utc>,
        _ttl: chrono::Duration,
    ) -> StoreResult<bool> {
        self.leads.lead(&self.pool, name).await
    }

    async fn resign(&self, name: &str, _holder: Uuid) -> StoreResult<()> {
        self.leads.resign(name).await
    }

    async fn read_dirty(&self) -> StoreResult<DirtyRead> {
        let rows = sqlx::query("SELECT id, lo, hi FROM rollup_dirty ORDER BY lo, hi")
            .fetch_all(&self.pool)
            .await?;
        let mut read = DirtyRead::default();
        for row in &rows {
            read.ids.push(row.try_get("id")?);
            read.ranges.push(DirtyRange {
                from: row.try_get("lo")?,
                to: row.try_get("hi")?,
            });
        }
        Ok(read)
    }

    async fn clear_dirty(&self, read: &[i64], later: &[DirtyRange]) -> StoreResult<()> {
        let (lo, hi): (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) =
            later.iter().map(|r| (r.from, r.to)).unzip();
        sqlx::query(
            "WITH gone AS (DELETE FROM rollup_dirty WHERE id = ANY($1))
             INSERT INTO rollup_dirty (lo, hi) SELECT * FROM UNNEST($2::timestamptz[], $3::timestamptz[])",
        )
        .bind(read)
        .bind(lo)
        .bind(hi)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn put_dirty(&self, ranges: &[DirtyRange]) -> StoreResult<()> {
        if ranges.is_empty() {
            return Ok(());
        }
        self.clear_dirty(&[], ranges).await
    }

    async fn mark_days(&self, days: &[DateTime<Utc>]) -> StoreResult<()> {
        if days.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO rollup_days_dirty (day) SELECT * FROM UNNEST($1::timestamptz[])
             ON CONFLICT (day) DO NOTHING",
        )
        .bind(days)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn dirty_days(&self) -> StoreResult<Vec<DateTime<Utc>>> {
        Ok(
            sqlx::query_scalar("SELECT day FROM rollup_days_dirty ORDER BY day")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn clear_day(&self, day: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("DELETE FROM rollup_days_dirty WHERE day = $1")
            .bind(day)
            .execute(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        let had: Vec<i32> = sqlx::query_scalar(own_rollup_sql!(
            self.native,
            resolution,
            "WITH gone AS (DELETE FROM ",
            " WHERE bucket >= $1 AND bucket < $2 RETURNING series_id)
             SELECT DISTINCT series_id FROM gone ORDER BY 1"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        insert_rollups(&mut tx, self.native, resolution, rows).await?;
        tx.commit().await?;
        Ok(had.into_iter().map(i64::from).collect())
    }

    async fn replace_series_rollups(
        &self,
        resolution: Rollup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        series: &[i64],
        rows: &[RollupRow],
    ) -> StoreResult<()> {
        let ids = series
            .iter()
            .map(|&id| id32(id))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(own_rollup_sql!(
            self.native,
            resolution,
            "DELETE FROM ",
            " WHERE bucket >= $1 AND bucket < $2 AND series_id = ANY($3)"
        ))
        .bind(from)
        .bind(to)
        .bind(ids)
        .execute(&mut *tx)
        .await?;
        insert_rollups(&mut tx, self.native, resolution, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_rollups_before(
        &self,
        resolution: Rollup,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let deleted = sqlx::query(own_rollup_sql!(
            self.native,
            resolution,
            "DELETE FROM ",
            " WHERE bucket < $1"
        ))
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected() + self.drop_native_before(resolution, before).await?)
    }

    fn native_rollups(&self) -> bool {
        self.native
    }

    async fn refresh_native(
        &self,
        resolution: Rollup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.refresh(resolution, from, to).await
    }

    async fn rolled_series(
        &self,
        resolution: Rollup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        let ids: Vec<i32> = sqlx::query_scalar(own_rollup_sql!(
            self.native,
            resolution,
            "SELECT DISTINCT series_id FROM ",
            " WHERE bucket >= $1 AND bucket < $2 ORDER BY 1"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(i64::from).collect())
    }

    async fn keep_native_policies(&self, keep: &NativeRetention) -> StoreResult<()> {
        self.keep_policies(keep).await
    }

    async fn delete_batches_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let deleted = sqlx::query("DELETE FROM ingest_batches WHERE received_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }

    /// Drops the raw partitions (or chunks, see [`super::mode`]) that end at
    /// or before `before`. Returns their rows: counted when the table was
    /// never analysed, else the statistics' estimate, since counting a day
    /// of samples is slow.
    async fn delete_raw_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut removed = 0;
        match self.mode {
            StorageMode::Timescaledb => {
                for table in RAW_TABLES {
                    let chunks: Vec<String> = sqlx::query_scalar(
                        "SELECT c::text FROM show_chunks($1::regclass, older_than => $2) c",
                    )
                    .bind(table)
                    .bind(before)
                    .fetch_all(&self.pool)
                    .await?;
                    for chunk in &chunks {
                        removed += self.rows_in(chunk).await?;
                    }
                    sqlx::query("SELECT drop_chunks($1::regclass, older_than => $2)")
                        .bind(table)
                        .bind(before)
                        .execute(&self.pool)
                        .await?;
                }
            }
            _ => {
                for p in self.partitions().await? {
                    if p.end().is_none_or(|end| end > before) {
                        continue;
                    }
                    let name = p.name();
                    removed += self.rows_in(&name).await?;
                    let mut tx = self.pool.begin().await?;
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(PARTITION_LOCK)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {name}")))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
            }
        }
        Ok(removed)
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Makes sure daily partitions cover `[from, to)`; a no-op in
    /// TimescaleDB mode, where chunks are created on insert.
    async fn ensure_partitions(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<()> {
        if to <= from {
            return Ok(());
        }
        let last = (to - chrono::Duration::microseconds(1)).date_naive();
        let days = from.date_naive().iter_days().take_while(|d| *d <= last);
        self.create_partition_days(days).await
    }
}

/// Inserts rollup rows, a statement per [`ROLLUPS_PER_STATEMENT`].
async fn insert_rollups(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    native: bool,
    resolution: Rollup,
    rows: &[RollupRow],
) -> StoreResult<()> {
    for chunk in rows.chunks(ROLLUPS_PER_STATEMENT) {
        let series_ids = chunk
            .iter()
            .map(|r| id32(r.series_id))
            .collect::<StoreResult<Vec<_>>>()?;
        let buckets: Vec<_> = chunk.iter().map(|r| r.bucket).collect();
        let counts: Vec<_> = chunk.iter().map(|r| r.count).collect();
        let sums: Vec<_> = chunk.iter().map(|r| r.sum).collect();
        let mins: Vec<_> = chunk.iter().map(|r| r.min).collect();
        let maxs: Vec<_> = chunk.iter().map(|r| r.max).collect();
        let sketches: Vec<_> = chunk.iter().map(|r| r.sketch.to_bytes()).collect();
        let sql = own_rollup_sql!(
            native,
            resolution,
            "INSERT INTO ",
            " (series_id, bucket, n, sum, min, max, sketch)
                 SELECT * FROM UNNEST($1::int4[], $2::timestamptz[], $3::int8[], $4::float8[],
                                      $5::float8[], $6::float8[], $7::bytea[])"
        );
        sqlx::query(sql)
            .bind(series_ids)
            .bind(buckets)
            .bind(counts)
            .bind(sums)
            .bind(mins)
            .bind(maxs)
            .bind(sketches)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

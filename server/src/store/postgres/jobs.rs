//! Primitives of the server's jobs: leases, dirty ranges, rollup rows and
//! retention of the tables that are not partitioned.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{PgStore, id32};
use crate::store::*;

/// Rollup rows per `INSERT … UNNEST` statement.
const ROLLUPS_PER_STATEMENT: usize = 10_000;

impl PgStore {
    pub(super) async fn take_lease(
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

    pub(super) async fn take_dirty_ranges(&self) -> StoreResult<Vec<DirtyRange>> {
        let rows = sqlx::query("DELETE FROM rollup_dirty RETURNING lo, hi")
            .fetch_all(&self.pool)
            .await?;
        let mut ranges = rows
            .iter()
            .map(|row| {
                Ok(DirtyRange {
                    from: row.try_get("lo")?,
                    to: row.try_get("hi")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        ranges.sort_by_key(|r| (r.from, r.to));
        Ok(ranges)
    }

    pub(super) async fn put_dirty_ranges(&self, ranges: &[DirtyRange]) -> StoreResult<()> {
        if ranges.is_empty() {
            return Ok(());
        }
        let (lo, hi): (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) =
            ranges.iter().map(|r| (r.from, r.to)).unzip();
        sqlx::query("INSERT INTO rollup_dirty (lo, hi) SELECT * FROM UNNEST($1::timestamptz[], $2::timestamptz[])")
            .bind(lo)
            .bind(hi)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Delete and insert in one transaction, so readers see the old rows or
    /// the new ones, and running it twice changes nothing.
    pub(super) async fn replace_rollup_rows(
        &self,
        resolution: Rollup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rows: &[RollupRow],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(rollup_sql!(
            resolution,
            "DELETE FROM ",
            " WHERE bucket >= $1 AND bucket < $2"
        ))
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
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
            let sql = rollup_sql!(
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
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn delete_rollup_rows_before(
        &self,
        resolution: Rollup,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let deleted = sqlx::query(rollup_sql!(
            resolution,
            "DELETE FROM ",
            " WHERE bucket < $1"
        ))
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }

    pub(super) async fn delete_batch_rows_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let deleted = sqlx::query("DELETE FROM ingest_batches WHERE received_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }
}

//! Reads: latest results, series, raw samples, rollups, status counts.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{PgStore, ids32};
use crate::store::*;

fn raw_point(row: &PgRow) -> StoreResult<RawPoint> {
    Ok(RawPoint {
        series_id: row.try_get::<i32, _>("series_id")?.into(),
        ts: row.try_get("ts")?,
        value: row.try_get("value")?,
    })
}

/// A row of `checks c JOIN agents a` with a result `r`, selected as
/// `c.id AS check_id, c.agent_id, a.name AS agent, c.name AS check_name,
/// c.target, c.plugin, r.plugin_version, r.id AS result_id, r.status,
/// r.started_at, r.duration, r.message`.
pub(super) fn latest_row(row: &PgRow) -> StoreResult<LatestRow> {
    Ok(LatestRow {
        check_id: row.try_get::<i32, _>("check_id")?.into(),
        agent_id: row.try_get("agent_id")?,
        agent: row.try_get("agent")?,
        check: row.try_get("check_name")?,
        target: row.try_get("target")?,
        plugin: row.try_get("plugin")?,
        plugin_version: row.try_get("plugin_version")?,
        result_id: row.try_get("result_id")?,
        status: status_from_code(row.try_get::<i16, _>("status")?.into())?,
        started_at: row.try_get("started_at")?,
        duration: row.try_get("duration")?,
        message: row.try_get("message")?,
    })
}

fn raw_distribution(row: &PgRow) -> StoreResult<RawDistribution> {
    Ok(RawDistribution {
        series_id: row.try_get::<i32, _>("series_id")?.into(),
        ts: row.try_get("ts")?,
        values: values_from_bytes(row.try_get("vals")?)?,
    })
}

impl SeriesStore for PgStore {
    async fn latest(&self, agent_id: Option<Uuid>) -> StoreResult<Vec<LatestRow>> {
        // One index probe per check on (check_id, started_at DESC); no
        // "latest" table to keep up to date on the ingest path.
        let rows = sqlx::query(
            "SELECT c.id AS check_id, c.agent_id, a.name AS agent, c.name AS check_name, c.target, c.plugin,
                    r.plugin_version, r.id AS result_id, r.status, r.started_at, r.duration, r.message
             FROM checks c
             JOIN agents a ON a.id = c.agent_id
             CROSS JOIN LATERAL (
                 SELECT id, status, started_at, duration, plugin_version, message
                 FROM results WHERE check_id = c.id
                 ORDER BY started_at DESC LIMIT 1
             ) r
             WHERE $1::uuid IS NULL OR c.agent_id = $1
             ORDER BY a.name, c.name, c.target",
        )
        .bind(agent_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(latest_row).collect()
    }

    async fn series(&self, filter: &SeriesFilter) -> StoreResult<Vec<SeriesRow>> {
        let rows = sqlx::query(
            "SELECT s.id AS series_id, s.check_id, c.agent_id, a.name AS agent, c.name AS check_name,
                    c.target, c.plugin, s.metric, s.unit, s.labels
             FROM series s
             JOIN checks c ON c.id = s.check_id
             JOIN agents a ON a.id = c.agent_id
             WHERE ($1::uuid IS NULL OR c.agent_id = $1)
               AND ($2::text IS NULL OR c.name = $2)
               AND ($3::text IS NULL OR c.target = $3)
               AND ($4::text IS NULL OR s.metric = $4)
             ORDER BY s.id",
        )
        .bind(filter.agent_id)
        .bind(filter.check.as_deref())
        .bind(filter.target.as_deref())
        .bind(filter.metric.as_deref())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SeriesRow {
                    series_id: row.try_get::<i32, _>("series_id")?.into(),
                    check_id: row.try_get::<i32, _>("check_id")?.into(),
                    agent_id: row.try_get("agent_id")?,
                    agent: row.try_get("agent")?,
                    check: row.try_get("check_name")?,
                    target: row.try_get("target")?,
                    plugin: row.try_get("plugin")?,
                    metric: row.try_get("metric")?,
                    unit: unit_from_str(row.try_get("unit")?)?,
                    labels: row.try_get("labels")?,
                })
            })
            .collect()
    }

    async fn raw_samples(
        &self,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<RawPoint>> {
        let rows = sqlx::query(
            "SELECT series_id, ts, value FROM samples
             WHERE series_id = ANY($3) AND ts >= $1 AND ts < $2
             ORDER BY series_id, ts LIMIT $4",
        )
        .bind(from)
        .bind(to)
        .bind(ids32(series))
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(raw_point).collect()
    }

    async fn each_raw_sample(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        each: &mut (dyn FnMut(RawPoint) + Send),
    ) -> StoreResult<u64> {
        let mut rows = sqlx::query(
            "SELECT series_id, ts, value FROM samples WHERE ts >= $1 AND ts < $2 ORDER BY series_id, ts",
        )
        .bind(from)
        .bind(to)
        .fetch(&self.pool);
        let mut n = 0;
        while let Some(row) = rows.try_next().await? {
            each(raw_point(&row)?);
            n += 1;
        }
        Ok(n)
    }

    async fn raw_distributions(
        &self,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<RawDistribution>> {
        let rows = sqlx::query(
            "SELECT series_id, ts, vals FROM distributions
             WHERE series_id = ANY($3) AND ts >= $1 AND ts < $2
             ORDER BY series_id, ts LIMIT $4",
        )
        .bind(from)
        .bind(to)
        .bind(ids32(series))
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(raw_distribution).collect()
    }

    async fn all_raw_distributions(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<RawDistribution>> {
        let rows = sqlx::query(
            "SELECT series_id, ts, vals FROM distributions WHERE ts >= $1 AND ts < $2
             ORDER BY series_id, ts",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(raw_distribution).collect()
    }

    async fn rollups(
        &self,
        resolution: Rollup,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<RollupRow>> {
        let sql = rollup_sql!(
            resolution,
            "SELECT series_id, bucket, n, sum, min, max, sketch FROM ",
            " WHERE series_id = ANY($1) AND bucket >= $2 AND bucket < $3 ORDER BY series_id, bucket LIMIT $4"
        );
        let rows = sqlx::query(sql)
            .bind(ids32(series))
            .bind(from)
            .bind(to)
            .bind(row_limit(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let sketch =
                    Sketch::from_bytes(row.try_get("sketch")?).map_err(StoreError::Corrupt)?;
                Ok(RollupRow {
                    series_id: row.try_get::<i32, _>("series_id")?.into(),
                    bucket: row.try_get("bucket")?,
                    count: row.try_get("n")?,
                    sum: row.try_get("sum")?,
                    min: row.try_get("min")?,
                    max: row.try_get("max")?,
                    sketch,
                })
            })
            .collect()
    }

    async fn status_counts(
        &self,
        check_ids: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<StatusCounts> {
        let rows = sqlx::query(
            "SELECT status, count(*) AS n FROM results
             WHERE check_id = ANY($1) AND started_at >= $2 AND started_at < $3
             GROUP BY status",
        )
        .bind(ids32(check_ids))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = StatusCounts::default();
        for row in &rows {
            let status = status_from_code(row.try_get::<i16, _>("status")?.into())?;
            counts.add(status, row.try_get::<i64, _>("n")? as u64);
        }
        Ok(counts)
    }
}

/// A row limit as SQL takes it.
fn row_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

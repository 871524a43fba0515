//! SLAs (saved by name in `slas`) and the minutes reports count.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use sqlx::Row;
use sqlx::types::Json;
use vantage_protocol::config::{AlertEventView, ReportDeliveryView, SlaSpec};

use super::named::{Table, all, delete, put};
use super::{SqliteStore, id_list, micros, time_at};
use crate::store::*;

impl ReportStore for SqliteStore {
    async fn put_sla(&self, spec: &SlaSpec, now: DateTime<Utc>) -> StoreResult<RuleSaved> {
        put(self, Table::Slas, &spec.name, spec, now).await
    }

    async fn delete_sla(&self, name: &str) -> StoreResult<bool> {
        delete(self, Table::Slas, name).await
    }

    async fn slas(&self) -> StoreResult<Vec<Saved<SlaSpec>>> {
        all(self, Table::Slas).await
    }

    async fn record_delivery(
        &self,
        sla: &str,
        period: &str,
        channel: &str,
        sent: bool,
        detail: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO report_deliveries (sla, period, channel, sent, attempts, detail, at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)
             ON CONFLICT (sla, period, channel) DO UPDATE SET sent = excluded.sent,
                 attempts = report_deliveries.attempts + 1, detail = excluded.detail, at = excluded.at",
        )
        .bind(sla)
        .bind(period)
        .bind(channel)
        .bind(sent)
        .bind(detail)
        .bind(micros(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn delivered(&self, sla: &str, period: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT channel FROM report_deliveries WHERE sla = ?1 AND period = ?2 AND sent",
        )
        .bind(sla)
        .bind(period)
        .fetch_all(&self.read)
        .await?)
    }

    async fn deliveries(&self, sla: &str, limit: u32) -> StoreResult<Vec<ReportDeliveryView>> {
        let rows = sqlx::query(
            "SELECT period, channel, sent, attempts, detail, at FROM report_deliveries
             WHERE sla = ?1 ORDER BY at DESC, channel LIMIT ?2",
        )
        .bind(sla)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ReportDeliveryView {
                    period: row.try_get("period")?,
                    channel: row.try_get("channel")?,
                    sent: row.try_get("sent")?,
                    attempts: row.try_get("attempts")?,
                    detail: row.try_get("detail")?,
                    at: time_at(row, "at")?,
                })
            })
            .collect()
    }

    async fn ups(
        &self,
        resolution: Rollup,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<UpRow>> {
        if series.is_empty() {
            return Ok(Vec::new());
        }
        let sql = rollup_sql!(
            resolution,
            "SELECT series_id, bucket, n, sum, min FROM ",
            " WHERE series_id IN (SELECT value FROM json_each(?1)) AND bucket >= ?2 AND bucket < ?3
             ORDER BY bucket, series_id"
        );
        let rows = sqlx::query(sql)
            .bind(id_list(series))
            .bind(micros(from))
            .bind(micros(to))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(up_row).collect()
    }

    async fn ups_in(
        &self,
        resolution: Rollup,
        pairs: &[(i64, DateTime<Utc>)],
        span: Rollup,
    ) -> StoreResult<Vec<UpRow>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let pairs: Vec<[i64; 2]> = pairs.iter().map(|(s, h)| [*s, micros(*h)]).collect();
        // CROSS JOIN keeps the pairs outside: one index range each.
        let sql = rollup_sql!(
            resolution,
            "SELECT r.series_id, r.bucket, r.n, r.sum, r.min
             FROM json_each(?1) AS d CROSS JOIN ",
            " AS r ON r.series_id = d.value ->> 0 AND r.bucket >= d.value ->> 1
                 AND r.bucket < (d.value ->> 1) + ?2
             ORDER BY r.bucket, r.series_id"
        );
        let rows = sqlx::query(sql)
            .bind(Json(pairs))
            .bind(span.seconds() * 1_000_000)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(up_row).collect()
    }

    async fn up_sums(
        &self,
        resolution: Rollup,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        whole: &[DateTime<Utc>],
    ) -> StoreResult<Vec<UpSum>> {
        if series.is_empty() {
            return Ok(Vec::new());
        }
        let whole: Vec<i64> = whole.iter().map(|h| micros(*h)).collect();
        let rows = sqlx::query(rollup_sql!(
            resolution,
            "SELECT series_id,
                    coalesce(sum(n) FILTER (WHERE counted), 0) AS counted_runs,
                    coalesce(sum(n) FILTER (WHERE NOT counted), 0) AS other_runs,
                    group_concat(bucket) FILTER (WHERE min < 1) AS failing
             FROM (SELECT series_id, bucket, n, min,
                          bucket IN (SELECT value FROM json_each(?4)) AS counted
                   FROM ",
            " WHERE series_id IN (SELECT value FROM json_each(?1))
                     AND bucket >= ?2 AND bucket < ?3)
             GROUP BY series_id"
        ))
        .bind(id_list(series))
        .bind(micros(from))
        .bind(micros(to))
        .bind(id_list(&whole))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let failing: Option<String> = row.try_get("failing")?;
                let mut hours = failing
                    .unwrap_or_default()
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(|h| {
                        h.parse::<i64>()
                            .map_err(|_| StoreError::Corrupt(format!("bucket {h:?}")))
                            .and_then(super::time)
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                hours.sort();
                Ok(UpSum {
                    series_id: row.try_get("series_id")?,
                    counted_runs: row.try_get("counted_runs")?,
                    other_runs: row.try_get("other_runs")?,
                    failing: hours,
                })
            })
            .collect()
    }

    async fn merged_rollups(
        &self,
        resolution: Rollup,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        whole: &[DateTime<Utc>],
        sketches: bool,
    ) -> StoreResult<Vec<Merged>> {
        if series.is_empty() {
            return Ok(Vec::new());
        }
        let whole: Vec<i64> = whole.iter().map(|h| micros(*h)).collect();
        let sql = if sketches {
            rollup_sql!(
                resolution,
                "SELECT series_id, n, sum, sketch FROM ",
                " WHERE series_id IN (SELECT value FROM json_each(?1)) AND bucket >= ?2
                   AND bucket < ?3 AND bucket IN (SELECT value FROM json_each(?4))"
            )
        } else {
            rollup_sql!(
                resolution,
                "SELECT series_id, sum(n) AS n, sum(sum) AS sum, NULL AS sketch FROM ",
                " WHERE series_id IN (SELECT value FROM json_each(?1)) AND bucket >= ?2
                   AND bucket < ?3 AND bucket IN (SELECT value FROM json_each(?4))
                 GROUP BY series_id"
            )
        };
        let mut rows = sqlx::query(sql)
            .bind(id_list(series))
            .bind(micros(from))
            .bind(micros(to))
            .bind(id_list(&whole))
            .fetch(&self.read);
        let mut merged = MergedBySeries::default();
        while let Some(row) = rows.try_next().await? {
            let sketch: Option<Vec<u8>> = row.try_get("sketch")?;
            merged.add(
                row.try_get("series_id")?,
                row.try_get("n")?,
                row.try_get("sum")?,
                sketch.as_deref(),
            )?;
        }
        Ok(merged.done())
    }

    async fn suppressed_steps(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ChildStep>> {
        super::alert_states::suppressed(&self.read, from, to).await
    }

    async fn alert_steps(
        &self,
        rules: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        state_before: bool,
    ) -> StoreResult<Vec<AlertEventView>> {
        super::alert_states::steps(&self.read, rules, from, to, state_before).await
    }
}

fn up_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<UpRow> {
    Ok(UpRow {
        series_id: row.try_get("series_id")?,
        bucket: time_at(row, "bucket")?,
        runs: row.try_get("n")?,
        up: row.try_get("sum")?,
        min: row.try_get("min")?,
    })
}

//! SLAs (saved by name in `slas`) and the minutes reports count.

use chrono::{DateTime, Utc};
use sqlx::Row;
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
        let sql = match resolution {
            Rollup::Minute => {
                "SELECT series_id, bucket, n, sum, min FROM rollup_1m
                 WHERE series_id IN (SELECT value FROM json_each(?1)) AND bucket >= ?2 AND bucket < ?3
                 ORDER BY bucket, series_id"
            }
            Rollup::Hour => {
                "SELECT series_id, bucket, n, sum, min FROM rollup_1h
                 WHERE series_id IN (SELECT value FROM json_each(?1)) AND bucket >= ?2 AND bucket < ?3
                 ORDER BY bucket, series_id"
            }
        };
        let rows = sqlx::query(sql)
            .bind(id_list(series))
            .bind(micros(from))
            .bind(micros(to))
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(UpRow {
                    series_id: row.try_get("series_id")?,
                    bucket: time_at(row, "bucket")?,
                    runs: row.try_get("n")?,
                    up: row.try_get("sum")?,
                    min: row.try_get("min")?,
                })
            })
            .collect()
    }

    async fn alert_steps(
        &self,
        rules: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<AlertEventView>> {
        super::alert_states::steps(&self.read, rules, from, to).await
    }
}

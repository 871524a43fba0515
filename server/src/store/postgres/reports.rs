//! SLAs (saved by name in `slas`) and the minutes reports count.

use chrono::{DateTime, Utc};
use sqlx::Row;
use vantage_protocol::config::SlaSpec;

use super::named::{Table, all, delete, put};
use super::{PgStore, ids32};
use crate::store::*;

impl ReportStore for PgStore {
    async fn put_sla(&self, spec: &SlaSpec, now: DateTime<Utc>) -> StoreResult<RuleSaved> {
        put(self, Table::Slas, &spec.name, spec, now).await
    }

    async fn delete_sla(&self, name: &str) -> StoreResult<bool> {
        delete(self, Table::Slas, name).await
    }

    async fn slas(&self) -> StoreResult<Vec<Saved<SlaSpec>>> {
        all(self, Table::Slas).await
    }

    async fn minutes(
        &self,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<MinuteRow>> {
        let rows = sqlx::query(
            "SELECT series_id, bucket, n, sum FROM rollup_1m
             WHERE series_id = ANY($1) AND bucket >= $2 AND bucket < $3
             ORDER BY bucket, series_id",
        )
        .bind(ids32(series))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MinuteRow {
                    series_id: row.try_get::<i32, _>("series_id")?.into(),
                    bucket: row.try_get("bucket")?,
                    runs: row.try_get("n")?,
                    up: row.try_get("sum")?,
                })
            })
            .collect()
    }
}

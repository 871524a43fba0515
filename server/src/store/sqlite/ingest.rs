//! Check and series ids; batches go to the writer task ([`super::group`]).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::types::Json;

use super::SqliteStore;
use crate::store::ingest::one;
use crate::store::*;

impl IngestStore for SqliteStore {
    /// A read first: after a restart the row usually exists, and readers do
    /// not queue for the writer.
    async fn check_id(&self, key: &CheckKey) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT id, plugin FROM checks WHERE agent_id = ?1 AND name = ?2 AND target = ?3",
        )
        .bind(key.agent_id)
        .bind(&key.check)
        .bind(&key.target)
        .fetch_optional(&self.read)
        .await?;
        if let Some(row) = row
            && row.try_get::<&str, _>("plugin")? == key.plugin
        {
            return Ok(row.try_get("id")?);
        }
        // New, or the check now runs another plugin: the target stays the
        // same row. The update on conflict makes RETURNING answer either way.
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO checks (agent_id, name, target, plugin) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (agent_id, name, target) DO UPDATE SET plugin = excluded.plugin
             RETURNING id",
        )
        .bind(key.agent_id)
        .bind(&key.check)
        .bind(&key.target)
        .bind(&key.plugin)
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    /// One at a time: SQLite answers in-process, with no round trip to save.
    async fn check_ids(&self, keys: &[CheckKey]) -> StoreResult<Vec<i64>> {
        let mut ids = Vec::with_capacity(keys.len());
        for key in keys {
            ids.push(self.check_id(key).await?);
        }
        Ok(ids)
    }

    async fn series_id(&self, key: &SeriesKey) -> StoreResult<i64> {
        one(self.series_ids(std::slice::from_ref(key)).await?)
    }

    async fn series_ids(&self, keys: &[SeriesKey]) -> StoreResult<Vec<i64>> {
        let mut ids: Vec<Option<i64>> = vec![None; keys.len()];
        let wanted: Vec<(i64, &str, &str, &str)> = keys
            .iter()
            .map(|k| {
                (
                    k.check_id,
                    k.metric.as_str(),
                    k.unit.as_str(),
                    k.labels.as_str(),
                )
            })
            .collect();
        let found: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT CAST(k.key AS INTEGER), s.id FROM json_each(?1) AS k
             JOIN series s ON s.check_id = k.value ->> 0 AND s.metric = k.value ->> 1
                          AND s.unit = k.value ->> 2 AND s.labels = k.value ->> 3",
        )
        .bind(Json(&wanted))
        .fetch_all(&self.read)
        .await?;
        for (i, id) in found {
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| ids.get_mut(i)) {
                *slot = Some(id);
            }
        }
        if ids.iter().any(Option::is_none) {
            // The new ones in one transaction on the one writer.
            let mut tx = self.begin().await?;
            for (slot, key) in ids.iter_mut().zip(keys) {
                if slot.is_some() {
                    continue;
                }
                *slot = Some(insert_series(&mut tx, key).await?);
            }
            tx.commit().await?;
        }
        Ok(ids.into_iter().map(|id| id.unwrap_or_default()).collect())
    }

    /// On the writer task, in the transaction of the batches that came
    /// with it ([`super::group`]); the answer comes after its commit. The
    /// task takes a copy of the batch: microseconds, against the
    /// milliseconds of a commit.
    async fn ingest(&self, batch: &StoreBatch, now: DateTime<Utc>) -> StoreResult<Ingested> {
        self.writer.ingest(batch.clone(), now).await
    }
}

/// Makes a series (or finds the one a concurrent writer made): a no-op
/// update on conflict, so that RETURNING gives the id either way.
async fn insert_series(conn: &mut sqlx::SqliteConnection, key: &SeriesKey) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO series (check_id, metric, unit, labels) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (check_id, metric, unit, labels) DO UPDATE SET metric = excluded.metric
         RETURNING id",
    )
    .bind(key.check_id)
    .bind(&key.metric)
    .bind(key.unit.as_str())
    .bind(&key.labels)
    .fetch_one(conn)
    .await?)
}

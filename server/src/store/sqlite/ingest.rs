//! Check and series ids, and storing a batch exactly once.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;
use vantage_protocol::ingest::IngestAck;

use super::bulk::BulkInsert;
use super::{SqliteStore, alert_states, count_at, events, micros};
use crate::store::alerts;
use crate::store::ingest::one;
use crate::store::*;

/// Results: 8 parameters a row, at most 2 048 rows (16 384 parameters) a
/// statement; the ids actually inserted come back.
static RESULTS: BulkInsert = BulkInsert::new(
    "INSERT INTO results (id, started_at, check_id, status, duration, plugin_version, message, received_at) VALUES ",
    8,
    " ON CONFLICT DO NOTHING RETURNING id",
    11,
);
/// Samples: 3 parameters a row, at most 4 096 rows a statement (the lab
/// measured 393 k rows/s with 2 000).
static SAMPLES: BulkInsert = BulkInsert::new(
    "INSERT INTO samples (series_id, ts, value) VALUES ",
    3,
    "",
    12,
);

/// Distributions: 3 parameters a row; their values are up to 80 kB each,
/// so at most 128 rows a statement.
static DISTRIBUTIONS: BulkInsert = BulkInsert::new(
    "INSERT INTO distributions (series_id, ts, vals) VALUES ",
    3,
    "",
    7,
);

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

/// Stores a batch on `tx`, a savepoint in the writer's transaction, which
/// holds the write lock: the replay check and the batch row cannot race, and
/// a twin stored earlier in the same transaction is seen here, so this one
/// replays.
pub(super) async fn store_batch(
    tx: &mut SqliteConnection,
    batch: &StoreBatch,
    now: DateTime<Utc>,
) -> StoreResult<Ingested> {
    let stored = sqlx::query(
        "SELECT accepted, duplicates, expired FROM ingest_batches WHERE agent_id = ?1 AND batch_id = ?2",
    )
    .bind(batch.agent_id)
    .bind(batch.batch_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = stored {
        return Ok(Ingested::replay(IngestAck {
            batch_id: batch.batch_id,
            accepted: count_at(&row, "accepted")?,
            duplicates: count_at(&row, "duplicates")?,
            expired: count_at(&row, "expired")?,
            replayed: true,
            samples: 0,
        }));
    }

    let received_at = micros(now);
    let mut new_ids = Vec::with_capacity(batch.results.len());
    for (rows, sql) in RESULTS.statements(batch.results.len()) {
        let mut query = sqlx::query_scalar::<_, Uuid>(sql);
        for r in &batch.results[rows] {
            query = query
                .bind(r.id)
                .bind(micros(r.started_at))
                .bind(r.check_id)
                .bind(status_code(r.status))
                .bind(r.duration)
                .bind(r.plugin_version.as_str())
                .bind(r.message.as_deref())
                .bind(received_at);
        }
        new_ids.extend(query.fetch_all(&mut *tx).await?);
    }
    let judges = alerts::judges(batch, &new_ids);
    // Samples, distributions and events of the new results only; the
    // common case is all of them.
    let fresh: Vec<&ResultRow> = if new_ids.len() == batch.results.len() {
        batch.results.iter().collect()
    } else {
        let mut new_ids: HashSet<Uuid> = new_ids.into_iter().collect();
        batch
            .results
            .iter()
            .filter(|r| new_ids.remove(&r.id))
            .collect()
    };
    let samples: Vec<(i64, i64, f64)> = fresh
        .iter()
        .flat_map(|r| {
            let ts = micros(r.started_at);
            r.samples.iter().map(move |s| (s.series_id, ts, s.value))
        })
        .collect();
    for (rows, sql) in SAMPLES.statements(samples.len()) {
        let mut query = sqlx::query(sql);
        for &(series_id, ts, value) in &samples[rows] {
            query = query.bind(series_id).bind(ts).bind(value);
        }
        query.execute(&mut *tx).await?;
    }
    let distributions: Vec<(i64, i64, &[f64])> = fresh
        .iter()
        .flat_map(|r| {
            let ts = micros(r.started_at);
            r.distributions
                .iter()
                .map(move |d| (d.series_id, ts, &d.values[..]))
        })
        .collect();
    for (rows, sql) in DISTRIBUTIONS.statements(distributions.len()) {
        let mut query = sqlx::query(sql);
        for &(series_id, ts, values) in &distributions[rows] {
            query = query.bind(series_id).bind(ts).bind(values_to_bytes(values));
        }
        query.execute(&mut *tx).await?;
    }
    events::insert(tx, &fresh).await?;
    let stored = samples.len() + distributions.iter().map(|d| d.2.len()).sum::<usize>();

    let started = fresh.iter().map(|r| micros(r.started_at));
    if let (Some(lo), Some(hi)) = (started.clone().min(), started.max()) {
        // End exclusive: one microsecond (the column's precision) past the last run.
        sqlx::query("INSERT INTO rollup_dirty (lo, hi) VALUES (?1, ?2)")
            .bind(lo)
            .bind(hi + 1)
            .execute(&mut *tx)
            .await?;
    }
    let told = alert_states::judge(tx, judges).await?;
    let accepted = fresh.len() as u32;
    let duplicates = (batch.results.len() - fresh.len()) as u32;
    sqlx::query(
        "INSERT INTO ingest_batches (agent_id, batch_id, received_at, accepted, duplicates, expired)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(batch.agent_id)
    .bind(batch.batch_id)
    .bind(received_at)
    .bind(accepted)
    .bind(duplicates)
    .bind(batch.expired)
    .execute(&mut *tx)
    .await?;
    // SQLite's max() is NULL when an argument is.
    sqlx::query(
        "UPDATE agents SET outbox = ?2, last_seen_at = max(ifnull(last_seen_at, ?3), ?3)
         WHERE id = ?1",
    )
    .bind(batch.agent_id)
    .bind(Json(batch.outbox))
    .bind(received_at)
    .execute(&mut *tx)
    .await?;

    Ok(Ingested {
        ack: IngestAck {
            batch_id: batch.batch_id,
            accepted,
            duplicates,
            expired: batch.expired,
            replayed: false,
            samples: stored as u64,
        },
        told,
    })
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

//! Check and series ids, and storing a batch exactly once.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::types::Json;
use uuid::Uuid;
use vantage_protocol::ingest::IngestAck;

use super::alert_judge::{self, read_states};
use super::columns::{Columns, Events, Raw, SeriesColumns};
use super::{PgStore, events};
use crate::store::alerts;
use crate::store::ingest::one;
use crate::store::*;

/// Samples per `INSERT … UNNEST` statement (the lab measured 5 000 at
/// 157–160 k rows/s; larger statements only cost memory).
const SAMPLES_PER_STATEMENT: usize = 10_000;
/// Distributions per statement: up to 80 kB each (10,000 values).
const DISTRIBUTIONS_PER_STATEMENT: usize = 500;
/// Tries of one batch: a missing partition or a deadlock is retried.
const ATTEMPTS: usize = 3;

/// "no partition of relation … found for row": a check violation that,
/// unlike a CHECK constraint's, names no constraint (the text may be translated).
fn is_missing_partition(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(sqlx::Error::Database(db))
        if db.code().as_deref() == Some("23514") && db.constraint().is_none())
}

fn is_deadlock(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(sqlx::Error::Database(db)) if db.code().as_deref() == Some("40P01"))
}

/// Inserts a batch's results (`$1`…`$8`), returning the ids of those that
/// are new.
macro_rules! insert_results {
    () => {
        "INSERT INTO results (id, started_at, check_id, status, duration, plugin_version, message, received_at)
         SELECT *, $8 FROM UNNEST($1::uuid[], $2::timestamptz[], $3::int4[], $4::int2[],
                                  $5::float8[], $6::text[], $7::text[])
         ON CONFLICT DO NOTHING RETURNING id"
    };
}

fn count(n: usize) -> StoreResult<i32> {
    i32::try_from(n).map_err(|_| StoreError::Corrupt(format!("count {n} is out of range")))
}

impl IngestStore for PgStore {
    async fn check_id(&self, key: &CheckKey) -> StoreResult<i64> {
        // Select first: after a restart the row usually exists, and a
        // conflicting insert would burn a sequence number.
        for _ in 0..2 {
            let row = sqlx::query(
                "SELECT id, plugin FROM checks WHERE agent_id = $1 AND name = $2 AND target = $3",
            )
            .bind(key.agent_id)
            .bind(&key.check)
            .bind(&key.target)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                let id: i32 = row.try_get("id")?;
                if row.try_get::<&str, _>("plugin")? != key.plugin {
                    // The check now runs another plugin; the target stays the same row.
                    sqlx::query("UPDATE checks SET plugin = $2 WHERE id = $1")
                        .bind(id)
                        .bind(&key.plugin)
                        .execute(&self.pool)
                        .await?;
                }
                return Ok(id.into());
            }
            // On a conflict this waits for the other insert's commit, so the
            // next select sees its row.
            let id: Option<i32> = sqlx::query_scalar(
                "INSERT INTO checks (agent_id, name, target, plugin) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (agent_id, name, target) DO NOTHING RETURNING id",
            )
            .bind(key.agent_id)
            .bind(&key.check)
            .bind(&key.target)
            .bind(&key.plugin)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(id) = id {
                return Ok(id.into());
            }
        }
        Err(StoreError::Corrupt(format!(
            "check {key:?} neither found nor inserted"
        )))
    }

    /// The checks that exist, running the plugin named, in one query; the
    /// others (new, or now running another plugin: rare) one at a time
    /// through `check_id`.
    async fn check_ids(&self, keys: &[CheckKey]) -> StoreResult<Vec<i64>> {
        let agents: Vec<uuid::Uuid> = keys.iter().map(|k| k.agent_id).collect();
        let names: Vec<&str> = keys.iter().map(|k| k.check.as_str()).collect();
        let targets: Vec<&str> = keys.iter().map(|k| k.target.as_str()).collect();
        let plugins: Vec<&str> = keys.iter().map(|k| k.plugin.as_str()).collect();
        let found: Vec<(i64, i32)> = sqlx::query_as(
            "SELECT k.n, c.id
             FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[])
                  WITH ORDINALITY AS k(agent_id, name, target, plugin, n)
             JOIN checks c ON c.agent_id = k.agent_id AND c.name = k.name
                          AND c.target = k.target AND c.plugin = k.plugin",
        )
        .bind(agents)
        .bind(names)
        .bind(targets)
        .bind(plugins)
        .fetch_all(&self.pool)
        .await?;
        let mut ids: Vec<Option<i64>> = vec![None; keys.len()];
        for (n, id) in found {
            // ORDINALITY counts from 1.
            if let Some(slot) = usize::try_from(n - 1).ok().and_then(|i| ids.get_mut(i)) {
                *slot = Some(id.into());
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        for (id, key) in ids.into_iter().zip(keys) {
            out.push(match id {
                Some(id) => id,
                None => self.check_id(key).await?,
            });
        }
        Ok(out)
    }

    async fn series_id(&self, key: &SeriesKey) -> StoreResult<i64> {
        one(self.series_ids(std::slice::from_ref(key)).await?)
    }

    async fn series_ids(&self, keys: &[SeriesKey]) -> StoreResult<Vec<i64>> {
        let mut ids: Vec<Option<i64>> = vec![None; keys.len()];
        for attempt in 0..3 {
            let missing: Vec<usize> = (0..keys.len()).filter(|&i| ids[i].is_none()).collect();
            if missing.is_empty() {
                break;
            }
            if attempt > 0 {
                // In key order, so that two batches inserting the same new
                // series wait on each other rather than deadlock.
                let mut new: Vec<&SeriesKey> = missing.iter().map(|&i| &keys[i]).collect();
                new.sort_by(|a, b| {
                    (a.check_id, &a.metric, a.unit.as_str(), &a.labels).cmp(&(
                        b.check_id,
                        &b.metric,
                        b.unit.as_str(),
                        &b.labels,
                    ))
                });
                new.dedup_by(|a, b| a == b);
                let columns = SeriesColumns::of(new.iter().copied())?;
                sqlx::query(
                    "INSERT INTO series (check_id, metric, unit, labels)
                     SELECT * FROM UNNEST($1::int4[], $2::text[], $3::text[], $4::text[])
                     ON CONFLICT (check_id, metric, unit, labels) DO NOTHING",
                )
                .bind(&columns.check_ids)
                .bind(&columns.metrics)
                .bind(&columns.units)
                .bind(&columns.labels)
                .execute(&self.pool)
                .await?;
            }
            let columns = SeriesColumns::of(missing.iter().map(|&i| &keys[i]))?;
            let found: Vec<(i64, i32)> = sqlx::query_as(
                "SELECT k.n, s.id FROM UNNEST($1::int4[], $2::text[], $3::text[], $4::text[])
                     WITH ORDINALITY AS k(check_id, metric, unit, labels, n)
                 JOIN series s ON s.check_id = k.check_id AND s.metric = k.metric
                               AND s.unit = k.unit AND s.labels = k.labels",
            )
            .bind(&columns.check_ids)
            .bind(&columns.metrics)
            .bind(&columns.units)
            .bind(&columns.labels)
            .fetch_all(&self.pool)
            .await?;
            for (n, id) in found {
                // ORDINALITY counts from 1, over `missing`.
                if let Some(&i) = usize::try_from(n - 1).ok().and_then(|n| missing.get(n)) {
                    ids[i] = Some(id.into());
                }
            }
        }
        ids.into_iter()
            .zip(keys)
            .map(|(id, key)| {
                id.ok_or_else(|| {
                    StoreError::Corrupt(format!("series {key:?} neither found nor inserted"))
                })
            })
            .collect()
    }

    async fn ingest(&self, batch: &StoreBatch, now: DateTime<Utc>) -> StoreResult<Ingested> {
        let columns = Columns::new(&batch.results)?;
        let mut attempt = 1;
        loop {
            match self.store_batch_once(batch, &columns, now).await {
                Ok(Some(ack)) => return Ok(ack),
                // A replay whose batch row was deleted (retention) meanwhile:
                // store it again, results dedupe by id.
                Ok(None) if attempt < ATTEMPTS => {}
                Ok(None) => {
                    return Err(StoreError::Corrupt(
                        "batch row vanished during a replay".into(),
                    ));
                }
                Err(e) if attempt < ATTEMPTS && is_missing_partition(&e) => {
                    // The partition job has not run yet (a fresh database, a
                    // late backlog): create the days this batch needs.
                    let days: BTreeSet<NaiveDate> = batch
                        .results
                        .iter()
                        .map(|r| r.started_at.date_naive())
                        .collect();
                    self.create_partition_days(days).await?;
                }
                Err(e) if attempt < ATTEMPTS && is_deadlock(&e) => {}
                Err(e) => return Err(e),
            }
            attempt += 1;
        }
    }
}

impl PgStore {
    /// One transaction; `None` when the batch is a replay whose row is gone.
    async fn store_batch_once(
        &self,
        batch: &StoreBatch,
        c: &Columns<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Ingested>> {
        let mut tx = self.pool.begin().await?;
        // A twin of this batch in flight holds the key: this waits for its
        // commit and then inserts nothing. The agent's alert revision
        // says which alert states known here are current.
        let first = sqlx::query(
            "WITH b AS (
                 INSERT INTO ingest_batches (agent_id, batch_id, received_at, accepted, duplicates, expired)
                 VALUES ($1, $2, $3, 0, 0, $4) ON CONFLICT DO NOTHING RETURNING 1)
             SELECT EXISTS (SELECT FROM b), (SELECT alerts_rev FROM agents WHERE id = $1)",
        )
        .bind(batch.agent_id)
        .bind(batch.batch_id)
        .bind(now)
        .bind(count(batch.expired as usize)?)
        .fetch_one(&mut *tx)
        .await?;
        let alerts_rev: Option<i64> = first.try_get(1)?;
        if !first.try_get::<bool, _>(0)? {
            let row = sqlx::query(
                "SELECT accepted, duplicates, expired FROM ingest_batches WHERE agent_id = $1 AND batch_id = $2",
            )
            .bind(batch.agent_id)
            .bind(batch.batch_id)
            .fetch_optional(&mut *tx)
            .await?;
            tx.rollback().await?;
            let Some(row) = row else { return Ok(None) };
            let number = |column: &str| -> StoreResult<u32> {
                let n: i32 = row.try_get(column)?;
                Ok(n.max(0) as u32)
            };
            return Ok(Some(Ingested::replay(IngestAck {
                batch_id: batch.batch_id,
                accepted: number("accepted")?,
                duplicates: number("duplicates")?,
                expired: number("expired")?,
                replayed: true,
                samples: 0,
            })));
        }

        // The states of the alerts the results judge: known here, or read
        // with the results.
        let alert_keys = alerts::keys(batch);
        let (mut states, alert_keys) = self.alerts.known(batch.agent_id, alerts_rev, alert_keys);
        let new_ids: Vec<Uuid> = if c.ids.is_empty() {
            Vec::new()
        } else {
            let sql = if alert_keys.is_empty() {
                insert_results!()
            } else {
                concat!(
                    "WITH new AS (",
                    insert_results!(),
                    ") SELECT id, NULL::int8, NULL::bytea, NULL::json, NULL::int8 FROM new
                     UNION ALL ",
                    read_states!()
                )
            };
            let (rules, checks) = alert_judge::key_columns(&alert_keys)?;
            let mut query = sqlx::query(sql)
                .bind(&c.ids[..])
                .bind(&c.started_at[..])
                .bind(&c.check_ids[..])
                .bind(&c.statuses[..])
                .bind(&c.durations[..])
                .bind(&c.plugin_versions[..])
                .bind(&c.messages[..])
                .bind(now);
            if !alert_keys.is_empty() {
                query = query.bind(&rules).bind(&checks);
            }
            let rows = query.fetch_all(&mut *tx).await?;
            let mut ids = Vec::with_capacity(c.ids.len());
            for row in &rows {
                match row.try_get::<Option<Uuid>, _>(0)? {
                    Some(id) => ids.push(id),
                    None => states.add(&alert_keys, row)?,
                }
            }
            ids
        };

        let judges = alerts::judges(batch, &new_ids);
        // Samples, distributions and events of the new results only; the
        // common case is all of them.
        let mut dirty: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        let filtered;
        let (samples, distributions, events) = if new_ids.len() == c.ids.len() {
            dirty = c.started_at.iter().fold(None, |d, t| widen(d, *t));
            (&c.samples, &c.distributions, &c.events)
        } else {
            let mut fresh: HashSet<Uuid> = new_ids.iter().copied().collect();
            let (mut samples, mut distributions) = (Raw::default(), Raw::default());
            let mut events = Events::default();
            for (i, id) in c.ids.iter().enumerate() {
                if fresh.remove(id) {
                    dirty = widen(dirty, c.started_at[i]);
                    samples.extend_from(&c.samples, c.sample_ranges[i].clone());
                    distributions.extend_from(&c.distributions, c.distribution_ranges[i].clone());
                    events.extend_from(&c.events, c.event_ranges[i].clone());
                }
            }
            filtered = (samples, distributions, events);
            (&filtered.0, &filtered.1, &filtered.2)
        };
        for start in (0..samples.len()).step_by(SAMPLES_PER_STATEMENT) {
            let chunk = start..(start + SAMPLES_PER_STATEMENT).min(samples.len());
            sqlx::query(
                "INSERT INTO samples (series_id, ts, value)
                 SELECT * FROM UNNEST($1::int4[], $2::timestamptz[], $3::float8[])",
            )
            .bind(&samples.series_ids[chunk.clone()])
            .bind(&samples.ts[chunk.clone()])
            .bind(&samples.values[chunk])
            .execute(&mut *tx)
            .await?;
        }
        for start in (0..distributions.len()).step_by(DISTRIBUTIONS_PER_STATEMENT) {
            let chunk = start..(start + DISTRIBUTIONS_PER_STATEMENT).min(distributions.len());
            sqlx::query(
                "INSERT INTO distributions (series_id, ts, vals)
                 SELECT * FROM UNNEST($1::int4[], $2::timestamptz[], $3::bytea[])",
            )
            .bind(&distributions.series_ids[chunk.clone()])
            .bind(&distributions.ts[chunk.clone()])
            .bind(&distributions.values[chunk])
            .execute(&mut *tx)
            .await?;
        }
        events::insert(&mut tx, events).await?;
        let stored = samples.len()
            + distributions
                .values
                .iter()
                .map(|v| v.len() / 8)
                .sum::<usize>();

        let judged = alert_judge::judge(&mut tx, judges, states).await?;
        let accepted = new_ids.len();
        let duplicates = c.ids.len() - accepted;
        let ended: Option<i64> = sqlx::query_scalar(
            "WITH dirty AS (
                 INSERT INTO rollup_dirty (lo, hi) SELECT $5, $6 WHERE $5 IS NOT NULL
             ), acknowledged AS (
                 UPDATE ingest_batches SET accepted = $3, duplicates = $4 WHERE agent_id = $1 AND batch_id = $2
             )
             UPDATE agents SET outbox = $7, last_seen_at = greatest(last_seen_at, $8),
                 alerts_rev = alerts_rev + $9
             WHERE id = $1 RETURNING alerts_rev",
        )
        .bind(batch.agent_id)
        .bind(batch.batch_id)
        .bind(count(accepted)?)
        .bind(count(duplicates)?)
        .bind(dirty.map(|(lo, _)| lo))
        // End exclusive: one microsecond (the column's precision) past the last run.
        .bind(dirty.map(|(_, hi)| hi + chrono::Duration::microseconds(1)))
        .bind(Json(batch.outbox))
        .bind(now)
        .bind(i64::from(judged.wrote))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let told = judged.told;
        self.alerts
            .remember(batch.agent_id, alerts_rev, judged, ended);

        Ok(Some(Ingested {
            ack: IngestAck {
                batch_id: batch.batch_id,
                accepted: accepted as u32,
                duplicates: duplicates as u32,
                expired: batch.expired,
                replayed: false,
                samples: stored as u64,
            },
            told,
        }))
    }
}

fn widen(
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    t: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    Some(match range {
        None => (t, t),
        Some((lo, hi)) => (lo.min(t), hi.max(t)),
    })
}

//! Storing ingest batches exactly once, a group of them at a time.
//!
//! The writer task ([`super::group`]) hands over every batch that queued
//! while it was busy; they go in with one statement per table (or a few of
//! each power-of-two size, [`super::bulk`]) rather than a dozen statements
//! each: every statement is a hand-off to sqlx's SQLite thread, and those
//! hand-offs were what bound the writer. A batch that makes any statement
//! fail fails the whole call; the task then stores the group again a batch
//! at a time, each in a savepoint, so that only the bad one fails.
//!
//! The caller's transaction holds the write lock, so the replay check and
//! the batch rows cannot race; a batch sent twice within one group is the
//! first one's replay, as it would be in two transactions.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Row as _, SqliteConnection};
use uuid::Uuid;
use vantage_protocol::ingest::{IngestAck, OutboxStats};

use super::bulk::BulkValues;
use super::jobs::insert_dirty;
use super::{alert_states, count_at, events, micros};
use crate::store::alerts;
use crate::store::*;

/// Batches already stored: 2 parameters a row, at most 64 a statement.
static STORED: BulkValues = BulkValues::new(
    "SELECT b.agent_id, b.batch_id, b.accepted, b.duplicates, b.expired FROM (VALUES ",
    2,
    ") AS v JOIN ingest_batches b ON b.agent_id = v.column1 AND b.batch_id = v.column2",
    6,
);
/// Results stored before: 1 parameter a row, at most 4 096 a statement.
/// Usually none is, so nothing comes back.
static KNOWN: BulkValues = BulkValues::new(
    "SELECT r.id FROM (VALUES ",
    1,
    ") AS v JOIN results r ON r.id = v.column1",
    12,
);
/// Results: 8 parameters a row, at most 2 048 rows (16 384 parameters) a
/// statement.
static RESULTS: BulkValues = BulkValues::new(
    "INSERT INTO results (id, started_at, check_id, status, duration, plugin_version, message, received_at) VALUES ",
    8,
    "",
    11,
);
/// Samples: 3 parameters a row, at most 4 096 rows a statement (the lab
/// measured 393 k rows/s with 2 000).
static SAMPLES: BulkValues = BulkValues::new(
    "INSERT INTO samples (series_id, ts, value) VALUES ",
    3,
    "",
    12,
);
/// Distributions: 3 parameters a row; their values are up to 80 kB each,
/// so at most 128 rows a statement.
static DISTRIBUTIONS: BulkValues = BulkValues::new(
    "INSERT INTO distributions (series_id, ts, vals) VALUES ",
    3,
    "",
    7,
);
/// The batches' own rows, for replays: 6 parameters a row.
static BATCHES: BulkValues = BulkValues::new(
    "INSERT INTO ingest_batches (agent_id, batch_id, received_at, accepted, duplicates, expired) VALUES ",
    6,
    "",
    6,
);
/// Each agent's outbox and last contact: 3 parameters a row, one row per
/// agent (SQLite's max() is NULL when an argument is).
static AGENTS: BulkValues = BulkValues::new(
    "UPDATE agents SET outbox = v.column2, last_seen_at = max(ifnull(last_seen_at, v.column3), v.column3)
     FROM (VALUES ",
    3,
    ") AS v WHERE agents.id = v.column1",
    6,
);

/// What becomes of one batch of the group.
enum Fate {
    /// Stored by an earlier transaction: its acknowledgement again.
    Replay(IngestAck),
    /// The same batch as the n-th new one of this group: its replay.
    Twin(usize),
    /// New: stored now, the n-th of the group's new batches.
    New(usize),
}

/// Stores `group` (batches and their arrival times) on `tx`; an answer
/// for each, in order. An error means nothing of the call may stay: the
/// caller rolls back.
pub(super) async fn store(
    tx: &mut SqliteConnection,
    group: &[(&StoreBatch, DateTime<Utc>)],
) -> StoreResult<Vec<Ingested>> {
    let stored = stored(tx, group).await?;
    let mut first: HashMap<(Uuid, Uuid), usize> = HashMap::new();
    let mut new: Vec<(&StoreBatch, i64)> = Vec::new();
    let fates: Vec<Fate> = group
        .iter()
        .map(|&(batch, now)| {
            let key = (batch.agent_id, batch.batch_id);
            if let Some(ack) = stored.get(&key) {
                Fate::Replay(*ack)
            } else if let Some(&n) = first.get(&key) {
                Fate::Twin(n)
            } else {
                first.insert(key, new.len());
                new.push((batch, micros(now)));
                Fate::New(new.len() - 1)
            }
        })
        .collect();

    let fresh = insert_results(tx, &new).await?;
    let stored_values = insert_values(tx, &fresh).await?;
    let all_fresh: Vec<&ResultRow> = fresh.iter().flatten().copied().collect();
    events::insert(tx, &all_fresh).await?;
    insert_dirty(tx, &dirty_ranges(&fresh)).await?;
    let mut acks = Vec::with_capacity(new.len());
    for ((&(batch, _), fresh), samples) in new.iter().zip(&fresh).zip(stored_values) {
        let told = if batch.alerts.is_empty() {
            false
        } else {
            let ids: Vec<Uuid> = fresh.iter().map(|r| r.id).collect();
            alert_states::judge(tx, alerts::judges(batch, &ids)).await?
        };
        let accepted = fresh.len() as u32;
        let ack = IngestAck {
            batch_id: batch.batch_id,
            accepted,
            duplicates: batch.results.len() as u32 - accepted,
            expired: batch.expired,
            replayed: false,
            samples,
        };
        acks.push(Ingested { ack, told });
    }
    insert_batches(tx, &new, &acks).await?;
    touch_agents(tx, &new).await?;

    Ok(fates
        .into_iter()
        .map(|fate| match fate {
            Fate::Replay(ack) => Ingested::replay(ack),
            Fate::New(n) => acks[n].clone(),
            Fate::Twin(n) => Ingested::replay(IngestAck {
                replayed: true,
                samples: 0,
                ..acks[n].ack
            }),
        })
        .collect())
}

/// The acknowledgements of the group's batches stored before.
async fn stored(
    tx: &mut SqliteConnection,
    group: &[(&StoreBatch, DateTime<Utc>)],
) -> StoreResult<HashMap<(Uuid, Uuid), IngestAck>> {
    let mut acks = HashMap::new();
    for (rows, sql) in STORED.statements(group.len()) {
        let mut query = sqlx::query(sql);
        for &(batch, _) in &group[rows] {
            query = query.bind(batch.agent_id).bind(batch.batch_id);
        }
        for row in query.fetch_all(&mut *tx).await? {
            let key = (row.try_get("agent_id")?, row.try_get("batch_id")?);
            let ack = IngestAck {
                batch_id: key.1,
                accepted: count_at(&row, "accepted")?,
                duplicates: count_at(&row, "duplicates")?,
                expired: count_at(&row, "expired")?,
                replayed: true,
                samples: 0,
            };
            acks.insert(key, ack);
        }
    }
    Ok(acks)
}

/// Inserts the results of the `new` batches; for each batch, those that
/// were new (a result already stored, or sent twice, is a duplicate: the
/// first to come keeps it). The ids stored before are looked up first,
/// rather than each inserted id sent back (`RETURNING`): usually there is
/// none, and sqlx hands every returned row across threads.
async fn insert_results<'a>(
    tx: &mut SqliteConnection,
    new: &[(&'a StoreBatch, i64)],
) -> StoreResult<Vec<Vec<&'a ResultRow>>> {
    let ids: Vec<Uuid> = new
        .iter()
        .flat_map(|(b, _)| b.results.iter().map(|r| r.id))
        .collect();
    let mut seen: HashSet<Uuid> = HashSet::new();
    for (range, sql) in KNOWN.statements(ids.len()) {
        let mut query = sqlx::query_scalar::<_, Uuid>(sql);
        for &id in &ids[range] {
            query = query.bind(id);
        }
        seen.extend(query.fetch_all(&mut *tx).await?);
    }
    let fresh: Vec<Vec<&ResultRow>> = new
        .iter()
        .map(|(b, _)| b.results.iter().filter(|r| seen.insert(r.id)).collect())
        .collect();
    let inserted: Vec<(&ResultRow, i64)> = fresh
        .iter()
        .zip(new)
        .flat_map(|(results, &(_, received_at))| results.iter().map(move |&r| (r, received_at)))
        .collect();
    for (range, sql) in RESULTS.statements(inserted.len()) {
        let mut query = sqlx::query(sql);
        for &(r, received_at) in &inserted[range] {
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
        query.execute(&mut *tx).await?;
    }
    Ok(fresh)
}

/// Inserts the samples and distributions of the new results; for each
/// batch, the values it stored.
async fn insert_values(
    tx: &mut SqliteConnection,
    fresh: &[Vec<&ResultRow>],
) -> StoreResult<Vec<u64>> {
    let results = || fresh.iter().flatten();
    let samples: Vec<(i64, i64, f64)> = results()
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
    let distributions: Vec<(i64, i64, &[f64])> = results()
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
    Ok(fresh
        .iter()
        .map(|results| {
            results
                .iter()
                .map(|r| {
                    let values: usize = r.distributions.iter().map(|d| d.values.len()).sum();
                    (r.samples.len() + values) as u64
                })
                .sum()
        })
        .collect())
}

/// The time ranges the new results changed, for the rollup job: each
/// batch's runs, end exclusive (one microsecond, the column's precision,
/// past the last), those that overlap merged.
fn dirty_ranges(fresh: &[Vec<&ResultRow>]) -> Vec<DirtyRange> {
    let ranges: Vec<DirtyRange> = fresh
        .iter()
        .filter_map(|results| {
            let started = results.iter().map(|r| r.started_at);
            Some(DirtyRange {
                from: started.clone().min()?,
                to: started.max()? + chrono::Duration::microseconds(1),
            })
        })
        .collect();
    DirtyRange::merged(ranges)
}

async fn insert_batches(
    tx: &mut SqliteConnection,
    new: &[(&StoreBatch, i64)],
    acks: &[Ingested],
) -> StoreResult<()> {
    let rows: Vec<_> = new.iter().zip(acks).collect();
    for (range, sql) in BATCHES.statements(rows.len()) {
        let mut query = sqlx::query(sql);
        for &(&(batch, received_at), ingested) in &rows[range] {
            query = query
                .bind(batch.agent_id)
                .bind(batch.batch_id)
                .bind(received_at)
                .bind(ingested.ack.accepted)
                .bind(ingested.ack.duplicates)
                .bind(batch.expired);
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Each agent's outbox as its last batch of the group told it, and its
/// latest contact.
async fn touch_agents(tx: &mut SqliteConnection, new: &[(&StoreBatch, i64)]) -> StoreResult<()> {
    let mut agents: Vec<(Uuid, &OutboxStats, i64)> = Vec::with_capacity(new.len());
    let mut at: HashMap<Uuid, usize> = HashMap::new();
    for &(batch, received_at) in new {
        match at.get(&batch.agent_id) {
            Some(&i) => {
                let (_, outbox, seen) = &mut agents[i];
                *outbox = &batch.outbox;
                *seen = (*seen).max(received_at);
            }
            None => {
                at.insert(batch.agent_id, agents.len());
                agents.push((batch.agent_id, &batch.outbox, received_at));
            }
        }
    }
    for (range, sql) in AGENTS.statements(agents.len()) {
        let mut query = sqlx::query(sql);
        for &(agent_id, outbox, seen) in &agents[range] {
            query = query.bind(agent_id).bind(Json(outbox)).bind(seen);
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

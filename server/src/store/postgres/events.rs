//! Events (`store::events`): written by ingest with their new results as
//! column arrays, searched newest first, deleted by retention in chunks.
//! `events` is a plain table in every storage mode (`0024_events.sql`).

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::PgStore;
use super::columns::Events;
use crate::store::*;

/// Events per `INSERT … UNNEST` statement: up to 2 kB of text each.
const EVENTS_PER_STATEMENT: usize = 5_000;
/// Rows one retention statement deletes at most.
const DELETE_CHUNK: i64 = 10_000;

/// A search newest first, from `$source` (which names `events e` and
/// `checks c`). Parameters: from, to, agent, check, target, text, before,
/// limit. The text is compared with `strpos`, so nothing in it is a pattern.
macro_rules! search {
    ($source:literal) => {
        concat!(
            "SELECT e.id, e.at, c.agent_id, a.name AS agent, c.name AS check_name, c.target,
                    e.text, e.labels ",
            $source,
            " JOIN agents a ON a.id = c.agent_id
             WHERE e.at >= $1 AND e.at < $2
               AND ($3::uuid IS NULL OR c.agent_id = $3) AND ($4::text IS NULL OR c.name = $4)
               AND ($5::text IS NULL OR c.target = $5)
               AND ($6::text IS NULL OR strpos(lower(e.text), lower($6)) > 0)
               AND ($7::int8 IS NULL OR (e.at, e.id) < (SELECT at, id FROM events WHERE id = $7))
             ORDER BY e.at DESC, e.id DESC LIMIT $8"
        )
    };
}

/// Every event by time, newest first.
const SEARCH_ALL: &str = search!("FROM events e JOIN checks c ON c.id = e.check_id");
/// The events of some check targets, read by check.
const SEARCH_BY_CHECK: &str = search!(
    "FROM events e JOIN checks c ON c.id = e.check_id
       AND e.check_id IN (SELECT id FROM checks
                          WHERE ($3::uuid IS NULL OR agent_id = $3) AND ($4::text IS NULL OR name = $4)
                            AND ($5::text IS NULL OR target = $5))"
);

/// Stores events (those of the batch's new results) in the batch's transaction.
pub(super) async fn insert(tx: &mut PgConnection, events: &Events<'_>) -> StoreResult<()> {
    for start in (0..events.len()).step_by(EVENTS_PER_STATEMENT) {
        let chunk = start..(start + EVENTS_PER_STATEMENT).min(events.len());
        sqlx::query(
            "INSERT INTO events (check_id, result_id, seq, at, text, labels)
             SELECT * FROM UNNEST($1::int4[], $2::uuid[], $3::int2[], $4::timestamptz[],
                                  $5::text[], $6::text[])",
        )
        .bind(&events.check_ids[chunk.clone()])
        .bind(&events.result_ids[chunk.clone()])
        .bind(&events.seqs[chunk.clone()])
        .bind(&events.at[chunk.clone()])
        .bind(&events.texts[chunk.clone()])
        .bind(&events.labels[chunk])
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

fn record(row: &PgRow) -> StoreResult<EventRecord> {
    Ok(EventRecord {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        agent_id: row.try_get("agent_id")?,
        agent: row.try_get("agent")?,
        check: row.try_get("check_name")?,
        target: row.try_get("target")?,
        text: row.try_get("text")?,
        labels: row.try_get("labels")?,
    })
}

impl EventStore for PgStore {
    async fn events(&self, f: &EventFilter) -> StoreResult<Vec<EventRecord>> {
        let sql = if f.by_check() {
            SEARCH_BY_CHECK
        } else {
            SEARCH_ALL
        };
        let rows = sqlx::query(sql)
            .bind(f.from)
            .bind(f.to)
            .bind(f.agent_id)
            .bind(f.check.as_deref())
            .bind(f.target.as_deref())
            .bind(f.text.as_deref())
            .bind(f.before)
            .bind(i64::from(f.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record).collect()
    }

    /// Chunk by chunk, each its own statement: no long transaction, and
    /// ingest goes on between them.
    async fn delete_events_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let deleted = sqlx::query(
                "DELETE FROM events WHERE id IN (
                     SELECT id FROM events WHERE at < $1 ORDER BY at LIMIT $2)",
            )
            .bind(before)
            .bind(DELETE_CHUNK)
            .execute(&self.pool)
            .await?
            .rows_affected();
            total += deleted;
            if deleted < DELETE_CHUNK as u64 {
                return Ok(total);
            }
        }
    }
}

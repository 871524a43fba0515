//! Events (`store::events`): written by ingest with their new results,
//! searched newest first, deleted by retention in chunks.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::bulk::BulkValues;
use super::{SqliteStore, micros, time_at};
use crate::store::*;

/// Events: 6 parameters a row, at most 1 024 rows a statement.
static EVENTS: BulkValues = BulkValues::new(
    "INSERT INTO events (check_id, result_id, seq, at, text, labels) VALUES ",
    6,
    "",
    10,
);

/// A search newest first, from `$source` (which names `events e` and
/// `checks c`). Parameters: from, to, agent, check, target, text, before,
/// limit. The text is compared with `instr`, so nothing in it is a pattern.
macro_rules! search {
    ($source:literal) => {
        concat!(
            "SELECT e.id, e.at, c.agent_id, a.name AS agent, c.name AS check_name, c.target,
                    e.text, e.labels ",
            $source,
            " JOIN agents a ON a.id = c.agent_id
             WHERE e.at >= ?1 AND e.at < ?2
               AND (?3 IS NULL OR c.agent_id = ?3) AND (?4 IS NULL OR c.name = ?4)
               AND (?5 IS NULL OR c.target = ?5)
               AND (?6 IS NULL OR instr(lower(e.text), lower(?6)) > 0)
               AND (?7 IS NULL OR (e.at, e.id) < (SELECT at, id FROM events WHERE id = ?7))
             ORDER BY e.at DESC, e.id DESC LIMIT ?8"
        )
    };
}

/// Every event by time, newest first: the time index read backwards.
const SEARCH_ALL: &str =
    search!("FROM events e INDEXED BY events_at JOIN checks c ON c.id = e.check_id");
/// The events of some check targets: each one's by its index, then sorted.
const SEARCH_BY_CHECK: &str =
    search!("FROM checks c CROSS JOIN events e INDEXED BY events_check_at ON e.check_id = c.id");

/// Stores the events of `fresh` (the batch's new results) on `tx`.
pub(super) async fn insert(tx: &mut SqliteConnection, fresh: &[&ResultRow]) -> StoreResult<()> {
    let rows: Vec<(i64, Uuid, i64, &EventIn)> = fresh
        .iter()
        .flat_map(|r| {
            r.events
                .iter()
                .enumerate()
                .map(move |(seq, e)| (r.check_id, r.id, seq as i64, e))
        })
        .collect();
    for (range, sql) in EVENTS.statements(rows.len()) {
        let mut query = sqlx::query(sql);
        for &(check_id, result_id, seq, e) in &rows[range] {
            query = query
                .bind(check_id)
                .bind(result_id)
                .bind(seq)
                .bind(micros(e.at))
                .bind(e.text.as_str())
                .bind(e.labels.as_str());
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

fn record(row: &SqliteRow) -> StoreResult<EventRecord> {
    Ok(EventRecord {
        id: row.try_get("id")?,
        at: time_at(row, "at")?,
        agent_id: row.try_get("agent_id")?,
        agent: row.try_get("agent")?,
        check: row.try_get("check_name")?,
        target: row.try_get("target")?,
        text: row.try_get("text")?,
        labels: row.try_get("labels")?,
    })
}

impl EventStore for SqliteStore {
    async fn events(&self, f: &EventFilter) -> StoreResult<Vec<EventRecord>> {
        let sql = if f.by_check() {
            SEARCH_BY_CHECK
        } else {
            SEARCH_ALL
        };
        let rows = sqlx::query(sql)
            .bind(micros(f.from))
            .bind(micros(f.to))
            .bind(f.agent_id)
            .bind(f.check.as_deref())
            .bind(f.target.as_deref())
            .bind(f.text.as_deref())
            .bind(f.before)
            .bind(i64::from(f.limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(record).collect()
    }

    async fn delete_events_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.delete_in_chunks(
            "DELETE FROM events WHERE id IN (
                 SELECT id FROM events INDEXED BY events_at WHERE at < ?1 LIMIT ?2)",
            before,
        )
        .await
    }
}

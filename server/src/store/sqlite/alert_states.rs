//! Alert states and history (`alert_states`, `alert_events`): judged in
//! the ingest transaction, read for the API.

use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, AlertSubject, AlertView};

use super::{micros, time_at};
use crate::alerting::evaluate::{self, Judge, Memory};
use crate::store::alerts::{notice_names, notices_from_names, state_from_str, subject_columns};
use crate::store::*;

/// Judges a batch's readings against the stored states and writes the new
/// ones and the history. The caller's transaction holds the write lock.
pub(super) async fn judge(tx: &mut SqliteConnection, judges: Vec<Judge<'_>>) -> StoreResult<()> {
    if judges.is_empty() {
        return Ok(());
    }
    let mut stored = HashMap::new();
    for (rule, check_id) in evaluate::keys(&judges) {
        let memory: Option<Json<Memory>> =
            sqlx::query_scalar("SELECT memory FROM alert_states WHERE rule = ?1 AND check_id = ?2")
                .bind(&rule)
                .bind(check_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(Json(memory)) = memory {
            stored.insert((rule, check_id), memory);
        }
    }
    let (states, events) = evaluate::run(judges, stored);
    for s in &states {
        let m = &s.memory;
        sqlx::query(
            "INSERT INTO alert_states (rule, check_id, state, since, value, flapping, evaluated_at, memory)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (rule, check_id) DO UPDATE SET state = excluded.state, since = excluded.since,
                 value = excluded.value, flapping = excluded.flapping,
                 evaluated_at = excluded.evaluated_at, memory = excluded.memory",
        )
        .bind(&s.rule)
        .bind(s.check_id)
        .bind(m.machine.state().as_str())
        .bind(micros(m.machine.since()))
        .bind(m.value)
        .bind(m.machine.is_flapping())
        .bind(micros(m.last_at))
        .bind(Json(m))
        .execute(&mut *tx)
        .await?;
    }
    for e in &events {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alert_events (rule, check_id, at, from_state, to_state, value, causes, notices)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )
        .bind(&e.rule)
        .bind(e.check_id)
        .bind(micros(e.at))
        .bind(e.from.as_str())
        .bind(e.to.as_str())
        .bind(e.value)
        .bind(Json(&e.causes))
        .bind(Json(notice_names(&e.notices)))
        .fetch_one(&mut *tx)
        .await?;
        // A step that tells something waits for the notifier.
        if !e.notices.is_empty() {
            sqlx::query("INSERT INTO alert_outbox (event_id) VALUES (?1)")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

fn subject(row: &SqliteRow) -> StoreResult<AlertSubject> {
    Ok(AlertSubject {
        rule: row.try_get("rule")?,
        agent_id: row.try_get("agent_id")?,
        agent: row.try_get("agent")?,
        check: row.try_get("check_name")?,
        target: row.try_get("target")?,
        plugin: row.try_get("plugin")?,
    })
}

pub(super) async fn alerts(
    db: &sqlx::SqlitePool,
    filter: &AlertFilter,
) -> StoreResult<Vec<AlertView>> {
    let rows = sqlx::query(concat!(
        "SELECT s.rule, s.state, s.since, s.value, s.flapping, s.evaluated_at, ",
        subject_columns!(),
        "
         FROM alert_states s JOIN alert_rules r ON r.name = s.rule
         JOIN checks c ON c.id = s.check_id JOIN agents a ON a.id = c.agent_id
         WHERE s.state <> 'ok' AND (?1 IS NULL OR s.rule = ?1) AND (?2 IS NULL OR s.state = ?2)
         ORDER BY s.since DESC, s.rule, c.id"
    ))
    .bind(filter.rule.as_deref())
    .bind(filter.state.map(|s| s.as_str()))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AlertView {
                subject: subject(row)?,
                state: state_from_str(row.try_get("state")?)?,
                since: time_at(row, "since")?,
                value: row.try_get("value")?,
                flapping: row.try_get("flapping")?,
                evaluated_at: time_at(row, "evaluated_at")?,
            })
        })
        .collect()
}

pub(super) async fn history(
    db: &sqlx::SqlitePool,
    filter: &HistoryFilter,
) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT e.id, e.rule, e.at, e.from_state, e.to_state, e.value, e.causes, e.notices, ",
        subject_columns!(),
        "
         FROM alert_events e JOIN checks c ON c.id = e.check_id JOIN agents a ON a.id = c.agent_id
         WHERE (?1 IS NULL OR e.rule = ?1) AND (?2 IS NULL OR e.id < ?2)
         ORDER BY e.id DESC LIMIT ?3"
    ))
    .bind(filter.rule.as_deref())
    .bind(filter.before)
    .bind(filter.limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

fn event(row: &SqliteRow) -> StoreResult<AlertEventView> {
    let Json(causes): Json<Vec<Uuid>> = row.try_get("causes")?;
    let Json(notices): Json<Vec<String>> = row.try_get("notices")?;
    Ok(AlertEventView {
        id: row.try_get("id")?,
        subject: subject(row)?,
        at: time_at(row, "at")?,
        from: state_from_str(row.try_get("from_state")?)?,
        to: state_from_str(row.try_get("to_state")?)?,
        value: row.try_get("value")?,
        causes,
        notices: notices_from_names(&notices)?,
    })
}

/// Steps waiting in the outbox, oldest first.
pub(super) async fn outbox(db: &sqlx::SqlitePool, limit: u32) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT e.id, e.rule, e.at, e.from_state, e.to_state, e.value, e.causes, e.notices, ",
        subject_columns!(),
        "
         FROM alert_outbox o JOIN alert_events e ON e.id = o.event_id
         JOIN checks c ON c.id = e.check_id JOIN agents a ON a.id = c.agent_id
         ORDER BY o.event_id LIMIT ?1"
    ))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

/// Steps by id.
pub(super) async fn events(db: &sqlx::SqlitePool, ids: &[i64]) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT e.id, e.rule, e.at, e.from_state, e.to_state, e.value, e.causes, e.notices, ",
        subject_columns!(),
        "
         FROM alert_events e JOIN checks c ON c.id = e.check_id JOIN agents a ON a.id = c.agent_id
         WHERE e.id IN (SELECT value FROM json_each(?1))"
    ))
    .bind(super::id_list(ids))
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

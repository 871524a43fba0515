//! Alert states and history (`alert_states`, `alert_events`): judged in
//! the ingest transaction under the states' row locks, read for the API.

use std::collections::HashMap;

use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, AlertSubject, AlertView};

use super::id32;
use crate::alerting::evaluate::{self, Judge, Memory};
use crate::store::alerts::{notice_names, notices_from_names, state_from_str, subject_columns};
use crate::store::*;

/// Judges a batch's readings against the stored states and writes the new
/// ones and the history. The states are locked first, in key order: two
/// batches of one agent judge one after the other, and neither overwrites
/// what the other judged.
pub(super) async fn judge(tx: &mut PgConnection, judges: Vec<Judge<'_>>) -> StoreResult<()> {
    if judges.is_empty() {
        return Ok(());
    }
    let keys = evaluate::keys(&judges);
    let rules: Vec<&str> = keys.iter().map(|(r, _)| r.as_str()).collect();
    let checks: Vec<i32> = keys
        .iter()
        .map(|(_, c)| id32(*c))
        .collect::<StoreResult<_>>()?;
    let rows = sqlx::query(
        "SELECT s.rule, s.check_id, s.memory FROM alert_states s
         JOIN UNNEST($1::text[], $2::int4[]) AS k (rule, check_id) USING (rule, check_id)
         ORDER BY s.rule, s.check_id FOR UPDATE OF s",
    )
    .bind(&rules)
    .bind(&checks)
    .fetch_all(&mut *tx)
    .await?;
    let mut stored = HashMap::with_capacity(rows.len());
    for row in &rows {
        let Json(memory): Json<Memory> = row.try_get("memory")?;
        let id: i32 = row.try_get("check_id")?;
        stored.insert((row.try_get("rule")?, i64::from(id)), memory);
    }
    let (states, events) = evaluate::run(judges, stored);
    if !states.is_empty() {
        let mut c = StateColumns::default();
        for s in &states {
            let m = &s.memory;
            c.rules.push(&s.rule);
            c.checks.push(id32(s.check_id)?);
            c.states.push(m.machine.state().as_str());
            c.since.push(m.machine.since());
            c.values.push(m.value);
            c.flapping.push(m.machine.is_flapping());
            c.evaluated.push(m.last_at);
            c.memories
                .push(serde_json::to_string(m).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        // A key absent above may be inserted by a twin batch meanwhile: its
        // insert waits for ours, then updates (the later run wins).
        sqlx::query(
            "INSERT INTO alert_states (rule, check_id, state, since, value, flapping, evaluated_at, memory)
             SELECT r, c, s, t, v, f, e, m::json FROM UNNEST($1::text[], $2::int4[], $3::text[],
                 $4::timestamptz[], $5::float8[], $6::bool[], $7::timestamptz[], $8::text[])
                 AS u (r, c, s, t, v, f, e, m)
             ON CONFLICT (rule, check_id) DO UPDATE SET state = excluded.state, since = excluded.since,
                 value = excluded.value, flapping = excluded.flapping,
                 evaluated_at = excluded.evaluated_at, memory = excluded.memory",
        )
        .bind(&c.rules)
        .bind(&c.checks)
        .bind(&c.states)
        .bind(&c.since)
        .bind(&c.values)
        .bind(&c.flapping)
        .bind(&c.evaluated)
        .bind(&c.memories)
        .execute(&mut *tx)
        .await?;
    }
    // A step that tells something waits in the outbox for the notifier.
    for e in &events {
        sqlx::query(
            "WITH step AS (
                 INSERT INTO alert_events (rule, check_id, at, from_state, to_state, value, causes, notices)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id)
             INSERT INTO alert_outbox (event_id) SELECT id FROM step WHERE cardinality($8::text[]) > 0",
        )
        .bind(&e.rule)
        .bind(id32(e.check_id)?)
        .bind(e.at)
        .bind(e.from.as_str())
        .bind(e.to.as_str())
        .bind(e.value)
        .bind(&e.causes)
        .bind(notice_names(&e.notices))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The states to write, a column each.
#[derive(Default)]
struct StateColumns<'a> {
    rules: Vec<&'a str>,
    checks: Vec<i32>,
    states: Vec<&'static str>,
    since: Vec<chrono::DateTime<chrono::Utc>>,
    values: Vec<Option<f64>>,
    flapping: Vec<bool>,
    evaluated: Vec<chrono::DateTime<chrono::Utc>>,
    memories: Vec<String>,
}

fn subject(row: &PgRow) -> StoreResult<AlertSubject> {
    Ok(AlertSubject {
        rule: row.try_get("rule")?,
        agent_id: row.try_get("agent_id")?,
        agent: row.try_get("agent")?,
        check: row.try_get("check_name")?,
        target: row.try_get("target")?,
        plugin: row.try_get("plugin")?,
    })
}

pub(super) async fn alerts(db: &sqlx::PgPool, filter: &AlertFilter) -> StoreResult<Vec<AlertView>> {
    let rows = sqlx::query(concat!(
        "SELECT s.rule, s.state, s.since, s.value, s.flapping, s.evaluated_at, ",
        subject_columns!(),
        "
         FROM alert_states s JOIN alert_rules r ON r.name = s.rule
         JOIN checks c ON c.id = s.check_id JOIN agents a ON a.id = c.agent_id
         WHERE s.state <> 'ok' AND ($1::text IS NULL OR s.rule = $1)
           AND ($2::text IS NULL OR s.state = $2)
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
                since: row.try_get("since")?,
                value: row.try_get("value")?,
                flapping: row.try_get("flapping")?,
                evaluated_at: row.try_get("evaluated_at")?,
            })
        })
        .collect()
}

pub(super) async fn history(
    db: &sqlx::PgPool,
    filter: &HistoryFilter,
) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT e.id, e.rule, e.at, e.from_state, e.to_state, e.value, e.causes, e.notices, ",
        subject_columns!(),
        "
         FROM alert_events e JOIN checks c ON c.id = e.check_id JOIN agents a ON a.id = c.agent_id
         WHERE ($1::text IS NULL OR e.rule = $1) AND ($2::int8 IS NULL OR e.id < $2)
         ORDER BY e.id DESC LIMIT $3"
    ))
    .bind(filter.rule.as_deref())
    .bind(filter.before)
    .bind(i64::from(filter.limit))
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

fn event(row: &PgRow) -> StoreResult<AlertEventView> {
    let causes: Vec<Uuid> = row.try_get("causes")?;
    let notices: Vec<String> = row.try_get("notices")?;
    Ok(AlertEventView {
        id: row.try_get("id")?,
        subject: subject(row)?,
        at: row.try_get("at")?,
        from: state_from_str(row.try_get("from_state")?)?,
        to: state_from_str(row.try_get("to_state")?)?,
        value: row.try_get("value")?,
        causes,
        notices: notices_from_names(&notices)?,
    })
}

/// Steps waiting in the outbox, oldest first.
pub(super) async fn outbox(db: &sqlx::PgPool, limit: u32) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT e.id, e.rule, e.at, e.from_state, e.to_state, e.value, e.causes, e.notices, ",
        subject_columns!(),
        "
         FROM alert_outbox o JOIN alert_events e ON e.id = o.event_id
         JOIN checks c ON c.id = e.check_id JOIN agents a ON a.id = c.agent_id
         ORDER BY o.event_id LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

/// Steps by id.
pub(super) async fn events(db: &sqlx::PgPool, ids: &[i64]) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT e.id, e.rule, e.at, e.from_state, e.to_state, e.value, e.causes, e.notices, ",
        subject_columns!(),
        "
         FROM alert_events e JOIN checks c ON c.id = e.check_id JOIN agents a ON a.id = c.agent_id
         WHERE e.id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

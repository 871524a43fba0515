//! Alert states and history (`alert_states`, `alert_events`): judged in
//! the ingest transaction under the states' row locks, read for the API.

use std::collections::{HashMap, HashSet};

use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, AlertSubject, AlertView};

use super::{alert_groups, id32};
use crate::alerting::evaluate::{self, Judge, Memory};
use crate::alerting::quorum;
use crate::store::alerts::{event_columns, notices_from_names, state_from_str, subject_columns};
use crate::store::*;

/// Judges a batch's readings against the stored states and writes the new
/// ones and the history. First against the states as stored, unlocked:
/// alerts that stay `ok` with nothing to store now (`StateRow::steady`,
/// most of a healthy fleet's) are done, nothing locked or written. The
/// others are locked in key order, read again and judged again: two
/// batches of one agent that change an alert judge one after the other,
/// and neither overwrites what the other judged.
pub(super) async fn judge(tx: &mut PgConnection, judges: Vec<Judge<'_>>) -> StoreResult<()> {
    if judges.is_empty() {
        return Ok(());
    }
    let groups = quorum::touched(&judges);
    let at = judges.iter().map(|j| j.at).max().unwrap_or_default();
    let keys = evaluate::keys(&judges);
    let stored = memories(tx, &keys, false).await?;
    let (states, _) = evaluate::run(judges.clone(), stored);
    let changing: HashSet<(&str, i64)> = states
        .iter()
        .filter(|s| !s.steady)
        .map(|s| (s.rule.as_str(), s.check_id))
        .collect();
    let mut judges = judges;
    judges.retain(|j| changing.contains(&(j.rule.spec.name.as_str(), j.check_id)));
    let mut keys = keys;
    keys.retain(|(rule, check)| changing.contains(&(rule.as_str(), *check)));
    drop(changing);
    let stored = memories(tx, &keys, true).await?;
    let (states, mut events) = evaluate::run(judges, stored);
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
    events.extend(alert_groups::judge(tx, groups, at).await?);
    for e in &events {
        alert_groups::append(tx, e).await?;
    }
    Ok(())
}

/// The stored memories of these alerts, locked (in key order) or not.
async fn memories(
    tx: &mut PgConnection,
    keys: &[(String, i64)],
    lock: bool,
) -> StoreResult<HashMap<(String, i64), Memory>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rules: Vec<&str> = keys.iter().map(|(r, _)| r.as_str()).collect();
    let checks: Vec<i32> = keys
        .iter()
        .map(|(_, c)| id32(*c))
        .collect::<StoreResult<_>>()?;
    let sql = if lock {
        "SELECT s.rule, s.check_id, s.memory FROM alert_states s
         JOIN UNNEST($1::text[], $2::int4[]) AS k (rule, check_id) USING (rule, check_id)
         ORDER BY s.rule, s.check_id FOR UPDATE OF s"
    } else {
        "SELECT s.rule, s.check_id, s.memory FROM alert_states s
         JOIN UNNEST($1::text[], $2::int4[]) AS k (rule, check_id) USING (rule, check_id)"
    };
    let rows = sqlx::query(sql)
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
    Ok(stored)
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

pub(super) fn subject(row: &PgRow) -> StoreResult<AlertSubject> {
    Ok(AlertSubject {
        rule: row.try_get("rule")?,
        agent_id: row.try_get("agent_id")?,
        agent: row.try_get("agent")?,
        check: row.try_get("check_name")?,
        target: row.try_get("target")?,
        plugin: row.try_get("plugin")?,
    })
}

/// Agents' alerts and groups that are not ok, newest first.
pub(super) async fn alerts(db: &sqlx::PgPool, filter: &AlertFilter) -> StoreResult<Vec<AlertView>> {
    let rows = sqlx::query(concat!(
        "SELECT * FROM (
         SELECT s.rule, s.state, s.since, s.value, s.flapping, s.evaluated_at,
                '{}'::text[] AS agents, ",
        subject_columns!(),
        "
         FROM alert_states s JOIN alert_rules r ON r.name = s.rule
         JOIN checks c ON c.id = s.check_id JOIN agents a ON a.id = c.agent_id
         WHERE s.state <> 'ok'
         UNION ALL
         SELECT g.rule, g.state, g.since, cardinality(g.failing)::float8, g.flapping, g.evaluated_at,
                g.failing, NULL, NULL, g.check_name, g.target, g.plugin
         FROM alert_groups g JOIN alert_rules r ON r.name = g.rule
         WHERE g.state <> 'ok'
         UNION ALL
         SELECT g.rule, g.state, g.since, NULL, false, coalesce(a.last_seen_at, g.since), '{}'::text[],
                a.id, a.name, '', '', ''
         FROM alert_agents g JOIN alert_rules r ON r.name = g.rule JOIN agents a ON a.id = g.agent_id
         WHERE g.state <> 'ok') AS raised
         WHERE ($1::text IS NULL OR rule = $1) AND ($2::text IS NULL OR state = $2)
         ORDER BY since DESC, rule, agent"
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
                agents: row.try_get("agents")?,
            })
        })
        .collect()
}

pub(super) async fn history(
    db: &sqlx::PgPool,
    filter: &HistoryFilter,
) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        "
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
        agents: row.try_get("agents")?,
        causes,
        notices: notices_from_names(&notices)?,
        silenced_by: row.try_get("silenced_by")?,
        suppressed_by: row.try_get("suppressed_by")?,
        window: row.try_get("in_window")?,
        repeat_every: row
            .try_get::<Option<i64>, _>("repeat_every")?
            .map(|s| std::time::Duration::from_secs(s.max(0) as u64)),
    })
}

/// Steps waiting in the outbox, oldest first.
pub(super) async fn outbox(db: &sqlx::PgPool, limit: u32) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        "
         JOIN alert_outbox o ON o.event_id = e.id
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
        "SELECT ",
        event_columns!(),
        "
         WHERE e.id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

/// Steps held back by a dependency, oldest first.
pub(super) async fn held(db: &sqlx::PgPool, limit: u32) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        "
         JOIN alert_held h ON h.event_id = e.id
         ORDER BY h.event_id LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

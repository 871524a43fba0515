//! Alert states, quorum groups and history (`alert_states`,
//! `alert_groups`, `alert_events`, `alert_outbox`): judged in the ingest
//! transaction, read for the API and the notifier.

use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, AlertSubject, AlertView};

use super::{micros, time_at};
use crate::alerting::evaluate::{self, EventRow, Judge, Memory};
use crate::alerting::quorum::{self, GroupMemory};
use crate::store::alerts::{
    event_columns, notice_names, notices_from_names, state_from_str, subject_columns,
};
use crate::store::notify::parents_from_column;
use crate::store::*;

/// Judges a batch's readings against the stored states and writes the new
/// ones, their quorum groups and the history; whether a step went to the
/// outbox. The caller's transaction holds the write lock.
pub(super) async fn judge(tx: &mut SqliteConnection, judges: Vec<Judge<'_>>) -> StoreResult<bool> {
    if judges.is_empty() {
        return Ok(false);
    }
    let groups = quorum::touched(&judges);
    let at = judges.iter().map(|j| j.at).max().unwrap_or_default();
    let mut stored = HashMap::new();
    for (rule, check_id) in evaluate::keys(judges.iter().map(Judge::key)) {
        let memory: Option<Json<Memory>> =
            sqlx::query_scalar("SELECT memory FROM alert_states WHERE rule = ?1 AND check_id = ?2")
                .bind(rule)
                .bind(check_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(Json(memory)) = memory {
            stored.insert((rule, check_id), memory);
        }
    }
    let (states, mut events) = evaluate::run(judges, stored);
    // An alert that stays `ok` with nothing to store now keeps its row.
    for s in states.iter().filter(|s| !s.steady) {
        let m = &s.memory;
        sqlx::query(
            "INSERT INTO alert_states (rule, check_id, state, since, value, flapping, evaluated_at, memory)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (rule, check_id) DO UPDATE SET state = excluded.state, since = excluded.since,
                 value = excluded.value, flapping = excluded.flapping,
                 evaluated_at = excluded.evaluated_at, memory = excluded.memory",
        )
        .bind(s.rule)
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
    for (key, rule) in groups {
        let memory: Option<Json<GroupMemory>> = sqlx::query_scalar(
            "SELECT memory FROM alert_groups WHERE rule = ?1 AND check_name = ?2 AND target = ?3",
        )
        .bind(&key.rule)
        .bind(&key.check)
        .bind(&key.target)
        .fetch_optional(&mut *tx)
        .await?;
        let rows = sqlx::query(
            "SELECT a.name, s.state FROM alert_states s JOIN checks c ON c.id = s.check_id
             JOIN agents a ON a.id = c.agent_id
             WHERE s.rule = ?1 AND c.name = ?2 AND c.target = ?3",
        )
        .bind(&key.rule)
        .bind(&key.check)
        .bind(&key.target)
        .fetch_all(&mut *tx)
        .await?;
        let members = rows
            .iter()
            .map(|r| Ok((r.try_get("name")?, state_from_str(r.try_get("state")?)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let (memory, event) = quorum::step(&key, rule, memory.map(|m| m.0), &members, at);
        sqlx::query(
            "INSERT INTO alert_groups (rule, check_name, target, state, since, failing, flapping,
                                       evaluated_at, plugin, memory)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (rule, check_name, target) DO UPDATE SET state = excluded.state,
                 since = excluded.since, failing = excluded.failing, flapping = excluded.flapping,
                 evaluated_at = excluded.evaluated_at, plugin = excluded.plugin, memory = excluded.memory",
        )
        .bind(&key.rule)
        .bind(&key.check)
        .bind(&key.target)
        .bind(memory.machine.state().as_str())
        .bind(micros(memory.machine.since()))
        .bind(Json(&memory.failing))
        .bind(memory.machine.is_flapping())
        .bind(micros(at))
        .bind(&key.plugin)
        .bind(Json(&memory))
        .execute(&mut *tx)
        .await?;
        events.extend(event);
    }
    for e in &events {
        append(tx, e).await?;
    }
    Ok(events.iter().any(EventRow::tells))
}

/// Appends a step to the history, and to the outbox when it tells something.
pub(super) async fn append(tx: &mut SqliteConnection, e: &EventRow) -> StoreResult<()> {
    let group = e.group.as_ref();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO alert_events (rule, check_id, check_name, target, plugin, agents, at,
                                   from_state, to_state, value, causes, notices, agent_id,
                                   repeat_every)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) RETURNING id",
    )
    .bind(&e.rule)
    .bind(e.check_id)
    .bind(group.map(|g| g.check.as_str()))
    .bind(group.map(|g| g.target.as_str()))
    .bind(group.map(|g| g.plugin.as_str()))
    .bind(Json(&e.agents))
    .bind(micros(e.at))
    .bind(e.from.as_str())
    .bind(e.to.as_str())
    .bind(e.value)
    .bind(Json(&e.causes))
    .bind(Json(notice_names(&e.notices)))
    .bind(e.agent_id)
    .bind(e.repeat_every.map(|d| d.as_secs() as i64))
    .fetch_one(&mut *tx)
    .await?;
    if e.tells() {
        sqlx::query("INSERT INTO alert_outbox (event_id) VALUES (?1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

pub(super) fn subject(row: &SqliteRow) -> StoreResult<AlertSubject> {
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
pub(super) async fn alerts(
    db: &sqlx::SqlitePool,
    filter: &AlertFilter,
) -> StoreResult<Vec<AlertView>> {
    let rows = sqlx::query(concat!(
        "SELECT * FROM (
         SELECT s.rule, s.state, s.since, s.value, s.flapping, s.evaluated_at, '[]' AS agents, ",
        subject_columns!(),
        "
         FROM alert_states s JOIN alert_rules r ON r.name = s.rule
         JOIN checks c ON c.id = s.check_id JOIN agents a ON a.id = c.agent_id
         WHERE s.state <> 'ok'
         UNION ALL
         SELECT g.rule, g.state, g.since, CAST(json_array_length(g.failing) AS REAL), g.flapping, g.evaluated_at,
                g.failing, NULL, NULL, g.check_name, g.target, g.plugin
         FROM alert_groups g JOIN alert_rules r ON r.name = g.rule
         WHERE g.state <> 'ok'
         UNION ALL
         SELECT g.rule, g.state, g.since, NULL, 0, coalesce(a.last_seen_at, g.since), '[]',
                a.id, a.name, '', '', ''
         FROM alert_agents g JOIN alert_rules r ON r.name = g.rule JOIN agents a ON a.id = g.agent_id
         WHERE g.state <> 'ok')
         WHERE (?1 IS NULL OR rule = ?1) AND (?2 IS NULL OR state = ?2)
         ORDER BY since DESC, rule, agent"
    ))
    .bind(filter.rule.as_deref())
    .bind(filter.state.map(|s| s.as_str()))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            let Json(agents): Json<Vec<String>> = row.try_get("agents")?;
            Ok(AlertView {
                subject: subject(row)?,
                state: state_from_str(row.try_get("state")?)?,
                since: time_at(row, "since")?,
                value: row.try_get("value")?,
                flapping: row.try_get("flapping")?,
                evaluated_at: time_at(row, "evaluated_at")?,
                agents,
            })
        })
        .collect()
}

pub(super) async fn history(
    db: &sqlx::SqlitePool,
    filter: &HistoryFilter,
) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        "
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

pub(super) fn event(row: &SqliteRow) -> StoreResult<AlertEventView> {
    let Json(causes): Json<Vec<Uuid>> = row.try_get("causes")?;
    let Json(notices): Json<Vec<String>> = row.try_get("notices")?;
    let Json(agents): Json<Vec<String>> = row.try_get("agents")?;
    Ok(AlertEventView {
        id: row.try_get("id")?,
        subject: subject(row)?,
        at: time_at(row, "at")?,
        from: state_from_str(row.try_get("from_state")?)?,
        to: state_from_str(row.try_get("to_state")?)?,
        value: row.try_get("value")?,
        agents,
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

/// The steps of `rules`' alerts judged over `[from, to)`, with
/// `state_before` after each alert's last one before `from`, in the order
/// they were judged.
pub(super) async fn steps(
    db: &sqlx::SqlitePool,
    rules: &[String],
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    state_before: bool,
) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        "
         WHERE e.rule IN (SELECT value FROM json_each(?1))
           AND ((e.at >= ?2 AND e.at < ?3) OR (?4 AND e.id IN (
             SELECT max(id) FROM alert_events
             WHERE rule IN (SELECT value FROM json_each(?1)) AND at < ?2
             GROUP BY rule, check_id, check_name, target, agent_id)))
         ORDER BY e.id"
    ))
    .bind(Json(rules))
    .bind(micros(from))
    .bind(micros(to))
    .bind(state_before)
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

/// Steps over `[from, to)` that a raised parent check target
/// suppressed, with those parents, in time order.
pub(super) async fn suppressed(
    db: &sqlx::SqlitePool,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Vec<ChildStep>> {
    let rows = sqlx::query(concat!(
        "SELECT e.suppressed_parents, ",
        event_columns!(),
        "
         WHERE e.suppressed_parents IS NOT NULL AND e.at >= ?1 AND e.at < ?2
         ORDER BY e.at, e.id"
    ))
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ChildStep {
                step: event(row)?,
                parents: parents_from_column(row.try_get("suppressed_parents")?)?,
            })
        })
        .collect()
}

/// Steps waiting in the outbox, oldest first.
pub(super) async fn outbox(db: &sqlx::SqlitePool, limit: u32) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        "
         JOIN alert_outbox o ON o.event_id = e.id
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
        "SELECT ",
        event_columns!(),
        "
         WHERE e.id IN (SELECT value FROM json_each(?1))"
    ))
    .bind(super::id_list(ids))
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

/// Steps held back by a dependency, oldest first.
pub(super) async fn held(db: &sqlx::SqlitePool, limit: u32) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        "
         JOIN alert_held h ON h.event_id = e.id
         ORDER BY h.event_id LIMIT ?1"
    ))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

//! Alert states and history (`alert_states`, `alert_events`) as the API
//! reads them (judged in `alert_judge`).

use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, AlertSubject, AlertView};

use crate::store::alerts::{event_columns, notices_from_names, state_from_str, subject_columns};
use crate::store::notify::parents_from_column;
use crate::store::*;

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

pub(super) fn event(row: &PgRow) -> StoreResult<AlertEventView> {
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

/// The steps of `rules`' alerts judged over `[from, to)`, with
/// `state_before` after each alert's last one before `from`, in the order
/// they were judged.
pub(super) async fn steps(
    db: &sqlx::PgPool,
    rules: &[String],
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    state_before: bool,
) -> StoreResult<Vec<AlertEventView>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        "
         WHERE e.rule = ANY($1) AND ((e.at >= $2 AND e.at < $3) OR ($4 AND e.id IN (
             SELECT max(id) FROM alert_events WHERE rule = ANY($1) AND at < $2
             GROUP BY rule, check_id, check_name, target, agent_id)))
         ORDER BY e.id"
    ))
    .bind(rules)
    .bind(from)
    .bind(to)
    .bind(state_before)
    .fetch_all(db)
    .await?;
    rows.iter().map(event).collect()
}

/// Steps over `[from, to)` that a raised parent check target
/// suppressed, with those parents, in time order.
pub(super) async fn suppressed(
    db: &sqlx::PgPool,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Vec<ChildStep>> {
    let rows = sqlx::query(concat!(
        "SELECT e.suppressed_parents, ",
        event_columns!(),
        "
         WHERE e.suppressed_parents IS NOT NULL AND e.at >= $1 AND e.at < $2
         ORDER BY e.at, e.id"
    ))
    .bind(from)
    .bind(to)
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

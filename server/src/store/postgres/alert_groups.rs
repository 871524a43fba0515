//! Quorum groups (`alert_groups`) and appending steps to the history and
//! the outbox, in the ingest transaction. A group's row lock orders the
//! replicas that judge its agents: the second reads the first's states
//! once it committed, so a group never misses an agent raised meanwhile.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use super::id32;
use crate::alerting::evaluate::EventRow;
use crate::alerting::quorum::{self, GroupKey, GroupMemory};
use crate::alerting::rule::Rule;
use crate::store::alerts::{notice_names, state_from_str};
use crate::store::*;

/// Steps the groups (in key order, the order their rows are locked in)
/// against their agents' states as this transaction sees them.
pub(super) async fn judge(
    tx: &mut PgConnection,
    groups: Vec<(GroupKey, &Rule)>,
    at: DateTime<Utc>,
) -> StoreResult<Vec<EventRow>> {
    let mut events = Vec::new();
    for (key, rule) in groups {
        // The row exists before it is locked: a twin's insert waits for ours.
        sqlx::query(
            "INSERT INTO alert_groups (rule, check_name, target, state, since, failing, flapping,
                                       evaluated_at, plugin, memory)
             VALUES ($1, $2, $3, 'ok', $4, '{}', false, $4, $5, 'null') ON CONFLICT DO NOTHING",
        )
        .bind(&key.rule)
        .bind(&key.check)
        .bind(&key.target)
        .bind(at)
        .bind(&key.plugin)
        .execute(&mut *tx)
        .await?;
        let memory: Json<Option<GroupMemory>> = sqlx::query_scalar(
            "SELECT memory FROM alert_groups WHERE rule = $1 AND check_name = $2 AND target = $3
             FOR UPDATE",
        )
        .bind(&key.rule)
        .bind(&key.check)
        .bind(&key.target)
        .fetch_one(&mut *tx)
        .await?;
        let rows = sqlx::query(
            "SELECT a.name, s.state FROM alert_states s JOIN checks c ON c.id = s.check_id
             JOIN agents a ON a.id = c.agent_id
             WHERE s.rule = $1 AND c.name = $2 AND c.target = $3",
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
        let (memory, event) = quorum::step(&key, rule, memory.0, &members, at);
        sqlx::query(
            "UPDATE alert_groups SET state = $4, since = $5, failing = $6, flapping = $7,
                 evaluated_at = $8, plugin = $9, memory = $10
             WHERE rule = $1 AND check_name = $2 AND target = $3",
        )
        .bind(&key.rule)
        .bind(&key.check)
        .bind(&key.target)
        .bind(memory.machine.state().as_str())
        .bind(memory.machine.since())
        .bind(&memory.failing)
        .bind(memory.machine.is_flapping())
        .bind(at)
        .bind(&key.plugin)
        .bind(Json(&memory))
        .execute(&mut *tx)
        .await?;
        events.extend(event);
    }
    Ok(events)
}

/// Appends a step to the history, and to the outbox when it tells something.
pub(super) async fn append(tx: &mut PgConnection, e: &EventRow) -> StoreResult<()> {
    let group = e.group.as_ref();
    sqlx::query(
        "WITH step AS (
             INSERT INTO alert_events (rule, check_id, check_name, target, plugin, agents, at,
                                       from_state, to_state, value, causes, notices, agent_id,
                                       repeat_every)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $15) RETURNING id)
         INSERT INTO alert_outbox (event_id) SELECT id FROM step WHERE $13",
    )
    .bind(&e.rule)
    .bind(e.check_id.map(id32).transpose()?)
    .bind(group.map(|g| g.check.as_str()))
    .bind(group.map(|g| g.target.as_str()))
    .bind(group.map(|g| g.plugin.as_str()))
    .bind(&e.agents)
    .bind(e.at)
    .bind(e.from.as_str())
    .bind(e.to.as_str())
    .bind(e.value)
    .bind(&e.causes)
    .bind(notice_names(&e.notices))
    .bind(e.tells())
    .bind(e.agent_id)
    .bind(e.repeat_every.map(|d| d.as_secs() as i64))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

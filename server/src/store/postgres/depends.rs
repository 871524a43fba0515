//! Dependencies' reads (`store::depends`) over `alert_states`,
//! `alert_groups`, `alert_events` and `alert_held`.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use vantage_protocol::config::{AlertEventView, AlertState};

use super::{PgStore, alert_groups, alert_states, id32};
use crate::store::alerts::state_from_str;
use crate::store::*;

fn parent(row: &PgRow) -> StoreResult<ParentAlert> {
    let check_id: Option<i32> = row.try_get("check_id")?;
    Ok(ParentAlert {
        rule: row.try_get("rule")?,
        check_id: check_id.map(i64::from),
        check: row.try_get("check_name")?,
        target: row.try_get("target")?,
        agent: row.try_get("agent")?,
        agent_id: row.try_get("agent_id")?,
        state: state_from_str(row.try_get("state")?)?,
        since: row.try_get("since")?,
        evaluated_at: row.try_get("evaluated_at")?,
        gap_ms: row.try_get("gap_ms")?,
    })
}

impl DependStore for PgStore {
    async fn parent_alerts(&self, agents: &[String]) -> StoreResult<Vec<ParentAlert>> {
        let rows = sqlx::query(
            "SELECT s.rule, s.check_id, c.name AS check_name, c.target, a.name AS agent, s.state,
                    s.since,
                    CASE WHEN s.state = 'ok' THEN greatest(s.evaluated_at,
                        (SELECT max(r.started_at) FROM results r WHERE r.check_id = s.check_id))
                    ELSE s.evaluated_at END AS evaluated_at,
                    s.gap_ms,
                    NULL::uuid AS agent_id
             FROM alert_states s JOIN checks c ON c.id = s.check_id JOIN agents a ON a.id = c.agent_id
             WHERE a.name = ANY($1)
             UNION ALL
             SELECT g.rule, NULL, g.check_name, g.target, NULL, g.state, g.since, g.evaluated_at, NULL,
                    NULL
             FROM alert_groups g
             UNION ALL
             SELECT g.rule, NULL, '', '', a.name, g.state, g.since,
                    greatest(g.since, coalesce(a.last_seen_at, a.enrolled_at)), NULL, a.id
             FROM alert_agents g JOIN agents a ON a.id = g.agent_id
             WHERE a.name = ANY($1)",
        )
        .bind(agents)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(parent).collect()
    }

    async fn states_between(
        &self,
        p: &ParentAlert,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<AlertState>> {
        // The step at or before `from`, then those after it.
        let states: Vec<String> = match p.check_id {
            Some(check_id) => {
                sqlx::query_scalar(
                    "SELECT to_state FROM (SELECT to_state, at, id FROM alert_events
                         WHERE check_id = $1 AND rule = $2 AND at <= $3 ORDER BY at DESC, id DESC LIMIT 1) AS before
                     UNION ALL
                     SELECT to_state FROM (SELECT to_state, at, id FROM alert_events
                         WHERE check_id = $1 AND rule = $2 AND at > $3 AND at <= $4) AS after",
                )
                .bind(id32(check_id)?)
                .bind(&p.rule)
                .bind(from)
                .bind(until)
                .fetch_all(&self.pool)
                .await?
            }
            None if p.is_agent() => {
                sqlx::query_scalar(
                    "SELECT to_state FROM (SELECT to_state, at, id FROM alert_events
                         WHERE agent_id = $1 AND rule = $2 AND at <= $3 ORDER BY at DESC, id DESC LIMIT 1) AS before
                     UNION ALL
                     SELECT to_state FROM (SELECT to_state, at, id FROM alert_events
                         WHERE agent_id = $1 AND rule = $2 AND at > $3 AND at <= $4) AS after",
                )
                .bind(p.agent_id)
                .bind(&p.rule)
                .bind(from)
                .bind(until)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_scalar(
                    "SELECT to_state FROM (SELECT to_state, at, id FROM alert_events
                         WHERE check_id IS NULL AND check_name = $1 AND target = $2 AND rule = $3
                           AND at <= $4 ORDER BY at DESC, id DESC LIMIT 1) AS before
                     UNION ALL
                     SELECT to_state FROM (SELECT to_state, at, id FROM alert_events
                         WHERE check_id IS NULL AND check_name = $1 AND target = $2 AND rule = $3
                           AND at > $4 AND at <= $5) AS after",
                )
                .bind(&p.check)
                .bind(&p.target)
                .bind(&p.rule)
                .bind(from)
                .bind(until)
                .fetch_all(&self.pool)
                .await?
            }
        };
        states.iter().map(|s| state_from_str(s)).collect()
    }

    async fn held(&self, limit: u32) -> StoreResult<Vec<AlertEventView>> {
        alert_states::held(&self.pool, limit).await
    }

    async fn agent_alerts(&self, rules: &[String]) -> StoreResult<Vec<AgentAlert>> {
        let rows = sqlx::query(
            "SELECT rule, agent_id, state, since FROM alert_agents WHERE rule = ANY($1)",
        )
        .bind(rules)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AgentAlert {
                    rule: row.try_get("rule")?,
                    agent_id: row.try_get("agent_id")?,
                    state: state_from_str(row.try_get("state")?)?,
                    since: row.try_get("since")?,
                })
            })
            .collect()
    }

    async fn step_agent_alert(&self, step: &AgentStep<'_>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = match step.from {
            None => sqlx::query(
                "INSERT INTO alert_agents (rule, agent_id, state, since) VALUES ($1, $2, $3, $4)
                     ON CONFLICT DO NOTHING",
            )
            .bind(step.rule)
            .bind(step.agent_id)
            .bind(step.to.as_str())
            .bind(step.at)
            .execute(&mut *tx)
            .await?,
            Some(from) => {
                sqlx::query(
                    "UPDATE alert_agents SET state = $3, since = $4
                     WHERE rule = $1 AND agent_id = $2 AND state = $5",
                )
                .bind(step.rule)
                .bind(step.agent_id)
                .bind(step.to.as_str())
                .bind(step.at)
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?
            }
        };
        let moved = done.rows_affected() == 1;
        let event = step.event();
        if moved && event.from != event.to {
            alert_groups::append(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok(moved)
    }
}

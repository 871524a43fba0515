//! Dependencies' reads (`store::depends`) over `alert_states`,
//! `alert_groups`, `alert_events` and `alert_held`.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use vantage_protocol::config::{AlertEventView, AlertState};

use super::{SqliteStore, alert_states, micros, time_at};
use crate::store::alerts::state_from_str;
use crate::store::*;

fn parent(row: &SqliteRow) -> StoreResult<ParentAlert> {
    Ok(ParentAlert {
        rule: row.try_get("rule")?,
        check_id: row.try_get("check_id")?,
        check: row.try_get("check_name")?,
        target: row.try_get("target")?,
        agent: row.try_get("agent")?,
        state: state_from_str(row.try_get("state")?)?,
        since: time_at(row, "since")?,
        evaluated_at: time_at(row, "evaluated_at")?,
        gap_ms: row.try_get("gap_ms")?,
    })
}

impl DependStore for SqliteStore {
    async fn parent_alerts(&self, agents: &[String]) -> StoreResult<Vec<ParentAlert>> {
        let rows = sqlx::query(
            "SELECT s.rule, s.check_id, c.name AS check_name, c.target, a.name AS agent, s.state,
                    s.since, s.evaluated_at, json_extract(s.memory, '$.gap_ms') AS gap_ms
             FROM alert_states s JOIN checks c ON c.id = s.check_id JOIN agents a ON a.id = c.agent_id
             WHERE a.name IN (SELECT value FROM json_each(?1))
             UNION ALL
             SELECT g.rule, NULL, g.check_name, g.target, NULL, g.state, g.since, g.evaluated_at, NULL
             FROM alert_groups g",
        )
        .bind(Json(agents))
        .fetch_all(&self.read)
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
                         WHERE check_id = ?1 AND rule = ?2 AND at <= ?3 ORDER BY at DESC, id DESC LIMIT 1) AS before
                     UNION ALL
                     SELECT to_state FROM (SELECT to_state, at, id FROM alert_events
                         WHERE check_id = ?1 AND rule = ?2 AND at > ?3 AND at <= ?4) AS after",
                )
                .bind(check_id)
                .bind(&p.rule)
                .bind(micros(from))
                .bind(micros(until))
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query_scalar(
                    "SELECT to_state FROM (SELECT to_state, at, id FROM alert_events
                         WHERE check_id IS NULL AND check_name = ?1 AND target = ?2 AND rule = ?3
                           AND at <= ?4 ORDER BY at DESC, id DESC LIMIT 1) AS before
                     UNION ALL
                     SELECT to_state FROM (SELECT to_state, at, id FROM alert_events
                         WHERE check_id IS NULL AND check_name = ?1 AND target = ?2 AND rule = ?3
                           AND at > ?4 AND at <= ?5) AS after",
                )
                .bind(&p.check)
                .bind(&p.target)
                .bind(&p.rule)
                .bind(micros(from))
                .bind(micros(until))
                .fetch_all(&self.read)
                .await?
            }
        };
        states.iter().map(|s| state_from_str(s)).collect()
    }

    async fn held(&self, limit: u32) -> StoreResult<Vec<AlertEventView>> {
        alert_states::held(&self.read, limit).await
    }
}

//! Reminders (`store::repeats`) over `alert_states`, `alert_groups`,
//! `alert_agents` and `alert_events`; the alert's row lock orders
//! replicas (and ingest, which judges under the same lock).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::alert_states::subject;
use super::{PgStore, alert_groups, id32};
use crate::alerting::quorum::GroupKey;
use crate::store::*;

/// "Quiet for $3 seconds since $2" for each kind of alert, as a condition
/// on its row `g`/`s`: no step told it anything since, but reminders for
/// the channels of other intervals.
macro_rules! quiet {
    () => {
        "AND e.at >= $2 AND cardinality(e.notices) > 0
         AND (e.repeat_every IS NULL OR e.repeat_every = $3))"
    };
}
macro_rules! quiet_check {
    () => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM alert_events e WHERE e.check_id = s.check_id AND e.rule = s.rule ",
            quiet!()
        )
    };
}
macro_rules! quiet_group {
    () => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM alert_events e WHERE e.check_id IS NULL AND e.check_name = g.check_name
             AND e.target = g.target AND e.rule = g.rule ",
            quiet!()
        )
    };
}
macro_rules! quiet_agent {
    () => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM alert_events e WHERE e.agent_id = g.agent_id AND e.rule = g.rule ",
            quiet!()
        )
    };
}

impl RepeatStore for PgStore {
    async fn quiet_firing(
        &self,
        checks: &[String],
        groups: &[String],
        agents: &[String],
        every: std::time::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Due>> {
        let since = now - chrono::Duration::from_std(every).unwrap_or_default();
        let seconds = every.as_secs() as i64;
        let mut due = Vec::new();
        if !checks.is_empty() {
            let rows = sqlx::query(concat!(
                "SELECT s.rule, s.check_id, s.value, a.id AS agent_id, a.name AS agent,
                        c.name AS check_name, c.target, c.plugin
                 FROM alert_states s JOIN checks c ON c.id = s.check_id JOIN agents a ON a.id = c.agent_id
                 WHERE s.rule = ANY($1) AND s.state = 'firing' AND ",
                quiet_check!()
            ))
            .bind(checks)
            .bind(since)
            .bind(seconds)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let check_id: i32 = row.try_get("check_id")?;
                due.push(Due {
                    rule: row.try_get("rule")?,
                    alert: Quiet::Check(i64::from(check_id)),
                    subject: subject(row)?,
                    agents: Vec::new(),
                    value: row.try_get("value")?,
                    every,
                });
            }
        }
        if !groups.is_empty() {
            let rows = sqlx::query(concat!(
                "SELECT g.rule, g.check_name, g.target, g.plugin, g.failing,
                        NULL::uuid AS agent_id, NULL::text AS agent
                 FROM alert_groups g
                 WHERE g.rule = ANY($1) AND g.state = 'firing' AND ",
                quiet_group!()
            ))
            .bind(groups)
            .bind(since)
            .bind(seconds)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let failing: Vec<String> = row.try_get("failing")?;
                let rule: String = row.try_get("rule")?;
                due.push(Due {
                    alert: Quiet::Group(GroupKey {
                        rule: rule.clone(),
                        check: row.try_get("check_name")?,
                        target: row.try_get("target")?,
                        plugin: row.try_get("plugin")?,
                    }),
                    subject: subject(row)?,
                    rule,
                    value: Some(failing.len() as f64),
                    agents: failing,
                    every,
                });
            }
        }
        if !agents.is_empty() {
            let rows = sqlx::query(concat!(
                "SELECT g.rule, g.agent_id, a.name AS agent,
                        '' AS check_name, '' AS target, '' AS plugin
                 FROM alert_agents g JOIN agents a ON a.id = g.agent_id
                 WHERE g.rule = ANY($1) AND g.state = 'firing' AND ",
                quiet_agent!()
            ))
            .bind(agents)
            .bind(since)
            .bind(seconds)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                due.push(Due {
                    rule: row.try_get("rule")?,
                    alert: Quiet::Agent(row.try_get("agent_id")?),
                    subject: subject(row)?,
                    agents: Vec::new(),
                    value: None,
                    every,
                });
            }
        }
        Ok(due)
    }

    async fn remind(&self, due: &Due, now: DateTime<Utc>) -> StoreResult<bool> {
        let since = now - chrono::Duration::from_std(due.every).unwrap_or_default();
        let seconds = due.every.as_secs() as i64;
        let mut tx = self.pool.begin().await?;
        let still = match &due.alert {
            Quiet::Check(check_id) => sqlx::query(concat!(
                "SELECT 1 FROM alert_states s WHERE s.rule = $1 AND s.check_id = $4
                 AND s.state = 'firing' AND ",
                quiet_check!(),
                " FOR UPDATE OF s"
            ))
            .bind(&due.rule)
            .bind(since)
            .bind(seconds)
            .bind(id32(*check_id)?),
            Quiet::Group(key) => sqlx::query(concat!(
                "SELECT 1 FROM alert_groups g WHERE g.rule = $1 AND g.check_name = $4
                 AND g.target = $5 AND g.state = 'firing' AND ",
                quiet_group!(),
                " FOR UPDATE OF g"
            ))
            .bind(&due.rule)
            .bind(since)
            .bind(seconds)
            .bind(&key.check)
            .bind(&key.target),
            Quiet::Agent(agent_id) => sqlx::query(concat!(
                "SELECT 1 FROM alert_agents g WHERE g.rule = $1 AND g.agent_id = $4
                 AND g.state = 'firing' AND ",
                quiet_agent!(),
                " FOR UPDATE OF g"
            ))
            .bind(&due.rule)
            .bind(since)
            .bind(seconds)
            .bind(*agent_id),
        }
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if still {
            alert_groups::append(&mut tx, &due.event(now)).await?;
        }
        tx.commit().await?;
        Ok(still)
    }
}

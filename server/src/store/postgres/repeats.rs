//! Reminders (`store::repeats`) over `alert_states`, `alert_groups`,
//! `alert_agents` and `alert_events`; the alert's row lock orders
//! replicas (and ingest, which judges under the same lock).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{PgStore, alert_groups, id32};
use crate::alerting::quorum::GroupKey;
use crate::store::*;

/// "Told nothing since $2" for each kind of alert, as a condition on its
/// row `g`/`s`.
macro_rules! quiet_check {
    () => {
        "NOT EXISTS (SELECT 1 FROM alert_events e WHERE e.check_id = s.check_id AND e.rule = s.rule
                     AND e.at >= $2 AND cardinality(e.notices) > 0)"
    };
}
macro_rules! quiet_group {
    () => {
        "NOT EXISTS (SELECT 1 FROM alert_events e WHERE e.check_id IS NULL AND e.check_name = g.check_name
                     AND e.target = g.target AND e.rule = g.rule AND e.at >= $2 AND cardinality(e.notices) > 0)"
    };
}
macro_rules! quiet_agent {
    () => {
        "NOT EXISTS (SELECT 1 FROM alert_events e WHERE e.agent_id = g.agent_id AND e.rule = g.rule
                     AND e.at >= $2 AND cardinality(e.notices) > 0)"
    };
}

impl RepeatStore for PgStore {
    async fn quiet_firing(
        &self,
        checks: &[String],
        groups: &[String],
        agents: &[String],
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<Due>> {
        let mut due = Vec::new();
        if !checks.is_empty() {
            let rows = sqlx::query(concat!(
                "SELECT s.rule, s.check_id, s.value FROM alert_states s
                 WHERE s.rule = ANY($1) AND s.state = 'firing' AND ",
                quiet_check!()
            ))
            .bind(checks)
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let check_id: i32 = row.try_get("check_id")?;
                due.push(Due {
                    rule: row.try_get("rule")?,
                    alert: Quiet::Check(i64::from(check_id)),
                    agents: Vec::new(),
                    value: row.try_get("value")?,
                });
            }
        }
        if !groups.is_empty() {
            let rows = sqlx::query(concat!(
                "SELECT g.rule, g.check_name, g.target, g.plugin, g.failing FROM alert_groups g
                 WHERE g.rule = ANY($1) AND g.state = 'firing' AND ",
                quiet_group!()
            ))
            .bind(groups)
            .bind(since)
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
                    rule,
                    value: Some(failing.len() as f64),
                    agents: failing,
                });
            }
        }
        if !agents.is_empty() {
            let rows = sqlx::query(concat!(
                "SELECT g.rule, g.agent_id FROM alert_agents g
                 WHERE g.rule = ANY($1) AND g.state = 'firing' AND ",
                quiet_agent!()
            ))
            .bind(agents)
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                due.push(Due {
                    rule: row.try_get("rule")?,
                    alert: Quiet::Agent(row.try_get("agent_id")?),
                    agents: Vec::new(),
                    value: None,
                });
            }
        }
        Ok(due)
    }

    async fn remind(
        &self,
        due: &Due,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let still = match &due.alert {
            Quiet::Check(check_id) => sqlx::query(concat!(
                "SELECT 1 FROM alert_states s WHERE s.rule = $1 AND s.check_id = $3
                 AND s.state = 'firing' AND ",
                quiet_check!(),
                " FOR UPDATE OF s"
            ))
            .bind(&due.rule)
            .bind(since)
            .bind(id32(*check_id)?),
            Quiet::Group(key) => sqlx::query(concat!(
                "SELECT 1 FROM alert_groups g WHERE g.rule = $1 AND g.check_name = $3
                 AND g.target = $4 AND g.state = 'firing' AND ",
                quiet_group!(),
                " FOR UPDATE OF g"
            ))
            .bind(&due.rule)
            .bind(since)
            .bind(&key.check)
            .bind(&key.target),
            Quiet::Agent(agent_id) => sqlx::query(concat!(
                "SELECT 1 FROM alert_agents g WHERE g.rule = $1 AND g.agent_id = $3
                 AND g.state = 'firing' AND ",
                quiet_agent!(),
                " FOR UPDATE OF g"
            ))
            .bind(&due.rule)
            .bind(since)
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

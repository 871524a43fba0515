//! Alert rules (`alert_rules`).

use chrono::{DateTime, Utc};
use sqlx::Row;
use vantage_protocol::config::RuleSpec;

use vantage_protocol::config::{AlertEventView, AlertView};

use super::named::{self, Table};
use super::{PgStore, alert_judge, alert_states};
use crate::alerting::evaluate::{self, Judge};
use crate::store::*;

impl AlertStore for PgStore {
    /// Compares with the stored rule in one transaction (PostgreSQL: under
    /// its row lock), so the revision moves once per actual change.
    async fn put_rule(&self, spec: &RuleSpec, now: DateTime<Utc>) -> StoreResult<RuleSaved> {
        named::put(self, Table::Rules, &spec.name, spec, now).await
    }

    async fn delete_rule(&self, name: &str) -> StoreResult<bool> {
        let gone = sqlx::query(
            "WITH states AS (DELETE FROM alert_states WHERE rule = $1 RETURNING check_id),
                  moved AS (UPDATE agents SET alerts_rev = alerts_rev + 1
                            WHERE id IN (SELECT c.agent_id FROM checks c JOIN states s ON s.check_id = c.id)),
                  groups AS (DELETE FROM alert_groups WHERE rule = $1),
                  agents AS (DELETE FROM alert_agents WHERE rule = $1)
             DELETE FROM alert_rules WHERE name = $1",
        )
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(gone.rows_affected() == 1)
    }

    async fn rules(&self) -> StoreResult<Vec<RuleRow>> {
        named::all(self, Table::Rules).await
    }

    async fn rules_version(&self) -> StoreResult<RulesVersion> {
        let row = sqlx::query("SELECT count(*) AS n, max(updated_at) AS at FROM alert_rules")
            .fetch_one(&self.pool)
            .await?;
        Ok(RulesVersion {
            count: row.try_get("n")?,
            updated_at: row.try_get("at")?,
        })
    }

    async fn alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<AlertView>> {
        alert_states::alerts(&self.pool, filter).await
    }

    async fn alert_history(&self, filter: &HistoryFilter) -> StoreResult<Vec<AlertEventView>> {
        alert_states::history(&self.pool, filter).await
    }

    async fn watched(&self, rules: &[String]) -> StoreResult<Vec<Watched>> {
        let rows = sqlx::query(
            "SELECT s.rule, s.check_id, c.name, c.target, c.plugin
             FROM alert_states s JOIN checks c ON c.id = s.check_id
             WHERE s.rule = ANY($1) AND s.state <> 'no_data'",
        )
        .bind(rules)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Watched {
                    rule: row.try_get("rule")?,
                    check_id: i64::from(row.try_get::<i32, _>("check_id")?),
                    check: row.try_get("name")?,
                    target: row.try_get("target")?,
                    plugin: row.try_get("plugin")?,
                })
            })
            .collect()
    }

    async fn judge(&self, judges: &[Judge<'_>]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let stored = alert_judge::read(
            &mut tx,
            &evaluate::keys(judges.iter().map(Judge::key)),
            false,
        )
        .await?;
        let judged = alert_judge::judge(&mut tx, judges.to_vec(), stored).await?;
        if judged.wrote {
            // What replicas know of these agents' alerts is no longer so.
            let checks: Vec<i64> = judges.iter().map(|j| j.check_id).collect();
            sqlx::query(
                "UPDATE agents SET alerts_rev = alerts_rev + 1
                 WHERE id IN (SELECT agent_id FROM checks WHERE id = ANY($1::int8[]))",
            )
            .bind(&checks)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

//! Alert rules (`alert_rules`).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::types::Json;
use vantage_protocol::config::RuleSpec;

use vantage_protocol::config::{AlertEventView, AlertView};

use super::named::{self, Table};
use super::{SqliteStore, alert_states, optional_time_at};
use crate::alerting::evaluate::Judge;
use crate::store::*;

impl AlertStore for SqliteStore {
    /// Compares with the stored rule in one transaction (PostgreSQL: under
    /// its row lock), so the revision moves once per actual change.
    async fn put_rule(&self, spec: &RuleSpec, now: DateTime<Utc>) -> StoreResult<RuleSaved> {
        named::put(self, Table::Rules, &spec.name, spec, now).await
    }

    async fn delete_rule(&self, name: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        for table in [
            "DELETE FROM alert_states WHERE rule = ?1",
            "DELETE FROM alert_groups WHERE rule = ?1",
            "DELETE FROM alert_agents WHERE rule = ?1",
        ] {
            sqlx::query(table).bind(name).execute(&mut *tx).await?;
        }
        let gone = sqlx::query("DELETE FROM alert_rules WHERE name = ?1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(gone.rows_affected() == 1)
    }

    async fn rules(&self) -> StoreResult<Vec<RuleRow>> {
        named::all(self, Table::Rules).await
    }

    async fn rules_version(&self) -> StoreResult<RulesVersion> {
        let row = sqlx::query("SELECT count(*) AS n, max(updated_at) AS at FROM alert_rules")
            .fetch_one(&self.read)
            .await?;
        Ok(RulesVersion {
            count: row.try_get("n")?,
            updated_at: optional_time_at(&row, "at")?,
        })
    }

    async fn alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<AlertView>> {
        alert_states::alerts(&self.read, filter).await
    }

    async fn alert_history(&self, filter: &HistoryFilter) -> StoreResult<Vec<AlertEventView>> {
        alert_states::history(&self.read, filter).await
    }

    async fn watched(&self, rules: &[String]) -> StoreResult<Vec<Watched>> {
        let rows = sqlx::query(
            "SELECT s.rule, s.check_id, c.name, c.target, c.plugin
             FROM alert_states s JOIN checks c ON c.id = s.check_id
             WHERE s.rule IN (SELECT value FROM json_each(?1)) AND s.state <> 'no_data'",
        )
        .bind(Json(rules))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Watched {
                    rule: row.try_get("rule")?,
                    check_id: row.try_get("check_id")?,
                    check: row.try_get("name")?,
                    target: row.try_get("target")?,
                    plugin: row.try_get("plugin")?,
                })
            })
            .collect()
    }

    async fn judge(&self, judges: &[Judge<'_>]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        alert_states::judge(&mut tx, judges.to_vec()).await?;
        tx.commit().await?;
        Ok(())
    }
}

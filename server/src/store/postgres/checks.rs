//! Checks defined on the server (`check_configs`; `checks` are the check
//! targets results name).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use vantage_protocol::config::CheckSpec;
use vantage_protocol::manifest::Capability;

use super::PgStore;
use crate::store::*;

fn check_row(row: &PgRow) -> StoreResult<CheckRow> {
    let Json(spec): Json<CheckSpec> = row.try_get("spec")?;
    let Json(reviewed): Json<BTreeSet<Capability>> = row.try_get("reviewed")?;
    Ok(CheckRow {
        spec,
        reviewed,
        revision: row.try_get("revision")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl CheckStore for PgStore {
    /// Compares with the stored check under its row lock, so the revision
    /// moves once per actual change. Two first saves of one name race on
    /// the insert: the loser's becomes an update.
    async fn put_check(
        &self,
        spec: &CheckSpec,
        reviewed: &BTreeSet<Capability>,
        now: DateTime<Utc>,
    ) -> StoreResult<CheckSaved> {
        let mut tx = self.pool.begin().await?;
        let old = sqlx::query(
            "SELECT spec, reviewed, revision, updated_at FROM check_configs WHERE name = $1 FOR UPDATE",
        )
        .bind(&spec.name)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(check_row)
        .transpose()?;
        if let Some(old) = &old
            && old.spec == *spec
            && old.reviewed == *reviewed
        {
            tx.rollback().await?;
            return Ok(CheckSaved {
                revision: old.revision,
                created: false,
            });
        }
        let revision: i64 = sqlx::query_scalar(
            "INSERT INTO check_configs (name, spec, reviewed, revision, updated_at)
             VALUES ($1, $2, $3, 1, $4)
             ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, reviewed = excluded.reviewed,
                                              revision = check_configs.revision + 1,
                                              updated_at = excluded.updated_at
             RETURNING revision",
        )
        .bind(&spec.name)
        .bind(Json(spec))
        .bind(Json(reviewed))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CheckSaved {
            revision,
            created: old.is_none() && revision == 1,
        })
    }

    async fn delete_check(&self, name: &str) -> StoreResult<bool> {
        let gone = sqlx::query("DELETE FROM check_configs WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(gone.rows_affected() == 1)
    }

    async fn checks(&self) -> StoreResult<Vec<CheckRow>> {
        let rows = sqlx::query(
            "SELECT spec, reviewed, revision, updated_at FROM check_configs ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(check_row).collect()
    }

    async fn is_check_name(&self, name: &str) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM check_configs WHERE name = $1)
                 OR EXISTS (SELECT 1 FROM checks WHERE name = $1)",
        )
        .bind(name)
        .fetch_one(&self.pool)
        .await?)
    }
}

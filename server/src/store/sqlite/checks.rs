//! Checks defined on the server (`check_configs`; `checks` are the check
//! targets results name).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use vantage_protocol::config::CheckSpec;
use vantage_protocol::manifest::Capability;

use super::{SqliteStore, micros, time_at};
use crate::store::*;

fn check_row(row: &SqliteRow) -> StoreResult<CheckRow> {
    let Json(spec): Json<CheckSpec> = row.try_get("spec")?;
    let Json(reviewed): Json<BTreeSet<Capability>> = row.try_get("reviewed")?;
    Ok(CheckRow {
        spec,
        reviewed,
        revision: row.try_get("revision")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

impl CheckStore for SqliteStore {
    /// Compares with the stored check in the transaction of the one write
    /// connection, so the revision moves once per actual change.
    async fn put_check(
        &self,
        spec: &CheckSpec,
        reviewed: &BTreeSet<Capability>,
        now: DateTime<Utc>,
    ) -> StoreResult<CheckSaved> {
        let mut tx = self.begin().await?;
        let old = sqlx::query(
            "SELECT spec, reviewed, revision, updated_at FROM check_configs WHERE name = ?1",
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
        let revision = old.as_ref().map_or(1, |o| o.revision + 1);
        sqlx::query(
            "INSERT INTO check_configs (name, spec, reviewed, revision, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, reviewed = excluded.reviewed,
                                              revision = excluded.revision, updated_at = excluded.updated_at",
        )
        .bind(&spec.name)
        .bind(Json(spec))
        .bind(Json(reviewed))
        .bind(revision)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CheckSaved {
            revision,
            created: old.is_none(),
        })
    }

    async fn delete_check(&self, name: &str) -> StoreResult<bool> {
        let gone = sqlx::query("DELETE FROM check_configs WHERE name = ?1")
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(gone.rows_affected() == 1)
    }

    async fn checks(&self) -> StoreResult<Vec<CheckRow>> {
        let rows = sqlx::query(
            "SELECT spec, reviewed, revision, updated_at FROM check_configs ORDER BY name",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(check_row).collect()
    }

    async fn is_check_name(&self, name: &str) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM check_configs WHERE name = ?1)
                 OR EXISTS (SELECT 1 FROM checks WHERE name = ?1)",
        )
        .bind(name)
        .fetch_one(&self.read)
        .await?)
    }
}

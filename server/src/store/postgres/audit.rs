//! The audit log (`store::audit`) over `audit_log`.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use super::PgStore;
use crate::store::*;

fn entry(row: &PgRow) -> StoreResult<AuditEntry> {
    let kind: &str = row.try_get("actor_kind")?;
    let status: i32 = row.try_get("status")?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: Actor {
            kind: ActorKind::parse(kind)
                .ok_or_else(|| StoreError::Corrupt(format!("actor kind {kind:?}")))?,
            name: row.try_get("actor")?,
            id: row.try_get("actor_id")?,
            token_id: row.try_get("token_id")?,
        },
        source: row.try_get("source")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        status: u16::try_from(status)
            .map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
        detail: row.try_get::<Json<serde_json::Value>, _>("detail")?.0,
    })
}

impl AuditStore for PgStore {
    async fn record_audit(&self, e: &AuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log
                 (at, actor_kind, actor, actor_id, token_id, source, action, target, status, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(e.at)
        .bind(e.actor.kind.as_str())
        .bind(&e.actor.name)
        .bind(e.actor.id)
        .bind(e.actor.token_id)
        .bind(&e.source)
        .bind(&e.action)
        .bind(&e.target)
        .bind(i32::from(e.status))
        .bind(Json(&e.detail))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM audit_log
             WHERE ($1::int8 IS NULL OR id < $1) AND ($2::timestamptz IS NULL OR at >= $2)
               AND ($3::timestamptz IS NULL OR at < $3) AND ($4::text IS NULL OR actor = $4)
               AND ($5::text IS NULL OR starts_with(target, $5))
             ORDER BY id DESC LIMIT $6",
        )
        .bind(f.before)
        .bind(f.since)
        .bind(f.until)
        .bind(f.actor.as_deref())
        .bind(f.target.as_deref())
        .bind(i64::from(f.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry).collect()
    }

    async fn delete_audit_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_log WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

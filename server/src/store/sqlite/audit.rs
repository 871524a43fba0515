//! The audit log (`store::audit`) over `audit_log`.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;

use super::{SqliteStore, micros, time_at};
use crate::store::*;

fn entry(row: &SqliteRow) -> StoreResult<AuditEntry> {
    let kind: &str = row.try_get("actor_kind")?;
    let status: i64 = row.try_get("status")?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: time_at(row, "at")?,
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

impl AuditStore for SqliteStore {
    async fn record_audit(&self, e: &AuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log
                 (at, actor_kind, actor, actor_id, token_id, source, action, target, status, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .bind(micros(e.at))
        .bind(e.actor.kind.as_str())
        .bind(&e.actor.name)
        .bind(e.actor.id)
        .bind(e.actor.token_id)
        .bind(&e.source)
        .bind(&e.action)
        .bind(&e.target)
        .bind(i64::from(e.status))
        .bind(Json(&e.detail))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM audit_log
             WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR at < ?3)
               AND (?4 IS NULL OR actor = ?4)
               AND (?5 IS NULL OR substr(target, 1, length(?5)) = ?5)
             ORDER BY id DESC LIMIT ?6",
        )
        .bind(f.before)
        .bind(f.since.map(micros))
        .bind(f.until.map(micros))
        .bind(f.actor.as_deref())
        .bind(f.target.as_deref())
        .bind(i64::from(f.limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(entry).collect()
    }

    async fn delete_audit_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_log WHERE at < ?1")
            .bind(micros(before))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }
}

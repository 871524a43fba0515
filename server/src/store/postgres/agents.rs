//! Enrollment and the agent inventory.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;
use vantage_protocol::config::ConfigStatus;
use vantage_protocol::ingest::{AgentInfo, Heartbeat, OutboxStats};

use super::PgStore;
use crate::store::*;

/// The columns [`agent_row`] reads, as a literal for `concat!`.
macro_rules! agent_columns {
    () => {
        "id, name, hostname, os, arch, version, addresses, enrolled_at, last_seen_at, revoked_at, outbox,
         groups, labels, config_status"
    };
}

fn agent_row(row: &PgRow) -> StoreResult<AgentRow> {
    let Json(addresses): Json<Vec<String>> = row.try_get("addresses")?;
    let outbox: Option<Json<OutboxStats>> = row.try_get("outbox")?;
    let Json(groups): Json<Vec<String>> = row.try_get("groups")?;
    let Json(labels): Json<BTreeMap<String, String>> = row.try_get("labels")?;
    let config_status: Option<Json<ConfigStatus>> = row.try_get("config_status")?;
    Ok(AgentRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        info: AgentInfo {
            hostname: row.try_get("hostname")?,
            os: row.try_get("os")?,
            arch: row.try_get("arch")?,
            version: row.try_get("version")?,
            addresses,
        },
        enrolled_at: row.try_get("enrolled_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        revoked_at: row.try_get("revoked_at")?,
        outbox: outbox.map(|Json(o)| o).unwrap_or_default(),
        groups,
        labels,
        config_status: config_status.map(|Json(s)| s),
    })
}

impl AgentStore for PgStore {
    async fn create_enrollment(&self, e: &NewEnrollment) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO enrollment_tokens (id, token_sha, created_by, created_at, expires_at, uses_left)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.id)
        .bind(e.token_sha)
        .bind(e.created_by)
        .bind(e.created_at)
        .bind(e.expires_at)
        .bind(i32::try_from(e.uses).unwrap_or(i32::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the token used and inserts the agent in one transaction. The
    /// token's row lock serialises concurrent uses: the second waits, then
    /// finds none left. A taken name rolls back, leaving the token unused.
    async fn enroll(
        &self,
        token_sha: &TokenHash,
        name: &str,
        info: &AgentInfo,
        credential_sha: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<Uuid, EnrollRefusal>> {
        let agent_id = Uuid::now_v7();
        let mut tx = self.pool.begin().await?;
        let used = sqlx::query(
            "UPDATE enrollment_tokens SET used_at = $2, agent_id = $3, uses_left = uses_left - 1
             WHERE token_sha = $1 AND uses_left > 0 AND expires_at > $2",
        )
        .bind(token_sha)
        .bind(now)
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() == 0 {
            tx.rollback().await?;
            let row = sqlx::query(
                "SELECT uses_left = 0 AS used FROM enrollment_tokens WHERE token_sha = $1",
            )
            .bind(token_sha)
            .fetch_optional(&self.pool)
            .await?;
            return Ok(Err(match row {
                None => EnrollRefusal::UnknownToken,
                Some(row) if row.try_get("used")? => EnrollRefusal::AlreadyUsed,
                Some(_) => EnrollRefusal::Expired,
            }));
        }
        let inserted = sqlx::query(
            "INSERT INTO agents (id, name, credential_sha, hostname, os, arch, version, addresses, enrolled_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(agent_id)
        .bind(name)
        .bind(credential_sha)
        .bind(&info.hostname)
        .bind(&info.os)
        .bind(&info.arch)
        .bind(&info.version)
        .bind(Json(&info.addresses))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Err(EnrollRefusal::NameTaken));
        }
        tx.commit().await?;
        Ok(Ok(agent_id))
    }

    async fn agent_by_credential(
        &self,
        credential_sha: &TokenHash,
    ) -> StoreResult<Option<AgentAuth>> {
        let row = sqlx::query(
            "SELECT id, name, revoked_at IS NOT NULL AS revoked FROM agents WHERE credential_sha = $1",
        )
        .bind(credential_sha)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(AgentAuth {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                revoked: row.try_get("revoked")?,
            })
        })
        .transpose()
    }

    async fn revoke_agent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let found =
            sqlx::query("UPDATE agents SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
        Ok(found.rows_affected() == 1)
    }

    /// True when the addresses changed (mesh peers probe them).
    async fn heartbeat(&self, id: Uuid, hb: &Heartbeat, now: DateTime<Utc>) -> StoreResult<bool> {
        let moved: Option<bool> = sqlx::query_scalar(
            "WITH old AS (SELECT addresses FROM agents WHERE id = $1 FOR UPDATE)
             UPDATE agents a SET version = $2, addresses = $3, outbox = $4,
                                 last_seen_at = greatest(a.last_seen_at, $5)
             FROM old WHERE a.id = $1
             RETURNING old.addresses IS DISTINCT FROM $3",
        )
        .bind(id)
        .bind(&hb.version)
        .bind(Json(&hb.addresses))
        .bind(Json(hb.outbox))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(moved.unwrap_or(false))
    }

    async fn set_placement(
        &self,
        id: Uuid,
        groups: Option<&[String]>,
        labels: Option<&BTreeMap<String, String>>,
    ) -> StoreResult<bool> {
        let found = sqlx::query(
            "UPDATE agents SET groups = coalesce($2, groups), labels = coalesce($3, labels) WHERE id = $1",
        )
        .bind(id)
        .bind(groups.map(Json))
        .bind(labels.map(Json))
        .execute(&self.pool)
        .await?;
        Ok(found.rows_affected() == 1)
    }

    async fn put_config_status(&self, id: Uuid, status: &ConfigStatus) -> StoreResult<()> {
        sqlx::query("UPDATE agents SET config_status = $2 WHERE id = $1")
            .bind(id)
            .bind(Json(status))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn agents(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<AgentRow>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            agent_columns!(),
            " FROM agents WHERE ($1::text IS NULL OR name > $1) ORDER BY name LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(agent_row).collect()
    }

    async fn agent(&self, id: Uuid) -> StoreResult<Option<AgentRow>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            agent_columns!(),
            " FROM agents WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(agent_row).transpose()
    }

    async fn agents_seen_since(&self, since: DateTime<Utc>) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM agents WHERE last_seen_at >= $1")
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}

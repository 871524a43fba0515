//! Users and their credentials: sessions and API tokens.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::PgStore;
use crate::store::*;

fn role_of(row: &PgRow, column: &str) -> StoreResult<Role> {
    let role: &str = row.try_get(column)?;
    Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))
}

fn principal(row: &PgRow) -> StoreResult<UserPrincipal> {
    Ok(UserPrincipal {
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        role: role_of(row, "role")?,
        token: None,
    })
}

impl AccountStore for PgStore {
    async fn create_user(&self, user: &User, now: DateTime<Utc>) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO users (id, username, password_hash, role, created_at, disabled_at)
             VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN $5 END)
             ON CONFLICT DO NOTHING",
        )
        .bind(user.id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(now)
        .bind(user.disabled)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn update_user(
        &self,
        id: Uuid,
        change: &UserChange,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserSummary>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE users SET
                role = coalesce($2, role),
                password_hash = coalesce($3, password_hash),
                disabled_at = CASE WHEN $4::boolean IS NULL THEN disabled_at
                                   WHEN $4 THEN coalesce(disabled_at, $5) END
             WHERE id = $1
             RETURNING id, username, role, disabled_at IS NOT NULL AS disabled",
        )
        .bind(id)
        .bind(change.role.map(Role::as_str))
        .bind(change.password_hash.as_deref())
        .bind(change.disabled)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        if change.disabled == Some(true) || change.password_hash.is_some() {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(UserSummary {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            role: role_of(&row, "role")?,
            disabled: row.try_get("disabled")?,
        }))
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn users(&self) -> StoreResult<Vec<UserSummary>> {
        let rows = sqlx::query(
            "SELECT id, username, role, disabled_at IS NOT NULL AS disabled FROM users ORDER BY username",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(UserSummary {
                    id: row.try_get("id")?,
                    username: row.try_get("username")?,
                    role: role_of(row, "role")?,
                    disabled: row.try_get("disabled")?,
                })
            })
            .collect()
    }

    async fn api_tokens(&self, user_id: Option<Uuid>) -> StoreResult<Vec<ApiTokenSummary>> {
        let rows = sqlx::query(
            "SELECT t.id, u.username, t.name, t.role, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE $1::uuid IS NULL OR t.user_id = $1
             ORDER BY t.created_at DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiTokenSummary {
                    id: row.try_get("id")?,
                    username: row.try_get("username")?,
                    name: row.try_get("name")?,
                    role: role_of(row, "role")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT id, username, password_hash, role, disabled_at IS NOT NULL AS disabled
             FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(User {
                id: row.try_get("id")?,
                username: row.try_get("username")?,
                password_hash: row.try_get("password_hash")?,
                role: role_of(&row, "role")?,
                disabled: row.try_get("disabled")?,
            })
        })
        .transpose()
    }

    async fn create_session(&self, s: &NewSession) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_sha, user_id, created_at, expires_at, source, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.token_sha[..])
        .bind(s.user_id)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(&s.source)
        .bind(&s.user_agent)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sessions(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<SessionRow>> {
        let rows = sqlx::query(
            "SELECT token_sha, created_at, expires_at, source, user_agent FROM sessions
             WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let sha: Vec<u8> = row.try_get("token_sha")?;
                Ok(SessionRow {
                    token_sha: sha
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("a session hash".into()))?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    source: row.try_get("source")?,
                    user_agent: row.try_get("user_agent")?,
                })
            })
            .collect()
    }

    async fn delete_user(&self, id: Uuid) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM enrollment_tokens WHERE created_by = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_session(&self, token_sha: &TokenHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_sha = $1")
            .bind(token_sha)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session_user(
        &self,
        token_sha: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserPrincipal>> {
        let row = sqlx::query(
            "SELECT u.id AS user_id, u.username, u.role
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_sha = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(token_sha)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(principal).transpose()
    }

    async fn create_api_token(&self, token: &NewApiToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_sha, role, created_at, expires_at, parent_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token.id)
        .bind(token.user_id)
        .bind(&token.name)
        .bind(token.token_sha)
        .bind(token.role.as_str())
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.parent_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn api_token_user(
        &self,
        token_sha: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserPrincipal>> {
        // One round trip; `last_used_at` is written at most once per
        // LAST_USED_STEP, not on every request.
        let row = sqlx::query(
            "WITH found AS (
                SELECT t.id, t.last_used_at, t.expires_at, u.id AS user_id, u.username,
                       -- A token never acts above its user's current role.
                       CASE WHEN 'viewer' IN (t.role, u.role) THEN 'viewer'
                         WHEN 'operator' IN (t.role, u.role) THEN 'operator' ELSE 'admin' END AS role
                FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_sha = $1 AND t.revoked_at IS NULL
                  AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled_at IS NULL
             ), stamped AS (
                UPDATE api_tokens t SET last_used_at = $2 FROM found
                WHERE t.id = found.id
                  AND (found.last_used_at IS NULL OR found.last_used_at <= $2 - $3::interval)
             )
             SELECT id, expires_at, user_id, username, role FROM found",
        )
        .bind(token_sha)
        .bind(now)
        .bind(format!("{} seconds", LAST_USED_STEP.num_seconds()))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut principal = principal(&row)?;
        principal.token = Some(TokenOrigin {
            id: row.try_get("id")?,
            expires_at: row.try_get("expires_at")?,
        });
        Ok(Some(principal))
    }

    async fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if revoked.rows_affected() == 1 {
            sqlx::query(
                "WITH RECURSIVE below(id) AS (
                    SELECT id FROM api_tokens WHERE parent_id = $1
                    UNION SELECT t.id FROM api_tokens t JOIN below b ON t.parent_id = b.id)
                 UPDATE api_tokens SET revoked_at = $2
                 WHERE id IN (SELECT id FROM below) AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(revoked.rows_affected() == 1)
    }
}

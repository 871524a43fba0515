//! Agent releases: archives and signed manifests.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use vantage_protocol::keys::KeyId;
use vantage_protocol::update::SignedRelease;

use super::PgStore;
use crate::store::*;

fn release_row(row: &PgRow) -> StoreResult<ReleaseRow> {
    let Json(manifest): Json<SignedRelease> = row.try_get("manifest")?;
    let body = manifest
        .parsed()
        .map_err(|e| StoreError::Corrupt(format!("release manifest: {e}")))?;
    Ok(ReleaseRow {
        body,
        manifest,
        signer: KeyId(row.try_get("signer")?),
        published_at: row.try_get("published_at")?,
        published_by: row.try_get("published_by")?,
        yanked_at: row.try_get("yanked_at")?,
    })
}

fn seq(release: &ReleaseRow) -> StoreResult<i64> {
    let seq = release.body.seq;
    i64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("seq {seq}")))
}

impl ReleaseStore for PgStore {
    async fn put_release_blob(
        &self,
        sha256: &str,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO release_blobs (sha256, size, uploaded_at, bytes) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(sha256)
        .bind(bytes.len() as i64)
        .bind(now)
        .bind(bytes)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn release_blob_size(&self, sha256: &str) -> StoreResult<Option<u64>> {
        let size: Option<i64> =
            sqlx::query_scalar("SELECT size FROM release_blobs WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?;
        Ok(size.map(|s| s as u64))
    }

    async fn release_blob(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT bytes FROM release_blobs WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn insert_release(&self, r: &ReleaseRow) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO agent_releases (version, platform, seq, sha256, manifest, signer,
                                         published_at, published_by, yanked_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
             WHERE NOT EXISTS (SELECT 1 FROM agent_releases WHERE seq >= $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(r.body.version.to_string())
        .bind(&r.body.platform)
        .bind(seq(r)?)
        .bind(&r.body.sha256)
        .bind(Json(&r.manifest))
        .bind(&r.signer.0)
        .bind(r.published_at)
        .bind(r.published_by)
        .bind(r.yanked_at)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn refresh_release(&self, r: &ReleaseRow) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE agent_releases SET seq = $4, manifest = $5, signer = $6, published_at = $7,
                                       published_by = $8
             WHERE version = $1 AND platform = $2 AND sha256 = $3
               AND NOT EXISTS (SELECT 1 FROM agent_releases WHERE seq >= $4)",
        )
        .bind(r.body.version.to_string())
        .bind(&r.body.platform)
        .bind(&r.body.sha256)
        .bind(seq(r)?)
        .bind(Json(&r.manifest))
        .bind(&r.signer.0)
        .bind(r.published_at)
        .bind(r.published_by)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn releases(&self) -> StoreResult<Vec<ReleaseRow>> {
        let rows = sqlx::query(
            "SELECT manifest, signer, published_at, published_by, yanked_at FROM agent_releases",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut rows = rows
            .iter()
            .map(release_row)
            .collect::<StoreResult<Vec<_>>>()?;
        sort_releases(&mut rows);
        Ok(rows)
    }

    async fn set_release_yanked(
        &self,
        version: &str,
        at: Option<DateTime<Utc>>,
    ) -> StoreResult<u64> {
        let found = sqlx::query(
            "UPDATE agent_releases
             SET yanked_at = CASE WHEN $2::timestamptz IS NULL THEN NULL ELSE coalesce(yanked_at, $2) END
             WHERE version = $1",
        )
        .bind(version)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(found.rows_affected())
    }
}

//! The plugin registry: publisher keys and packages.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use vantage_protocol::config::PublisherKey;
use vantage_protocol::keys::{Endorsement, KeyId};
use vantage_protocol::manifest::Manifest;

use super::{SqliteStore, micros, optional_time_at, time_at};
use crate::store::*;

fn key_row(row: &SqliteRow) -> StoreResult<PublisherKey> {
    let endorsement: Option<Json<Endorsement>> = row.try_get("endorsement")?;
    Ok(PublisherKey {
        key_id: KeyId(row.try_get("key_id")?),
        name: row.try_get("name")?,
        public_key: row.try_get("public_key")?,
        root: row.try_get("root")?,
        endorsement: endorsement.map(|Json(e)| e),
        created_at: time_at(row, "created_at")?,
        revoked_at: optional_time_at(row, "revoked_at")?,
    })
}

fn package_row(row: &SqliteRow) -> StoreResult<PackageRow> {
    let Json(manifest): Json<Manifest> = row.try_get("manifest")?;
    let size: i64 = row.try_get("size")?;
    Ok(PackageRow {
        manifest,
        digest: row.try_get("digest")?,
        sha256: row.try_get("sha256")?,
        size: u64::try_from(size).map_err(|_| StoreError::Corrupt(format!("size {size}")))?,
        signer: KeyId(row.try_get("signer")?),
        published_at: time_at(row, "published_at")?,
        published_by: row.try_get("published_by")?,
        yanked_at: optional_time_at(row, "yanked_at")?,
    })
}

impl RegistryStore for SqliteStore {
    async fn put_key(&self, key: &PublisherKey) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO publisher_keys (key_id, name, public_key, root, endorsement, created_at, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO NOTHING",
        )
        .bind(&key.key_id.0)
        .bind(&key.name)
        .bind(&key.public_key)
        .bind(key.root)
        .bind(key.endorsement.as_ref().map(Json))
        .bind(micros(key.created_at))
        .bind(key.revoked_at.map(micros))
        .execute(&self.write)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn keys(&self) -> StoreResult<Vec<PublisherKey>> {
        let rows = sqlx::query(
            "SELECT key_id, name, public_key, root, endorsement, created_at, revoked_at
             FROM publisher_keys ORDER BY created_at, key_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(key_row).collect()
    }

    async fn revoke_key(&self, id: &KeyId, now: DateTime<Utc>) -> StoreResult<bool> {
        let found = sqlx::query(
            "UPDATE publisher_keys SET revoked_at = ifnull(revoked_at, ?2) WHERE key_id = ?1",
        )
        .bind(&id.0)
        .bind(micros(now))
        .execute(&self.write)
        .await?;
        Ok(found.rows_affected() == 1)
    }

    async fn publish_package(&self, p: &PackageRow, bytes: &[u8]) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO plugin_packages (name, version, digest, sha256, size, manifest, signer,
                                          published_at, published_by, yanked_at, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT DO NOTHING",
        )
        .bind(p.name())
        .bind(p.version().to_string())
        .bind(&p.digest)
        .bind(&p.sha256)
        .bind(p.size as i64)
        .bind(Json(&p.manifest))
        .bind(&p.signer.0)
        .bind(micros(p.published_at))
        .bind(p.published_by)
        .bind(p.yanked_at.map(micros))
        .bind(bytes)
        .execute(&self.write)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn packages(&self, name: Option<&str>) -> StoreResult<Vec<PackageRow>> {
        let rows = sqlx::query(
            "SELECT digest, sha256, size, manifest, signer, published_at, published_by, yanked_at
             FROM plugin_packages WHERE ?1 IS NULL OR name = ?1",
        )
        .bind(name)
        .fetch_all(&self.read)
        .await?;
        let mut rows = rows
            .iter()
            .map(package_row)
            .collect::<StoreResult<Vec<_>>>()?;
        sort_packages(&mut rows);
        Ok(rows)
    }

    async fn package_blob(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT bytes FROM plugin_packages WHERE sha256 = ?1")
                .bind(sha256)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn set_yanked(
        &self,
        name: &str,
        version: &str,
        at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        let found = sqlx::query(
            "UPDATE plugin_packages SET yanked_at = CASE WHEN ?3 IS NULL THEN NULL ELSE ifnull(yanked_at, ?3) END
             WHERE name = ?1 AND version = ?2",
        )
        .bind(name)
        .bind(version)
        .bind(at.map(micros))
        .execute(&self.write)
        .await?;
        Ok(found.rows_affected() == 1)
    }

    async fn put_statement(
        &self,
        sequence: u64,
        statement: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let sequence = i64::try_from(sequence)
            .map_err(|_| StoreError::Corrupt(format!("sequence {sequence}")))?;
        let stored = sqlx::query(
            "INSERT INTO registry_statements (sequence, statement, expires_at, uploaded_at)
             SELECT ?1, ?2, ?3, ?4
             WHERE NOT EXISTS (SELECT 1 FROM registry_statements WHERE sequence >= ?1)",
        )
        .bind(sequence)
        .bind(statement)
        .bind(micros(expires_at))
        .bind(micros(now))
        .execute(&self.write)
        .await?;
        Ok(stored.rows_affected() == 1)
    }

    async fn latest_statement(&self) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT statement FROM registry_statements ORDER BY sequence DESC LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?)
    }
}

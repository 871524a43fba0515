//! PostgreSQL backend, in one of two storage modes (see [`mode`]): native
//! daily range partitions, or TimescaleDB hypertables.
//!
//! Queries are runtime `sqlx::query` with `Row::try_get` (no sqlx macros:
//! docs/design/server.md § 1.1); bulk rows go in as arrays through `UNNEST`.

/// The SQL of a statement on `rollup_1m` or `rollup_1h`, as a `&'static str`.
macro_rules! rollup_sql {
    ($resolution:expr, $before:literal, $after:literal) => {
        match $resolution {
            Rollup::Minute => concat!($before, "rollup_1m", $after),
            Rollup::Hour => concat!($before, "rollup_1h", $after),
        }
    };
}

mod accounts;
mod agents;
mod check_configs;
mod ingest;
mod jobs;
mod mode;
mod query;
mod registry;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Row, SqlSafeStr};
use uuid::Uuid;
use vantage_protocol::config::{CheckSpec, ConfigStatus, PublisherKey};
use vantage_protocol::ingest::{AgentInfo, Heartbeat, IngestAck};
use vantage_protocol::keys::KeyId;
use vantage_protocol::manifest::Capability;

use super::*;

/// The server's PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    mode: StorageMode,
    /// `timescale` or `apache` in TimescaleDB mode.
    tsdb_license: Option<Arc<str>>,
}

fn migrator() -> Migrator {
    let migration = |version, name: &'static str, sql: &'static str| {
        Migration::new(
            version,
            name.into(),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(
            1,
            "init",
            include_str!("../../../migrations/postgres/0001_init.sql"),
        ),
        migration(
            2,
            "registry",
            include_str!("../../../migrations/postgres/0002_registry.sql"),
        ),
    ])
}

impl PgStore {
    /// Connects, applies the migrations (the first one picks the storage
    /// mode) and reads the mode back. Replicas may call this concurrently:
    /// sqlx serialises migrations with an advisory lock.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<PgStore> {
        let options = PgConnectOptions::from_str(url)?.application_name("vantage-server");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;

        let mut mode = None;
        let mut tsdb_license = None;
        for row in sqlx::query("SELECT key, value FROM meta")
            .fetch_all(&pool)
            .await?
        {
            let value: String = row.try_get("value")?;
            match row.try_get::<&str, _>("key")? {
                "storage_mode" => mode = Some(value),
                "tsdb_license" => tsdb_license = Some(Arc::from(value)),
                _ => {}
            }
        }
        let mode = match mode.as_deref() {
            Some("postgres") => StorageMode::Postgres,
            Some("timescaledb") => StorageMode::Timescaledb,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "storage mode {other:?} in meta"
                )));
            }
        };
        Ok(PgStore {
            pool,
            mode,
            tsdb_license,
        })
    }

    /// The TimescaleDB license (`timescale` or `apache`) in TimescaleDB mode.
    pub fn tsdb_license(&self) -> Option<&str> {
        self.tsdb_license.as_deref()
    }

    /// The connection pool, for callers that need to look at the database
    /// directly (tests, benchmarks' COPY baseline).
    /// Connections open and idle in the pool (for `/metrics`).
    pub fn pool_stats(&self) -> (u32, u32) {
        (self.pool.size(), self.pool.num_idle() as u32)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// An id as the database keeps it (`serial`, int4).
fn id32(id: i64) -> StoreResult<i32> {
    i32::try_from(id).map_err(|_| StoreError::Corrupt(format!("id {id} is out of range")))
}

/// Ids that can exist in an int4 column; the others match nothing.
fn ids32(ids: &[i64]) -> Vec<i32> {
    ids.iter()
        .filter_map(|id| i32::try_from(*id).ok())
        .collect()
}

impl Storage for PgStore {
    fn mode(&self) -> StorageMode {
        self.mode
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_user(&self, user: &User, now: DateTime<Utc>) -> StoreResult<bool> {
        self.insert_user(user, now).await
    }
    async fn count_users(&self) -> StoreResult<u64> {
        self.user_count().await
    }
    async fn users(&self) -> StoreResult<Vec<UserSummary>> {
        self.list_users().await
    }
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
        self.find_user(username).await
    }
    async fn create_session(
        &self,
        token_sha: &TokenHash,
        user_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.insert_session(token_sha, user_id, now, expires_at)
            .await
    }
    async fn delete_session(&self, token_sha: &TokenHash) -> StoreResult<()> {
        self.remove_session(token_sha).await
    }
    async fn session_user(
        &self,
        token_sha: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserPrincipal>> {
        self.live_session_user(token_sha, now).await
    }
    async fn create_api_token(&self, token: &NewApiToken) -> StoreResult<()> {
        self.insert_api_token(token).await
    }
    async fn api_token_user(
        &self,
        token_sha: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserPrincipal>> {
        self.live_api_token_user(token_sha, now).await
    }
    async fn api_tokens(&self, user_id: Option<Uuid>) -> StoreResult<Vec<ApiTokenSummary>> {
        self.list_api_tokens(user_id).await
    }
    async fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        self.revoke_token(id, now).await
    }

    async fn create_enrollment(&self, enrollment: &NewEnrollment) -> StoreResult<()> {
        self.insert_enrollment(enrollment).await
    }
    async fn enroll(
        &self,
        token_sha: &TokenHash,
        name: &str,
        info: &AgentInfo,
        credential_sha: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<Uuid, EnrollRefusal>> {
        self.use_enrollment(token_sha, name, info, credential_sha, now)
            .await
    }
    async fn agent_by_credential(
        &self,
        credential_sha: &TokenHash,
    ) -> StoreResult<Option<AgentAuth>> {
        self.find_agent_by_credential(credential_sha).await
    }
    async fn revoke_agent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        self.revoke_agent_row(id, now).await
    }
    async fn heartbeat(
        &self,
        id: Uuid,
        heartbeat: &Heartbeat,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.record_heartbeat(id, heartbeat, now).await
    }
    async fn agents(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<AgentRow>> {
        self.agent_page(after, limit).await
    }
    async fn agent(&self, id: Uuid) -> StoreResult<Option<AgentRow>> {
        self.find_agent(id).await
    }
    async fn agents_seen_since(&self, since: DateTime<Utc>) -> StoreResult<u64> {
        self.count_agents_seen(since).await
    }
    async fn set_placement(
        &self,
        id: Uuid,
        groups: Option<&[String]>,
        labels: Option<&BTreeMap<String, String>>,
    ) -> StoreResult<bool> {
        self.update_placement(id, groups, labels).await
    }
    async fn put_config_status(&self, id: Uuid, status: &ConfigStatus) -> StoreResult<()> {
        self.record_config_status(id, status).await
    }

    async fn put_key(&self, key: &PublisherKey) -> StoreResult<bool> {
        self.insert_key(key).await
    }
    async fn keys(&self) -> StoreResult<Vec<PublisherKey>> {
        self.all_keys().await
    }
    async fn revoke_key(&self, id: &KeyId, now: DateTime<Utc>) -> StoreResult<bool> {
        self.revoke_key_row(id, now).await
    }
    async fn publish_package(&self, package: &PackageRow, bytes: &[u8]) -> StoreResult<bool> {
        self.insert_package(package, bytes).await
    }
    async fn packages(&self, name: Option<&str>) -> StoreResult<Vec<PackageRow>> {
        self.package_rows(name).await
    }
    async fn package_blob(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        self.package_bytes(sha256).await
    }
    async fn set_yanked(
        &self,
        name: &str,
        version: &str,
        at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        self.yank(name, version, at).await
    }

    async fn put_check(
        &self,
        spec: &CheckSpec,
        reviewed: &BTreeSet<Capability>,
        now: DateTime<Utc>,
    ) -> StoreResult<CheckSaved> {
        self.upsert_check(spec, reviewed, now).await
    }
    async fn delete_check(&self, name: &str) -> StoreResult<bool> {
        self.delete_check_row(name).await
    }
    async fn checks(&self) -> StoreResult<Vec<CheckRow>> {
        self.check_rows().await
    }

    async fn check_id(&self, key: &CheckKey) -> StoreResult<i64> {
        self.resolve_check(key).await
    }
    async fn series_id(&self, key: &SeriesKey) -> StoreResult<i64> {
        self.resolve_series(key).await
    }
    async fn ingest(&self, batch: &StoreBatch, now: DateTime<Utc>) -> StoreResult<IngestAck> {
        self.store_batch(batch, now).await
    }

    async fn latest(&self, agent_id: Option<Uuid>) -> StoreResult<Vec<LatestRow>> {
        self.latest_results(agent_id).await
    }
    async fn series(&self, filter: &SeriesFilter) -> StoreResult<Vec<SeriesRow>> {
        self.find_series(filter).await
    }
    async fn raw_samples(
        &self,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<RawPoint>> {
        self.samples_of(Some(series), from, to).await
    }
    async fn all_raw_samples(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<RawPoint>> {
        self.samples_of(None, from, to).await
    }
    async fn rollups(
        &self,
        resolution: Rollup,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<RollupRow>> {
        self.rollup_rows(resolution, series, from, to).await
    }
    async fn status_counts(
        &self,
        check_ids: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<StatusCounts> {
        self.count_statuses(check_ids, from, to).await
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: Uuid,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> StoreResult<bool> {
        self.take_lease(name, holder, now, ttl).await
    }
    async fn take_dirty(&self) -> StoreResult<Vec<DirtyRange>> {
        self.take_dirty_ranges().await
    }
    async fn put_dirty(&self, ranges: &[DirtyRange]) -> StoreResult<()> {
        self.put_dirty_ranges(ranges).await
    }
    async fn replace_rollups(
        &self,
        resolution: Rollup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rows: &[RollupRow],
    ) -> StoreResult<()> {
        self.replace_rollup_rows(resolution, from, to, rows).await
    }
    async fn delete_raw_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.drop_raw_before(before).await
    }
    async fn delete_rollups_before(
        &self,
        resolution: Rollup,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.delete_rollup_rows_before(resolution, before).await
    }
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
    async fn delete_batches_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.delete_batch_rows_before(before).await
    }
    async fn ensure_partitions(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<()> {
        self.create_partitions(from, to).await
    }
}

//! SQLite backend: one database file in WAL mode.
//!
//! Every write goes through a pool of exactly one connection, so our own
//! transactions queue in the pool instead of meeting `SQLITE_BUSY`, and a
//! read pool serves queries beside it (WAL readers never block the writer).
//! `synchronous=FULL`: an acknowledged batch survives a power loss.
//!
//! Queries are runtime `sqlx::query` with `Row::try_get` (no sqlx macros:
//! docs/design/server.md § 1.1). Timestamps are INTEGER microseconds, UUIDs
//! 16-byte BLOBs (`migrations/sqlite/0001_init.sql`). Bulk rows go in as
//! multi-row `VALUES` ([`bulk`]).

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
mod bulk;
mod check_configs;
mod ingest;
mod jobs;
mod query;
mod registry;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::Duration;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr, Sqlite, Transaction};
use uuid::Uuid;
use vantage_protocol::config::{CheckSpec, ConfigStatus, PublisherKey};
use vantage_protocol::ingest::{AgentInfo, Heartbeat, IngestAck};
use vantage_protocol::keys::KeyId;
use vantage_protocol::manifest::Capability;

use super::*;

/// Connections of the read pool.
const READERS: u32 = 4;
/// How long a statement waits for a lock another process holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a caller waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Page cache of the write connection, in KiB: index inserts touch a page
/// per series, more than the default 2 MiB holds on a busy server.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// The server's SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write.
    write: SqlitePool,
    /// Reads only.
    read: SqlitePool,
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
            include_str!("../../../migrations/sqlite/0001_init.sql"),
        ),
        migration(
            2,
            "registry",
            include_str!("../../../migrations/sqlite/0002_registry.sql"),
        ),
    ])
}

impl SqliteStore {
    /// Connections open and idle over both pools (for `/metrics`).
    pub fn pool_stats(&self) -> (u32, u32) {
        (
            self.write.size() + self.read.size(),
            (self.write.num_idle() + self.read.num_idle()) as u32,
        )
    }

    /// Opens the database at `path`, creating it and its folder if missing,
    /// and applies the migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Full)
            .statement_cache_capacity(256);
        // The writer comes first: it creates the file and switches it to WAL
        // (a lasting property of the file), then migrates.
        let write = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(
                options
                    .clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .pragma("cache_size", format!("-{WRITER_CACHE_KIB}")),
            )
            .await?;
        migrator().run(&write).await?;
        let mode: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'storage_mode'")
                .fetch_optional(&write)
                .await?;
        if mode.as_deref() != Some("sqlite") {
            return Err(StoreError::Corrupt(format!(
                "storage mode {mode:?} in meta"
            )));
        }
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore { write, read })
    }

    /// A write transaction. `IMMEDIATE` takes the file's write lock at once,
    /// so a transaction that reads first never fails to upgrade its lock
    /// when another process writes to the same file.
    async fn begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// A timestamp as stored: microseconds since the epoch.
fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(us: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {us} is out of range")))
}

fn time_at(row: &SqliteRow, column: &str) -> StoreResult<DateTime<Utc>> {
    time(row.try_get(column)?)
}

fn optional_time_at(row: &SqliteRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    row.try_get::<Option<i64>, _>(column)?.map(time).transpose()
}

/// A count column, which no valid row has negative.
fn count_at(row: &SqliteRow, column: &str) -> StoreResult<u32> {
    let n: i64 = row.try_get(column)?;
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{column} {n}")))
}

/// Ids as a JSON array, for `IN (SELECT value FROM json_each(?))`: one
/// statement whatever the number of ids.
fn id_list(ids: &[i64]) -> String {
    let mut s = String::with_capacity(2 + ids.len() * 8);
    s.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    s.push(']');
    s
}

impl Storage for SqliteStore {
    fn mode(&self) -> StorageMode {
        StorageMode::Sqlite
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
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
        self.delete_raw_rows_before(before).await
    }
    async fn delete_rollups_before(
        &self,
        resolution: Rollup,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.delete_rollup_rows_before(resolution, before).await
    }
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?1")
            .bind(micros(now))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }
    async fn delete_batches_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.delete_batch_rows_before(before).await
    }
    /// No partitions in SQLite: retention deletes rows in chunks.
    async fn ensure_partitions(&self, _from: DateTime<Utc>, _to: DateTime<Utc>) -> StoreResult<()> {
        Ok(())
    }
}

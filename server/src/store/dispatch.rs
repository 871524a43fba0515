//! [`Store`]: the backend chosen at start, behind the one [`Storage`] trait.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::{CheckSpec, ConfigStatus, PublisherKey};
use vantage_protocol::ingest::{AgentInfo, Heartbeat, IngestAck};
use vantage_protocol::keys::KeyId;
use vantage_protocol::manifest::Capability;

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::*;

/// The server's storage: embedded SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

macro_rules! delegate {
    ($( fn $name:ident(&self $(, $arg:ident : $ty:ty)* ) -> $ret:ty; )*) => {
        $(
            async fn $name(&self $(, $arg: $ty)*) -> $ret {
                match self {
                    Store::Sqlite(s) => s.$name($($arg),*).await,
                    Store::Postgres(s) => s.$name($($arg),*).await,
                }
            }
        )*
    };
}

impl Storage for Store {
    fn mode(&self) -> StorageMode {
        match self {
            Store::Sqlite(s) => s.mode(),
            Store::Postgres(s) => s.mode(),
        }
    }

    delegate! {
        fn ping(&self) -> StoreResult<()>;
        fn create_user(&self, user: &User, now: DateTime<Utc>) -> StoreResult<bool>;
        fn count_users(&self) -> StoreResult<u64>;
        fn users(&self) -> StoreResult<Vec<UserSummary>>;
        fn user_by_name(&self, username: &str) -> StoreResult<Option<User>>;
        fn create_session(&self, token_sha: &TokenHash, user_id: Uuid, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> StoreResult<()>;
        fn delete_session(&self, token_sha: &TokenHash) -> StoreResult<()>;
        fn session_user(&self, token_sha: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<UserPrincipal>>;
        fn create_api_token(&self, token: &NewApiToken) -> StoreResult<()>;
        fn api_token_user(&self, token_sha: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<UserPrincipal>>;
        fn api_tokens(&self, user_id: Option<Uuid>) -> StoreResult<Vec<ApiTokenSummary>>;
        fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
        fn create_enrollment(&self, enrollment: &NewEnrollment) -> StoreResult<()>;
        fn enroll(&self, token_sha: &TokenHash, name: &str, info: &AgentInfo, credential_sha: &TokenHash, now: DateTime<Utc>) -> StoreResult<Result<Uuid, EnrollRefusal>>;
        fn agent_by_credential(&self, credential_sha: &TokenHash) -> StoreResult<Option<AgentAuth>>;
        fn revoke_agent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
        fn heartbeat(&self, id: Uuid, heartbeat: &Heartbeat, now: DateTime<Utc>) -> StoreResult<bool>;
        fn agents(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<AgentRow>>;
        fn agent(&self, id: Uuid) -> StoreResult<Option<AgentRow>>;
        fn agents_seen_since(&self, since: DateTime<Utc>) -> StoreResult<u64>;
        fn set_placement(&self, id: Uuid, groups: Option<&[String]>, labels: Option<&BTreeMap<String, String>>) -> StoreResult<bool>;
        fn put_config_status(&self, id: Uuid, status: &ConfigStatus) -> StoreResult<()>;
        fn put_key(&self, key: &PublisherKey) -> StoreResult<bool>;
        fn keys(&self) -> StoreResult<Vec<PublisherKey>>;
        fn revoke_key(&self, id: &KeyId, now: DateTime<Utc>) -> StoreResult<bool>;
        fn publish_package(&self, package: &PackageRow, bytes: &[u8]) -> StoreResult<bool>;
        fn packages(&self, name: Option<&str>) -> StoreResult<Vec<PackageRow>>;
        fn package_blob(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>>;
        fn set_yanked(&self, name: &str, version: &str, at: Option<DateTime<Utc>>) -> StoreResult<bool>;
        fn put_check(&self, spec: &CheckSpec, reviewed: &BTreeSet<Capability>, now: DateTime<Utc>) -> StoreResult<CheckSaved>;
        fn delete_check(&self, name: &str) -> StoreResult<bool>;
        fn checks(&self) -> StoreResult<Vec<CheckRow>>;
        fn check_id(&self, key: &CheckKey) -> StoreResult<i64>;
        fn series_id(&self, key: &SeriesKey) -> StoreResult<i64>;
        fn ingest(&self, batch: &StoreBatch, now: DateTime<Utc>) -> StoreResult<IngestAck>;
        fn latest(&self, agent_id: Option<Uuid>) -> StoreResult<Vec<LatestRow>>;
        fn series(&self, filter: &SeriesFilter) -> StoreResult<Vec<SeriesRow>>;
        fn raw_samples(&self, series: &[i64], from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<RawPoint>>;
        fn all_raw_samples(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<RawPoint>>;
        fn rollups(&self, resolution: Rollup, series: &[i64], from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<RollupRow>>;
        fn status_counts(&self, check_ids: &[i64], from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<StatusCounts>;
        fn try_lease(&self, name: &str, holder: Uuid, now: DateTime<Utc>, ttl: chrono::Duration) -> StoreResult<bool>;
        fn take_dirty(&self) -> StoreResult<Vec<DirtyRange>>;
        fn put_dirty(&self, ranges: &[DirtyRange]) -> StoreResult<()>;
        fn replace_rollups(&self, resolution: Rollup, from: DateTime<Utc>, to: DateTime<Utc>, rows: &[RollupRow]) -> StoreResult<()>;
        fn delete_raw_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
        fn delete_rollups_before(&self, resolution: Rollup, before: DateTime<Utc>) -> StoreResult<u64>;
        fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;
        fn delete_batches_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
        fn ensure_partitions(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<()>;
    }
}

impl Store {
    /// Connections open and idle (for `/metrics`).
    pub fn pool_stats(&self) -> (u32, u32) {
        match self {
            Store::Sqlite(s) => s.pool_stats(),
            Store::Postgres(s) => s.pool_stats(),
        }
    }

    /// Opens the database a URL names (`postgres://…`, `sqlite://path`) and
    /// applies its migrations.
    pub async fn open(url: &str, max_connections: u32) -> StoreResult<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(
                PgStore::connect(url, max_connections).await?,
            ))
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            Ok(Store::Sqlite(
                SqliteStore::open(std::path::Path::new(path)).await?,
            ))
        }
    }
}

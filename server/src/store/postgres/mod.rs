//! PostgreSQL backend (stub: being written).
#![allow(unused_variables)]

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::ingest::{AgentInfo, Heartbeat, IngestAck};

use super::*;

#[derive(Debug, Clone)]
pub struct PgStore;

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<PgStore> {
        unimplemented!()
    }
}

impl Storage for PgStore {
    fn mode(&self) -> StorageMode {
        unimplemented!()
    }
    async fn ping(&self) -> StoreResult<()> {
        unimplemented!()
    }
    async fn create_user(&self, user: &User, now: DateTime<Utc>) -> StoreResult<bool> {
        unimplemented!()
    }
    async fn count_users(&self) -> StoreResult<u64> {
        unimplemented!()
    }
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
        unimplemented!()
    }
    async fn create_session(&self, token_sha: &TokenHash, user_id: Uuid, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> StoreResult<()> {
        unimplemented!()
    }
    async fn delete_session(&self, token_sha: &TokenHash) -> StoreResult<()> {
        unimplemented!()
    }
    async fn session_user(&self, token_sha: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<UserPrincipal>> {
        unimplemented!()
    }
    async fn create_api_token(&self, token: &NewApiToken) -> StoreResult<()> {
        unimplemented!()
    }
    async fn api_token_user(&self, token_sha: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<UserPrincipal>> {
        unimplemented!()
    }
    async fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        unimplemented!()
    }
    async fn create_enrollment(&self, enrollment: &NewEnrollment) -> StoreResult<()> {
        unimplemented!()
    }
    async fn enroll(&self, token_sha: &TokenHash, name: &str, info: &AgentInfo, credential_sha: &TokenHash, now: DateTime<Utc>,) -> StoreResult<Result<Uuid, EnrollRefusal>> {
        unimplemented!()
    }
    async fn agent_by_credential(&self, credential_sha: &TokenHash) -> StoreResult<Option<AgentAuth>> {
        unimplemented!()
    }
    async fn revoke_agent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        unimplemented!()
    }
    async fn heartbeat(&self, id: Uuid, heartbeat: &Heartbeat, now: DateTime<Utc>) -> StoreResult<()> {
        unimplemented!()
    }
    async fn agents(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<AgentRow>> {
        unimplemented!()
    }
    async fn agent(&self, id: Uuid) -> StoreResult<Option<AgentRow>> {
        unimplemented!()
    }
    async fn agents_seen_since(&self, since: DateTime<Utc>) -> StoreResult<u64> {
        unimplemented!()
    }
    async fn check_id(&self, key: &CheckKey) -> StoreResult<i64> {
        unimplemented!()
    }
    async fn series_id(&self, key: &SeriesKey) -> StoreResult<i64> {
        unimplemented!()
    }
    async fn ingest(&self, batch: &StoreBatch, now: DateTime<Utc>) -> StoreResult<IngestAck> {
        unimplemented!()
    }
    async fn latest(&self, agent_id: Option<Uuid>) -> StoreResult<Vec<LatestRow>> {
        unimplemented!()
    }
    async fn series(&self, filter: &SeriesFilter) -> StoreResult<Vec<SeriesRow>> {
        unimplemented!()
    }
    async fn raw_samples(&self, series: &[i64], from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<RawPoint>> {
        unimplemented!()
    }
    async fn all_raw_samples(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<RawPoint>> {
        unimplemented!()
    }
    async fn rollups(&self, resolution: Rollup, series: &[i64], from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<RollupRow>> {
        unimplemented!()
    }
    async fn status_counts(&self, check_ids: &[i64], from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<StatusCounts> {
        unimplemented!()
    }
    async fn try_lease(&self, name: &str, holder: Uuid, now: DateTime<Utc>, ttl: chrono::Duration) -> StoreResult<bool> {
        unimplemented!()
    }
    async fn take_dirty(&self) -> StoreResult<Vec<DirtyRange>> {
        unimplemented!()
    }
    async fn put_dirty(&self, ranges: &[DirtyRange]) -> StoreResult<()> {
        unimplemented!()
    }
    async fn replace_rollups(&self, resolution: Rollup, from: DateTime<Utc>, to: DateTime<Utc>, rows: &[RollupRow]) -> StoreResult<()> {
        unimplemented!()
    }
    async fn delete_raw_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        unimplemented!()
    }
    async fn delete_rollups_before(&self, resolution: Rollup, before: DateTime<Utc>) -> StoreResult<u64> {
        unimplemented!()
    }
    async fn delete_batches_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        unimplemented!()
    }
    async fn ensure_partitions(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<()> {
        unimplemented!()
    }
}

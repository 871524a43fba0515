//! Storage: one trait, two backends ([`sqlite`] and [`postgres`]), and
//! [`Store`], the enum the rest of the server holds.
//!
//! Backends do the I/O only. Validation happens before a call reaches them
//! (`ingest::validate`), and the rollup and retention logic lives once in
//! `jobs`, over the primitive operations here.

mod dispatch;
pub mod postgres;
mod registry;
pub mod sketch;
pub mod sqlite;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use vantage_protocol::config::{CheckSpec, ConfigStatus, PublisherKey};
use vantage_protocol::ingest::{AgentInfo, Heartbeat, IngestAck, OutboxStats};
use vantage_protocol::keys::KeyId;
use vantage_protocol::manifest::{BaseUnit, Capability};
use vantage_protocol::result::Status;

pub use self::dispatch::Store;
pub use self::registry::{CheckRow, CheckSaved, PackageRow, sort_packages};
pub use self::sketch::Sketch;

/// A storage failure. Callers answer 500/503 and log it; it never reaches a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database holds bad data: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How samples are kept, chosen when the database is first migrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageMode {
    Sqlite,
    /// PostgreSQL with native daily range partitions.
    Postgres,
    /// PostgreSQL with TimescaleDB hypertables.
    Timescaledb,
}

/// Roles, weakest first: each can do what the ones before it can.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A SHA-256 of a secret token: what the database keeps instead of the token.
pub type TokenHash = [u8; 32];

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
}

/// A user as the admin's list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserSummary {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
}

/// An API token as its list shows it: never the secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiTokenSummary {
    pub id: Uuid,
    pub username: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who a user credential (session or API token) belongs to.
#[derive(Debug, Clone)]
pub struct UserPrincipal {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub token_sha: TokenHash,
    /// At most the creating user's role.
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewEnrollment {
    pub id: Uuid,
    pub token_sha: TokenHash,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An agent as the credential check sees it.
#[derive(Debug, Clone)]
pub struct AgentAuth {
    pub id: Uuid,
    pub name: String,
    pub revoked: bool,
}

/// An agent's inventory row.
#[derive(Debug, Clone, Serialize)]
pub struct AgentRow {
    pub id: Uuid,
    pub name: String,
    pub info: AgentInfo,
    pub enrolled_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub outbox: OutboxStats,
    /// Placement: the groups and labels checks select agents by.
    pub groups: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// What the agent last reported applying.
    pub config_status: Option<ConfigStatus>,
}

/// Why an enrollment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollRefusal {
    UnknownToken,
    Expired,
    AlreadyUsed,
    NameTaken,
}

/// One sample ready to store: its series already resolved.
#[derive(Debug, Clone, Copy)]
pub struct SampleRow {
    pub series_id: i64,
    pub value: f64,
}

/// One result ready to store. `samples` are stored only when the result is new.
#[derive(Debug, Clone)]
pub struct ResultRow {
    pub id: Uuid,
    pub check_id: i64,
    pub started_at: DateTime<Utc>,
    pub status: Status,
    pub duration: f64,
    pub plugin_version: String,
    pub message: Option<String>,
    pub samples: Vec<SampleRow>,
}

/// What identifies a check target: one row of `checks`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckKey {
    pub agent_id: Uuid,
    pub check: String,
    pub target: String,
    pub plugin: String,
}

/// What identifies a series: one row of `series`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    pub check_id: i64,
    pub metric: String,
    pub unit: BaseUnit,
    /// Canonical JSON of the labels (sorted keys), `{}` when none.
    pub labels: String,
}

/// A batch that passed validation, with check and series ids resolved.
#[derive(Debug, Clone)]
pub struct StoreBatch {
    pub agent_id: Uuid,
    pub batch_id: Uuid,
    pub results: Vec<ResultRow>,
    pub outbox: OutboxStats,
    /// Results validation acknowledged without storing (too old).
    pub expired: u32,
}

/// The latest result of one check target.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LatestRow {
    pub check_id: i64,
    pub agent_id: Uuid,
    pub agent: String,
    pub check: String,
    pub target: String,
    pub plugin: String,
    pub plugin_version: String,
    pub result_id: Uuid,
    pub status: Status,
    pub started_at: DateTime<Utc>,
    pub duration: f64,
    pub message: Option<String>,
}

/// A series with what names it.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesRow {
    pub series_id: i64,
    pub check_id: i64,
    pub agent_id: Uuid,
    pub agent: String,
    pub check: String,
    pub target: String,
    pub metric: String,
    pub unit: BaseUnit,
    pub labels: String,
}

/// Which series a query is about. Every field given must match.
#[derive(Debug, Clone, Default)]
pub struct SeriesFilter {
    pub agent_id: Option<Uuid>,
    pub check: Option<String>,
    pub target: Option<String>,
    pub metric: Option<String>,
}

/// A raw sample read back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawPoint {
    pub series_id: i64,
    pub ts: DateTime<Utc>,
    pub value: f64,
}

/// Rolled-up resolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Rollup {
    #[serde(rename = "1m")]
    Minute,
    #[serde(rename = "1h")]
    Hour,
}

impl Rollup {
    pub fn seconds(self) -> i64 {
        match self {
            Rollup::Minute => 60,
            Rollup::Hour => 3600,
        }
    }
}

/// One bucket of one series at a rolled-up resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupRow {
    pub series_id: i64,
    pub bucket: DateTime<Utc>,
    pub count: i64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub sketch: Sketch,
}

/// Run counts per status of one check target over a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub ok: u64,
    pub timeout: u64,
    pub unreachable: u64,
    pub refused: u64,
    pub error: u64,
}

impl StatusCounts {
    pub fn total(&self) -> u64 {
        self.ok + self.timeout + self.unreachable + self.refused + self.error
    }

    pub fn add(&mut self, status: Status, n: u64) {
        match status {
            Status::Ok => self.ok += n,
            Status::Timeout => self.timeout += n,
            Status::Unreachable => self.unreachable += n,
            Status::Refused => self.refused += n,
            Status::Error => self.error += n,
        }
    }
}

/// A time range `[from, to)` whose raw samples changed since the last rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirtyRange {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Status codes in the database.
pub fn status_code(s: Status) -> i16 {
    match s {
        Status::Ok => 0,
        Status::Timeout => 1,
        Status::Unreachable => 2,
        Status::Refused => 3,
        Status::Error => 4,
    }
}

pub fn status_from_code(code: i64) -> StoreResult<Status> {
    Ok(match code {
        0 => Status::Ok,
        1 => Status::Timeout,
        2 => Status::Unreachable,
        3 => Status::Refused,
        4 => Status::Error,
        other => return Err(StoreError::Corrupt(format!("status code {other}"))),
    })
}

pub fn unit_from_str(s: &str) -> StoreResult<BaseUnit> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| StoreError::Corrupt(format!("unit {s:?}")))
}

/// What every backend does. Methods return `Send` futures so that axum
/// handlers can await them; implementations write `async fn`.
pub trait Storage: Send + Sync + 'static {
    fn mode(&self) -> StorageMode;

    /// A round trip to the database (`/readyz`).
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    // Users and credentials.

    /// Inserts the user unless the name exists; true when inserted.
    fn create_user(
        &self,
        user: &User,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn count_users(&self) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Every user, by name.
    fn users(&self) -> impl Future<Output = StoreResult<Vec<UserSummary>>> + Send;
    fn user_by_name(
        &self,
        username: &str,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    fn create_session(
        &self,
        token_sha: &TokenHash,
        user_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_session(&self, token_sha: &TokenHash)
    -> impl Future<Output = StoreResult<()>> + Send;
    /// The user of a live session (not expired, user not disabled).
    fn session_user(
        &self,
        token_sha: &TokenHash,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<UserPrincipal>>> + Send;
    fn create_api_token(&self, token: &NewApiToken)
    -> impl Future<Output = StoreResult<()>> + Send;
    /// The user of a live API token, with the token's role; stamps `last_used_at`.
    fn api_token_user(
        &self,
        token_sha: &TokenHash,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<UserPrincipal>>> + Send;
    /// API tokens, newest first: one user's, or everyone's with `None`.
    fn api_tokens(
        &self,
        user_id: Option<Uuid>,
    ) -> impl Future<Output = StoreResult<Vec<ApiTokenSummary>>> + Send;
    /// True when a token was revoked now (false: unknown or already revoked).
    fn revoke_api_token(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    // Agents.

    fn create_enrollment(
        &self,
        enrollment: &NewEnrollment,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Uses the token once, atomically, and creates the agent.
    fn enroll(
        &self,
        token_sha: &TokenHash,
        name: &str,
        info: &AgentInfo,
        credential_sha: &TokenHash,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Result<Uuid, EnrollRefusal>>> + Send;
    fn agent_by_credential(
        &self,
        credential_sha: &TokenHash,
    ) -> impl Future<Output = StoreResult<Option<AgentAuth>>> + Send;
    /// True when the agent exists (revoking twice is not an error).
    fn revoke_agent(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records a heartbeat; true when the agent's addresses changed.
    fn heartbeat(
        &self,
        id: Uuid,
        heartbeat: &Heartbeat,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Agents ordered by name, starting after `after` (cursor), at most `limit`.
    fn agents(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<AgentRow>>> + Send;
    fn agent(&self, id: Uuid) -> impl Future<Output = StoreResult<Option<AgentRow>>> + Send;
    fn agents_seen_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Replaces the groups and labels given; true when the agent exists.
    fn set_placement(
        &self,
        id: Uuid,
        groups: Option<&[String]>,
        labels: Option<&BTreeMap<String, String>>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn put_config_status(
        &self,
        id: Uuid,
        status: &ConfigStatus,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // The registry.

    /// Inserts a publisher key; false when its id exists.
    fn put_key(&self, key: &PublisherKey) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Every publisher key, oldest first.
    fn keys(&self) -> impl Future<Output = StoreResult<Vec<PublisherKey>>> + Send;
    /// True when the key exists (revoking twice keeps the first time).
    fn revoke_key(
        &self,
        id: &KeyId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Stores a package and its file; false when its name and version exist.
    fn publish_package(
        &self,
        package: &PackageRow,
        bytes: &[u8],
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Packages (of one plugin, when named) without their files, by name
    /// and newest version first.
    fn packages(
        &self,
        name: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<PackageRow>>> + Send;
    /// The package file with that sha256 (hex).
    fn package_blob(
        &self,
        sha256: &str,
    ) -> impl Future<Output = StoreResult<Option<Vec<u8>>>> + Send;
    /// Yanks (`Some`: keeping an earlier time) or restores (`None`) a
    /// version; true when it exists.
    fn set_yanked(
        &self,
        name: &str,
        version: &str,
        at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    // Checks defined on the server.

    /// Inserts or replaces a check. The revision moves only when the spec or
    /// the reviewed capabilities change.
    fn put_check(
        &self,
        spec: &CheckSpec,
        reviewed: &BTreeSet<Capability>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<CheckSaved>> + Send;
    /// True when the check existed.
    fn delete_check(&self, name: &str) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Every check, by name.
    fn checks(&self) -> impl Future<Output = StoreResult<Vec<CheckRow>>> + Send;

    // Ingest.

    /// The id of a check target, created on first sight.
    fn check_id(&self, key: &CheckKey) -> impl Future<Output = StoreResult<i64>> + Send;
    /// The id of a series, created on first sight.
    fn series_id(&self, key: &SeriesKey) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Stores a batch in one transaction: the batch id, the results that are
    /// new (by id), their samples, a dirty range for the rollups, the agent's
    /// outbox stats and `last_seen_at`. A batch id seen before stores
    /// nothing and returns the first acknowledgement with `replayed: true`.
    fn ingest(
        &self,
        batch: &StoreBatch,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<IngestAck>> + Send;

    // Queries.

    fn latest(
        &self,
        agent_id: Option<Uuid>,
    ) -> impl Future<Output = StoreResult<Vec<LatestRow>>> + Send;
    fn series(
        &self,
        filter: &SeriesFilter,
    ) -> impl Future<Output = StoreResult<Vec<SeriesRow>>> + Send;
    /// Raw samples of the series in `[from, to)`, ordered by series then time.
    fn raw_samples(
        &self,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<RawPoint>>> + Send;
    /// Every raw sample in `[from, to)` (the rollup job's input).
    fn all_raw_samples(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<RawPoint>>> + Send;
    /// Rollup rows of the series in `[from, to)`, ordered by series then bucket.
    fn rollups(
        &self,
        resolution: Rollup,
        series: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<RollupRow>>> + Send;
    fn status_counts(
        &self,
        check_ids: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<StatusCounts>> + Send;

    // Jobs.

    /// Takes or renews a named lease; true when `holder` has it until `now + ttl`.
    fn try_lease(
        &self,
        name: &str,
        holder: Uuid,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Removes and returns every dirty range.
    fn take_dirty(&self) -> impl Future<Output = StoreResult<Vec<DirtyRange>>> + Send;
    /// Puts ranges back (a rollup round failed half-way).
    fn put_dirty(&self, ranges: &[DirtyRange]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Replaces the rollup rows of every series for the buckets in `[from, to)` with `rows`.
    fn replace_rollups(
        &self,
        resolution: Rollup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rows: &[RollupRow],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Raw rows (results, samples) older than `before`; rows removed.
    /// Partitioned storage drops only whole days (partitions, chunks) that
    /// end at or before `before`, and may count their rows from statistics.
    fn delete_raw_before(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    fn delete_rollups_before(
        &self,
        resolution: Rollup,
        before: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Sessions past their expiry; rows removed.
    fn delete_expired_sessions(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Batch ids older than `before` (replays after that are stored by result id).
    fn delete_batches_before(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Makes sure partitions exist for `[from, to)` (a no-op where there are none).
    fn ensure_partitions(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

//! Enrollment and the agent inventory: credentials, heartbeats, placement
//! and what each agent reports applying.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use vantage_protocol::config::ConfigStatus;
use vantage_protocol::ingest::{AgentInfo, Heartbeat, OutboxStats};

use super::accounts::TokenHash;
use super::dispatch::store_trait;
use super::types::StoreResult;

#[derive(Debug, Clone)]
pub struct NewEnrollment {
    pub id: Uuid,
    pub token_sha: TokenHash,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// How many agents it may enroll.
    pub uses: u32,
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

impl AgentRow {
    /// Not revoked, and heard from at or after `since`.
    pub fn online(&self, since: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.last_seen_at.is_some_and(|t| t >= since)
    }
}

/// Why an enrollment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollRefusal {
    UnknownToken,
    Expired,
    AlreadyUsed,
    NameTaken,
}

store_trait! {
    /// Enrollment and the agent inventory.
    pub trait AgentStore {
        async fn create_enrollment(&self, enrollment: &NewEnrollment) -> StoreResult<()>;
        /// Uses the token once, atomically, and creates the agent. A taken
        /// name leaves the token unused.
        async fn enroll(
            &self,
            token_sha: &TokenHash,
            name: &str,
            info: &AgentInfo,
            credential_sha: &TokenHash,
            now: DateTime<Utc>
        ) -> StoreResult<Result<Uuid, EnrollRefusal>>;
        async fn agent_by_credential(
            &self,
            credential_sha: &TokenHash
        ) -> StoreResult<Option<AgentAuth>>;
        /// True when the agent exists (revoking twice keeps the first time).
        async fn revoke_agent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
        /// Records a heartbeat; true when the agent's addresses changed.
        async fn heartbeat(
            &self,
            id: Uuid,
            heartbeat: &Heartbeat,
            now: DateTime<Utc>
        ) -> StoreResult<bool>;
        /// Agents ordered by name, starting after `after` (cursor), at most `limit`.
        async fn agents(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<AgentRow>>;
        async fn agent(&self, id: Uuid) -> StoreResult<Option<AgentRow>>;
        async fn agents_seen_since(&self, since: DateTime<Utc>) -> StoreResult<u64>;
        /// Replaces the groups and labels given; true when the agent exists.
        async fn set_placement(
            &self,
            id: Uuid,
            groups: Option<&[String]>,
            labels: Option<&BTreeMap<String, String>>
        ) -> StoreResult<bool>;
        async fn put_config_status(&self, id: Uuid, status: &ConfigStatus) -> StoreResult<()>;
    }
}

//! The audit log: every change made through the API, with who made it,
//! when, from where and what it changed (`crate::audit` records them).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::dispatch::store_trait;
use super::types::StoreResult;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// A user, with a login session.
    User,
    /// A user, with one of their API tokens (`token_id`).
    Token,
    /// An enrolled agent.
    Agent,
    /// No credential: a login or an enrollment, named by what it presented.
    Anonymous,
    /// The server itself (the first admin at start).
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Token => "token",
            ActorKind::Agent => "agent",
            ActorKind::Anonymous => "anonymous",
            ActorKind::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<ActorKind> {
        [
            ActorKind::User,
            ActorKind::Token,
            ActorKind::Agent,
            ActorKind::Anonymous,
            ActorKind::System,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Who made a change, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Actor {
    pub kind: ActorKind,
    /// The user's or the agent's name; for an anonymous request, the name
    /// it gave (a login's user name), or empty.
    pub name: String,
    /// The user's or the agent's id.
    pub id: Option<Uuid>,
    /// The API token used.
    pub token_id: Option<Uuid>,
}

impl Actor {
    pub fn anonymous() -> Actor {
        Actor {
            kind: ActorKind::Anonymous,
            name: String::new(),
            id: None,
            token_id: None,
        }
    }

    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            name: "vantage-server".into(),
            id: None,
            token_id: None,
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Increasing; 0 before it is stored.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// The client's address (the connection's peer), empty for the server.
    pub source: String,
    /// The operation: the method and the route (`PUT /api/v1/checks/{name}`).
    pub action: String,
    /// What it acted on: the path asked for (`/api/v1/checks/web`).
    pub target: String,
    /// The HTTP status answered: 2xx done, 401 a failed login, 403 refused.
    pub status: u16,
    /// What changed: the request, with secrets redacted, and what the
    /// handler added (the agent enrolled, the package published…).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Which entries a read returns, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries with a smaller id (the page cursor).
    pub before: Option<i64>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// The actor's name, exactly.
    pub actor: Option<String>,
    /// A prefix of the target (`/api/v1/users`).
    pub target: Option<String>,
    pub limit: u32,
}

store_trait! {
    /// The audit log.
    pub trait AuditStore {
        /// Appends an entry; its id is assigned here.
        async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
        /// Entries matching `filter`, newest first.
        async fn audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;
        /// Deletes the entries made before `before`; how many.
        async fn delete_audit_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    }
}

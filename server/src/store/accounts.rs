//! Users and their credentials: sessions and API tokens.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::dispatch::store_trait;
use super::types::StoreResult;

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

/// How stale an API token's `last_used_at` may get: it is written at most
/// once per step, not on every request.
pub const LAST_USED_STEP: chrono::Duration = chrono::Duration::minutes(1);

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
    /// The API token the request came with; `None` for a session.
    pub token: Option<TokenOrigin>,
}

/// The API token behind a request: tokens it creates are its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOrigin {
    pub id: Uuid,
    pub expires_at: Option<DateTime<Utc>>,
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
    /// The API token that created this one.
    pub parent_id: Option<Uuid>,
}

/// A login session as it is stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_sha: TokenHash,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The client's address.
    pub source: String,
    /// The client's `User-Agent`, cut to 256 bytes.
    pub user_agent: String,
}

/// A live session, for its user's list.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub token_sha: TokenHash,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub source: String,
    pub user_agent: String,
}

/// What an admin (or the user, for the password) changes about a user;
/// `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// A new PHC string (argon2id).
    pub password_hash: Option<String>,
}

store_trait! {
    /// Users and their credentials.
    pub trait AccountStore {
        /// Applies `change` to the user, and ends their sessions when it
        /// disables them or sets a password; the user as it is now, or
        /// `None` for no such user.
        async fn update_user(
            &self,
            id: Uuid,
            change: &UserChange,
            now: DateTime<Utc>
        ) -> StoreResult<Option<UserSummary>>;
        /// Inserts the user unless the name exists; true when inserted.
        async fn create_user(&self, user: &User, now: DateTime<Utc>) -> StoreResult<bool>;
        async fn count_users(&self) -> StoreResult<u64>;
        /// Every user, by name.
        async fn users(&self) -> StoreResult<Vec<UserSummary>>;
        async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>>;
        async fn create_session(&self, session: &NewSession) -> StoreResult<()>;
        async fn delete_session(&self, token_sha: &TokenHash) -> StoreResult<()>;
        /// A user's live sessions, newest first.
        async fn sessions(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<SessionRow>>;
        /// Deletes the user with their sessions, API tokens and enrollment
        /// tokens; false when there is no such user.
        async fn delete_user(&self, id: Uuid) -> StoreResult<bool>;
        /// The user of a live session (not expired, user not disabled).
        async fn session_user(
            &self,
            token_sha: &TokenHash,
            now: DateTime<Utc>
        ) -> StoreResult<Option<UserPrincipal>>;
        async fn create_api_token(&self, token: &NewApiToken) -> StoreResult<()>;
        /// The user of a live API token, with the token's role (never above
        /// the user's own); stamps `last_used_at`.
        async fn api_token_user(
            &self,
            token_sha: &TokenHash,
            now: DateTime<Utc>
        ) -> StoreResult<Option<UserPrincipal>>;
        /// API tokens, newest first: one user's, or everyone's with `None`.
        async fn api_tokens(&self, user_id: Option<Uuid>) -> StoreResult<Vec<ApiTokenSummary>>;
        /// True when a token was revoked now (false: unknown or already
        /// revoked); every live token below it is revoked with it.
        async fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    }
}

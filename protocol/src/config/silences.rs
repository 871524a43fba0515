//! Silences (`POST /api/v1/alerts/silences`): for a while, the steps of
//! the alerts they match are kept in the history but sent nowhere.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AlertMatch;

/// The longest a silence may last.
pub const MAX_SILENCE_DAYS: i64 = 366;

/// A silence as an operator asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SilenceSpec {
    /// Which alerts (globs on rule, check, target, agent); at least one.
    #[serde(rename = "match")]
    pub matches: AlertMatch,
    /// From when (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    /// Until when: after the start, in the future, within a year of it.
    pub ends_at: DateTime<Utc>,
    /// Why: shown with it (1–1024 characters).
    pub comment: String,
}

/// A silence as the server shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SilenceView {
    /// Its id, for `DELETE /api/v1/alerts/silences/{id}`.
    pub id: Uuid,
    /// Which alerts.
    #[serde(rename = "match")]
    pub matches: AlertMatch,
    /// From when.
    pub starts_at: DateTime<Utc>,
    /// When it ends, or ended (an expired silence ends when expired).
    pub ends_at: DateTime<Utc>,
    /// Why.
    pub comment: String,
    /// Who made it.
    pub author: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

//! What a webhook receives: the [`Notification`] body, and the headers
//! that name, date and sign each delivery.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AlertState, Notice};

/// The header a webhook's signature travels in: `sha256=<hex>`, the
/// HMAC-SHA256 with the channel's secret of `<timestamp>.<body>`.
pub const SIGNATURE_HEADER: &str = "x-vantage-signature";
/// The header with the Unix time the signature covers (reject old ones).
pub const TIMESTAMP_HEADER: &str = "x-vantage-timestamp";
/// The header naming the delivery: the same on every retry of it.
pub const DELIVERY_HEADER: &str = "x-vantage-delivery";

/// What a webhook receives: one step of one alert, with what it tells
/// (or a group of them, in `group`).
/// Stable: fields may be added, none removed or renamed (`version`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    /// The body's format: 1.
    pub version: u32,
    /// The alert history step this tells of (`GET /api/v1/alerts/history`).
    pub event_id: i64,
    /// What it tells: `firing`, `resolved`, `no_data`, `error`,
    /// `flapping_started`, `flapping_stopped`.
    pub notices: Vec<Notice>,
    /// One line for people: what, where, the value against the limit.
    pub summary: String,
    /// The rule's name.
    pub rule: String,
    /// The agent that measured; none when a quorum's group tells, for
    /// `agents`.
    pub agent: Option<String>,
    /// The agent's id.
    pub agent_id: Option<Uuid>,
    /// The agents raised: the one agent, or a group's failing ones.
    pub agents: Vec<String>,
    /// The check's name.
    pub check: String,
    /// What it measures.
    pub target: String,
    /// The plugin that measured.
    pub plugin: String,
    /// The state before the step.
    pub from: AlertState,
    /// The state after it.
    pub state: AlertState,
    /// The run time of the result judged: since when the state holds.
    pub at: DateTime<Utc>,
    /// The value judged, when the rule has one.
    pub value: Option<f64>,
    /// The results that caused the step.
    pub causes: Vec<Uuid>,
    /// The check's page on the dashboard, when the server knows its URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the route groups alerts: every step this message tells of,
    /// oldest first, each a body of its own (without `group`). The fields
    /// above are the first step's; `summary` counts them and has one line
    /// per step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub group: Vec<Notification>,
}

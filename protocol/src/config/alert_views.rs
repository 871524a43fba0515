//! Alerts as the server shows them: each (rule, check target, agent)'s
//! state (`GET /api/v1/alerts`) and the steps of its history
//! (`GET /api/v1/alerts/history`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

// The server stores alerts' memories with states by their place in this
// list (`alerting::memory`, packed): add new ones at the end, never reorder.
/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The rule's condition holds no problem.
    Ok,
    /// Failing, but not yet often or long enough to fire.
    Pending,
    /// Raised: notified as firing.
    Firing,
    /// Firing, with good results that have not yet lasted.
    Recovering,
    /// No result for longer than the rule allows.
    NoData,
    /// The condition could not be evaluated (a metric the result lacks).
    Error,
}

impl AlertState {
    /// Whether the alert counts as raised (notified as firing, not resolved).
    pub fn is_active(self) -> bool {
        matches!(self, AlertState::Firing | AlertState::Recovering)
    }

    /// The state's name, as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Ok => "ok",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Recovering => "recovering",
            AlertState::NoData => "no_data",
            AlertState::Error => "error",
        }
    }

    /// The inverse of [`AlertState::as_str`].
    pub fn parse(text: &str) -> Option<AlertState> {
        [
            AlertState::Ok,
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Recovering,
            AlertState::NoData,
            AlertState::Error,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What is worth telling someone about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// The alert fired.
    Firing,
    /// A fired alert resolved (or an alert left `no_data` or `error`).
    Resolved,
    /// No result for longer than the rule allows.
    NoData,
    /// The rule could not judge the results.
    Error,
    /// Notifications are held from here on, until the alert settles.
    FlappingStarted,
    /// The alert settled; a notice of its state follows when it changed.
    FlappingStopped,
}

/// Which check target and agent an alert is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertSubject {
    /// The rule's name.
    pub rule: String,
    /// The agent that measured; none for a quorum's group (`min_agents`),
    /// which speaks for every agent of the check target.
    pub agent_id: Option<Uuid>,
    /// The agent's name; none for a group.
    pub agent: Option<String>,
    /// The check's name.
    pub check: String,
    /// What the check measures.
    pub target: String,
    /// The plugin that measured.
    pub plugin: String,
}

/// One alert that is not `ok`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertView {
    /// Which alert.
    #[serde(flatten)]
    pub subject: AlertSubject,
    /// Where it stands.
    pub state: AlertState,
    /// When the alert entered its state.
    pub since: DateTime<Utc>,
    /// The value the rule last judged (a threshold's aggregate, the
    /// certificate's seconds left, the path fingerprint), when it has one.
    pub value: Option<f64>,
    /// Changing state too often: notifications are held.
    pub flapping: bool,
    /// A group's raised agents, by name (empty for one agent's alert).
    pub agents: Vec<String>,
    /// When it was last evaluated.
    pub evaluated_at: DateTime<Utc>,
}

/// One step of an alert's history: a change of state, notices, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertEventView {
    /// Increasing: pass the smallest seen as `before` for the next page.
    pub id: i64,
    /// Which alert.
    #[serde(flatten)]
    pub subject: AlertSubject,
    /// The run time of the result judged (or, for `no_data`, when it was noticed).
    pub at: DateTime<Utc>,
    /// The state before.
    pub from: AlertState,
    /// The state after; equal to `from` when only notices changed.
    pub to: AlertState,
    /// The value judged at that step, when the rule has one.
    pub value: Option<f64>,
    /// A group's raised agents, by name (empty for one agent's alert).
    pub agents: Vec<String>,
    /// The results that caused the change: the bad ones in the window when
    /// it fails, the good streak when it recovers.
    pub causes: Vec<Uuid>,
    /// What this step tells (held while the alert flaps).
    pub notices: Vec<Notice>,
    /// The silence that kept it from the channels, when one did.
    pub silenced_by: Option<Uuid>,
    /// The maintenance window that kept it from the channels, when one did.
    pub window: Option<String>,
    /// Why a dependency kept it from the channels (a parent raised), when
    /// one did.
    pub suppressed_by: Option<String>,
    /// A reminder of a firing alert: told again to the channels that
    /// repeat this often (a route's `repeat_interval`, else the rule's).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "1h"))]
    pub repeat_every: Option<std::time::Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_from_their_names() {
        for text in ["ok", "pending", "firing", "recovering", "no_data", "error"] {
            let state = AlertState::parse(text).unwrap();
            assert_eq!(state.as_str(), text);
            assert_eq!(serde_json::to_value(state).unwrap(), text);
        }
        assert_eq!(AlertState::parse("Firing"), None);
    }
}

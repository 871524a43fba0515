//! What dependencies read (`depends_on`, `alerting::depends`): the alerts
//! of the agents a step speaks for, a parent's state at a given time out
//! of its history, and the steps held back until their parents are ok;
//! and agents' own alerts (`agent_offline`, `alerting::offline`), which
//! every other alert of their agent depends on.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, AlertState};

use super::dispatch::store_trait;
use super::types::StoreResult;
use crate::alerting::evaluate::EventRow;
use crate::alerting::machine::Notice;

/// An alert a dependency may wait on: an agent's alert of a check, a
/// quorum group's, or an agent's own (`agent_offline`: no check).
#[derive(Debug, Clone, PartialEq)]
pub struct ParentAlert {
    pub rule: String,
    /// The agent's check target row; none for a group or an agent's own.
    pub check_id: Option<i64>,
    /// An agent's own alert: the agent.
    pub agent_id: Option<Uuid>,
    pub check: String,
    pub target: String,
    /// The agent's name; none for a group.
    pub agent: Option<String>,
    pub state: AlertState,
    pub since: DateTime<Utc>,
    /// The run time of the newest result judged (an agent's own alert:
    /// when the agent was last heard from). An `ok` alert's row may lag
    /// its judging (`StateRow::steady`), so for one the newest stored run
    /// of its check counts: stored is judged, in the same transaction,
    /// and a run that had changed the alert would have written its row.
    pub evaluated_at: DateTime<Utc>,
    /// The spacing of its last two runs, when known.
    pub gap_ms: Option<i64>,
}

impl ParentAlert {
    /// Whether this is an agent's own alert (`agent_offline`).
    pub fn is_agent(&self) -> bool {
        self.agent_id.is_some()
    }
}

/// An agent's own alert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAlert {
    pub rule: String,
    pub agent_id: Uuid,
    pub state: AlertState,
    pub since: DateTime<Utc>,
}

/// A step of an agent's own alert, made only if it is still `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStep<'a> {
    pub rule: &'a str,
    pub agent_id: Uuid,
    pub agent: &'a str,
    /// `None`: no row yet (ok).
    pub from: Option<AlertState>,
    pub to: AlertState,
    pub at: DateTime<Utc>,
}

impl AgentStep<'_> {
    /// The history step, with the notice it tells.
    pub(crate) fn event(&self) -> EventRow {
        let from = self.from.unwrap_or(AlertState::Ok);
        let notices = match (from, self.to) {
            (f, t) if f == t => Vec::new(),
            (_, AlertState::Ok) => vec![Notice::Resolved],
            _ => vec![Notice::Firing],
        };
        EventRow {
            rule: self.rule.to_owned(),
            check_id: None,
            group: None,
            agent_id: Some(self.agent_id),
            agents: Vec::new(),
            notify: true,
            at: self.at,
            from,
            to: self.to,
            value: None,
            causes: Vec::new(),
            notices,
            repeat_every: None,
        }
    }
}

store_trait! {
    /// Reads for dependencies between alerts.
    pub trait DependStore {
        /// Every alert of these agents (by name), and every quorum group.
        async fn parent_alerts(&self, agents: &[String]) -> StoreResult<Vec<ParentAlert>>;
        /// The states the alert was in from `from` to `until`: the one it
        /// had at `from` (left out when it had no step by then, so was
        /// ok) and each it entered after, by `until`.
        async fn states_between(
            &self,
            parent: &ParentAlert,
            from: DateTime<Utc>,
            until: DateTime<Utc>
        ) -> StoreResult<Vec<AlertState>>;
        /// Steps held back by a dependency, oldest first.
        async fn held(&self, limit: u32) -> StoreResult<Vec<AlertEventView>>;
        /// Agents' own alerts of these rules.
        async fn agent_alerts(&self, rules: &[String]) -> StoreResult<Vec<AgentAlert>>;
        /// Moves an agent's own alert if it is still in `from` (replicas
        /// sweeping together move it once), with a step in the history
        /// and, when it fires or resolves, in the outbox. True when moved.
        async fn step_agent_alert(&self, step: &AgentStep<'_>) -> StoreResult<bool>;
    }
}

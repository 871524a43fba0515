//! What dependencies read (`depends_on`, `alerting::depends`): the alerts
//! of the agents a step speaks for, a parent's state at a given time out
//! of its history, and the steps held back until their parents are ok.

use chrono::{DateTime, Utc};
use vantage_protocol::config::{AlertEventView, AlertState};

use super::dispatch::store_trait;
use super::types::StoreResult;

/// An alert a dependency may wait on: one agent's, or a quorum group's.
#[derive(Debug, Clone, PartialEq)]
pub struct ParentAlert {
    pub rule: String,
    /// The agent's check target row; none for a group.
    pub check_id: Option<i64>,
    pub check: String,
    pub target: String,
    /// The agent's name; none for a group.
    pub agent: Option<String>,
    pub state: AlertState,
    pub since: DateTime<Utc>,
    /// The run time of the newest result judged.
    pub evaluated_at: DateTime<Utc>,
    /// The spacing of its last two runs, when known.
    pub gap_ms: Option<i64>,
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
    }
}

//! Reminders (`repeat_interval`): the firing alerts told nothing for a
//! while, and a reminder step appended to one — only if it is still
//! firing and still quiet, under its row's lock, so replicas sweeping
//! together remind once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::dispatch::store_trait;
use super::types::StoreResult;
use crate::alerting::evaluate::EventRow;
use crate::alerting::machine::Notice;
use crate::alerting::quorum::GroupKey;

/// Which alert a reminder is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quiet {
    /// One agent's alert of a check target.
    Check(i64),
    /// A quorum's group.
    Group(GroupKey),
    /// An agent's own (`agent_offline`).
    Agent(Uuid),
}

/// A firing alert told nothing since `quiet_since`.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub rule: String,
    pub alert: Quiet,
    /// A group's raised agents.
    pub agents: Vec<String>,
    pub value: Option<f64>,
}

impl Due {
    /// The reminder: a step from firing to firing that tells `firing`.
    pub(crate) fn event(&self, now: DateTime<Utc>) -> EventRow {
        let firing = vantage_protocol::config::AlertState::Firing;
        EventRow {
            rule: self.rule.clone(),
            check_id: match self.alert {
                Quiet::Check(id) => Some(id),
                _ => None,
            },
            group: match &self.alert {
                Quiet::Group(key) => Some(key.clone()),
                _ => None,
            },
            agent_id: match self.alert {
                Quiet::Agent(id) => Some(id),
                _ => None,
            },
            agents: self.agents.clone(),
            notify: true,
            at: now,
            from: firing,
            to: firing,
            value: self.value,
            causes: Vec::new(),
            notices: vec![Notice::Firing],
        }
    }
}

store_trait! {
    /// Reminders of firing alerts.
    pub trait RepeatStore {
        /// Firing alerts of these rules that told nothing since `since`:
        /// agents' alerts of `checks` rules, groups of `groups` rules,
        /// agents' own of `agents` rules.
        async fn quiet_firing(
            &self,
            checks: &[String],
            groups: &[String],
            agents: &[String],
            since: DateTime<Utc>
        ) -> StoreResult<Vec<Due>>;
        /// Appends the reminder if the alert still fires and still told
        /// nothing since `since`; true when it did.
        async fn remind(&self, due: &Due, since: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool>;
    }
}

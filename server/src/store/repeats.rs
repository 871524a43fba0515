//! Reminders (`repeat_interval`): the firing alerts told nothing for a
//! while, and a reminder step appended to one — only if it is still
//! firing and still quiet, under its row's lock, so replicas sweeping
//! together remind once. Each interval is reminded on its own: an alert
//! is quiet for an interval when no step told it anything since, other
//! than reminders for the channels of other intervals.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::AlertSubject;

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

/// A firing alert told nothing for `every`.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub rule: String,
    pub alert: Quiet,
    /// What it is about, to route it.
    pub subject: AlertSubject,
    /// A group's raised agents.
    pub agents: Vec<String>,
    pub value: Option<f64>,
    /// The interval it is quiet for.
    pub every: Duration,
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
            repeat_every: Some(self.every),
        }
    }
}

store_trait! {
    /// Reminders of firing alerts.
    pub trait RepeatStore {
        /// Firing alerts of these rules quiet for `every` (at `now`):
        /// agents' alerts of `checks` rules, groups of `groups` rules,
        /// agents' own of `agents` rules.
        async fn quiet_firing(
            &self,
            checks: &[String],
            groups: &[String],
            agents: &[String],
            every: Duration,
            now: DateTime<Utc>
        ) -> StoreResult<Vec<Due>>;
        /// Appends the reminder if the alert still fires and is still
        /// quiet for `due.every` at `now`; true when it did.
        async fn remind(&self, due: &Due, now: DateTime<Utc>) -> StoreResult<bool>;
    }
}

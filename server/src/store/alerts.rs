//! Alerting's storage: the rules an operator defines, each alert's state
//! (judged inside the ingest transaction, see [`judges`]) and its history.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, AlertState, AlertView, Notice, RuleSpec};

use super::dispatch::store_trait;
use super::ingest::StoreBatch;
use super::types::{StoreError, StoreResult};
use crate::alerting::evaluate::{self, AlertKey, Judge};

/// A rule as saved.
pub type RuleRow = super::windows::Saved<RuleSpec>;

/// What saving a rule did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSaved {
    pub revision: i64,
    /// No rule of that name existed.
    pub created: bool,
    /// When it last changed (this save's time, unless it changed nothing).
    pub updated_at: DateTime<Utc>,
}

/// What changes whenever a rule is saved or deleted: replicas compare it
/// to know when to read the rules again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulesVersion {
    pub count: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

/// An alert the `no_data` sweep looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub rule: String,
    pub check_id: i64,
    pub check: String,
    pub target: String,
    pub plugin: String,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub rule: Option<String>,
    pub state: Option<AlertState>,
}

/// Which history to list: newest first, ids below `before`, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub rule: Option<String>,
    pub before: Option<i64>,
    pub limit: u32,
}

store_trait! {
    /// Alert rules, states and history.
    pub trait AlertStore {
        /// Inserts or replaces a rule; the revision moves only when the spec changes.
        async fn put_rule(&self, spec: &RuleSpec, now: DateTime<Utc>) -> StoreResult<RuleSaved>;
        /// True when the rule existed. Its alerts go with it; their history stays.
        async fn delete_rule(&self, name: &str) -> StoreResult<bool>;
        /// Every rule, by name.
        async fn rules(&self) -> StoreResult<Vec<RuleRow>>;
        async fn rules_version(&self) -> StoreResult<RulesVersion>;
        /// Alerts that are not `ok`, of rules that exist, newest first.
        async fn alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<AlertView>>;
        async fn alert_history(&self, filter: &HistoryFilter) -> StoreResult<Vec<AlertEventView>>;
        /// The alerts of these rules that are not `no_data`, with their
        /// check targets: what the `no_data` sweep looks at.
        async fn watched(&self, rules: &[String]) -> StoreResult<Vec<Watched>>;
        /// Judges readings outside ingest (the sweep's absences), in one
        /// transaction, as ingest does.
        async fn judge(&self, judges: &[Judge<'_>]) -> StoreResult<()>;
    }
}

/// The readings of a batch's new results (`new_ids`, in any order), ready
/// to judge in its transaction.
pub(crate) fn judges<'a>(batch: &'a StoreBatch, new_ids: &[Uuid]) -> Vec<Judge<'a>> {
    if batch.alerts.is_empty() {
        return Vec::new();
    }
    let all = new_ids.len() == batch.results.len();
    let fresh: HashSet<Uuid> = if all {
        HashSet::new()
    } else {
        new_ids.iter().copied().collect()
    };
    batch
        .alerts
        .iter()
        .filter_map(|a| {
            let r = batch.results.get(a.result)?;
            let (check, target, plugin) = a.group();
            (all || fresh.contains(&r.id)).then_some(Judge {
                rule: &a.rule,
                check_id: r.check_id,
                result: r.id,
                at: r.started_at,
                reading: &a.reading,
                check,
                target,
                plugin,
            })
        })
        .collect()
}

/// The alerts a batch's readings judge, in key order (those of results
/// stored before too: which are new is known once they are inserted).
pub(crate) fn keys(batch: &StoreBatch) -> Vec<AlertKey<'_>> {
    evaluate::keys(batch.alerts.iter().filter_map(|a| {
        let r = batch.results.get(a.result)?;
        Some((a.rule.spec.name.as_str(), r.check_id))
    }))
}

/// The columns an alert's subject is read from, out of `checks c` and
/// `agents a` (a macro, for `concat!` into static SQL).
macro_rules! subject_columns {
    () => {
        "a.id AS agent_id, a.name AS agent, c.name AS check_name, c.target, c.plugin"
    };
}
pub(crate) use subject_columns;

/// The columns of a history step's subject and its agents, out of
/// `alert_events e LEFT JOIN checks c … LEFT JOIN agents a`: an agent's
/// step names its check row, a group's carries its own names.
macro_rules! event_columns {
    () => {
        "e.id, e.rule, e.at, e.from_state, e.to_state, e.value, e.causes, e.notices, e.agents,
         e.silenced_by, e.suppressed_by, e.in_window, e.repeat_every,
         a.id AS agent_id, a.name AS agent, coalesce(c.name, e.check_name, '') AS check_name,
         coalesce(c.target, e.target, '') AS target, coalesce(c.plugin, e.plugin, '') AS plugin
         FROM alert_events e LEFT JOIN checks c ON c.id = e.check_id
         LEFT JOIN agents a ON a.id = coalesce(c.agent_id, e.agent_id)"
    };
}
pub(crate) use event_columns;

/// A state as its column holds it.
pub(crate) fn state_from_str(text: &str) -> StoreResult<AlertState> {
    AlertState::parse(text).ok_or_else(|| StoreError::Corrupt(format!("alert state {text:?}")))
}

/// Notices as their column holds them: their names.
pub(crate) fn notice_names(notices: &[Notice]) -> Vec<String> {
    notices
        .iter()
        .filter_map(|n| serde_json::to_value(n).ok()?.as_str().map(str::to_owned))
        .collect()
}

pub(crate) fn notices_from_names(names: &[String]) -> StoreResult<Vec<Notice>> {
    names
        .iter()
        .map(|n| {
            serde_json::from_value(serde_json::Value::String(n.clone()))
                .map_err(|_| StoreError::Corrupt(format!("alert notice {n:?}")))
        })
        .collect()
}

//! Judging results on ingest. Before a batch is stored, each rule that
//! selects a result reads what it needs of it ([`read`]); inside the
//! batch's transaction, for the results that are new, the reading meets
//! the alert's stored [`Memory`] and the machine steps ([`run`]). A batch
//! sent twice is judged once, and the state survives restarts.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::Condition;
use vantage_protocol::result::{CheckResult, Status};
use vantage_protocol::rules::CHECK_UP;

use super::machine::{Notice, State};
pub use super::memory::{Memory, REFRESH_AFTER};
use super::quorum::GroupKey;
use super::rule::Rule;

/// The metric the traceroute plugin reports its path's fingerprint in.
pub const PATH_FINGERPRINT: &str = "path_fingerprint";
/// The metric the HTTP plugin reports a certificate's remaining life in.
pub const CERT_EXPIRY: &str = "cert_expiry";

/// What a rule reads of one result.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// How the run ended (`status` conditions).
    Status { ok: bool },
    /// A result arrived (`no_data` conditions).
    Present,
    /// Every value of the rule's metric in the run: each label set, each
    /// value of a distribution.
    Values(Vec<f64>),
    /// A run that ended `ok` lacks the rule's metric: the rule cannot judge it.
    Missing,
    /// No result came (`no_data` conditions, from the sweep): judged at
    /// the sweep's time against the last run and the runs' spacing.
    Absent,
}

/// What a rule reads of a result; `None` when there is nothing to judge
/// (the metric is missing from a failed run: a `status` rule speaks for it).
pub fn read(rule: &Rule, result: &CheckResult) -> Option<Reading> {
    let ok = result.status == Status::Ok;
    let metric = match &rule.spec.condition {
        Condition::Status {} => return Some(Reading::Status { ok }),
        Condition::NoData { .. } => return Some(Reading::Present),
        Condition::Threshold { metric, .. } if metric == CHECK_UP => {
            return Some(Reading::Values(vec![if ok { 1.0 } else { 0.0 }]));
        }
        Condition::Threshold { metric, .. } => metric.as_str(),
        Condition::PathChange {} => PATH_FINGERPRINT,
        Condition::CertExpiry { .. } => CERT_EXPIRY,
        // Judged from the agent's silence (`alerting::offline`).
        Condition::AgentOffline {} => return None,
    };
    let mut values: Vec<f64> = result
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .map(|s| s.value)
        .collect();
    values.extend(result.distributions_of(metric).flat_map(|d| &d.values));
    match (values.is_empty(), ok) {
        (false, _) => Some(Reading::Values(values)),
        (true, true) => Some(Reading::Missing),
        (true, false) => None,
    }
}

/// One rule's reading of one result of a batch, before it is stored.
#[derive(Debug, Clone)]
pub struct AlertInput {
    /// The result's index in the batch.
    pub result: usize,
    pub rule: Arc<Rule>,
    pub reading: Reading,
    /// The result's check, target and plugin, which name a quorum's group:
    /// only for rules with `min_agents` (the others' inputs copy nothing).
    pub group: Option<Box<GroupOf>>,
}

/// Where a result ran, as a quorum's group names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOf {
    pub check: String,
    pub target: String,
    pub plugin: String,
}

impl AlertInput {
    /// The check, target and plugin of the group, or empty.
    pub fn group(&self) -> (&str, &str, &str) {
        self.group.as_deref().map_or(("", "", ""), |g| {
            (g.check.as_str(), g.target.as_str(), g.plugin.as_str())
        })
    }
}

/// One reading to judge, with where it lands.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    pub rule: &'a Rule,
    pub check_id: i64,
    pub result: Uuid,
    pub at: DateTime<Utc>,
    pub reading: &'a Reading,
    /// The result's check, target and plugin: empty unless the rule has
    /// `min_agents` (see [`AlertInput::group`]).
    pub check: &'a str,
    pub target: &'a str,
    pub plugin: &'a str,
}

/// An alert: its rule's name and its check target.
pub type AlertKey<'a> = (&'a str, i64);

impl<'a> Judge<'a> {
    /// The alert the reading lands in.
    pub fn key(&self) -> AlertKey<'a> {
        (self.rule.spec.name.as_str(), self.check_id)
    }
}

/// An alert's state to store.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRow<'a> {
    pub rule: &'a str,
    pub check_id: i64,
    pub memory: Memory,
    /// Its row may stay as stored: the alert stays `ok`, told nothing, and
    /// only what [`Memory::steady_since`] allows moved. Most results of a
    /// healthy fleet judge such alerts, and not writing their rows keeps
    /// alerting from doubling ingest's writes. What stays unwritten for up
    /// to [`REFRESH_AFTER`]: the last run (a run older than the newest but
    /// newer than the stored one is judged again, as it would have been
    /// had it come in order), the value and spacing (shown for raised
    /// alerts only), and `evaluated_at` (dependencies read how far an `ok`
    /// parent was judged from its check's newest stored run instead). Never
    /// for `no_data` rules, whose silence is read from the last run.
    pub steady: bool,
    /// When steady, the memory as stored (the row as it stays).
    pub stored: Option<Memory>,
}

/// One step of an alert's history to store.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub rule: String,
    /// The agent's alert; `None` for a quorum's group.
    pub check_id: Option<i64>,
    /// The quorum's group, for its steps.
    pub group: Option<GroupKey>,
    /// An agent's own alert (`agent_offline`): no check, this agent.
    pub agent_id: Option<Uuid>,
    /// A group's raised agents, by name.
    pub agents: Vec<String>,
    /// Whether the step goes to the outbox: not an agent's own step under
    /// a quorum (its group tells).
    pub notify: bool,
    pub at: DateTime<Utc>,
    pub from: State,
    pub to: State,
    pub value: Option<f64>,
    pub causes: Vec<Uuid>,
    pub notices: Vec<Notice>,
    /// A reminder: for the channels told again this often.
    pub repeat_every: Option<std::time::Duration>,
}

impl EventRow {
    /// Whether the step goes to the outbox: it tells something, and not
    /// through a quorum's group.
    pub fn tells(&self) -> bool {
        self.notify && !self.notices.is_empty()
    }
}

/// These alerts once each, in key order.
pub fn keys<'a>(alerts: impl IntoIterator<Item = AlertKey<'a>>) -> Vec<AlertKey<'a>> {
    let mut keys: Vec<AlertKey<'a>> = alerts.into_iter().collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Judges the readings in the order of their runs against the memories
/// stored for their alerts (absent: a new alert, `ok`). Returns the states
/// to store, in key order, and the history to append.
pub fn run<'a>(
    mut judges: Vec<Judge<'a>>,
    mut stored: HashMap<AlertKey<'a>, Memory>,
) -> (Vec<StateRow<'a>>, Vec<EventRow>) {
    judges.sort_by_key(|j| j.at);
    let mut events = Vec::new();
    let mut touched = Vec::with_capacity(judges.len());
    // Each alert's memory as stored, when it may stay so (see `steady`).
    let mut before: HashMap<AlertKey<'a>, Option<Memory>> = HashMap::with_capacity(judges.len());
    for j in judges {
        let key = j.key();
        before.entry(key).or_insert_with(|| {
            let keeps = !matches!(j.rule.spec.condition, Condition::NoData { .. });
            stored.get(&key).filter(|_| keeps).cloned()
        });
        let memory = stored.entry(key).or_insert_with(|| Memory::new(j.at));
        if j.at <= memory.last_at {
            continue;
        }
        if *j.reading == Reading::Absent {
            if !memory.silent_since(&j.rule.spec.condition, j.at) {
                continue;
            }
        } else if memory.last_at > DateTime::<Utc>::MIN_UTC {
            memory.gap_ms = Some((j.at - memory.last_at).num_milliseconds());
        }
        let (verdict, value) = memory.verdict(&j.rule.spec.condition, j.reading, j.at);
        let from = memory.machine.state();
        let step = memory
            .machine
            .observe(&j.rule.policy, verdict, j.at, j.result);
        if *j.reading != Reading::Absent {
            memory.last_at = j.at;
            memory.value = value;
        }
        if step.transition.is_some() || !step.notices.is_empty() {
            // A step is stored with the state it leads to.
            before.insert(key, None);
            let (to, causes) = step
                .transition
                .map_or((from, Vec::new()), |t| (t.to, t.causes));
            events.push(EventRow {
                rule: key.0.to_owned(),
                check_id: Some(key.1),
                group: None,
                agent_id: None,
                agents: Vec::new(),
                notify: j.rule.spec.min_agents.is_none(),
                at: j.at,
                from,
                to,
                value,
                causes,
                notices: step.notices,
                repeat_every: None,
            });
        }
        touched.push(key);
    }
    touched.sort_unstable();
    touched.dedup();
    let states = touched
        .into_iter()
        .filter_map(|key| {
            let memory = stored.remove(&key)?;
            let kept = before
                .remove(&key)
                .flatten()
                .filter(|b| memory.steady_since(b));
            Some(StateRow {
                rule: key.0,
                check_id: key.1,
                memory,
                steady: kept.is_some(),
                stored: kept,
            })
        })
        .collect();
    (states, events)
}

#[cfg(test)]
mod tests;

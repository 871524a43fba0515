//! Judging results on ingest. Before a batch is stored, each rule that
//! selects a result reads what it needs of it ([`read`]); inside the
//! batch's transaction, for the results that are new, the reading meets
//! the alert's stored [`Memory`] and the machine steps ([`run`]). A batch
//! sent twice is judged once, and the state survives restarts.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vantage_protocol::config::{Aggregate, Comparison, Condition};
use vantage_protocol::result::{CheckResult, Status};
use vantage_protocol::rules::CHECK_UP;

use super::machine::{Machine, Notice, State, Verdict};
use super::quorum::GroupKey;
use super::rule::Rule;

/// The most values an aggregate's window keeps; the oldest runs go first.
pub const MAX_WINDOW_VALUES: usize = 10_000;
/// The metric the traceroute plugin reports its path's fingerprint in.
pub const PATH_FINGERPRINT: &str = "path_fingerprint";
/// The metric the HTTP plugin reports a certificate's remaining life in.
pub const CERT_EXPIRY: &str = "cert_expiry";
/// How long the row of an alert that stays `ok` may go unwritten while
/// only its last run, value and spacing move (see [`StateRow::steady`]).
pub const REFRESH_AFTER: chrono::Duration = chrono::Duration::seconds(30);

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

/// What an alert keeps between evaluations, stored as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub machine: Machine,
    /// The runs an aggregate's window still covers, oldest first.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    window: VecDeque<(DateTime<Utc>, Vec<f64>)>,
    /// The path fingerprint last seen (`path_change`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<f64>,
    /// The newest run judged: an older one arriving late is not judged.
    pub last_at: DateTime<Utc>,
    /// The value last judged, when the condition has one.
    pub value: Option<f64>,
    /// The spacing of the last two runs judged, in milliseconds: the
    /// check's interval as `no_data` counts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_ms: Option<i64>,
}

impl Memory {
    fn new(at: DateTime<Utc>) -> Memory {
        Memory {
            machine: Machine::new(at),
            window: VecDeque::new(),
            path: None,
            last_at: DateTime::<Utc>::MIN_UTC,
            value: None,
            gap_ms: None,
        }
    }

    /// The verdict on one reading, and the value it judged.
    fn verdict(
        &mut self,
        condition: &Condition,
        reading: &Reading,
        at: DateTime<Utc>,
    ) -> (Verdict, Option<f64>) {
        let values = match reading {
            Reading::Status { ok } => {
                return (if *ok { Verdict::Good } else { Verdict::Bad }, None);
            }
            Reading::Present => return (Verdict::Good, None),
            Reading::Missing => return (Verdict::Error, None),
            Reading::Absent => return (Verdict::NoData, None),
            Reading::Values(values) => values,
        };
        let bad = |broken: bool| if broken { Verdict::Bad } else { Verdict::Good };
        match condition {
            Condition::Threshold {
                op,
                value: limit,
                aggregate,
                window,
                ..
            } => {
                let value = match (aggregate, window) {
                    (Aggregate::Last, _) | (_, None) => worst(*op, values),
                    (aggregate, Some(window)) => {
                        let window = chrono::Duration::from_std(*window).unwrap_or_default();
                        self.remember(at, window, values);
                        let all: Vec<f64> =
                            self.window.iter().flat_map(|(_, v)| v).copied().collect();
                        aggregated(*aggregate, &all)
                    }
                };
                (bad(op.breaks(value, *limit)), Some(value))
            }
            Condition::PathChange {} => {
                let now = values[0];
                let changed = self.path.is_some_and(|before| before != now);
                self.path = Some(now);
                (bad(changed), Some(now))
            }
            Condition::CertExpiry { days } => {
                let left = values.iter().copied().fold(f64::INFINITY, f64::min);
                (bad(left < f64::from(*days) * 86_400.0), Some(left))
            }
            Condition::Status {} | Condition::NoData { .. } | Condition::AgentOffline {} => {
                (Verdict::Good, None)
            }
        }
    }

    /// Whether this memory, just judged, may stay unwritten in place of
    /// `before`: the alert was and is `ok`, and only its last run (by less
    /// than [`REFRESH_AFTER`]), value and spacing, and the results of good
    /// verdicts moved.
    fn steady_since(&self, before: &Memory) -> bool {
        self.machine.state() == State::Ok
            && self.last_at - before.last_at < REFRESH_AFTER
            && self.machine.same_but_good_results(&before.machine)
            && self.window == before.window
            && self.path == before.path
    }

    /// Whether a `no_data` alert has heard nothing for its `intervals`
    /// times the runs' spacing by `now`, and is not yet `no_data`. Never
    /// before two runs gave a spacing.
    pub fn silent_since(&self, condition: &Condition, now: DateTime<Utc>) -> bool {
        let Condition::NoData { intervals } = condition else {
            return false;
        };
        let Some(gap) = self.gap_ms.filter(|g| *g > 0) else {
            return false;
        };
        let wait =
            chrono::Duration::milliseconds(gap.max(1000).saturating_mul(i64::from(*intervals)));
        self.machine.state() != State::NoData && now - self.last_at >= wait
    }

    /// Adds a run to the window and forgets what it no longer covers.
    fn remember(&mut self, at: DateTime<Utc>, window: chrono::Duration, values: &[f64]) {
        self.window.push_back((at, values.to_vec()));
        while self.window.front().is_some_and(|(t, _)| *t <= at - window) {
            self.window.pop_front();
        }
        let mut kept: usize = self.window.iter().map(|(_, v)| v.len()).sum();
        while kept > MAX_WINDOW_VALUES && self.window.len() > 1 {
            kept -= self.window.pop_front().map_or(0, |(_, v)| v.len());
        }
    }
}

/// The value of a run that breaks the limit most: the largest against
/// `>`/`>=`, the smallest against `<`/`<=`.
fn worst(op: Comparison, values: &[f64]) -> f64 {
    match op {
        Comparison::Above | Comparison::AtLeast => values.iter().copied().fold(f64::MIN, f64::max),
        Comparison::Below | Comparison::AtMost => values.iter().copied().fold(f64::MAX, f64::min),
    }
}

/// An aggregate of values (never empty); percentiles by nearest rank.
fn aggregated(aggregate: Aggregate, values: &[f64]) -> f64 {
    match aggregate {
        Aggregate::Last | Aggregate::Max => values.iter().copied().fold(f64::MIN, f64::max),
        Aggregate::Min => values.iter().copied().fold(f64::MAX, f64::min),
        Aggregate::Avg => values.iter().sum::<f64>() / values.len() as f64,
        Aggregate::Percentile(p) => {
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            let rank = (f64::from(p) / 100.0 * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1]
        }
    }
}

/// One rule's reading of one result of a batch, before it is stored.
#[derive(Debug, Clone)]
pub struct AlertInput {
    /// The result's index in the batch.
    pub result: usize,
    pub rule: Arc<Rule>,
    pub reading: Reading,
    /// The result's check, target and plugin (a quorum's group).
    pub check: String,
    pub target: String,
    pub plugin: String,
}

/// One reading to judge, with where it lands.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    pub rule: &'a Rule,
    pub check_id: i64,
    pub result: Uuid,
    pub at: DateTime<Utc>,
    pub reading: &'a Reading,
    pub check: &'a str,
    pub target: &'a str,
    pub plugin: &'a str,
}

/// An alert's state to store.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRow {
    pub rule: String,
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

/// The alerts a set of readings touches: (rule, check target).
pub fn keys(judges: &[Judge<'_>]) -> Vec<(String, i64)> {
    let mut keys: Vec<(String, i64)> = judges
        .iter()
        .map(|j| (j.rule.spec.name.clone(), j.check_id))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Judges the readings in the order of their runs against the memories
/// stored for their alerts (absent: a new alert, `ok`). Returns the states
/// to store and the history to append.
pub fn run(
    mut judges: Vec<Judge<'_>>,
    mut stored: HashMap<(String, i64), Memory>,
) -> (Vec<StateRow>, Vec<EventRow>) {
    judges.sort_by_key(|j| j.at);
    let mut events = Vec::new();
    let mut touched = HashSet::new();
    // Each alert's memory as stored, when it may stay so (see `steady`).
    let mut before: HashMap<(String, i64), Option<Memory>> = HashMap::new();
    for j in judges {
        let key = (j.rule.spec.name.clone(), j.check_id);
        before.entry(key.clone()).or_insert_with(|| {
            let keeps = !matches!(j.rule.spec.condition, Condition::NoData { .. });
            stored.get(&key).filter(|_| keeps).cloned()
        });
        let memory = stored
            .entry(key.clone())
            .or_insert_with(|| Memory::new(j.at));
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
            before.insert(key.clone(), None);
            let (to, causes) = step
                .transition
                .map_or((from, Vec::new()), |t| (t.to, t.causes));
            events.push(EventRow {
                rule: key.0.clone(),
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
        touched.insert(key);
    }
    let mut touched: Vec<_> = touched.into_iter().collect();
    touched.sort();
    let states = touched
        .into_iter()
        .filter_map(|key| {
            let memory = stored.remove(&key)?;
            let steady = before
                .get(&key)
                .and_then(Option::as_ref)
                .is_some_and(|b| memory.steady_since(b));
            Some(StateRow {
                rule: key.0,
                check_id: key.1,
                memory,
                steady,
            })
        })
        .collect();
    (states, events)
}

#[cfg(test)]
mod tests;

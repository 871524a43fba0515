//! One alert's state machine: for one (rule, check target, agent), what
//! the rule's condition said of each evaluation becomes a state, the
//! transitions worth keeping (with the result ids that caused them) and the
//! notices worth sending.
//!
//! ```text
//!   ok ──bad──▶ pending ──threshold met, held `for`──▶ firing
//!    ▲            │ (episode over)                      │ good
//!    └────────────┘                                     ▼
//!    ◀──── success_threshold goods, `keep_firing_for` ── recovering ──bad──▶ firing
//! ```
//!
//! `no_data` and `error` are entered from any state (no result for too long,
//! a condition that could not be evaluated) and left by the next good or
//! bad verdict, as from `ok`. Evaluation is incremental: the machine keeps
//! the last `m` verdicts, never re-reads history, and is stored as it is.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::memory::moment;

/// Evaluations the flapping detector looks back on.
pub const FLAP_WINDOW: usize = 20;
/// More state changes than this in the window start flapping…
const FLAP_START: usize = FLAP_WINDOW / 2;
/// …and fewer than this end it.
const FLAP_STOP: usize = FLAP_WINDOW / 4;
/// Verdicts a `k_of_m` trigger may look back on.
pub const MAX_WINDOW: u32 = 100;

pub use vantage_protocol::config::{AlertState as State, Notice};

/// What a rule's condition said of one result, or of its absence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Good,
    Bad,
    NoData,
    Error,
}

/// When an alert fires and resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Fire when `k` of the last `m` verdicts are bad (`failure_threshold
    /// = n` is `n` of `n`).
    pub k: u32,
    pub m: u32,
    /// The bad episode must have lasted this long (`for`).
    pub hold: Duration,
    /// Good verdicts in a row that resolve a firing alert.
    pub success_threshold: u32,
    /// A firing alert stays raised this long after its first good verdict.
    pub keep_firing_for: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            k: 1,
            m: 1,
            hold: Duration::zero(),
            success_threshold: 1,
            keep_firing_for: Duration::zero(),
        }
    }
}

impl Policy {
    /// Every rule the settings break, as `(field, reason)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.k == 0 {
            problems.push(("k_of_m", "k must be at least 1".to_owned()));
        }
        if self.m < self.k {
            problems.push((
                "k_of_m",
                format!("m ({}) must be at least k ({})", self.m, self.k),
            ));
        }
        if self.m > MAX_WINDOW {
            problems.push(("k_of_m", format!("m must be at most {MAX_WINDOW}")));
        }
        if self.success_threshold == 0 || self.success_threshold > MAX_WINDOW {
            problems.push((
                "success_threshold",
                format!("must be between 1 and {MAX_WINDOW}"),
            ));
        }
        if self.hold < Duration::zero() {
            problems.push(("for", "must not be negative".to_owned()));
        }
        if self.keep_firing_for < Duration::zero() {
            problems.push(("keep_firing_for", "must not be negative".to_owned()));
        }
        problems
    }
}

/// A change of state, to be stored in the alert's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub at: DateTime<Utc>,
    /// The results that made it: the bad ones in the window when it fails,
    /// the good streak when it recovers; none for `no_data`.
    pub causes: Vec<Uuid>,
}

/// What one evaluation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    pub transition: Option<Transition>,
    pub notices: Vec<Notice>,
}

/// One alert's state, as stored between evaluations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    state: State,
    #[serde(with = "moment")]
    since: DateTime<Utc>,
    /// The last `m` verdicts (true = bad) with their results, oldest first.
    window: VecDeque<(bool, Uuid)>,
    /// The first bad verdict of the current episode.
    #[serde(with = "moment::option")]
    bad_since: Option<DateTime<Utc>>,
    /// Good verdicts in a row since the alert last fired, and the first's time.
    good_streak: Vec<Uuid>,
    #[serde(with = "moment::option")]
    good_since: Option<DateTime<Utc>>,
    /// Whether each of the last evaluations changed the state.
    changes: VecDeque<bool>,
    flapping: bool,
    /// The last state a notice told (`no_data`/`error` as themselves).
    told: State,
}

impl Machine {
    pub fn new(at: DateTime<Utc>) -> Machine {
        Machine {
            state: State::Ok,
            since: at,
            window: VecDeque::new(),
            bad_since: None,
            good_streak: Vec::new(),
            good_since: None,
            changes: VecDeque::new(),
            flapping: false,
            told: State::Ok,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// When the current state began.
    pub fn since(&self) -> DateTime<Utc> {
        self.since
    }

    pub fn is_flapping(&self) -> bool {
        self.flapping
    }

    /// Whether `self` differs from `before` at most in the results of its
    /// good verdicts, which are never a cause while the alert stays `ok`
    /// (a transition's causes are bad verdicts, or the good ones after the
    /// last bad), and in how many runs without a change it counted.
    pub fn same_but_good_results(&self, before: &Machine) -> bool {
        fn verdicts(m: &Machine) -> impl Iterator<Item = (bool, Uuid)> + '_ {
            m.window
                .iter()
                .map(|(bad, id)| (*bad, if *bad { *id } else { Uuid::nil() }))
        }
        self.state == before.state
            && self.since == before.since
            && self.bad_since == before.bad_since
            && self.good_streak == before.good_streak
            && self.good_since == before.good_since
            // No change in either: however many runs counted, the same
            // flapping to come (only changes count, and pushing a run
            // keeps every change it would have kept).
            && (self.changes == before.changes
                || !self.changes.iter().chain(&before.changes).any(|c| *c))
            && self.flapping == before.flapping
            && self.told == before.told
            && verdicts(self).eq(verdicts(before))
    }

    /// One evaluation: `result` is the result judged (nil for no data).
    pub fn observe(
        &mut self,
        policy: &Policy,
        verdict: Verdict,
        at: DateTime<Utc>,
        result: Uuid,
    ) -> Step {
        let from = self.state;
        let to = self.next(policy, verdict, at, result);
        let mut step = Step::default();
        if to != from {
            step.transition = Some(Transition {
                from,
                to,
                at,
                causes: self.causes(to),
            });
            self.state = to;
            self.since = at;
        }
        self.flap(to != from, &mut step.notices);
        if !self.flapping {
            self.tell(&mut step.notices);
        }
        step
    }

    /// The state after `verdict`, with the window and streaks updated.
    fn next(
        &mut self,
        policy: &Policy,
        verdict: Verdict,
        at: DateTime<Utc>,
        result: Uuid,
    ) -> State {
        let bad = match verdict {
            Verdict::NoData | Verdict::Error => {
                self.bad_since = None;
                self.good_streak.clear();
                self.good_since = None;
                return if verdict == Verdict::NoData {
                    State::NoData
                } else {
                    State::Error
                };
            }
            Verdict::Bad => true,
            Verdict::Good => false,
        };
        self.window.push_back((bad, result));
        while self.window.len() > policy.m.max(1) as usize {
            self.window.pop_front();
        }
        let fires = |m: &Machine, at: DateTime<Utc>| {
            m.bads_in_last(policy.m as usize) >= policy.k as usize
                && m.bad_since.is_some_and(|t| at - t >= policy.hold)
        };
        match (self.state, bad) {
            (State::Firing | State::Recovering, true) => {
                self.good_streak.clear();
                self.good_since = None;
                State::Firing
            }
            (State::Firing | State::Recovering, false) => {
                self.good_streak.push(result);
                let since = *self.good_since.get_or_insert(at);
                if self.good_streak.len() >= policy.success_threshold as usize
                    && at - since >= policy.keep_firing_for
                {
                    self.good_streak.clear();
                    self.good_since = None;
                    self.bad_since = None;
                    State::Ok
                } else {
                    State::Recovering
                }
            }
            (_, true) => {
                self.bad_since.get_or_insert(at);
                if fires(self, at) {
                    self.good_streak.clear();
                    State::Firing
                } else {
                    State::Pending
                }
            }
            (State::Pending, false) if self.episode_alive(policy) => State::Pending,
            (_, false) => {
                self.bad_since = None;
                State::Ok
            }
        }
    }

    fn bads_in_last(&self, n: usize) -> usize {
        self.window
            .iter()
            .rev()
            .take(n)
            .filter(|(bad, _)| *bad)
            .count()
    }

    /// Whether bad verdicts still in the window can join future ones to
    /// meet the trigger before the window forgets them all: some `j < k`
    /// more bad verdicts reach `k` with what stays of this window.
    fn episode_alive(&self, policy: &Policy) -> bool {
        let (k, m) = (policy.k as usize, policy.m as usize);
        (1..k).any(|j| self.bads_in_last(m - j) + j >= k)
    }

    fn causes(&self, to: State) -> Vec<Uuid> {
        match to {
            State::Pending | State::Firing => self
                .window
                .iter()
                .filter(|(bad, _)| *bad)
                .map(|(_, id)| *id)
                .collect(),
            State::Recovering => self.good_streak.clone(),
            State::Ok => self
                .window
                .iter()
                .rev()
                .take_while(|(bad, _)| !*bad)
                .map(|(_, id)| *id)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect(),
            State::NoData | State::Error => Vec::new(),
        }
    }

    /// Counts the change; starts or ends flapping.
    fn flap(&mut self, changed: bool, notices: &mut Vec<Notice>) {
        self.changes.push_back(changed);
        while self.changes.len() > FLAP_WINDOW {
            self.changes.pop_front();
        }
        let n = self.changes.iter().filter(|c| **c).count();
        if !self.flapping && n > FLAP_START {
            self.flapping = true;
            notices.push(Notice::FlappingStarted);
        } else if self.flapping && n < FLAP_STOP {
            self.flapping = false;
            notices.push(Notice::FlappingStopped);
        }
    }

    /// A notice when what was last told no longer holds.
    fn tell(&mut self, notices: &mut Vec<Notice>) {
        let now = self.state;
        let told = self.told;
        let notice = match now {
            State::Firing | State::Recovering if !told.is_active() => Some(Notice::Firing),
            State::NoData if told != State::NoData => Some(Notice::NoData),
            State::Error if told != State::Error => Some(Notice::Error),
            State::Ok if told != State::Ok => Some(Notice::Resolved),
            _ => None,
        };
        if let Some(notice) = notice {
            notices.push(notice);
            self.told = if now.is_active() { State::Firing } else { now };
        }
    }
}

#[cfg(test)]
mod tests;

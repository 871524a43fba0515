//! Dependencies: a step of a rule whose parent check (`depends_on`, the
//! rule's or the check's) had a
//! raised alert (any rule's) on the same agent, or a raised quorum group,
//! or whose agent was offline (an `agent_offline` rule's alert: every
//! check alert of an agent depends on it), at the step's time is suppressed — kept in the history with the reason,
//! sent nowhere — and held: should its alert still be raised once the
//! parents are ok, it is sent then. A quorum group's step is suppressed
//! only when every agent it names is explained by a parent.
//!
//! A parent explains a step when it was raised (or `pending`, or
//! `no_data`) at the step's time, or became so within its patience after
//! (twice its spacing of runs): parent and child fail together but run at
//! their own times. This is read from the parent's history, so a backlog
//! an agent sends after an outage is judged as it happened. A step whose
//! parent has not yet been judged up to its time waits in the outbox, for
//! at most the parent's patience.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use vantage_protocol::config::{AlertEventView, AlertState};

use super::matcher::Pattern;
use super::rule::Rule;
use crate::store::{
    CheckStore as _, CheckTarget, DependStore as _, ParentAlert, Store, StoreResult, Suppression,
};

/// The shortest and longest wait for a parent to catch up.
const MIN_PATIENCE: chrono::Duration = chrono::Duration::seconds(5);
const MAX_PATIENCE: chrono::Duration = chrono::Duration::minutes(10);
/// The wait when the parent's spacing of runs is not known yet.
const PATIENCE: chrono::Duration = chrono::Duration::minutes(1);

/// What a dependency makes of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No parent explains it: route it.
    Free,
    /// A parent has not been judged up to the step's time: look again.
    Wait,
    /// Raised parents explain it.
    Suppressed(Suppression),
}

/// The states in which a parent suppresses its children: anything raised
/// or in doubt (`pending` may yet fire, `no_data` knows nothing).
pub fn suppresses(state: AlertState) -> bool {
    matches!(
        state,
        AlertState::Pending | AlertState::Firing | AlertState::Recovering | AlertState::NoData
    )
}

/// Where a step's parents are named: its rule's `depends_on`, and its
/// check's own (`CheckSpec::depends_on`).
#[derive(Debug, Clone, Copy)]
pub struct Parentage<'a> {
    pub rule: &'a Rule,
    pub check: &'a [Pattern],
}

impl Parentage<'_> {
    /// Whether any parent is named.
    pub fn any(&self) -> bool {
        self.rule.has_parents() || !self.check.is_empty()
    }

    fn is_parent(&self, check: &str) -> bool {
        self.rule.is_parent(check) || self.check.iter().any(|g| g.is_match(check))
    }
}

/// Each defined check's parents, compiled (a glob that no longer compiles
/// is skipped: saving checks them).
#[derive(Debug, Default)]
pub struct CheckParents(HashMap<String, Vec<Pattern>>);

impl CheckParents {
    pub async fn load(store: &Store) -> StoreResult<CheckParents> {
        let mut by = HashMap::new();
        for row in store.checks().await? {
            let globs: Vec<Pattern> = row
                .spec
                .depends_on
                .iter()
                .filter_map(|g| Pattern::parse(g).ok())
                .collect();
            if !globs.is_empty() {
                by.insert(row.spec.name, globs);
            }
        }
        Ok(CheckParents(by))
    }

    /// A check's parents (none for a check not defined on the server).
    pub fn of(&self, check: &str) -> &[Pattern] {
        self.0.get(check).map_or(&[], Vec::as_slice)
    }

    /// The parents a step of `rule` has: the rule's and its check's.
    pub fn named<'a>(&'a self, rule: &'a Rule, step: &AlertEventView) -> Parentage<'a> {
        Parentage {
            rule,
            check: self.of(&step.subject.check),
        }
    }
}

/// The alerts that may be parents of some steps: those of the agents the
/// steps name, and every quorum group.
#[derive(Debug, Default)]
pub struct Family {
    alerts: Vec<ParentAlert>,
    /// How long an agent's silence takes to be judged offline.
    offline_after: chrono::Duration,
}

impl Family {
    /// Loads them; an agent's own alert waits for `offline_after` (the
    /// time its silence takes to be judged).
    pub async fn load<'a>(
        store: &Store,
        steps: impl IntoIterator<Item = &'a AlertEventView>,
        offline_after: std::time::Duration,
    ) -> StoreResult<Family> {
        let agents: BTreeSet<String> = steps
            .into_iter()
            .flat_map(agents)
            .map(str::to_owned)
            .collect();
        let offline_after = chrono::Duration::from_std(offline_after).unwrap_or(MAX_PATIENCE);
        if agents.is_empty() {
            return Ok(Family {
                alerts: Vec::new(),
                offline_after,
            });
        }
        let agents: Vec<String> = agents.into_iter().collect();
        Ok(Family {
            alerts: store.parent_alerts(&agents).await?,
            offline_after,
        })
    }

    /// How long a step waits for this parent to be judged up to its time:
    /// an agent's own alert, `offline_after` and a sweep or two; another,
    /// twice its spacing of runs; within bounds.
    fn patience(&self, p: &ParentAlert) -> chrono::Duration {
        if p.is_agent() {
            (self.offline_after + SWEEPS).clamp(MIN_PATIENCE, MAX_PATIENCE)
        } else {
            patience(p)
        }
    }

    /// Whether some agent has its own alert: every rule's steps then
    /// depend on it.
    pub fn watches_agents(&self) -> bool {
        self.alerts.iter().any(ParentAlert::is_agent)
    }

    /// The alerts that are parents of `rule`'s step on `agent`: the
    /// agent's own (`agent_offline`), unless the step is one; and, of a
    /// parent check, the agent's alerts or a group's, but not the step's
    /// own check target (a rule over `ping-*` depending on `ping-gw` does
    /// not suppress `ping-gw`'s alert by itself).
    fn parents<'a>(
        &'a self,
        named: Parentage<'a>,
        step: &'a AlertEventView,
        agent: &'a str,
    ) -> impl Iterator<Item = &'a ParentAlert> {
        let own = step.subject.check.is_empty();
        self.alerts.iter().filter(move |p| {
            if p.is_agent() {
                return !own && p.agent.as_deref() == Some(agent);
            }
            p.agent.as_deref().is_none_or(|a| a == agent)
                && named.is_parent(&p.check)
                && !(p.check == step.subject.check && p.target == step.subject.target)
        })
    }
}

/// How long after `offline_after` an agent's silence may take to be judged
/// (the notifier sweeps every 2 s): added to its patience.
const SWEEPS: chrono::Duration = chrono::Duration::seconds(5);

/// The agents a step speaks for: its own, or a group's raised ones.
fn agents(step: &AlertEventView) -> Vec<&str> {
    match &step.subject.agent {
        Some(agent) => vec![agent.as_str()],
        None => step.agents.iter().map(String::as_str).collect(),
    }
}

/// Judges a step at `now`, against the parents `named`.
pub async fn judge(
    store: &Store,
    family: &Family,
    named: Parentage<'_>,
    step: &AlertEventView,
    now: DateTime<Utc>,
) -> StoreResult<Verdict> {
    let agents = agents(step);
    if agents.is_empty() {
        return Ok(Verdict::Free);
    }
    let mut reasons = BTreeSet::new();
    let mut parents = BTreeSet::new();
    let mut waiting = false;
    for agent in agents {
        let mut why = None;
        let mut unknown = false;
        for p in family.parents(named, step, agent) {
            let patience = family.patience(p);
            match raised_near(store, p, step.at, patience).await? {
                Some(true) => {
                    why = Some(describe(p));
                    if !p.is_agent() {
                        parents.insert(CheckTarget {
                            check: p.check.clone(),
                            target: p.target.clone(),
                        });
                    }
                    break;
                }
                Some(false) => {}
                None => unknown |= now - step.at < patience,
            }
        }
        match why {
            Some(why) => {
                reasons.insert(why);
            }
            None if unknown => waiting = true,
            // One agent no parent explains: the step is its own news.
            None => return Ok(Verdict::Free),
        }
    }
    Ok(if waiting {
        Verdict::Wait
    } else {
        Verdict::Suppressed(Suppression {
            why: reasons.into_iter().collect::<Vec<_>>().join("; "),
            parents: parents.into_iter().collect(),
        })
    })
}

/// Whether a held step's parents have settled: some agent it names has no
/// parent raised now.
pub fn settled(family: &Family, named: Parentage<'_>, step: &AlertEventView) -> bool {
    agents(step).into_iter().any(|agent| {
        !family
            .parents(named, step, agent)
            .any(|p| suppresses(p.state))
    })
}

/// Whether the parent explains a step at `at`: raised then, or raised
/// within `patience` after (parent and child fail together, but run at
/// their own times). `None` until the parent has been judged up to `at`
/// (unless it is raised already: it stays so until judged otherwise).
async fn raised_near(
    store: &Store,
    p: &ParentAlert,
    at: DateTime<Utc>,
    patience: chrono::Duration,
) -> StoreResult<Option<bool>> {
    if p.since <= at && suppresses(p.state) {
        return Ok(Some(true));
    }
    if p.evaluated_at < at {
        return Ok(None);
    }
    if p.since <= at {
        // Ok from before `at` until now.
        return Ok(Some(false));
    }
    let states = store.states_between(p, at, at + patience).await?;
    Ok(Some(states.into_iter().any(suppresses)))
}

/// How long a step waits for a check's parent alert: twice its spacing of
/// runs, within bounds.
fn patience(p: &ParentAlert) -> chrono::Duration {
    p.gap_ms
        .map(|gap| chrono::Duration::milliseconds(gap.saturating_mul(2)))
        .unwrap_or(PATIENCE)
        .clamp(MIN_PATIENCE, MAX_PATIENCE)
}

fn describe(p: &ParentAlert) -> String {
    if p.is_agent() {
        return format!(
            "agent {} was offline (rule {})",
            p.agent.as_deref().unwrap_or_default(),
            p.rule
        );
    }
    let whose = match &p.agent {
        Some(agent) => format!("on {agent}"),
        None => "(quorum)".to_owned(),
    };
    format!(
        "parent {} → {} {whose} was raised (rule {})",
        p.check, p.target, p.rule
    )
}

#[cfg(test)]
mod tests;

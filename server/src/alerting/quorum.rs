//! Quorum across agents (`min_agents`): a rule's alerts of one check
//! target on every agent form a group, raised only while enough of them
//! are. The agents' own alerts still move and keep their history, but
//! only the group notifies, naming the failing agents.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vantage_protocol::config::Quorum;

use super::evaluate::{EventRow, Judge};
use super::machine::{Machine, Policy, State, Verdict};
use super::rule::Rule;

/// One rule's alerts of one check target, across agents.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    pub rule: String,
    pub check: String,
    pub target: String,
    pub plugin: String,
}

/// What a group keeps between evaluations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMemory {
    pub machine: Machine,
    /// The agents raised at the last evaluation, by name.
    pub failing: Vec<String>,
}

/// The groups a batch's readings touch, with their rules, in key order
/// (the order their rows are locked in).
pub fn touched<'a>(judges: &[Judge<'a>]) -> Vec<(GroupKey, &'a Rule)> {
    let mut groups: Vec<(GroupKey, &'a Rule)> = judges
        .iter()
        .filter(|j| j.rule.spec.min_agents.is_some())
        .map(|j| {
            let key = GroupKey {
                rule: j.rule.spec.name.clone(),
                check: j.check.to_owned(),
                target: j.target.to_owned(),
                plugin: j.plugin.to_owned(),
            };
            (key, j.rule)
        })
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    groups.dedup_by(|a, b| a.0 == b.0);
    groups
}

/// How many of `members` agents must be raised: a number, or a share
/// rounded up (at least one).
pub fn need(quorum: Quorum, members: usize) -> usize {
    match quorum {
        Quorum::Agents(n) => n as usize,
        Quorum::Share(share) => ((share * members as f64).ceil() as usize).max(1),
    }
}

/// One evaluation of a group: `members` are (agent, state) of each of the
/// rule's alerts of this check target, as this transaction sees them.
pub fn step(
    key: &GroupKey,
    rule: &Rule,
    stored: Option<GroupMemory>,
    members: &[(String, State)],
    at: DateTime<Utc>,
) -> (GroupMemory, Option<EventRow>) {
    let mut memory = stored.unwrap_or_else(|| GroupMemory {
        machine: Machine::new(at),
        failing: Vec::new(),
    });
    let mut failing: Vec<String> = members
        .iter()
        .filter(|(_, s)| s.is_active())
        .map(|(a, _)| a.clone())
        .collect();
    failing.sort();
    let quorum = rule.spec.min_agents.unwrap_or(Quorum::Agents(1));
    let verdict = if failing.len() >= need(quorum, members.len()) {
        Verdict::Bad
    } else {
        Verdict::Good
    };
    let from = memory.machine.state();
    // The agents' alerts already held their own `for`, thresholds and
    // recovery: the group follows them at once.
    let step = memory
        .machine
        .observe(&Policy::default(), verdict, at, Uuid::nil());
    memory.failing = failing;
    let event = (step.transition.is_some() || !step.notices.is_empty()).then(|| EventRow {
        rule: key.rule.clone(),
        check_id: None,
        group: Some(key.clone()),
        agent_id: None,
        agents: memory.failing.clone(),
        notify: true,
        at,
        from,
        to: step.transition.as_ref().map_or(from, |t| t.to),
        value: Some(memory.failing.len() as f64),
        causes: Vec::new(),
        notices: step.notices,
        repeat_every: None,
    });
    (memory, event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(min_agents: &str) -> Rule {
        let spec = toml::from_str(&format!(
            "name = \"r\"\ncondition = {{ kind = \"status\" }}\nmin_agents = {min_agents}"
        ))
        .unwrap();
        Rule::compile(spec).unwrap()
    }

    fn key() -> GroupKey {
        GroupKey {
            rule: "r".into(),
            check: "ping-core".into(),
            target: "10.0.0.1".into(),
            plugin: "ping".into(),
        }
    }

    fn members(firing: usize, of: usize) -> Vec<(String, State)> {
        (0..of)
            .map(|i| {
                let state = if i < firing { State::Firing } else { State::Ok };
                (format!("edge-{i}"), state)
            })
            .collect()
    }

    #[test]
    fn a_share_rounds_up_and_a_number_is_itself() {
        assert_eq!(need(Quorum::Share(0.6), 5), 3);
        assert_eq!(need(Quorum::Share(0.5), 5), 3);
        assert_eq!(need(Quorum::Share(0.01), 0), 1);
        assert_eq!(need(Quorum::Agents(3), 5), 3);
    }

    #[test]
    fn three_of_five_fire_the_group_and_name_the_agents_and_two_do_not() {
        let r = rule("3");
        let at = Utc::now();
        let (memory, event) = step(&key(), &r, None, &members(2, 5), at);
        assert_eq!(memory.machine.state(), State::Ok);
        assert!(event.is_none(), "two of five fire nothing");
        let (memory, event) = step(&key(), &r, Some(memory), &members(3, 5), at);
        let event = event.unwrap();
        assert_eq!(event.to, State::Firing);
        assert_eq!(event.agents, ["edge-0", "edge-1", "edge-2"]);
        assert_eq!(event.notices, [vantage_protocol::config::Notice::Firing]);
        assert_eq!(event.value, Some(3.0));
        // A fourth agent joining changes no state and tells nothing new.
        let (memory, event) = step(&key(), &r, Some(memory), &members(4, 5), at);
        assert!(event.is_none());
        assert_eq!(memory.failing.len(), 4);
        let (_, event) = step(&key(), &r, Some(memory), &members(1, 5), at);
        let event = event.unwrap();
        assert_eq!(event.to, State::Ok);
        assert_eq!(event.notices, [vantage_protocol::config::Notice::Resolved]);
    }

    #[test]
    fn a_share_counts_the_agents_that_run_the_check() {
        let r = rule("\"60%\"");
        let at = Utc::now();
        let (_, event) = step(&key(), &r, None, &members(2, 3), at);
        assert_eq!(event.unwrap().to, State::Firing, "2 of 3 is 67 %");
        let (_, event) = step(&key(), &r, None, &members(2, 4), at);
        assert!(event.is_none(), "2 of 4 is 50 %");
    }
}

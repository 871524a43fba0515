//! Counting by alerts: the time a check target's alerts of the SLA's
//! rules spent firing. An alert's history (its steps) gives its spans in
//! the `firing` state; a check target is down while a group alert of its
//! (a rule with its own `min_agents`) fires, or while the SLA's quorum of
//! its agents have an alert firing at once. Only counted time is down
//! time (business hours, windows); alerts about an agent and no check
//! (`agent_offline`) say nothing of a target and are left out.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use vantage_protocol::config::{AlertEventView, AlertState, Quorum};
use vantage_protocol::report::Incident;

use super::count::needed;
use super::period::Period;

/// What counting by alerts found of each check target.
pub struct Firing {
    /// Counted seconds down.
    pub seconds: Vec<i64>,
    pub incidents: Vec<Vec<Incident>>,
}

/// One alert's span in `firing`, within the period.
#[derive(Debug, Clone)]
struct Span {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    rule: String,
    /// The agent's name; none for a group.
    agent: Option<String>,
    /// A group's raised agents when it fired.
    agents: Vec<String>,
}

/// The rules whose alert fired, per check target's place: `(when, rule)`.
pub type Fired = HashMap<usize, Vec<(DateTime<Utc>, String)>>;

/// Counts `steps` (in the order judged) over `period`. `place(check,
/// target, agent)` gives the covered check target's place of an alert
/// (`agent` none for a group), `agents[t]` how many agents ran it, and
/// `counted(t, from, to)` the seconds of a span that count for it.
pub fn firing(
    steps: &[AlertEventView],
    place: impl Fn(&str, &str, Option<uuid::Uuid>) -> Option<usize>,
    names: &[(String, String)],
    agents: &[u32],
    quorum: Option<Quorum>,
    counted: impl Fn(usize, DateTime<Utc>, DateTime<Utc>) -> i64,
    period: &Period,
) -> Firing {
    let mut spans: Vec<Vec<Span>> = vec![Vec::new(); names.len()];
    for (t, span) in spans_of(steps, &place, period) {
        spans[t].push(span);
    }
    let mut out = Firing {
        seconds: vec![0; names.len()],
        incidents: vec![Vec::new(); names.len()],
    };
    for (t, spans) in spans.iter().enumerate() {
        let need = needed(quorum, agents[t] as usize);
        for (from, to) in down(spans, need) {
            out.seconds[t] += counted(t, from, to);
            let during = spans.iter().filter(|s| s.from < to && s.to > from);
            let rules: BTreeSet<&str> = during.clone().map(|s| s.rule.as_str()).collect();
            let mut first: BTreeSet<String> = BTreeSet::new();
            for s in during.filter(|s| s.from <= from) {
                match &s.agent {
                    Some(a) => {
                        first.insert(a.clone());
                    }
                    None => first.extend(s.agents.iter().cloned()),
                }
            }
            let (check, target) = names[t].clone();
            out.incidents[t].push(Incident {
                check,
                target,
                start: from,
                end: to,
                duration_seconds: (to - from).num_seconds(),
                ongoing: to == period.to,
                failed_runs: 0,
                first_agents: first.into_iter().collect(),
                rules: rules.into_iter().map(str::to_owned).collect(),
                suppressed: Vec::new(),
            });
        }
    }
    out
}

/// When each alert of `steps` fired, per check target's place: what an
/// incident counted by runs names as its rules.
pub fn fired(
    steps: &[AlertEventView],
    place: impl Fn(&str, &str, Option<uuid::Uuid>) -> Option<usize>,
) -> Fired {
    let mut out = Fired::new();
    for step in steps {
        if step.to == AlertState::Firing
            && step.from != AlertState::Firing
            && let Some(t) = place(
                &step.subject.check,
                &step.subject.target,
                step.subject.agent_id,
            )
        {
            out.entry(t)
                .or_default()
                .push((step.at, step.subject.rule.clone()));
        }
    }
    out
}

/// The rules of `fired` (one target's) that fired from `lead` before
/// `[from, to)` until its end.
pub fn rules_during(
    fired: Option<&Vec<(DateTime<Utc>, String)>>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    lead: Duration,
) -> Vec<String> {
    let rules: BTreeSet<&str> = fired
        .into_iter()
        .flatten()
        .filter(|(at, _)| *at >= from - lead && *at <= to)
        .map(|(_, rule)| rule.as_str())
        .collect();
    rules.into_iter().map(str::to_owned).collect()
}

/// Every alert's firing spans within the period, with its target's place.
fn spans_of(
    steps: &[AlertEventView],
    place: &impl Fn(&str, &str, Option<uuid::Uuid>) -> Option<usize>,
    period: &Period,
) -> Vec<(usize, Span)> {
    type Key = (String, Option<uuid::Uuid>, String, String);
    let mut open: HashMap<Key, Open> = HashMap::new();
    let mut out = Vec::new();
    for step in steps {
        let s = &step.subject;
        if s.check.is_empty() {
            continue;
        }
        let Some(t) = place(&s.check, &s.target, s.agent_id) else {
            continue;
        };
        let key = (
            s.rule.clone(),
            s.agent_id,
            s.check.clone(),
            s.target.clone(),
        );
        let entry = open.entry(key).or_insert_with(|| Open {
            place: t,
            since: None,
            last: period.from,
            agent: s.agent.clone(),
            agents: Vec::new(),
        });
        // Steps of late results may go back in time: kept in order.
        let at = step.at.clamp(entry.last, period.to);
        entry.last = at;
        match (step.to == AlertState::Firing, entry.since) {
            (true, None) => {
                entry.since = Some(at);
                entry.agents.clone_from(&step.agents);
            }
            (false, Some(since)) => {
                entry.since = None;
                if at > since {
                    out.push((t, entry.span(&s.rule, since, at)));
                }
            }
            _ => {}
        }
    }
    // Still firing at the period's end.
    for ((rule, ..), o) in &open {
        if let Some(since) = o.since.filter(|s| *s < period.to) {
            out.push((o.place, o.span(rule, since, period.to)));
        }
    }
    out
}

/// An alert as its steps are read.
struct Open {
    place: usize,
    /// Since when it fires, if it does.
    since: Option<DateTime<Utc>>,
    /// The time of its last step.
    last: DateTime<Utc>,
    agent: Option<String>,
    /// A group's raised agents when it fired.
    agents: Vec<String>,
}

impl Open {
    fn span(&self, rule: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Span {
        Span {
            from,
            to,
            rule: rule.to_owned(),
            agent: self.agent.clone(),
            agents: self.agents.clone(),
        }
    }
}

/// A target's down spans: where a group fires, or `need` of its agents
/// at once.
fn down(spans: &[Span], need: usize) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut edges: Vec<DateTime<Utc>> = spans.iter().flat_map(|s| [s.from, s.to]).collect();
    edges.sort_unstable();
    edges.dedup();
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for pair in edges.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let live = spans.iter().filter(|s| s.from <= a && s.to >= b);
        let group = live.clone().any(|s| s.agent.is_none());
        let agents: BTreeSet<&str> = live.filter_map(|s| s.agent.as_deref()).collect();
        if group || agents.len() >= need {
            match out.last_mut() {
                Some((_, end)) if *end == a => *end = b,
                _ => out.push((a, b)),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use vantage_protocol::config::AlertSubject;

    use super::super::hours::Counted;
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, h, m, 0).unwrap()
    }

    fn step(
        rule: &str,
        agent: Option<&str>,
        when: DateTime<Utc>,
        to: AlertState,
    ) -> AlertEventView {
        let id = agent.map(|a| uuid::Uuid::from_u128(a.len() as u128 + a.as_bytes()[0] as u128));
        AlertEventView {
            id: 0,
            subject: AlertSubject {
                rule: rule.into(),
                agent_id: id,
                agent: agent.map(str::to_owned),
                check: "web".into(),
                target: "example.net".into(),
                plugin: "http".into(),
            },
            at: when,
            from: AlertState::Ok,
            to,
            value: None,
            agents: if agent.is_none() {
                vec!["a".into(), "b".into()]
            } else {
                Vec::new()
            },
            causes: Vec::new(),
            notices: Vec::new(),
            silenced_by: None,
            window: None,
            suppressed_by: None,
            repeat_every: None,
        }
    }

    fn count(steps: &[AlertEventView], quorum: Option<Quorum>) -> Firing {
        let period = Period {
            label: "2026-11-02".into(),
            from: at(0, 0),
            to: at(0, 0) + Duration::days(1),
        };
        let counted = Counted::new(period.from, period.to, chrono_tz::UTC, None, &[]);
        let names = [("web".to_owned(), "example.net".to_owned())];
        firing(
            steps,
            |_, _, _| Some(0),
            &names,
            &[3],
            quorum,
            |_, from, to| counted.seconds_where(from, to, |_| true),
            &period,
        )
    }

    #[test]
    fn one_agent_firing_counts_without_a_quorum_and_not_with_one() {
        use AlertState::*;
        let steps = [
            step("down", Some("a"), at(10, 0), Pending),
            step("down", Some("a"), at(10, 2), Firing),
            step("down", Some("a"), at(10, 12), Recovering),
            step("down", Some("a"), at(10, 14), Ok),
        ];
        let alone = count(&steps, None);
        assert_eq!(alone.seconds, [600]);
        assert_eq!(alone.incidents[0].len(), 1);
        assert_eq!(alone.incidents[0][0].first_agents, ["a"]);
        assert_eq!(alone.incidents[0][0].rules, ["down"]);
        assert_eq!(count(&steps, Some(Quorum::Agents(2))).seconds, [0]);
    }

    #[test]
    fn the_quorum_counts_only_the_time_enough_agents_fire_together() {
        use AlertState::*;
        let steps = [
            step("down", Some("a"), at(10, 0), Firing),
            step("down", Some("b"), at(10, 5), Firing),
            step("down", Some("a"), at(10, 20), Ok),
            step("down", Some("b"), at(10, 30), Ok),
        ];
        let f = count(&steps, Some(Quorum::Agents(2)));
        assert_eq!(f.seconds, [15 * 60]);
        assert_eq!(
            (f.incidents[0][0].start, f.incidents[0][0].end),
            (at(10, 5), at(10, 20))
        );
        assert_eq!(f.incidents[0][0].first_agents, ["a", "b"]);
    }

    #[test]
    fn a_group_alert_counts_whole_and_one_still_firing_runs_to_the_end() {
        use AlertState::*;
        let steps = [step("quorum", None, at(23, 0), Firing)];
        let f = count(&steps, Some(Quorum::Agents(3)));
        assert_eq!(f.seconds, [3600]);
        let i = &f.incidents[0][0];
        assert!(i.ongoing);
        assert_eq!(i.first_agents, ["a", "b"]);
    }

    #[test]
    fn an_alert_firing_before_the_period_counts_from_its_start() {
        use AlertState::*;
        let steps = [
            step("down", Some("a"), at(0, 0) - Duration::hours(2), Firing),
            step("down", Some("a"), at(0, 30), Ok),
        ];
        assert_eq!(count(&steps, None).seconds, [1800]);
    }
}

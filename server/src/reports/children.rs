//! An incident's suppressed children: the alerts of checks that depend on
//! the incident's check target which its raised alert kept from the
//! channels while it was down (the steps the notifier stored as
//! suppressed, naming that parent).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use vantage_protocol::report::{Incident, SuppressedAlert};

use crate::store::{CheckTarget, ChildStep};

/// Lists each incident's suppressed children: the steps `steps` (in time
/// order) whose parents name its check target, from `lead` before it
/// began until `lead` after it ended (its alert fires and recovers a few
/// runs after the runs do).
pub fn attach(incidents: &mut [Vec<Incident>], steps: &[ChildStep], lead: Duration) {
    if steps.is_empty() {
        return;
    }
    // Steps by parent, in time order.
    let mut by_parent: BTreeMap<CheckTarget, Vec<&ChildStep>> = BTreeMap::new();
    for s in steps {
        for p in &s.parents {
            by_parent.entry(p.clone()).or_default().push(s);
        }
    }
    for incident in incidents.iter_mut().flatten() {
        let parent = CheckTarget {
            check: incident.check.clone(),
            target: incident.target.clone(),
        };
        let Some(children) = by_parent.get(&parent) else {
            continue;
        };
        let (from, to) = (incident.start - lead, incident.end + lead);
        incident.suppressed = group(children.iter().filter(|s| {
            let at = s.step.at;
            at >= from && at <= to
        }));
    }
}

/// An alert by rule, check and target.
type AlertKey = (String, String, String);

/// Steps grouped by alert: the agents they name and the first one's time.
fn group<'a>(steps: impl Iterator<Item = &'a &'a ChildStep>) -> Vec<SuppressedAlert> {
    let mut alerts: BTreeMap<AlertKey, (BTreeSet<String>, DateTime<Utc>)> = BTreeMap::new();
    for s in steps {
        let step = &s.step;
        let key = (
            step.subject.rule.clone(),
            step.subject.check.clone(),
            step.subject.target.clone(),
        );
        let (agents, first) = alerts.entry(key).or_insert((BTreeSet::new(), step.at));
        agents.extend(step.subject.agent.iter().cloned());
        agents.extend(step.agents.iter().cloned());
        *first = (*first).min(step.at);
    }
    alerts
        .into_iter()
        .map(
            |((rule, check, target), (agents, first_at))| SuppressedAlert {
                rule,
                check,
                target,
                agents: agents.into_iter().collect(),
                first_at,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use vantage_protocol::config::{AlertEventView, AlertState, AlertSubject};

    use super::*;

    fn t(minute: i64) -> DateTime<Utc> {
        "2026-11-10T06:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minute)
    }

    fn incident(check: &str, start: i64, end: i64) -> Incident {
        Incident {
            check: check.into(),
            target: "10.0.0.1".into(),
            start: t(start),
            end: t(end),
            duration_seconds: (end - start) * 60,
            ongoing: false,
            failed_runs: 1,
            first_agents: vec!["a1".into()],
            rules: Vec::new(),
            suppressed: Vec::new(),
        }
    }

    fn child(check: &str, agent: &str, minute: i64, parent: &str) -> ChildStep {
        ChildStep {
            step: AlertEventView {
                id: minute,
                subject: AlertSubject {
                    rule: "web-down".into(),
                    check: check.into(),
                    target: "10.0.0.9".into(),
                    plugin: "http".into(),
                    agent: Some(agent.into()),
                    agent_id: None,
                },
                at: t(minute),
                from: AlertState::Ok,
                to: AlertState::Firing,
                value: None,
                agents: Vec::new(),
                causes: Vec::new(),
                notices: Vec::new(),
                silenced_by: None,
                window: None,
                suppressed_by: Some("parent …".into()),
                repeat_every: None,
            },
            parents: vec![CheckTarget {
                check: parent.into(),
                target: "10.0.0.1".into(),
            }],
        }
    }

    #[test]
    fn an_incident_lists_the_alerts_its_check_target_suppressed_near_it() {
        let mut incidents = vec![
            vec![incident("gw", 0, 30), incident("gw", 120, 130)],
            vec![incident("dns", 0, 30)],
        ];
        let steps = vec![
            child("web-1", "a1", 1, "gw"),
            child("web-1", "a2", 2, "gw"),
            child("web-2", "a1", 33, "gw"),
            // Long after the first incident, before the second's lead.
            child("web-3", "a1", 60, "gw"),
            // Another parent's child.
            child("web-4", "a1", 1, "core"),
        ];
        attach(&mut incidents, &steps, Duration::minutes(5));
        let first = &incidents[0][0].suppressed;
        assert_eq!(
            first
                .iter()
                .map(|s| (s.check.as_str(), s.agents.clone(), s.first_at))
                .collect::<Vec<_>>(),
            vec![
                ("web-1", vec!["a1".to_owned(), "a2".to_owned()], t(1)),
                ("web-2", vec!["a1".to_owned()], t(33)),
            ]
        );
        assert!(incidents[0][1].suppressed.is_empty());
        assert!(incidents[1][0].suppressed.is_empty());
    }
}

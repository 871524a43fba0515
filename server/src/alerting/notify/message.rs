//! What a notification says: the documented JSON body, with a summary
//! line for people (what, where, the value against the limit).

use vantage_protocol::config::{
    AlertEventView, AlertState, Comparison, Condition, Notice, Notification,
};

/// The body for one step of an alert; `condition` is its rule's, when the
/// rule still exists; `public_url`, the dashboard's, for the link.
pub fn notification(
    event: &AlertEventView,
    condition: Option<&Condition>,
    public_url: Option<&str>,
) -> Notification {
    Notification {
        version: 1,
        event_id: event.id,
        notices: event.notices.clone(),
        summary: summary(event, condition),
        rule: event.subject.rule.clone(),
        agent: event.subject.agent.clone(),
        agent_id: event.subject.agent_id,
        agents: raised(event),
        check: event.subject.check.clone(),
        target: event.subject.target.clone(),
        plugin: event.subject.plugin.clone(),
        from: event.from,
        state: event.to,
        at: event.at,
        value: event.value,
        causes: event.causes.clone(),
        url: public_url.map(|base| link(base, &event.subject.rule)),
        group: Vec::new(),
    }
}

/// One message for a group's steps, oldest first: the first step's
/// fields, every step in `group`, and a summary that counts them with a
/// line per step. A group of one is that step's own message.
pub fn digest(mut steps: Vec<Notification>) -> Notification {
    if steps.len() <= 1 {
        return steps.pop().expect("a digest has a step");
    }
    let mut first = steps[0].clone();
    first.summary = digest_summary(&steps);
    first.notices = Vec::new();
    for notice in steps.iter().flat_map(|s| &s.notices) {
        if !first.notices.contains(notice) {
            first.notices.push(*notice);
        }
    }
    first.agents = Vec::new();
    for agent in steps.iter().flat_map(|s| &s.agents) {
        if !first.agents.contains(agent) {
            first.agents.push(agent.clone());
        }
    }
    first.group = steps;
    first
}

/// `3 alerts: 2 firing, 1 resolved`, then each step's summary on a line.
pub fn digest_summary(steps: &[Notification]) -> String {
    let mut counts: Vec<(Notice, usize)> = Vec::new();
    for notice in steps.iter().flat_map(|s| &s.notices) {
        match counts.iter_mut().find(|(n, _)| n == notice) {
            Some((_, count)) => *count += 1,
            None => counts.push((*notice, 1)),
        }
    }
    let counted: Vec<String> = counts
        .iter()
        .map(|(n, count)| format!("{count} {}", word(*n).to_lowercase()))
        .collect();
    let mut text = format!("{} alerts: {}", steps.len(), counted.join(", "));
    for step in steps {
        text.push('\n');
        text.push_str(&step.summary);
    }
    text
}

/// The dashboard's alerts page, filtered to the rule (rule names need no
/// escaping: letters, digits, `-`, `_`, `.`).
fn link(base: &str, rule: &str) -> String {
    format!("{}/alerts?rule={rule}", base.trim_end_matches('/'))
}

/// The agents raised: the one agent, or a quorum group's failing ones.
fn raised(event: &AlertEventView) -> Vec<String> {
    match &event.subject.agent {
        Some(agent) => vec![agent.clone()],
        None => event.agents.clone(),
    }
}

/// `FIRING core-rtt: ping-core → 10.0.0.1 from edge-1: rtt_avg 0.4 > 0.1`;
/// `FIRING offline: agent edge-1: not heard from`
pub fn summary(event: &AlertEventView, condition: Option<&Condition>) -> String {
    let s = &event.subject;
    let what = event
        .notices
        .iter()
        .map(|n| word(*n))
        .collect::<Vec<_>>()
        .join(", ");
    let agents = raised(event);
    let from = match (&s.agent, agents.len()) {
        (Some(agent), _) => agent.clone(),
        (None, 1) => format!("1 agent ({})", agents[0]),
        (None, n) => format!("{n} agents ({})", agents.join(", ")),
    };
    // An agent's own alert (`agent_offline`) has no check.
    let mut line = if s.check.is_empty() {
        format!("{what} {}: agent {from}", s.rule)
    } else {
        format!("{what} {}: {} → {} from {from}", s.rule, s.check, s.target)
    };
    if let Some(detail) = condition.and_then(|c| detail(c, event.value, event.to)) {
        line.push_str(": ");
        line.push_str(&detail);
    }
    line
}

/// A notice as a summary says it.
fn word(notice: Notice) -> &'static str {
    match notice {
        Notice::Firing => "FIRING",
        Notice::Resolved => "RESOLVED",
        Notice::NoData => "NO DATA",
        Notice::Error => "ERROR",
        Notice::FlappingStarted => "FLAPPING",
        Notice::FlappingStopped => "SETTLED",
    }
}

fn detail(condition: &Condition, value: Option<f64>, state: AlertState) -> Option<String> {
    Some(match condition {
        Condition::Status {} if state == AlertState::Ok => "runs end ok".into(),
        Condition::Status {} => "runs fail".into(),
        Condition::Threshold {
            metric,
            op,
            value: limit,
            aggregate,
            ..
        } => {
            let op = match op {
                Comparison::Above => ">",
                Comparison::AtLeast => ">=",
                Comparison::Below => "<",
                Comparison::AtMost => "<=",
            };
            let aggregate = serde_json::to_value(aggregate).ok()?;
            let aggregate = aggregate.as_str().filter(|a| *a != "last");
            let name = aggregate.map_or(metric.clone(), |a| format!("{a} {metric}"));
            format!("{name} {} (limit {op} {limit})", number(value?))
        }
        Condition::NoData { intervals } => format!("no result for {intervals} intervals"),
        Condition::PathChange {} => format!("path fingerprint {}", number(value?)),
        Condition::AgentOffline {} if state == AlertState::Ok => "heard from again".into(),
        Condition::AgentOffline {} => "not heard from".into(),
        Condition::CertExpiry { days } => format!(
            "certificate expires in {:.1} days (limit {days})",
            value? / 86_400.0
        ),
    })
}

/// A value without float noise: up to 6 significant digits.
fn number(v: f64) -> String {
    let text = format!("{v:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vantage_protocol::config::AlertSubject;

    fn event(notices: Vec<Notice>, to: AlertState, value: Option<f64>) -> AlertEventView {
        AlertEventView {
            id: 7,
            subject: AlertSubject {
                rule: "core-rtt".into(),
                agent_id: Some(uuid::Uuid::nil()),
                agent: Some("edge-1".into()),
                check: "ping-core".into(),
                target: "10.0.0.1".into(),
                plugin: "ping".into(),
            },
            at: chrono::DateTime::UNIX_EPOCH,
            from: AlertState::Pending,
            to,
            value,
            agents: Vec::new(),
            causes: Vec::new(),
            notices,
            silenced_by: None,
            suppressed_by: None,
            window: None,
            repeat_every: None,
        }
    }

    #[test]
    fn a_summary_says_what_where_and_the_value_against_the_limit() {
        let threshold: Condition = serde_json::from_value(serde_json::json!({
            "kind": "threshold", "metric": "rtt", "op": ">", "value": 0.08,
            "aggregate": "p95", "window": "5m"
        }))
        .unwrap();
        let firing = event(vec![Notice::Firing], AlertState::Firing, Some(0.1234567));
        assert_eq!(
            summary(&firing, Some(&threshold)),
            "FIRING core-rtt: ping-core → 10.0.0.1 from edge-1: p95 rtt 0.123457 (limit > 0.08)"
        );
        let status = Condition::Status {};
        let resolved = event(vec![Notice::Resolved], AlertState::Ok, None);
        assert_eq!(
            summary(&resolved, Some(&status)),
            "RESOLVED core-rtt: ping-core → 10.0.0.1 from edge-1: runs end ok"
        );
        // A deleted rule: what and where still.
        assert_eq!(
            summary(&resolved, None),
            "RESOLVED core-rtt: ping-core → 10.0.0.1 from edge-1"
        );
        let body = notification(&firing, Some(&threshold), None);
        assert_eq!(body.url, None);
        let linked = notification(&firing, None, Some("https://vantage.example.net/"));
        assert_eq!(
            linked.url.as_deref(),
            Some("https://vantage.example.net/alerts?rule=core-rtt")
        );
        assert_eq!(body.version, 1);
        assert_eq!(body.state, AlertState::Firing);
        assert_eq!(body.from, AlertState::Pending);
        assert_eq!(body.agents, ["edge-1"]);
        // A quorum's group speaks for its failing agents.
        let mut group = firing.clone();
        group.subject.agent = None;
        group.subject.agent_id = None;
        group.agents = vec!["edge-1".into(), "edge-3".into(), "edge-4".into()];
        assert_eq!(
            summary(&group, Some(&Condition::Status {})),
            "FIRING core-rtt: ping-core → 10.0.0.1 from 3 agents (edge-1, edge-3, edge-4): runs fail"
        );
        assert_eq!(notification(&group, None, None).agents.len(), 3);
        // An agent's own alert names the agent, not a check.
        let mut offline = firing.clone();
        offline.subject.rule = "offline".into();
        offline.subject.check = String::new();
        offline.subject.target = String::new();
        offline.subject.plugin = String::new();
        assert_eq!(
            summary(&offline, Some(&Condition::AgentOffline {})),
            "FIRING offline: agent edge-1: not heard from"
        );
    }

    #[test]
    fn a_group_is_one_message_that_counts_its_steps_and_keeps_each() {
        let status = Condition::Status {};
        let mut steps = Vec::new();
        for (id, agent, notice, to) in [
            (11, "edge-1", Notice::Firing, AlertState::Firing),
            (12, "edge-2", Notice::Firing, AlertState::Firing),
            (13, "edge-3", Notice::Resolved, AlertState::Ok),
        ] {
            let mut e = event(vec![notice], to, None);
            e.id = id;
            e.subject.agent = Some(agent.into());
            steps.push(notification(&e, Some(&status), None));
        }
        let one = digest(steps[..1].to_vec());
        assert_eq!(one, steps[0], "a group of one reads as its step");
        let all = digest(steps.clone());
        assert_eq!(all.event_id, 11);
        assert_eq!(all.notices, [Notice::Firing, Notice::Resolved]);
        assert_eq!(all.agents, ["edge-1", "edge-2", "edge-3"]);
        assert_eq!(
            all.summary,
            "3 alerts: 2 firing, 1 resolved\n\
             FIRING core-rtt: ping-core → 10.0.0.1 from edge-1: runs fail\n\
             FIRING core-rtt: ping-core → 10.0.0.1 from edge-2: runs fail\n\
             RESOLVED core-rtt: ping-core → 10.0.0.1 from edge-3: runs end ok"
        );
        assert_eq!(all.group, steps);
        let json = serde_json::to_value(&all).unwrap();
        assert_eq!(json["group"][2]["event_id"], 13);
        assert!(json["group"][0].get("group").is_none(), "{json}");
    }
}

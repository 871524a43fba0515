use vantage_protocol::config::{AlertSubject, RuleSpec};

use super::*;

fn rule(depends_on: &[&str]) -> Rule {
    let spec: RuleSpec = serde_json::from_value(serde_json::json!({
        "name": "web-down", "condition": {"kind": "status"}, "depends_on": depends_on
    }))
    .unwrap();
    Rule::compile(spec).unwrap()
}

fn step(agent: Option<&str>, agents: &[&str]) -> AlertEventView {
    AlertEventView {
        id: 1,
        subject: AlertSubject {
            rule: "web-down".into(),
            agent_id: None,
            agent: agent.map(str::to_owned),
            check: "web".into(),
            target: "http://10.0.0.9/".into(),
            plugin: "http".into(),
        },
        at: Utc::now(),
        from: AlertState::Pending,
        to: AlertState::Firing,
        value: None,
        agents: agents.iter().map(|a| (*a).to_owned()).collect(),
        causes: Vec::new(),
        notices: Vec::new(),
        silenced_by: None,
        suppressed_by: None,
        window: None,
        repeat_every: None,
    }
}

fn parent(check: &str, agent: Option<&str>, state: AlertState) -> ParentAlert {
    ParentAlert {
        rule: "gw-down".into(),
        check_id: agent.map(|_| 7),
        agent_id: None,
        check: check.into(),
        target: "10.0.0.1".into(),
        agent: agent.map(str::to_owned),
        state,
        since: Utc::now(),
        evaluated_at: Utc::now(),
        gap_ms: None,
    }
}

/// The parents a rule names, and none of its check's.
fn by(rule: &Rule) -> Parentage<'_> {
    Parentage { rule, check: &[] }
}

#[test]
fn a_checks_own_parents_count_as_the_rules() {
    let family = Family {
        offline_after: chrono::Duration::seconds(45),
        alerts: vec![
            parent("gw", Some("edge-1"), AlertState::Firing),
            parent("dns", Some("edge-1"), AlertState::Firing),
        ],
    };
    let r = rule(&[]);
    let s = step(Some("edge-1"), &[]);
    assert_eq!(family.parents(by(&r), &s, "edge-1").count(), 0);
    let gw = [crate::alerting::matcher::Pattern::parse("g*").unwrap()];
    let named = Parentage {
        rule: &r,
        check: &gw,
    };
    assert!(named.any() && !by(&r).any());
    let found: Vec<&str> = family
        .parents(named, &s, "edge-1")
        .map(|p| p.check.as_str())
        .collect();
    assert_eq!(found, ["gw"]);
    assert!(!settled(&family, named, &s));
}

#[test]
fn parents_are_the_agents_own_alerts_of_a_parent_check_and_groups() {
    let family = Family {
        offline_after: chrono::Duration::seconds(45),
        alerts: vec![
            parent("gw", Some("edge-1"), AlertState::Firing),
            parent("gw", Some("edge-2"), AlertState::Firing),
            parent("dns", Some("edge-1"), AlertState::Firing),
            parent("gw", None, AlertState::Ok),
        ],
    };
    let r = rule(&["gw"]);
    let s = step(Some("edge-1"), &[]);
    let found: Vec<(Option<&str>, &str)> = family
        .parents(by(&r), &s, "edge-1")
        .map(|p| (p.agent.as_deref(), p.check.as_str()))
        .collect();
    assert_eq!(found, [(Some("edge-1"), "gw"), (None, "gw")]);
    // A step of the parent check target itself is not its own child.
    let mut own = step(Some("edge-1"), &[]);
    own.subject.check = "gw".into();
    own.subject.target = "10.0.0.1".into();
    assert_eq!(family.parents(by(&r), &own, "edge-1").count(), 0);
}

#[test]
fn an_agents_own_alert_is_a_parent_of_its_every_check_alert() {
    let own = ParentAlert {
        rule: "offline".into(),
        check_id: None,
        agent_id: Some(uuid::Uuid::nil()),
        check: String::new(),
        target: String::new(),
        ..parent("", Some("edge-1"), AlertState::Firing)
    };
    let family = Family {
        offline_after: chrono::Duration::seconds(45),
        alerts: vec![own, parent("gw", Some("edge-1"), AlertState::Ok)],
    };
    assert!(family.watches_agents());
    // Without depends_on, the agent's own alert is still a parent.
    let r = rule(&[]);
    let s = step(Some("edge-1"), &[]);
    let found: Vec<&str> = family
        .parents(by(&r), &s, "edge-1")
        .map(|p| p.rule.as_str())
        .collect();
    assert_eq!(found, ["offline"]);
    assert_eq!(family.parents(by(&r), &s, "edge-2").count(), 0);
    assert!(!settled(&family, by(&r), &s));
    // The agent's own alert is nobody's child.
    let mut offline = step(Some("edge-1"), &[]);
    offline.subject.check = String::new();
    offline.subject.target = String::new();
    assert_eq!(family.parents(by(&r), &offline, "edge-1").count(), 0);
    assert_eq!(
        describe(&family.alerts[0]),
        "agent edge-1 was offline (rule offline)"
    );
    // Its silence is judged after offline_after and a sweep or two.
    assert_eq!(
        family.patience(&family.alerts[0]),
        chrono::Duration::seconds(50)
    );
    assert_eq!(family.patience(&family.alerts[1]), PATIENCE);
}

#[test]
fn a_held_step_settles_when_an_agent_it_names_has_no_raised_parent() {
    let r = rule(&["gw"]);
    let group = step(None, &["edge-1", "edge-2"]);
    let both_down = Family {
        offline_after: chrono::Duration::seconds(45),
        alerts: vec![
            parent("gw", Some("edge-1"), AlertState::Firing),
            parent("gw", Some("edge-2"), AlertState::Pending),
        ],
    };
    assert!(!settled(&both_down, by(&r), &group));
    let one_back = Family {
        offline_after: chrono::Duration::seconds(45),
        alerts: vec![
            parent("gw", Some("edge-1"), AlertState::Firing),
            parent("gw", Some("edge-2"), AlertState::Ok),
        ],
    };
    assert!(settled(&one_back, by(&r), &group));
    assert!(!settled(&one_back, by(&r), &step(Some("edge-1"), &[])));
    // An error (a misspelt metric) does not speak for the parent's target.
    let broken = Family {
        offline_after: chrono::Duration::seconds(45),
        alerts: vec![parent("gw", Some("edge-1"), AlertState::Error)],
    };
    assert!(settled(&broken, by(&r), &step(Some("edge-1"), &[])));
}

#[test]
fn a_step_waits_for_a_parent_twice_its_spacing_within_bounds() {
    let mut p = parent("gw", Some("edge-1"), AlertState::Ok);
    assert_eq!(patience(&p), PATIENCE);
    p.gap_ms = Some(30_000);
    assert_eq!(patience(&p), chrono::Duration::seconds(60));
    p.gap_ms = Some(100);
    assert_eq!(patience(&p), MIN_PATIENCE);
    p.gap_ms = Some(i64::MAX);
    assert_eq!(patience(&p), MAX_PATIENCE);
}

#[test]
fn a_reason_names_the_parent_and_its_rule() {
    assert_eq!(
        describe(&parent("gw", Some("edge-1"), AlertState::Firing)),
        "parent gw → 10.0.0.1 on edge-1 was raised (rule gw-down)"
    );
    assert_eq!(
        describe(&parent("gw", None, AlertState::Firing)),
        "parent gw → 10.0.0.1 (quorum) was raised (rule gw-down)"
    );
}

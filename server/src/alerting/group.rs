//! Grouping: a route with `group_wait` gathers the steps it sends to a
//! channel into one message per group (the alerts that share its
//! `group_by`). Routing parks each step with the time its group is due —
//! `group_wait` after a quiet group's first step, or `group_interval`
//! after the group's last message — and the notifier turns each due
//! group into one delivery (`GroupStore::flush`): the steps one
//! transaction takes out, so each step is in exactly one message however
//! many replicas flush at once.

use std::time::Duration;

use vantage_protocol::config::{
    AlertSubject, DEFAULT_GROUP_INTERVAL, GROUP_INTERVAL_RANGE, GroupBy, MAX_GROUP_WAIT, Route,
};
use vantage_protocol::ingest::FieldError;

/// How a route groups, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    by: Vec<GroupBy>,
    pub wait: Duration,
    pub interval: Duration,
}

impl Grouping {
    /// The route's grouping, if it groups; every bad field of route `i`
    /// named in `errors`.
    pub fn compile(route: &Route, i: usize, errors: &mut Vec<FieldError>) -> Option<Grouping> {
        let mut error = |field: &str, reason: String| {
            errors.push(FieldError {
                index: None,
                field: format!("route[{i}].{field}"),
                reason,
            });
        };
        let Some(wait) = route.group_wait else {
            if route.group_interval.is_some() {
                error("group_interval", "needs `group_wait`".into());
            }
            if !route.group_by.is_empty() {
                error("group_by", "needs `group_wait`".into());
            }
            return None;
        };
        if wait > MAX_GROUP_WAIT {
            error(
                "group_wait",
                format!(
                    "must be at most {}",
                    humantime::format_duration(MAX_GROUP_WAIT)
                ),
            );
        }
        let interval = route.group_interval.unwrap_or(DEFAULT_GROUP_INTERVAL);
        let (least, most) = GROUP_INTERVAL_RANGE;
        if !(least..=most).contains(&interval) {
            error(
                "group_interval",
                format!(
                    "must be {}–{}",
                    humantime::format_duration(least),
                    humantime::format_duration(most)
                ),
            );
        }
        let mut by = route.group_by.clone();
        if by.is_empty() {
            by.push(GroupBy::Rule);
        }
        by.sort_by_key(|b| *b as u8);
        by.dedup();
        Some(Grouping { by, wait, interval })
    }

    /// The group a step of this alert joins on a channel: its `group_by`
    /// values, named (so that a route's changed `group_by` starts new
    /// groups rather than mixing).
    pub fn key(&self, subject: &AlertSubject) -> String {
        let mut key = String::new();
        for by in &self.by {
            let (name, value) = match by {
                GroupBy::Rule => ("rule", subject.rule.as_str()),
                GroupBy::Check => ("check", subject.check.as_str()),
                GroupBy::Target => ("target", subject.target.as_str()),
                // A quorum group has no agent of its own.
                GroupBy::Agent => ("agent", subject.agent.as_deref().unwrap_or("")),
            };
            if !key.is_empty() {
                key.push('\u{1f}');
            }
            key.push_str(name);
            key.push('=');
            key.push_str(value);
        }
        key
    }
}

/// A step parked for a group's message on a channel: due `wait` from
/// now, or `interval` after the group's last message if that is later
/// (the stores work it out as they park it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    pub event_id: i64,
    pub channel: String,
    pub key: String,
    pub wait: Duration,
    pub interval: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(toml_text: &str) -> Route {
        toml::from_str(toml_text).unwrap()
    }

    fn subject(rule: &str, check: &str, agent: Option<&str>) -> AlertSubject {
        AlertSubject {
            rule: rule.into(),
            agent_id: None,
            agent: agent.map(Into::into),
            check: check.into(),
            target: "10.0.0.1".into(),
            plugin: "ping".into(),
        }
    }

    #[test]
    fn a_route_groups_by_rule_unless_told_and_only_with_a_group_wait() {
        let mut errors = Vec::new();
        let plain = route("channels = [\"ops\"]");
        assert_eq!(Grouping::compile(&plain, 0, &mut errors), None);
        let grouped = Grouping::compile(
            &route("channels = [\"ops\"]\ngroup_wait = \"30s\""),
            0,
            &mut errors,
        )
        .unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(grouped.wait, Duration::from_secs(30));
        assert_eq!(grouped.interval, DEFAULT_GROUP_INTERVAL);
        let a = subject("down", "ping-a", Some("edge-1"));
        let b = subject("down", "ping-b", Some("edge-2"));
        assert_eq!(grouped.key(&a), "rule=down");
        assert_eq!(grouped.key(&a), grouped.key(&b));

        let by_agent = Grouping::compile(
            &route(
                "channels = [\"ops\"]\ngroup_wait = \"0s\"\ngroup_by = [\"agent\", \"rule\", \"agent\"]",
            ),
            0,
            &mut errors,
        )
        .unwrap();
        assert_eq!(by_agent.key(&a), "rule=down\u{1f}agent=edge-1");
        assert_ne!(by_agent.key(&a), by_agent.key(&b));
        assert_eq!(
            by_agent.key(&subject("down", "ping-a", None)),
            "rule=down\u{1f}agent="
        );
    }

    #[test]
    fn bad_group_settings_are_named() {
        let mut errors = Vec::new();
        Grouping::compile(
            &route("channels = [\"ops\"]\ngroup_interval = \"1m\"\ngroup_by = [\"check\"]"),
            2,
            &mut errors,
        );
        Grouping::compile(
            &route("channels = [\"ops\"]\ngroup_wait = \"2h\"\ngroup_interval = \"0s\""),
            3,
            &mut errors,
        );
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "route[2].group_interval",
                "route[2].group_by",
                "route[3].group_wait",
                "route[3].group_interval"
            ]
        );
        assert!(
            toml::from_str::<Route>(
                "channels = [\"ops\"]\ngroup_wait = \"1s\"\ngroup_by = [\"colour\"]"
            )
            .is_err()
        );
    }
}

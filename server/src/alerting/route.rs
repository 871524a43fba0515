//! Routes checked whole (every bad field named) and compiled: which
//! channels an alert's step goes to, how each groups and repeats.

use std::collections::BTreeSet;
use std::time::Duration;

use vantage_protocol::config::{AlertSubject, Routing};
use vantage_protocol::ingest::FieldError;

use super::group::Grouping;
use super::matcher::Matcher;
use super::rule::{MAX_REPEAT, MIN_REPEAT};

/// The most routes, and channels a route names.
const MAX_ROUTES: usize = 1000;
const MAX_CHANNELS: usize = 100;

pub(super) fn field_error(field: String, reason: impl Into<String>) -> FieldError {
    FieldError {
        index: None,
        field,
        reason: reason.into(),
    }
}

/// One route, compiled.
#[derive(Debug, Clone)]
struct CompiledRoute {
    matcher: Matcher,
    channels: Vec<String>,
    go_on: bool,
    grouping: Option<Grouping>,
    repeat: Option<Duration>,
}

/// Where a step goes: a channel, the route's grouping if it groups, and
/// its `repeat_interval` if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub channel: String,
    pub grouping: Option<Grouping>,
    pub repeat: Option<Duration>,
}

impl Target {
    /// How often a firing alert is told again on this channel: the
    /// route's interval, else the rule's.
    pub fn repeat_every(&self, rule: Option<Duration>) -> Option<Duration> {
        self.repeat.or(rule)
    }
}

/// The routes, compiled: which channels a step of an alert goes to.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<CompiledRoute>,
}

impl Router {
    /// Checks routing whole: every glob, every channel named exists.
    pub fn compile(
        routing: &Routing,
        channels: &BTreeSet<String>,
    ) -> Result<Router, Vec<FieldError>> {
        let mut errors = Vec::new();
        if routing.routes.len() > MAX_ROUTES {
            errors.push(field_error(
                "route".into(),
                format!("at most {MAX_ROUTES} routes"),
            ));
        }
        let mut routes = Vec::with_capacity(routing.routes.len());
        for (i, route) in routing.routes.iter().enumerate() {
            let compiled = CompiledRoute {
                matcher: Matcher::compile(
                    &route.matches,
                    &format!("route[{i}].match"),
                    &mut errors,
                ),
                channels: route.channels.clone(),
                go_on: route.go_on,
                grouping: Grouping::compile(route, i, &mut errors),
                repeat: route.repeat_interval,
            };
            if let Some(every) = route.repeat_interval
                && !(MIN_REPEAT..=MAX_REPEAT).contains(&every)
            {
                errors.push(field_error(
                    format!("route[{i}].repeat_interval"),
                    "must be between 1 minute and 30 days",
                ));
            }
            if route.channels.is_empty() || route.channels.len() > MAX_CHANNELS {
                errors.push(field_error(
                    format!("route[{i}].channels"),
                    format!("must name 1–{MAX_CHANNELS} channels"),
                ));
            }
            for (j, name) in route.channels.iter().enumerate() {
                if !channels.contains(name) {
                    errors.push(field_error(
                        format!("route[{i}].channels[{j}]"),
                        format!("no channel is named `{name}`"),
                    ));
                }
            }
            routes.push(compiled);
        }
        if errors.is_empty() {
            Ok(Router { routes })
        } else {
            Err(errors)
        }
    }

    /// The channels a step of this alert goes to, each once, in route
    /// order (the first route naming a channel says how it groups and repeats). A
    /// quorum group (no agent) matches an agent glob by any of its raised
    /// `agents`.
    pub fn targets(&self, subject: &AlertSubject, agents: &[String]) -> Vec<Target> {
        let mut out: Vec<Target> = Vec::new();
        for route in &self.routes {
            if route.matcher.matches(subject, agents) {
                for c in &route.channels {
                    if !out.iter().any(|t| &t.channel == c) {
                        out.push(Target {
                            channel: c.clone(),
                            grouping: route.grouping.clone(),
                            repeat: route.repeat,
                        });
                    }
                }
                if !route.go_on {
                    break;
                }
            }
        }
        out
    }

    /// Every `repeat_interval` a route has.
    pub fn repeat_intervals(&self) -> BTreeSet<Duration> {
        self.routes.iter().filter_map(|r| r.repeat).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(rule: &str, check: &str) -> AlertSubject {
        AlertSubject {
            rule: rule.into(),
            agent_id: None,
            agent: Some("edge-1".into()),
            check: check.into(),
            target: "10.0.0.1".into(),
            plugin: "ping".into(),
        }
    }

    fn routing(toml_text: &str) -> Routing {
        toml::from_str(toml_text).unwrap()
    }

    impl Router {
        fn channels(&self, subject: &AlertSubject, agents: &[String]) -> Vec<String> {
            self.targets(subject, agents)
                .into_iter()
                .map(|t| t.channel)
                .collect()
        }
    }

    #[test]
    fn the_first_matching_route_takes_an_alert_unless_it_continues() {
        let channels: BTreeSet<String> = ["pager", "chat", "mail"].map(String::from).into();
        let router = Router::compile(
            &routing(
                r#"
                [[route]]
                match = { rule = "core-*" }
                channels = ["pager"]
                continue = true
                [[route]]
                match = { check = "ping-*" }
                channels = ["chat", "pager"]
                [[route]]
                channels = ["mail"]
                "#,
            ),
            &channels,
        )
        .unwrap();
        assert_eq!(
            router.channels(&subject("core-loss", "ping-a"), &[]),
            ["pager", "chat"]
        );
        assert_eq!(
            router.channels(&subject("core-loss", "dns-a"), &[]),
            ["pager", "mail"]
        );
        assert_eq!(
            router.channels(&subject("edge", "ping-a"), &[]),
            ["chat", "pager"]
        );
        assert_eq!(router.channels(&subject("edge", "dns-a"), &[]), ["mail"]);
        assert!(
            Router::default()
                .channels(&subject("any", "thing"), &[])
                .is_empty()
        );
    }

    #[test]
    fn a_route_repeats_its_channels_at_its_own_interval_else_the_rules() {
        let hour = Duration::from_secs(3600);
        let channels: BTreeSet<String> = ["pager", "chat"].map(String::from).into();
        let router = Router::compile(
            &routing(
                r#"
                [[route]]
                channels = ["pager"]
                repeat_interval = "1h"
                continue = true
                [[route]]
                channels = ["chat", "pager"]
                "#,
            ),
            &channels,
        )
        .unwrap();
        let targets = router.targets(&subject("core", "ping-a"), &[]);
        let every = |rule: Option<Duration>| -> Vec<(&str, Option<Duration>)> {
            targets
                .iter()
                .map(|t| (t.channel.as_str(), t.repeat_every(rule)))
                .collect()
        };
        assert_eq!(every(None), [("pager", Some(hour)), ("chat", None)]);
        assert_eq!(
            every(Some(4 * hour)),
            [("pager", Some(hour)), ("chat", Some(4 * hour))]
        );
        assert_eq!(router.repeat_intervals(), [hour].into());

        for bad in ["30s", "31days"] {
            let errors = Router::compile(
                &routing(&format!(
                    "[[route]]\nchannels = [\"pager\"]\nrepeat_interval = \"{bad}\"\n"
                )),
                &channels,
            )
            .unwrap_err();
            assert_eq!(errors[0].field, "route[0].repeat_interval", "{bad}");
        }
    }

    #[test]
    fn bad_routes_and_channels_are_named() {
        let channels: BTreeSet<String> = ["pager".to_owned()].into();
        let errors = Router::compile(
            &routing(
                r#"
                [[route]]
                match = { rule = "core-[" }
                channels = ["pager", "nobody"]
                [[route]]
                channels = []
                "#,
            ),
            &channels,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "route[0].match.rule",
                "route[0].channels[1]",
                "route[1].channels"
            ]
        );
    }
}

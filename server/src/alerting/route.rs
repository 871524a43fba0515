//! Channels and routes checked whole (every bad field named), and the
//! routes compiled: which channels an alert's step goes to.

use std::collections::BTreeSet;

use vantage_protocol::config::{AlertSubject, ChannelKind, ChannelSpec, Routing};
use vantage_protocol::ingest::FieldError;

use super::group::Grouping;
use super::matcher::Matcher;
use crate::remote::validate::is_name;

/// The most routes, and channels a route names.
const MAX_ROUTES: usize = 1000;
const MAX_CHANNELS: usize = 100;

fn field_error(field: String, reason: impl Into<String>) -> FieldError {
    FieldError {
        index: None,
        field,
        reason: reason.into(),
    }
}

/// Checks a channel (its secrets merged in): its name, URLs, headers,
/// and the secrets its kind needs.
pub fn check_channel(spec: &ChannelSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !is_name(&spec.name) {
        errors.push(field_error(
            "name".into(),
            "must be 1–64 letters, digits, `-`, `_` or `.`",
        ));
    }
    if let Some(template) = &spec.template
        && let Err(reason) = super::notify::template::check(template)
    {
        errors.push(field_error("template".into(), reason));
    }
    for (field, url) in spec.kind.urls() {
        if let Err(reason) = check_url(url) {
            errors.push(field_error(field.into(), reason));
        }
    }
    let mut kind = spec.kind.clone();
    let secrets = kind.secrets_mut();
    for name in spec.kind.required_secrets() {
        let set = secrets
            .iter()
            .any(|(n, v)| n == name && v.as_deref().is_some_and(|v| !v.is_empty()));
        if !set {
            errors.push(field_error((*name).into(), "is required"));
        }
    }
    for (name, value) in secrets {
        if value.as_ref().is_some_and(|s| s.len() > 1024) {
            errors.push(field_error(name.into(), "must be at most 1024 bytes"));
        }
    }
    match &spec.kind {
        ChannelKind::Webhook { headers, .. } => {
            for (name, value) in headers {
                let field = format!("headers.{name}");
                if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    errors.push(field_error(field, "is not a header name"));
                } else if name.to_ascii_lowercase().starts_with("x-vantage-")
                    || ["content-type", "content-length", "host"]
                        .contains(&name.to_ascii_lowercase().as_str())
                {
                    errors.push(field_error(field, "is set by the server"));
                } else if axum::http::HeaderValue::from_str(value).is_err() {
                    errors.push(field_error(field, "is not a header value"));
                }
            }
        }
        ChannelKind::Email {
            host,
            port,
            username,
            password,
            from,
            to,
            ca,
            ..
        } => {
            for (field, problem) in super::notify::email::problems(
                host,
                *port,
                username.is_some(),
                password.is_some(),
                from,
                to,
                ca.as_deref(),
            ) {
                errors.push(field_error(field, problem));
            }
        }
        ChannelKind::Telegram { chat_id, .. } if chat_id.is_empty() || chat_id.len() > 64 => {
            errors.push(field_error("chat_id".into(), "must be 1–64 characters"));
        }
        ChannelKind::Ntfy { topic, .. } if !is_name(topic) => {
            errors.push(field_error(
                "topic".into(),
                "must be 1–64 letters, digits, `-`, `_` or `.`",
            ));
        }
        _ => {}
    }
    errors
}

/// An `http://` or `https://` URL with a host.
fn check_url(url: &str) -> Result<(), String> {
    let uri: axum::http::Uri = url.parse().map_err(|e| format!("is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must start with http:// or https://".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if url.len() > 2048 {
        return Err("must be at most 2048 bytes".into());
    }
    Ok(())
}

/// One route, compiled.
#[derive(Debug, Clone)]
struct CompiledRoute {
    matcher: Matcher,
    channels: Vec<String>,
    go_on: bool,
    grouping: Option<Grouping>,
}

/// Where a step goes: a channel, and the route's grouping if it groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub channel: String,
    pub grouping: Option<Grouping>,
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
            };
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
    /// order (the first route naming a channel says how it groups). A
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

        let hook = |url: &str, header: &str| ChannelSpec {
            template: None,
            name: "bad name".into(),
            kind: ChannelKind::Webhook {
                url: url.into(),
                secret: None,
                headers: [(header.to_owned(), "v".to_owned())].into(),
            },
        };
        let fields = |spec: &ChannelSpec| -> Vec<String> {
            check_channel(spec).into_iter().map(|e| e.field).collect()
        };
        assert_eq!(fields(&hook("ftp://x", "X-Api-Key")), ["name", "url"]);
        assert_eq!(
            fields(&hook("http://", "bad header")),
            ["name", "url", "headers.bad header"]
        );
        assert_eq!(
            fields(&hook("https://hooks.example.net/a", "X-Vantage-Signature")),
            ["name", "headers.X-Vantage-Signature"]
        );
    }
}

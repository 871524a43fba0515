//! Where alerts go: notification channels (`PUT /api/v1/alerts/channels/{name}`)
//! and the routes that send alerts to them (`PUT /api/v1/alerts/routes`).
//! What a webhook receives is in `notification.rs`.
//!
//! ```toml
//! [[channel]]
//! name = "ops-hook"
//! kind = "webhook"
//! url = "https://hooks.example.net/vantage"
//! secret = "…"          # signs each request (HMAC-SHA256); never shown again
//!
//! [[route]]
//! match = { rule = "core-*" }
//! channels = ["ops-hook"]
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A channel as an operator defines it (unknown fields are refused by
/// its kind, which the flattening hands them to). Secrets are written, never read
/// back: a spec without one keeps the stored secret, `""` removes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelSpec {
    /// Letters, digits, `-`, `_` and `.`; at most 64 characters.
    pub name: String,
    /// The line people read, in place of the summary: `{rule}`, `{state}`,
    /// `{from}`, `{check}`, `{target}`, `{agents}`, `{value}`, `{at}`,
    /// `{summary}` and `{url}` are filled in; `{{` and `}}` are braces.
    /// It is the webhook's `summary`, the chat message and the mail's
    /// subject. Default: the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "{state}: {check} on {agents} ({value}) {url}")
    )]
    pub template: Option<String>,
    /// What kind of receiver, and how to reach it.
    #[serde(flatten)]
    pub kind: ChannelKind,
}

/// The names a channel's `template` may fill in.
pub const TEMPLATE_FIELDS: [&str; 10] = [
    "rule", "state", "from", "check", "target", "agents", "value", "at", "summary", "url",
];

/// A kind of receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelKind {
    /// A POST of a [`Notification`] as JSON to `url`, signed when a secret is set.
    Webhook {
        /// `http://` or `https://`.
        url: String,
        /// Signs every request (`x-vantage-signature`); write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
        /// Extra request headers (an API key the receiver wants, say).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
    /// Email over SMTP.
    Email {
        /// The relay's host name or address.
        host: String,
        /// Default 587 for STARTTLS, 465 for implicit TLS, 25 for none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// `starttls` (default), `tls` or `none`.
        #[serde(default)]
        security: SmtpSecurity,
        /// A login, when the relay wants one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        /// The login's password; write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        /// The sender: `alerts@example.net` or `Vantage <alerts@example.net>`.
        from: String,
        /// The recipients (1–50).
        to: Vec<String>,
        /// An extra root certificate to trust, PEM: a relay with a private CA.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca: Option<String>,
    },
    /// A Discord channel's webhook (Server settings → Integrations).
    Discord {
        /// `https://discord.com/api/webhooks/…`.
        url: String,
    },
    /// A Slack incoming webhook.
    Slack {
        /// `https://hooks.slack.com/services/…`.
        url: String,
    },
    /// A Microsoft Teams workflow (or incoming) webhook, sent an Adaptive Card.
    Teams {
        /// The workflow's HTTP trigger URL.
        url: String,
    },
    /// A Telegram bot's message to a chat.
    Telegram {
        /// The chat's id (`-100…`) or `@channel`.
        chat_id: String,
        /// The bot's token (`123456:ABC…`); write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The Bot API's base URL.
        #[serde(default = "telegram_api")]
        api_url: String,
    },
    /// PagerDuty Events API v2: one incident per alert, resolved with it.
    Pagerduty {
        /// The service integration's routing key; write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        routing_key: Option<String>,
        /// The Events API's base URL.
        #[serde(default = "pagerduty_api")]
        api_url: String,
    },
    /// Opsgenie Alert API: one alert per Vantage alert (by alias), closed with it.
    Opsgenie {
        /// An API integration's key; write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key: Option<String>,
        /// `https://api.opsgenie.com` or `https://api.eu.opsgenie.com`.
        #[serde(default = "opsgenie_api")]
        api_url: String,
    },
    /// An ntfy topic.
    Ntfy {
        /// The ntfy server.
        #[serde(default = "ntfy_server")]
        server: String,
        /// The topic.
        topic: String,
        /// An access token, for a protected topic; write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// A Gotify server.
    Gotify {
        /// The server's base URL.
        url: String,
        /// An application token; write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Pushover.
    Pushover {
        /// The user or group key; write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_key: Option<String>,
        /// The application's API token; write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The API's base URL.
        #[serde(default = "pushover_api")]
        api_url: String,
    },
}

/// How an email channel secures its SMTP connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on a trusted network (port 25).
    None,
}

impl SmtpSecurity {
    /// The port a relay listens on for this security.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

fn telegram_api() -> String {
    "https://api.telegram.org".into()
}
fn pagerduty_api() -> String {
    "https://events.pagerduty.com".into()
}
fn opsgenie_api() -> String {
    "https://api.opsgenie.com".into()
}
fn ntfy_server() -> String {
    "https://ntfy.sh".into()
}
fn pushover_api() -> String {
    "https://api.pushover.net".into()
}

impl ChannelKind {
    /// The kind's name, as written in `kind`.
    pub fn name(&self) -> &'static str {
        match self {
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Email { .. } => "email",
            ChannelKind::Discord { .. } => "discord",
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Teams { .. } => "teams",
            ChannelKind::Telegram { .. } => "telegram",
            ChannelKind::Pagerduty { .. } => "pagerduty",
            ChannelKind::Opsgenie { .. } => "opsgenie",
            ChannelKind::Ntfy { .. } => "ntfy",
            ChannelKind::Gotify { .. } => "gotify",
            ChannelKind::Pushover { .. } => "pushover",
        }
    }

    /// The secret fields this kind has, by name, with their values.
    pub fn secrets_mut(&mut self) -> Vec<(&'static str, &mut Option<String>)> {
        match self {
            ChannelKind::Webhook { secret, .. } => vec![("secret", secret)],
            ChannelKind::Email { password, .. } => vec![("password", password)],
            ChannelKind::Discord { .. } | ChannelKind::Slack { .. } | ChannelKind::Teams { .. } => {
                Vec::new()
            }
            ChannelKind::Telegram { token, .. }
            | ChannelKind::Ntfy { token, .. }
            | ChannelKind::Gotify { token, .. } => vec![("token", token)],
            ChannelKind::Pagerduty { routing_key, .. } => vec![("routing_key", routing_key)],
            ChannelKind::Opsgenie { api_key, .. } => vec![("api_key", api_key)],
            ChannelKind::Pushover {
                user_key, token, ..
            } => vec![("user_key", user_key), ("token", token)],
        }
    }

    /// The secrets a channel of this kind cannot work without.
    pub fn required_secrets(&self) -> &'static [&'static str] {
        match self {
            ChannelKind::Telegram { .. } | ChannelKind::Gotify { .. } => &["token"],
            ChannelKind::Pagerduty { .. } => &["routing_key"],
            ChannelKind::Opsgenie { .. } => &["api_key"],
            ChannelKind::Pushover { .. } => &["user_key", "token"],
            _ => &[],
        }
    }

    /// Its URLs, by field name, to check.
    pub fn urls(&self) -> Vec<(&'static str, &str)> {
        match self {
            ChannelKind::Webhook { url, .. }
            | ChannelKind::Discord { url }
            | ChannelKind::Slack { url }
            | ChannelKind::Teams { url }
            | ChannelKind::Gotify { url, .. } => vec![("url", url)],
            ChannelKind::Telegram { api_url, .. }
            | ChannelKind::Pagerduty { api_url, .. }
            | ChannelKind::Opsgenie { api_url, .. }
            | ChannelKind::Pushover { api_url, .. } => vec![("api_url", api_url)],
            ChannelKind::Ntfy { server, .. } => vec![("server", server)],
            ChannelKind::Email { .. } => Vec::new(),
        }
    }
}

/// A channel as the server shows it: secrets left out, named when set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelView {
    /// The channel without its secrets.
    pub spec: ChannelSpec,
    /// The secret fields that hold a value.
    pub secrets_set: Vec<String>,
    /// Bumped by every change.
    pub revision: i64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Which alerts a route takes: every field given must match (globs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertMatch {
    /// The rule's name, or a glob of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The check's name, or a glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// The target, or a glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The agent's name, or a glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// One route: the alerts it matches go to its channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Which alerts; empty matches all.
    #[serde(rename = "match", default)]
    pub matches: AlertMatch,
    /// The channels' names.
    pub channels: Vec<String>,
    /// Go on to the next routes after this one matched (default: stop).
    #[serde(rename = "continue", default)]
    pub go_on: bool,
    /// Gather this route's alerts into one message per group, and wait
    /// this long after a group's first step for the others (`0s`: send
    /// at once what arrives together). Without it, each step is its own
    /// message.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "30s"))]
    pub group_wait: Option<Duration>,
    /// After a group's message, the least wait before its next one
    /// (default 5 minutes; needs `group_wait`).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "5m"))]
    pub group_interval: Option<Duration>,
    /// What makes a group (default `["rule"]`; needs `group_wait`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<GroupBy>,
    /// Tell the firing alerts this route takes again this often, to its
    /// channels, while nothing else was told them (1 minute to 30 days);
    /// for these channels it stands in for the rule's `repeat_interval`.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "1h"))]
    pub repeat_interval: Option<Duration>,
}

/// What alerts of one group share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// The rule's name.
    Rule,
    /// The check's name.
    Check,
    /// What the check measures.
    Target,
    /// The agent's name (a quorum group has none).
    Agent,
}

/// A group's wait between messages when the route does not say.
pub const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The longest `group_wait`.
pub const MAX_GROUP_WAIT: Duration = Duration::from_secs(60 * 60);
/// The shortest and longest `group_interval`.
pub const GROUP_INTERVAL_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(24 * 60 * 60));

/// The routes, tried in order: the first that matches takes an alert,
/// and the next ones too while the matching ones say `continue`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// In order.
    #[serde(rename = "route", alias = "routes", default)]
    pub routes: Vec<Route>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_reads_its_kind_and_refuses_unknown_fields() {
        let spec: ChannelSpec = serde_json::from_value(serde_json::json!({
            "name": "ops", "kind": "webhook", "url": "https://h.example.net/x",
            "headers": {"X-Api-Key": "k"}
        }))
        .unwrap();
        assert_eq!(spec.kind.name(), "webhook");
        let e = serde_json::from_value::<ChannelSpec>(serde_json::json!({
            "name": "ops", "kind": "webhook", "url": "https://h.example.net/x", "sekret": "s"
        }))
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `sekret`"), "{e}");
        let e = serde_json::from_value::<ChannelSpec>(
            serde_json::json!({"name": "ops", "kind": "pigeon"}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("pigeon"), "{e}");
        let routing: Routing = toml::from_str(
            "[[route]]\nmatch = { rule = \"core-*\" }\nchannels = [\"ops\"]\ncontinue = true",
        )
        .unwrap();
        assert!(routing.routes[0].go_on);
        assert_eq!(routing.routes[0].matches.rule.as_deref(), Some("core-*"));
    }
}

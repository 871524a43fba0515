//! Chat, push and paging services: each kind's request, built from the
//! notification as its provider documents it. Pure, so that each shape is
//! tested here; `send` posts what these build.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vantage_protocol::config::{AlertState, ChannelKind, Notice, Notification};
use vantage_protocol::text::clip;

/// A request to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Outgoing {
    pub(super) fn json(url: String, body: &Value) -> Outgoing {
        Outgoing {
            url,
            headers: Vec::new(),
            content_type: "application/json",
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    pub(super) fn header(mut self, name: &'static str, value: String) -> Outgoing {
        self.headers.push((name, value));
        self
    }
}

/// A stable key for the alert a notification is about, for services that
/// open and close incidents by key: the same for every step of it.
pub fn incident_key(n: &Notification) -> String {
    let mut h = Sha256::new();
    for part in [
        &n.rule,
        &n.check,
        &n.target,
        n.agent.as_deref().unwrap_or("*"),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("vantage-{}", &hex::encode(h.finalize())[..32])
}

/// Whether the step ends the alert (services close their incident).
fn resolves(n: &Notification) -> bool {
    n.state == AlertState::Ok
}

/// A title line: the notices and the rule.
fn title(n: &Notification) -> String {
    let what = match n.state {
        AlertState::Ok => "Resolved",
        AlertState::NoData => "No data",
        AlertState::Error => "Error",
        _ if n.notices.contains(&Notice::FlappingStarted) => "Flapping",
        _ => "Firing",
    };
    format!("{what}: {}", n.rule)
}

/// The facts every service shows, in order.
pub(super) fn facts(n: &Notification) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("Check", n.check.clone()),
        ("Target", n.target.clone()),
        ("Agents", n.agents.join(", ")),
        (
            "State",
            format!("{} → {}", n.from.as_str(), n.state.as_str()),
        ),
        ("Since", n.at.to_rfc3339()),
    ];
    if let Some(v) = n.value {
        facts.push(("Value", v.to_string()));
    }
    if let Some(url) = &n.url {
        facts.push(("Dashboard", url.clone()));
    }
    facts
}

/// A service's base URL without its trailing slashes.
pub(super) fn base(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// A channel's write-only secret, or why the send cannot go.
pub(super) fn secret(s: &Option<String>, name: &str) -> Result<String, String> {
    s.clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the channel has no {name}"))
}

/// The request a non-webhook channel sends, or why it cannot.
pub fn outgoing(kind: &ChannelKind, n: &Notification) -> Result<Outgoing, String> {
    let red = !resolves(n);
    Ok(match kind {
        ChannelKind::Webhook { .. } => {
            return Err("a webhook is signed and sent by `webhook`".into());
        }
        ChannelKind::Email { .. } => return Err("an email is sent by `email`".into()),
        ChannelKind::Discord { url } => {
            let fields: Vec<Value> = facts(n)
                .into_iter()
                .map(|(k, v)| json!({"name": k, "value": clip(v, 1024), "inline": true}))
                .collect();
            Outgoing::json(
                url.clone(),
                &json!({
                    "content": clip(n.summary.clone(), 2000),
                    "allowed_mentions": {"parse": []},
                    "embeds": [{
                        "title": clip(title(n), 256),
                        "color": if red { 0xD0_3B_3B } else { 0x2E_A0_43 },
                        "timestamp": n.at.to_rfc3339(),
                        "fields": fields,
                    }],
                }),
            )
        }
        ChannelKind::Slack { url } => {
            let lines: Vec<String> = facts(n)
                .into_iter()
                .map(|(k, v)| format!("*{k}:* {v}"))
                .collect();
            Outgoing::json(
                url.clone(),
                &json!({
                    "text": clip(n.summary.clone(), 3000),
                    "blocks": [
                        {"type": "header", "text": {"type": "plain_text", "text": clip(title(n), 150)}},
                        {"type": "section", "text": {"type": "mrkdwn", "text": clip(lines.join("\n"), 3000)}},
                    ],
                }),
            )
        }
        ChannelKind::Teams { url } => {
            let facts: Vec<Value> = facts(n)
                .into_iter()
                .map(|(k, v)| json!({"title": k, "value": v}))
                .collect();
            Outgoing::json(
                url.clone(),
                &json!({
                    "type": "message",
                    "attachments": [{
                        "contentType": "application/vnd.microsoft.card.adaptive",
                        "content": {
                            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "type": "AdaptiveCard",
                            "version": "1.4",
                            "body": [
                                {"type": "TextBlock", "size": "Medium", "weight": "Bolder",
                                 "color": if red { "Attention" } else { "Good" },
                                 "text": title(n), "wrap": true},
                                {"type": "TextBlock", "text": n.summary, "wrap": true},
                                {"type": "FactSet", "facts": facts},
                            ],
                        },
                    }],
                }),
            )
        }
        ChannelKind::Telegram {
            chat_id,
            token,
            api_url,
        } => Outgoing::json(
            format!(
                "{}/bot{}/sendMessage",
                base(api_url),
                secret(token, "token")?
            ),
            &json!({
                "chat_id": chat_id,
                "text": clip(n.summary.clone(), 4096),
                "disable_web_page_preview": true,
            }),
        ),
        ChannelKind::Pagerduty {
            routing_key,
            api_url,
        } => {
            let details: serde_json::Map<String, Value> = facts(n)
                .into_iter()
                .map(|(k, v)| (k.to_lowercase(), Value::String(v)))
                .collect();
            let severity = match n.state {
                AlertState::Error => "error",
                AlertState::NoData | AlertState::Pending => "warning",
                _ => "critical",
            };
            Outgoing::json(
                format!("{}/v2/enqueue", base(api_url)),
                &json!({
                    "routing_key": secret(routing_key, "routing_key")?,
                    "event_action": if red { "trigger" } else { "resolve" },
                    "dedup_key": incident_key(n),
                    "payload": {
                        "summary": clip(n.summary.clone(), 1024),
                        "source": n.agent.clone().unwrap_or_else(|| n.target.clone()),
                        "severity": severity,
                        "timestamp": n.at.to_rfc3339(),
                        "component": n.check,
                        "group": n.rule,
                        "class": "vantage",
                        "custom_details": details,
                    },
                }),
            )
        }
        ChannelKind::Opsgenie { api_key, api_url } => {
            let key = format!("GenieKey {}", secret(api_key, "api_key")?);
            let alias = incident_key(n);
            if red {
                let details: serde_json::Map<String, Value> = facts(n)
                    .into_iter()
                    .map(|(k, v)| (k.to_lowercase(), Value::String(v)))
                    .collect();
                Outgoing::json(
                    format!("{}/v2/alerts", base(api_url)),
                    &json!({
                        "message": clip(n.summary.clone(), 130),
                        "alias": alias,
                        "description": clip(n.summary.clone(), 15000),
                        "source": "Vantage",
                        "priority": if n.state.is_active() { "P1" } else { "P3" },
                        "tags": ["vantage", n.rule],
                        "details": details,
                    }),
                )
                .header("authorization", key)
            } else {
                Outgoing::json(
                    format!(
                        "{}/v2/alerts/{alias}/close?identifierType=alias",
                        base(api_url)
                    ),
                    &json!({"source": "Vantage", "note": clip(n.summary.clone(), 25000)}),
                )
                .header("authorization", key)
            }
        }
        ChannelKind::Ntfy {
            server,
            topic,
            token,
        } => {
            let out = Outgoing::json(
                base(server),
                &json!({
                    "topic": topic,
                    "title": clip(title(n), 250),
                    "message": clip(n.summary.clone(), 4096),
                    "priority": if red { 5 } else { 3 },
                    "tags": [if red { "rotating_light" } else { "white_check_mark" }],
                }),
            );
            match token.as_deref().filter(|t| !t.is_empty()) {
                Some(t) => out.header("authorization", format!("Bearer {t}")),
                None => out,
            }
        }
        ChannelKind::Gotify { url, token } => Outgoing::json(
            format!("{}/message", base(url)),
            &json!({
                "title": clip(title(n), 250),
                "message": clip(n.summary.clone(), 4096),
                "priority": if red { 8 } else { 2 },
            }),
        )
        .header("x-gotify-key", secret(token, "token")?),
        ChannelKind::Pushover {
            user_key,
            token,
            api_url,
        } => {
            let form = serde_urlencoded::to_string([
                ("token", secret(token, "token")?),
                ("user", secret(user_key, "user_key")?),
                ("title", clip(title(n), 250)),
                ("message", clip(n.summary.clone(), 1024)),
                ("priority", if red { "1" } else { "0" }.to_owned()),
                ("timestamp", n.at.timestamp().to_string()),
            ])
            .map_err(|e| e.to_string())?;
            Outgoing {
                url: format!("{}/1/messages.json", base(api_url)),
                headers: Vec::new(),
                content_type: "application/x-www-form-urlencoded",
                body: form.into_bytes(),
            }
        }
    })
}

/// Sends what [`outgoing`] built: the receiver's status.
pub async fn post(client: &reqwest::Client, out: Outgoing) -> Result<u16, String> {
    let mut request = client
        .post(&out.url)
        .header("content-type", out.content_type);
    for (name, value) in out.headers {
        request = request.header(name, value);
    }
    let response = request
        .body(out.body)
        .send()
        .await
        .map_err(|e| super::describe(&e))?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests;

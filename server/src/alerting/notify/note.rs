//! A plain message over a chat or push channel: a title, a text and a
//! link, in each provider's documented shape (a report's summary goes out
//! so). Paging services open incidents, so they take none; webhooks and
//! email have their own senders.

use serde_json::json;
use vantage_protocol::config::ChannelKind;
use vantage_protocol::text::clip;

use super::services::{Outgoing, base, secret};

/// A message to send.
#[derive(Debug, Clone)]
pub struct Note<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub link: Option<&'a str>,
}

/// Whether a channel of this kind takes notes.
pub fn takes_notes(kind: &ChannelKind) -> bool {
    matches!(
        kind,
        ChannelKind::Slack { .. }
            | ChannelKind::Discord { .. }
            | ChannelKind::Teams { .. }
            | ChannelKind::Telegram { .. }
            | ChannelKind::Ntfy { .. }
            | ChannelKind::Gotify { .. }
            | ChannelKind::Pushover { .. }
    )
}

/// The request that sends `note` over a channel of `kind`.
pub fn outgoing(kind: &ChannelKind, note: &Note<'_>) -> Result<Outgoing, String> {
    let text = match note.link {
        Some(link) => format!("{}\n{link}", note.text),
        None => note.text.to_owned(),
    };
    Ok(match kind {
        ChannelKind::Slack { url } => Outgoing::json(
            url.clone(),
            &json!({
                "text": clip(format!("{}\n{text}", note.title), 3000),
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": clip(note.title.to_owned(), 150)}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000)}},
                ],
            }),
        ),
        ChannelKind::Discord { url } => Outgoing::json(
            url.clone(),
            &json!({
                "content": clip(note.title.to_owned(), 2000),
                "allowed_mentions": {"parse": []},
                "embeds": [{
                    "title": clip(note.title.to_owned(), 256),
                    "description": clip(note.text.to_owned(), 4096),
                    "url": note.link,
                }],
            }),
        ),
        ChannelKind::Teams { url } => Outgoing::json(
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
                            {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": note.title, "wrap": true},
                            {"type": "TextBlock", "text": text, "wrap": true},
                        ],
                    },
                }],
            }),
        ),
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
                "text": clip(format!("{}\n\n{text}", note.title), 4096),
                "disable_web_page_preview": true,
            }),
        ),
        ChannelKind::Ntfy {
            server,
            topic,
            token,
        } => {
            let mut body = json!({
                "topic": topic,
                "title": clip(note.title.to_owned(), 250),
                "message": clip(note.text.to_owned(), 4096),
                "priority": 3,
            });
            if let Some(link) = note.link {
                body["click"] = json!(link);
            }
            let out = Outgoing::json(base(server), &body);
            match token.as_deref().filter(|t| !t.is_empty()) {
                Some(t) => out.header("authorization", format!("Bearer {t}")),
                None => out,
            }
        }
        ChannelKind::Gotify { url, token } => Outgoing::json(
            format!("{}/message", base(url)),
            &json!({
                "title": clip(note.title.to_owned(), 250),
                "message": clip(text, 4096),
                "priority": 2,
            }),
        )
        .header("x-gotify-key", secret(token, "token")?),
        ChannelKind::Pushover {
            user_key,
            token,
            api_url,
        } => {
            let mut fields = vec![
                ("token", secret(token, "token")?),
                ("user", secret(user_key, "user_key")?),
                ("title", clip(note.title.to_owned(), 250)),
                ("message", clip(note.text.to_owned(), 1024)),
            ];
            if let Some(link) = note.link {
                fields.push(("url", link.to_owned()));
            }
            let form = serde_urlencoded::to_string(fields).map_err(|e| e.to_string())?;
            Outgoing {
                url: format!("{}/1/messages.json", base(api_url)),
                headers: Vec::new(),
                content_type: "application/x-www-form-urlencoded",
                body: form.into_bytes(),
            }
        }
        _ => return Err("this kind of channel takes no plain message".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> Note<'static> {
        Note {
            title: "SLA edge — 2026-11: 99.9815 %",
            text: "Availability 99.9815 % against an objective of 99.95 %.",
            link: Some("https://vantage.example.net/reports"),
        }
    }

    fn body(kind: ChannelKind) -> serde_json::Value {
        serde_json::from_slice(&outgoing(&kind, &note()).unwrap().body).unwrap()
    }

    #[test]
    fn each_chat_service_gets_its_documented_shape() {
        let slack = body(ChannelKind::Slack {
            url: "https://hooks.slack.com/services/T/B/X".into(),
        });
        assert_eq!(slack["blocks"][0]["type"], "header");
        assert!(slack["text"].as_str().unwrap().starts_with("SLA edge"));
        assert!(
            slack["blocks"][1]["text"]["text"]
                .as_str()
                .unwrap()
                .ends_with("/reports")
        );
        let discord = body(ChannelKind::Discord {
            url: "https://discord.com/api/webhooks/1/x".into(),
        });
        assert_eq!(
            discord["embeds"][0]["url"],
            "https://vantage.example.net/reports"
        );
        assert_eq!(discord["allowed_mentions"]["parse"], serde_json::json!([]));
        let teams = body(ChannelKind::Teams {
            url: "https://example.webhook.office.com/x".into(),
        });
        assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");
        let telegram = outgoing(
            &ChannelKind::Telegram {
                chat_id: "-100".into(),
                token: Some("123:abc".into()),
                api_url: "https://api.telegram.org".into(),
            },
            &note(),
        )
        .unwrap();
        assert_eq!(
            telegram.url,
            "https://api.telegram.org/bot123:abc/sendMessage"
        );
    }

    #[test]
    fn push_services_carry_the_link_as_their_click_target() {
        let ntfy = body(ChannelKind::Ntfy {
            server: "https://ntfy.sh".into(),
            topic: "sla".into(),
            token: None,
        });
        assert_eq!(ntfy["click"], "https://vantage.example.net/reports");
        let pushover = outgoing(
            &ChannelKind::Pushover {
                user_key: Some("u".into()),
                token: Some("t".into()),
                api_url: "https://api.pushover.net".into(),
            },
            &note(),
        )
        .unwrap();
        let form = String::from_utf8(pushover.body).unwrap();
        assert!(
            form.contains("url=https%3A%2F%2Fvantage.example.net%2Freports"),
            "{form}"
        );
    }

    #[test]
    fn paging_services_take_no_note() {
        let pagerduty = ChannelKind::Pagerduty {
            routing_key: Some("k".into()),
            api_url: "https://events.pagerduty.com".into(),
        };
        assert!(!takes_notes(&pagerduty));
        assert!(outgoing(&pagerduty, &note()).is_err());
    }
}

//! Each service's request against its provider's documented shape.

use chrono::TimeZone;
use serde_json::Value;

use super::*;

fn note(state: AlertState) -> Notification {
    Notification {
        version: 1,
        event_id: 9,
        notices: vec![if state == AlertState::Ok {
            Notice::Resolved
        } else {
            Notice::Firing
        }],
        summary: "FIRING core-rtt: ping-core → 10.0.0.1 from edge-1: rtt_avg 0.5 (limit > 0.1)"
            .into(),
        rule: "core-rtt".into(),
        agent: Some("edge-1".into()),
        agent_id: None,
        agents: vec!["edge-1".into()],
        check: "ping-core".into(),
        target: "10.0.0.1".into(),
        plugin: "ping".into(),
        from: AlertState::Pending,
        state,
        at: chrono::Utc.timestamp_opt(1_800_000_000, 0).unwrap(),
        value: Some(0.5),
        causes: Vec::new(),
        url: None,
        group: Vec::new(),
    }
}

fn body(out: &Outgoing) -> Value {
    serde_json::from_slice(&out.body).unwrap()
}

const API: &str = "http://127.0.0.1:9/";

#[test]
fn chat_services_get_their_documented_payloads() {
    let n = note(AlertState::Firing);
    let discord = outgoing(
        &ChannelKind::Discord {
            url: "http://d/hook".into(),
        },
        &n,
    )
    .unwrap();
    assert_eq!(discord.url, "http://d/hook");
    let b = body(&discord);
    assert!(
        b["content"]
            .as_str()
            .unwrap()
            .starts_with("FIRING core-rtt")
    );
    assert_eq!(
        b["allowed_mentions"]["parse"],
        serde_json::json!([]),
        "no pings from alert text"
    );
    assert_eq!(b["embeds"][0]["title"], "Firing: core-rtt");
    assert_eq!(b["embeds"][0]["fields"][0]["name"], "Check");

    let slack = body(
        &outgoing(
            &ChannelKind::Slack {
                url: "http://s".into(),
            },
            &n,
        )
        .unwrap(),
    );
    assert!(slack["text"].is_string());
    assert_eq!(slack["blocks"][0]["type"], "header");
    assert_eq!(slack["blocks"][1]["text"]["type"], "mrkdwn");

    let teams = body(
        &outgoing(
            &ChannelKind::Teams {
                url: "http://t".into(),
            },
            &n,
        )
        .unwrap(),
    );
    assert_eq!(teams["type"], "message");
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["body"][2]["type"], "FactSet");

    let telegram = outgoing(
        &ChannelKind::Telegram {
            chat_id: "-100123".into(),
            token: Some("123:abc".into()),
            api_url: API.into(),
        },
        &n,
    )
    .unwrap();
    assert_eq!(telegram.url, "http://127.0.0.1:9/bot123:abc/sendMessage");
    assert_eq!(body(&telegram)["chat_id"], "-100123");
    assert!(body(&telegram)["text"].is_string());
}

#[test]
fn paging_services_open_and_close_one_incident_per_alert() {
    let (fire, fixed) = (note(AlertState::Firing), note(AlertState::Ok));
    let pd = |n: &Notification| {
        outgoing(
            &ChannelKind::Pagerduty {
                routing_key: Some("R0UT1NG".into()),
                api_url: API.into(),
            },
            n,
        )
        .unwrap()
    };
    let (open, close) = (pd(&fire), pd(&fixed));
    assert_eq!(open.url, "http://127.0.0.1:9/v2/enqueue");
    let (open, close) = (body(&open), body(&close));
    assert_eq!(open["routing_key"], "R0UT1NG");
    assert_eq!(open["event_action"], "trigger");
    assert_eq!(close["event_action"], "resolve");
    assert_eq!(open["dedup_key"], close["dedup_key"], "one incident");
    assert_eq!(open["payload"]["severity"], "critical");
    assert_eq!(open["payload"]["source"], "edge-1");
    assert!(open["dedup_key"].as_str().unwrap().len() <= 255);

    let og = |n: &Notification| {
        outgoing(
            &ChannelKind::Opsgenie {
                api_key: Some("k".into()),
                api_url: API.into(),
            },
            n,
        )
        .unwrap()
    };
    let (open, close) = (og(&fire), og(&fixed));
    assert_eq!(open.url, "http://127.0.0.1:9/v2/alerts");
    assert_eq!(open.headers, [("authorization", "GenieKey k".to_owned())]);
    let alias = body(&open)["alias"].as_str().unwrap().to_owned();
    assert_eq!(
        close.url,
        format!("http://127.0.0.1:9/v2/alerts/{alias}/close?identifierType=alias")
    );
    assert!(body(&open)["message"].as_str().unwrap().len() <= 130);
    assert_eq!(body(&open)["priority"], "P1");
}

#[test]
fn push_services_get_their_documented_requests() {
    let n = note(AlertState::Firing);
    let ntfy = outgoing(
        &ChannelKind::Ntfy {
            server: API.into(),
            topic: "ops".into(),
            token: Some("tk".into()),
        },
        &n,
    )
    .unwrap();
    assert_eq!(ntfy.url, "http://127.0.0.1:9");
    assert_eq!(ntfy.headers, [("authorization", "Bearer tk".to_owned())]);
    assert_eq!(body(&ntfy)["topic"], "ops");
    assert_eq!(body(&ntfy)["priority"], 5);

    let gotify = outgoing(
        &ChannelKind::Gotify {
            url: API.into(),
            token: Some("gk".into()),
        },
        &n,
    )
    .unwrap();
    assert_eq!(gotify.url, "http://127.0.0.1:9/message");
    assert_eq!(gotify.headers, [("x-gotify-key", "gk".to_owned())]);
    assert_eq!(body(&gotify)["priority"], 8);

    let pushover = outgoing(
        &ChannelKind::Pushover {
            user_key: Some("u".into()),
            token: Some("a".into()),
            api_url: API.into(),
        },
        &n,
    )
    .unwrap();
    assert_eq!(pushover.url, "http://127.0.0.1:9/1/messages.json");
    assert_eq!(pushover.content_type, "application/x-www-form-urlencoded");
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&pushover.body).unwrap();
    let get = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    assert_eq!(
        (get("token"), get("user"), get("priority")),
        (Some("a"), Some("u"), Some("1"))
    );
    assert!(
        get("message").unwrap().contains("→"),
        "UTF-8 survives the form"
    );
}

#[test]
fn a_missing_secret_is_a_failed_delivery_not_a_panic() {
    let n = note(AlertState::Firing);
    let e = outgoing(
        &ChannelKind::Gotify {
            url: API.into(),
            token: None,
        },
        &n,
    )
    .unwrap_err();
    assert_eq!(e, "the channel has no token");
}

//! Chat, push and paging channels, each pointed at a loopback stand-in
//! that records the request: every service gets one request per step, at
//! the path its provider documents, in the documented shape; paging
//! services open an incident on firing and close the same one on
//! resolving.

use hyper::Method;
use serde_json::{Value, json};

use super::{notify_all, quick_retry, run_of};
use crate::api::enroll;
use crate::both;
use crate::registry::send_json;
use crate::support::batch;
use crate::support::receiver::{Received, Receiver};
use crate::support::server::{Backend, start_with};

fn run(minutes: i64, ok: bool) -> Value {
    run_of("edge-1", "ping-core", minutes, ok)
}

/// The request a stand-in got under `prefix`, one per step.
fn at<'a>(got: &'a [Received], prefix: &str) -> Vec<&'a Received> {
    got.iter().filter(|r| r.path.starts_with(prefix)).collect()
}

both!(every_service_gets_its_documented_request_and_incidents_close);
async fn every_service_gets_its_documented_request_and_incidents_close(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    edge.post("/api/v1/ingest", &batch(vec![run(10, true)]))
        .await
        .expect(200);
    let stand_in = Receiver::start(0).await;
    let b = &stand_in.base;
    let channels = [
        json!({"name": "discord", "kind": "discord", "url": format!("{b}/discord")}),
        json!({"name": "slack", "kind": "slack", "url": format!("{b}/slack")}),
        json!({"name": "teams", "kind": "teams", "url": format!("{b}/teams")}),
        json!({"name": "telegram", "kind": "telegram", "chat_id": "-100123", "token": "123:abc", "api_url": format!("{b}/tg")}),
        json!({"name": "pagerduty", "kind": "pagerduty", "routing_key": "R0UT1NG", "api_url": format!("{b}/pd")}),
        json!({"name": "opsgenie", "kind": "opsgenie", "api_key": "og-key", "api_url": format!("{b}/og")}),
        json!({"name": "ntfy", "kind": "ntfy", "server": format!("{b}/ntfy"), "topic": "ops", "token": "tk"}),
        json!({"name": "gotify", "kind": "gotify", "url": format!("{b}/gotify"), "token": "gk"}),
        json!({"name": "pushover", "kind": "pushover", "user_key": "uk", "token": "pt", "api_url": format!("{b}/po")}),
    ];
    notify_all(admin, &channels).await;
    // Secrets are required where the service needs them, and never shown.
    let p = send_json(
        admin,
        Method::PUT,
        "/api/v1/alerts/channels/tg2",
        &json!({"name": "tg2", "kind": "telegram", "chat_id": "1"}),
    )
    .await
    .problem(422);
    assert_eq!(p["errors"][0]["field"], "token", "{p}");
    let shown = admin
        .get("/api/v1/alerts/channels/telegram")
        .await
        .expect(200)
        .json();
    assert_eq!(shown["secrets_set"], json!(["token"]));
    assert!(!shown.to_string().contains("123:abc"));

    edge.post("/api/v1/ingest", &batch(vec![run(9, false)]))
        .await
        .expect(200);
    let got = stand_in.wait_for(9).await;
    assert_eq!(got.len(), 9, "one request per service");
    let json_of = |prefix: &str| -> (String, Value, &Received) {
        let hits = at(&got, prefix);
        assert_eq!(hits.len(), 1, "{prefix}");
        let r = hits[0];
        (
            r.path.clone(),
            serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            r,
        )
    };
    let (_, discord, _) = json_of("/discord");
    assert!(
        discord["content"]
            .as_str()
            .unwrap()
            .starts_with("FIRING down")
    );
    let (_, slack, _) = json_of("/slack");
    assert_eq!(slack["blocks"][0]["type"], "header");
    let (_, teams, _) = json_of("/teams");
    assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");
    let (path, telegram, _) = json_of("/tg");
    assert_eq!(path, "/tg/bot123:abc/sendMessage");
    assert_eq!(telegram["chat_id"], "-100123");
    let (path, pd, _) = json_of("/pd");
    assert_eq!(path, "/pd/v2/enqueue");
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(pd["routing_key"], "R0UT1NG");
    let (path, og, og_req) = json_of("/og");
    assert_eq!(path, "/og/v2/alerts");
    assert_eq!(og_req.header("authorization"), "GenieKey og-key");
    assert_eq!(og["priority"], "P1");
    assert!(og["message"].as_str().unwrap().len() <= 130);
    let (path, ntfy, ntfy_req) = json_of("/ntfy");
    assert_eq!(path, "/ntfy");
    assert_eq!(
        (ntfy["topic"].as_str(), ntfy["priority"].as_u64()),
        (Some("ops"), Some(5))
    );
    assert_eq!(ntfy_req.header("authorization"), "Bearer tk");
    let (path, gotify, gotify_req) = json_of("/gotify");
    assert_eq!(path, "/gotify/message");
    assert_eq!(gotify_req.header("x-gotify-key"), "gk");
    assert!(gotify["message"].is_string());
    let po = at(&got, "/po")[0];
    assert_eq!(po.path, "/po/1/messages.json");
    assert_eq!(
        po.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let form = String::from_utf8(po.body.to_vec()).unwrap();
    assert!(
        form.contains("token=pt") && form.contains("user=uk"),
        "{form}"
    );

    // Resolving closes the same incidents.
    edge.post("/api/v1/ingest", &batch(vec![run(8, true)]))
        .await
        .expect(200);
    let got = stand_in.wait_for(18).await;
    assert_eq!(got.len(), 18, "one more per service");
    let pd: Vec<Value> = at(&got, "/pd")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(pd[1]["event_action"], "resolve");
    assert_eq!(pd[0]["dedup_key"], pd[1]["dedup_key"]);
    let og = at(&got, "/og");
    let alias: Value = serde_json::from_slice(&og[0].body).unwrap();
    assert_eq!(
        og[1].path,
        format!(
            "/og/v2/alerts/{}/close?identifierType=alias",
            alias["alias"].as_str().unwrap()
        )
    );
}

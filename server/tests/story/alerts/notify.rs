//! Alerts reach their receivers: channels and routes over the API, a
//! signed webhook per step on real loopback receivers, retries with the
//! delivery log, a receiver that is down not holding the others up, the
//! test button, and secrets that are never shown.

use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac};
use hyper::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use vantage_server::config::ServerConfig;

use super::put;
use crate::api::enroll;
use crate::both;
use crate::registry::send_json;
use crate::support::http::Client;
use crate::support::receiver::{Received, Receiver, closed_url};
use crate::support::server::{Backend, start_with};
use crate::support::{batch, result};

const SECRET: &str = "whsec-correct-horse";

/// What a receiver checks: the signature over `<timestamp>.<body>`.
fn signed(r: &Received) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(r.header("x-vantage-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    r.header("x-vantage-signature") == want
}

async fn put_channel(admin: &Client, name: &str, body: &Value) -> Value {
    let reply = send_json(
        admin,
        Method::PUT,
        &format!("/api/v1/alerts/channels/{name}"),
        body,
    )
    .await;
    assert!(
        [200, 201].contains(&reply.status.as_u16()),
        "{name}: {}",
        reply.json()
    );
    reply.json()
}

fn run(minutes: i64, rtt: f64) -> Value {
    result(
        "edge-1",
        "ping-core",
        Utc::now() - chrono::Duration::minutes(minutes),
        &[rtt],
    )
}

async fn log(admin: &Client, channel: &str) -> Vec<Value> {
    admin
        .get(&format!("/api/v1/alerts/channels/{channel}/deliveries"))
        .await
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

both!(each_step_reaches_its_routed_channels_once_and_failures_retry_alone);
async fn each_step_reaches_its_routed_channels_once_and_failures_retry_alone(backend: Backend) {
    let config = ServerConfig {
        notify_retry: Duration::from_millis(100),
        public_url: Some("https://vantage.example.net/".into()),
        ..ServerConfig::default()
    };
    let Some(server) = start_with(backend, config).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    edge.post("/api/v1/ingest", &batch(vec![run(10, 0.01)]))
        .await
        .expect(200);

    // Three receivers: one signed, one that refuses twice, one down.
    let signed_hook = Receiver::start(0).await;
    let flaky = Receiver::start(2).await;
    let down = closed_url().await;
    let shown = put_channel(
        admin,
        "ops",
        &json!({"name": "ops", "kind": "webhook", "url": signed_hook.url, "secret": SECRET,
                "headers": {"X-Api-Key": "k1"}}),
    )
    .await;
    assert_eq!(shown["secrets_set"], json!(["secret"]));
    assert!(shown["spec"].get("secret").is_none(), "{shown}");
    assert!(
        !admin
            .get("/api/v1/alerts/channels")
            .await
            .expect(200)
            .json()
            .to_string()
            .contains(SECRET)
    );
    put_channel(
        admin,
        "flaky",
        &json!({"name": "flaky", "kind": "webhook", "url": flaky.url}),
    )
    .await;
    put_channel(
        admin,
        "down",
        &json!({"name": "down", "kind": "webhook", "url": down}),
    )
    .await;
    let routes = json!({"route": [
        {"match": {"rule": "core-*"}, "channels": ["ops", "down"], "continue": true},
        {"match": {"check": "ping-*"}, "channels": ["flaky"]},
        {"channels": ["down"]}
    ]});
    let saved = send_json(admin, Method::PUT, "/api/v1/alerts/routes", &routes)
        .await
        .expect(200)
        .json();
    assert_eq!(saved["revision"], 1);
    put(
        admin,
        "core-rtt",
        &json!({"name": "core-rtt", "select": {"check": "ping-core"},
                "condition": {"kind": "threshold", "metric": "rtt_avg", "op": ">", "value": 0.1}}),
    )
    .await
    .expect(201);

    // Fires: one signed notification to `ops`, one to `flaky` after two
    // refusals, while `down` keeps failing on its own.
    edge.post("/api/v1/ingest", &batch(vec![run(9, 0.5)]))
        .await
        .expect(200);
    let got = signed_hook.wait_for(1).await;
    assert_eq!(got.len(), 1, "exactly one notification");
    assert!(signed(&got[0]), "the signature verifies");
    assert_eq!(got[0].header("x-api-key"), "k1");
    let body = got[0].json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["notices"], json!(["firing"]));
    assert_eq!(body["state"], "firing");
    assert_eq!(body["rule"], "core-rtt");
    assert_eq!(body["agent"], "edge-1");
    assert_eq!(body["value"], 0.5);
    // The dashboard's alerts page, filtered to the rule (`public_url`).
    assert_eq!(
        body["url"],
        "https://vantage.example.net/alerts?rule=core-rtt"
    );
    assert_eq!(
        body["summary"],
        "FIRING core-rtt: ping-core → 10.0.0.1 from edge-1: rtt_avg 0.5 (limit > 0.1)"
    );
    let fired = flaky.wait_for(3).await;
    assert_eq!(fired.len(), 3, "two refused, the third taken, no more");
    assert!(
        fired
            .iter()
            .all(|r| r.header("x-vantage-delivery") == fired[0].header("x-vantage-delivery"))
    );
    assert_eq!(
        fired[2].header("x-vantage-signature"),
        "",
        "no secret, no signature"
    );
    let flaky_log = log(admin, "flaky").await;
    let outcomes: Vec<(u64, bool, u64)> = flaky_log
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["ok"].as_bool().unwrap(),
                a["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes, [(3, true, 204), (2, false, 503), (1, false, 503)]);
    let down_log = log(admin, "down").await;
    assert!(down_log.len() >= 2, "down retries: {down_log:?}");
    assert!(
        down_log
            .iter()
            .all(|a| a["ok"] == false && a["status"].is_null() && a["error"].is_string())
    );

    // A channel saved again without its secret keeps it.
    put_channel(
        admin,
        "ops",
        &json!({"name": "ops", "kind": "webhook", "url": signed_hook.url}),
    )
    .await;
    // Resolves: one more to `ops`, signed with the kept secret.
    edge.post("/api/v1/ingest", &batch(vec![run(8, 0.01)]))
        .await
        .expect(200);
    let got = signed_hook.wait_for(2).await;
    assert_eq!(got.len(), 2, "one per step");
    assert!(signed(&got[1]));
    assert_eq!(got[1].json()["notices"], json!(["resolved"]));
    assert_ne!(got[0].json()["event_id"], got[1].json()["event_id"]);
    assert_eq!(flaky.wait_for(4).await.len(), 4);

    // The test button sends one now, outside the log.
    let tested = admin
        .post("/api/v1/alerts/channels/ops/test", &json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(tested["ok"], true, "{tested}");
    assert_eq!(tested["status"], 204);
    let got = signed_hook.wait_for(3).await;
    assert!(
        got[2].json()["summary"]
            .as_str()
            .unwrap()
            .starts_with("TEST")
    );
    assert!(signed(&got[2]));
    assert_eq!(log(admin, "ops").await.len(), 2);
    let tested = admin
        .post("/api/v1/alerts/channels/down/test", &json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(tested["ok"], false, "{tested}");

    // Bad input is named; a routed channel is not deleted.
    let p = send_json(
        admin,
        Method::PUT,
        "/api/v1/alerts/channels/x",
        &json!({"name": "x", "kind": "webhook", "url": "ftp://x"}),
    )
    .await
    .problem(422);
    assert_eq!(p["errors"][0]["field"], "url", "{p}");
    let p = send_json(
        admin,
        Method::PUT,
        "/api/v1/alerts/routes",
        &json!({"route": [{"channels": ["nobody"]}]}),
    )
    .await
    .problem(422);
    assert_eq!(p["errors"][0]["field"], "route[0].channels[0]", "{p}");
    admin
        .delete("/api/v1/alerts/channels/ops")
        .await
        .problem(409);
    admin
        .get("/api/v1/alerts/channels/nobody")
        .await
        .problem(404);
}

both!(a_channels_template_is_the_line_its_receiver_reads);
async fn a_channels_template_is_the_line_its_receiver_reads(backend: Backend) {
    let Some(server) = start_with(backend, super::quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    edge.post(
        "/api/v1/ingest",
        &batch(vec![super::run_of("edge-1", "ping-core", 10, true)]),
    )
    .await
    .expect(200);
    let hook = Receiver::start(0).await;
    let mut channel = json!({"name": "ops", "kind": "webhook", "url": hook.url,
        "template": "{state} {bogus}"});
    let p = send_json(admin, Method::PUT, "/api/v1/alerts/channels/ops", &channel)
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "template", "{p}");
    assert!(p.to_string().contains("{bogus}"), "{p}");
    channel["template"] = json!("{state}: {check} → {target} on {agents} {{{rule}}}");
    super::notify_all(admin, &[channel]).await;
    edge.post(
        "/api/v1/ingest",
        &batch(vec![super::run_of("edge-1", "ping-core", 9, false)]),
    )
    .await
    .expect(200);
    let got = hook.wait_for(1).await;
    let body = got[0].json();
    assert_eq!(
        body["summary"], "firing: ping-core → 10.0.0.1 on edge-1 {down}",
        "{body}"
    );
    assert_eq!(body["rule"], "down");
}

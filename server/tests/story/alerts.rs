//! Alerting over the API, on both backends: rules saved whole with every
//! bad field named, revisions that move only on change, roles; and the
//! alerts that ingest raises (`evaluation`).

use hyper::Method;
use serde_json::{Value, json};

use crate::api::enroll;
use crate::both;
use crate::registry::{send_json, user};
use crate::support::http::{Client, Reply};
use crate::support::server::{Backend, start};
use crate::support::{batch, result};

/// A server that retries failed notifications after 100 ms.
pub(crate) fn quick_retry() -> vantage_server::config::ServerConfig {
    vantage_server::config::ServerConfig {
        notify_retry: std::time::Duration::from_millis(100),
        ..vantage_server::config::ServerConfig::default()
    }
}

/// A run of `agent`'s `check`, `minutes` ago, ended ok or timed out.
pub(crate) fn run_of(agent: &str, check: &str, minutes: i64, ok: bool) -> Value {
    let at = chrono::Utc::now() - chrono::Duration::minutes(minutes);
    run_at(agent, check, at, ok)
}

/// A run of `agent`'s `check` at `at`, ended ok or timed out.
pub(crate) fn run_at(
    agent: &str,
    check: &str,
    at: chrono::DateTime<chrono::Utc>,
    ok: bool,
) -> Value {
    let mut r = result(agent, check, at, &[0.01]);
    if !ok {
        r["status"] = json!("timeout");
    }
    r
}

/// Saves the channels, sends every alert to all of them, and adds the
/// rule `down`: ping-core's runs failing.
pub(crate) async fn notify_all(admin: &Client, channels: &[Value]) {
    route_all(admin, channels).await;
    let rule =
        json!({"name": "down", "select": {"check": "ping-core"}, "condition": {"kind": "status"}});
    put(admin, "down", &rule).await.expect(201);
}

/// Saves the channels and sends every alert to all of them.
pub(crate) async fn route_all(admin: &Client, channels: &[Value]) {
    let mut names = Vec::new();
    for channel in channels {
        let name = channel["name"].as_str().unwrap();
        let path = format!("/api/v1/alerts/channels/{name}");
        send_json(admin, Method::PUT, &path, channel)
            .await
            .expect(201);
        names.push(name);
    }
    let routes = json!({"route": [{"channels": names}]});
    send_json(admin, Method::PUT, "/api/v1/alerts/routes", &routes)
        .await
        .expect(200);
}

/// A webhook receiver on loopback, saved as the channel `ops` that every
/// alert is routed to.
pub(crate) async fn webhook_all(admin: &Client) -> crate::support::receiver::Receiver {
    let hook = crate::support::receiver::Receiver::start(0).await;
    route_all(
        admin,
        &[json!({"name": "ops", "kind": "webhook", "url": hook.url})],
    )
    .await;
    hook
}

pub(crate) async fn put(client: &Client, path_name: &str, rule: &Value) -> Reply {
    send_json(
        client,
        Method::PUT,
        &format!("/api/v1/alerts/rules/{path_name}"),
        rule,
    )
    .await
}

fn loss_rule() -> Value {
    json!({
        "name": "core-loss",
        "select": {"check": "ping-core"},
        "condition": {"kind": "threshold", "metric": "loss", "op": ">", "value": 0.05},
        "k_of_m": [3, 5],
        "for": "2m",
        "min_agents": "60%"
    })
}

both!(alert_rules_are_saved_whole_and_every_bad_field_is_named);
async fn alert_rules_are_saved_whole_and_every_bad_field_is_named(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    // A rule naming a check nobody runs is refused; once an agent reports
    // results of `ping-core`, the same rule is accepted.
    let p = put(admin, "core-loss", &loss_rule()).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "select.check", "{p}");
    let (agent, _) = enroll(&server, "edge-1").await;
    agent
        .post(
            "/api/v1/ingest",
            &batch(vec![result(
                "edge-1",
                "ping-core",
                chrono::Utc::now(),
                &[0.01],
            )]),
        )
        .await
        .expect(200);
    let created = put(admin, "core-loss", &loss_rule())
        .await
        .expect(201)
        .json();
    assert_eq!(created["revision"], 1);
    // Shown as saved, defaults filled in.
    let mut shown = loss_rule();
    shown["condition"]["aggregate"] = json!("last");
    assert_eq!(created["spec"], shown);
    // The same rule again changes nothing; a change moves the revision.
    let same = put(admin, "core-loss", &loss_rule())
        .await
        .expect(200)
        .json();
    assert_eq!(same["revision"], 1);
    let mut stricter = loss_rule();
    stricter["condition"]["value"] = json!(0.01);
    let changed = put(admin, "core-loss", &stricter).await.expect(200).json();
    assert_eq!(changed["revision"], 2);
    // A glob need not match anything yet.
    let mut future = loss_rule();
    future["name"] = json!("future");
    future["select"]["check"] = json!("dns-*");
    put(admin, "future", &future).await.expect(201);

    let listed = admin.get("/api/v1/alerts/rules").await.expect(200).json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["spec"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["core-loss", "future"]);
    let one = admin
        .get("/api/v1/alerts/rules/core-loss")
        .await
        .expect(200)
        .json();
    assert_eq!(one["spec"]["condition"]["value"], 0.01);

    // Every bad field at once, by name.
    let bad = json!({
        "name": "other name",
        "select": {"check": "ping-[", "groups": ["no spaces"]},
        "condition": {"kind": "threshold", "metric": "Bad", "op": ">", "value": 1, "aggregate": "p95"},
        "failure_threshold": 2,
        "k_of_m": [3, 5],
        "keep_firing_for": "8d",
        "min_agents": 0
    });
    let p = put(admin, "core-loss", &bad).await.problem(422);
    let fields = crate::support::fields(&p);
    assert_eq!(
        fields,
        [
            "name",
            "select.check",
            "select.groups[0]",
            "condition.metric",
            "condition.window",
            "k_of_m",
            "keep_firing_for",
            "min_agents",
            "name"
        ],
        "{p}"
    );
    // What the schema refuses is a problem too, and nothing changed.
    let p = put(
        admin,
        "core-loss",
        &json!({"name": "core-loss", "condition": {"kind": "sometimes"}}),
    )
    .await
    .problem(422);
    assert!(p.to_string().contains("sometimes"), "{p}");
    let mut p100 = loss_rule();
    p100["condition"]["aggregate"] = json!("p100");
    p100["condition"]["window"] = json!("5m");
    let p = put(admin, "core-loss", &p100).await.problem(422);
    let reason = p["errors"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("condition: `p100` is not last, avg, min, max, sum or a percentile"),
        "{p}"
    );
    let one = admin
        .get("/api/v1/alerts/rules/core-loss")
        .await
        .expect(200)
        .json();
    assert_eq!(one["revision"], 2);

    // Viewers read; operators write.
    let viewer = user(&server, "vic", "viewer").await;
    viewer.get("/api/v1/alerts/rules").await.expect(200);
    put(&viewer, "core-loss", &loss_rule()).await.problem(403);
    viewer
        .delete("/api/v1/alerts/rules/core-loss")
        .await
        .problem(403);

    admin
        .delete("/api/v1/alerts/rules/future")
        .await
        .expect(204);
    admin
        .delete("/api/v1/alerts/rules/future")
        .await
        .problem(404);
    admin.get("/api/v1/alerts/rules/future").await.problem(404);
}

mod depends;
mod email;
mod evaluation;
mod failover;
mod grouping;
mod lab;
mod nodata;
mod notify;
mod offline;
mod quorum;
mod races;
mod repeat;
mod replicas;
mod retention;
mod services;
mod silences;
mod windows;

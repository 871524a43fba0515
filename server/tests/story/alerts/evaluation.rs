//! Rules judge results as they are stored: an alert moves through its
//! states with each new result, a batch sent twice is judged once, the
//! state lives in the database (a replica with no memory carries on), and
//! the history keeps every step with the results that caused it.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::put;
use crate::api::enroll;
use crate::both;
use crate::registry::send_json;
use crate::support::http::Client;
use crate::support::server::{Backend, start};
use crate::support::{batch, result};

/// One ping-core result, `minutes` ago, with this average RTT.
fn run(agent: &str, minutes: i64, rtt: f64) -> Value {
    result(
        agent,
        "ping-core",
        Utc::now() - Duration::minutes(minutes),
        &[rtt],
    )
}

async fn send(agent: &Client, body: &Value) {
    let ack = agent.post("/api/v1/ingest", body).await.expect(200).json();
    assert_eq!(ack["replayed"], false, "{ack}");
}

async fn alerts(client: &Client, query: &str) -> Vec<Value> {
    let all = client
        .get(&format!("/api/v1/alerts{query}"))
        .await
        .expect(200)
        .json();
    all.as_array().unwrap().clone()
}

async fn history(client: &Client) -> Vec<Value> {
    let all = client
        .get("/api/v1/alerts/history")
        .await
        .expect(200)
        .json();
    all.as_array().unwrap().clone()
}

fn steps(history: &[Value]) -> Vec<(String, String)> {
    history
        .iter()
        .rev()
        .map(|e| {
            (
                e["to"].as_str().unwrap().to_owned(),
                e["notices"].to_string(),
            )
        })
        .collect()
}

both!(an_alert_fires_and_resolves_as_results_arrive_and_each_is_judged_once);
async fn an_alert_fires_and_resolves_as_results_arrive_and_each_is_judged_once(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, edge_id) = enroll(&server, "edge-1").await;
    let (calm, _) = enroll(&server, "edge-2").await;
    send(&edge, &batch(vec![run("edge-1", 10, 0.01)])).await;
    let rule = json!({
        "name": "core-rtt",
        "select": {"check": "ping-core"},
        "condition": {"kind": "threshold", "metric": "rtt_avg", "op": ">", "value": 0.1},
        "failure_threshold": 2
    });
    put(admin, "core-rtt", &rule).await.expect(201);
    assert!(alerts(admin, "").await.is_empty());

    // A slow run: pending, with the value judged.
    let first = batch(vec![run("edge-1", 9, 0.5)]);
    send(&edge, &first).await;
    let raised = alerts(admin, "").await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["state"], "pending");
    assert_eq!(raised[0]["value"], 0.5);
    assert_eq!(raised[0]["agent"], "edge-1");
    assert_eq!(raised[0]["agent_id"], edge_id.to_string());
    assert_eq!(raised[0]["check"], "ping-core");
    assert_eq!(raised[0]["target"], "10.0.0.1");
    // The same batch again is a replay, and the same result in a new batch
    // a duplicate: neither is judged again (two more would fire).
    let replay = edge.post("/api/v1/ingest", &first).await.expect(200).json();
    assert_eq!(replay["replayed"], true);
    let again = batch(first["results"].as_array().unwrap().clone());
    let ack = edge.post("/api/v1/ingest", &again).await.expect(200).json();
    assert_eq!(ack["duplicates"], 1);
    assert_eq!(alerts(admin, "").await[0]["state"], "pending");
    assert_eq!(history(admin).await.len(), 1);

    // Another agent's fast runs raise nothing of theirs.
    send(
        &calm,
        &batch(vec![run("edge-2", 9, 0.01), run("edge-2", 8, 0.02)]),
    )
    .await;

    // The state is in the database: a replica that never saw the first
    // run judges the second, and fires.
    let replica = server.replica().await;
    let second = run("edge-1", 8, 0.4);
    let second_id = second["id"].clone();
    send(&replica.as_(&edge), &batch(vec![second])).await;
    let firing = alerts(admin, "?state=firing").await;
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0]["value"], 0.4);
    let newest = &history(admin).await[0];
    assert_eq!(newest["from"], "pending");
    assert_eq!(newest["to"], "firing");
    assert_eq!(newest["notices"], json!(["firing"]));
    let causes = newest["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 2, "both slow runs caused it: {newest}");
    assert!(causes.contains(&second_id) && causes.contains(&first["results"][0]["id"]));
    assert!(alerts(admin, "?state=pending").await.is_empty());
    assert!(alerts(admin, "?rule=other").await.is_empty());

    // Runs of one batch are judged in run order: the fast run last.
    send(
        &edge,
        &batch(vec![run("edge-1", 6, 0.01), run("edge-1", 7, 0.9)]),
    )
    .await;
    assert!(alerts(admin, "").await.is_empty(), "resolved");
    assert_eq!(
        steps(&history(admin).await),
        [
            ("pending".into(), "[]".into()),
            ("firing".into(), r#"["firing"]"#.into()),
            ("ok".into(), r#"["resolved"]"#.into()),
        ]
    );
    // A run older than the newest judged changes nothing.
    send(&edge, &batch(vec![run("edge-1", 30, 5.0)])).await;
    assert!(alerts(admin, "").await.is_empty());
    assert_eq!(history(admin).await.len(), 3);

    // Pages of history, newest first.
    let page = admin
        .get("/api/v1/alerts/history?limit=2")
        .await
        .expect(200)
        .json();
    assert_eq!(page.as_array().unwrap().len(), 2);
    let before = page[1]["id"].as_i64().unwrap();
    let rest = admin
        .get(&format!("/api/v1/alerts/history?before={before}"))
        .await
        .expect(200)
        .json();
    assert_eq!(rest.as_array().unwrap().len(), 1);
    assert_eq!(rest[0]["to"], "pending");

    // Bad filters are named.
    let p = admin.get("/api/v1/alerts?state=ok").await.problem(422);
    assert_eq!(p["errors"][0]["field"], "state", "{p}");
    let p = admin
        .get("/api/v1/alerts/history?limit=0")
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "limit", "{p}");
    let p = admin.get("/api/v1/alerts?state=burning").await.problem(422);
    assert!(p["detail"].as_str().unwrap().contains("burning"), "{p}");
    server.client().get("/api/v1/alerts").await.problem(401);

    // A deleted rule takes its alerts along; the history stays.
    send(&edge, &batch(vec![run("edge-1", 5, 0.7)])).await;
    assert_eq!(alerts(admin, "").await.len(), 1);
    admin
        .delete("/api/v1/alerts/rules/core-rtt")
        .await
        .expect(204);
    assert!(alerts(admin, "").await.is_empty());
    assert_eq!(history(admin).await.len(), 4);
}

both!(a_missing_metric_is_an_error_and_a_status_rule_watches_runs);
async fn a_missing_metric_is_an_error_and_a_status_rule_watches_runs(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    send(&edge, &batch(vec![run("edge-1", 10, 0.01)])).await;
    put(
        admin,
        "typo",
        &json!({
            "name": "typo",
            "select": {"check": "ping-*", "plugin": "ping"},
            "condition": {"kind": "threshold", "metric": "rtt_avgg", "op": ">", "value": 0.1}
        }),
    )
    .await
    .expect(201);
    put(
        admin,
        "down",
        &json!({"name": "down", "select": {"check": "ping-core"}, "condition": {"kind": "status"}}),
    )
    .await
    .expect(201);
    put(
        admin,
        "elsewhere",
        &json!({"name": "elsewhere", "select": {"check": "ping-*", "groups": ["core"]}, "condition": {"kind": "status"}}),
    )
    .await
    .expect(201);
    // An ok run lacking `typo`'s metric; then a failed one, which lacks
    // every metric and is the `status` rule's to judge.
    send(&edge, &batch(vec![run("edge-1", 9, 0.01)])).await;
    let mut failed = run("edge-1", 8, 0.01);
    failed["status"] = json!("timeout");
    failed["samples"] = json!([]);
    send(&edge, &batch(vec![failed])).await;
    let raised = alerts(admin, "").await;
    let by_rule: Vec<(&str, &str)> = raised
        .iter()
        .map(|a| (a["rule"].as_str().unwrap(), a["state"].as_str().unwrap()))
        .collect();
    // `typo` reads a metric the runs lack: an error, not silence.
    // `elsewhere` selects agents of group `core`, which edge-1 is not in.
    assert_eq!(by_rule.len(), 2, "{raised:?}");
    assert!(by_rule.contains(&("typo", "error")), "{raised:?}");
    assert!(by_rule.contains(&("down", "firing")), "{raised:?}");
    // Placed in `core`, edge-1 is judged by `elsewhere` too.
    let edge_id = raised[0]["agent_id"].as_str().unwrap().to_owned();
    send_json(
        admin,
        hyper::Method::PATCH,
        &format!("/api/v1/agents/{edge_id}"),
        &json!({"groups": ["core"]}),
    )
    .await
    .expect(200);
    let mut failed = run("edge-1", 7, 0.01);
    failed["status"] = json!("timeout");
    send(&edge, &batch(vec![failed])).await;
    assert_eq!(alerts(admin, "?rule=elsewhere").await.len(), 1);
}

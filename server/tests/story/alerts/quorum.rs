//! Quorum across agents: with `min_agents = 3`, five agents probing one
//! target raise one group alert only when three fail, and one
//! notification names them; the agents' own alerts are history, not
//! notifications.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use super::{put, quick_retry, webhook_all};
use crate::api::enroll;
use crate::both;
use crate::support::http::Client;
use crate::support::server::{Backend, start_with};
use crate::support::{batch, result};

fn run(agent: &str, minutes: i64, ok: bool) -> Value {
    let mut r = result(
        agent,
        "ping-core",
        Utc::now() - chrono::Duration::minutes(minutes),
        &[0.01],
    );
    if !ok {
        r["status"] = json!("timeout");
    }
    r
}

async fn send(agent: &Client, r: Value) {
    agent
        .post("/api/v1/ingest", &batch(vec![r]))
        .await
        .expect(200);
}

both!(three_of_five_agents_failing_send_one_notification_naming_them);
async fn three_of_five_agents_failing_send_one_notification_naming_them(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let mut agents = Vec::new();
    for i in 1..=5 {
        let name = format!("edge-{i}");
        let (client, _) = enroll(&server, &name).await;
        send(&client, run(&name, 10, true)).await;
        agents.push((name, client));
    }
    let hook = webhook_all(admin).await;
    put(
        admin,
        "core-down",
        &json!({"name": "core-down", "select": {"check": "ping-core"},
                "condition": {"kind": "status"}, "min_agents": 3}),
    )
    .await
    .expect(201);

    // Every agent reports; two fail. Their own alerts fire, the group not.
    for (i, (name, client)) in agents.iter().enumerate() {
        send(client, run(name, 9, i >= 2)).await;
    }
    let raised = admin.get("/api/v1/alerts").await.expect(200).json();
    let raised = raised.as_array().unwrap();
    assert_eq!(raised.len(), 2, "{raised:?}");
    assert!(raised.iter().all(|a| a["agent"].is_string()));
    let quiet = hook.after(Duration::from_millis(1500)).await;
    assert!(quiet.is_empty(), "two of five notify nobody");

    // A third fails: the group fires, once, naming the three.
    send(&agents[2].1, run("edge-3", 8, false)).await;
    let got = hook.wait_for(1).await;
    assert_eq!(got.len(), 1, "one notification");
    let body = got[0].json();
    assert_eq!(body["notices"], json!(["firing"]));
    assert_eq!(body["agent"], Value::Null);
    assert_eq!(body["agents"], json!(["edge-1", "edge-2", "edge-3"]));
    assert_eq!(
        body["summary"],
        "FIRING core-down: ping-core → 10.0.0.1 from 3 agents (edge-1, edge-2, edge-3): runs fail"
    );
    let groups = admin
        .get("/api/v1/alerts?state=firing")
        .await
        .expect(200)
        .json();
    let group = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"].is_null())
        .expect("the group is listed");
    assert_eq!(group["agents"], json!(["edge-1", "edge-2", "edge-3"]));
    assert_eq!(group["value"], 3.0);

    // A fourth changes nothing told; two recovering resolve it, once.
    send(&agents[3].1, run("edge-4", 8, false)).await;
    send(&agents[0].1, run("edge-1", 7, true)).await;
    send(&agents[1].1, run("edge-2", 7, true)).await;
    let got = hook.wait_for(2).await;
    assert_eq!(got.len(), 2, "firing, then resolved");
    assert_eq!(got[1].json()["notices"], json!(["resolved"]));
    let history = admin
        .get("/api/v1/alerts/history?rule=core-down")
        .await
        .expect(200)
        .json();
    let group_steps = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["agent"].is_null())
        .count();
    assert_eq!(group_steps, 2);
}

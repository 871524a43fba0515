//! Grouping: a route with `group_wait` sends the alerts that fire
//! together as one message per group, waits `group_interval` before the
//! group's next, and puts every step in exactly one message, with two
//! replicas flushing the same groups.

use std::collections::BTreeSet;
use std::time::Duration;

use hyper::Method;
use serde_json::{Value, json};

use super::{put, quick_retry, run_of};
use crate::api::enroll;
use crate::both;
use crate::registry::send_json;
use crate::support::batch;
use crate::support::receiver::{Received, Receiver};
use crate::support::server::{Backend, start_with};

const CHECKS: [&str; 6] = ["ping-a", "ping-b", "ping-c", "ping-d", "ping-e", "ping-f"];

/// The steps a message tells of: its group's, or its own.
fn steps(r: &Received) -> Vec<i64> {
    let n = r.json();
    match n.get("group").and_then(Value::as_array) {
        Some(group) => group
            .iter()
            .map(|s| s["event_id"].as_i64().unwrap())
            .collect(),
        None => vec![n["event_id"].as_i64().unwrap()],
    }
}

both!(alerts_that_fire_together_go_out_as_one_message_per_group);
async fn alerts_that_fire_together_go_out_as_one_message_per_group(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    // A second notifier on the same database flushes the same groups.
    let _replica = server.replica().await;
    let (edge, _) = enroll(&server, "edge-1").await;
    let ok: Vec<Value> = CHECKS
        .iter()
        .map(|c| run_of("edge-1", c, 3, true))
        .collect();
    edge.post("/api/v1/ingest", &batch(ok)).await.expect(200);

    let (grouped, each) = (Receiver::start(0).await, Receiver::start(0).await);
    for (name, hook) in [("ops", &grouped), ("each", &each)] {
        let channel = json!({"name": name, "kind": "webhook", "url": hook.url});
        send_json(
            admin,
            Method::PUT,
            &format!("/api/v1/alerts/channels/{name}"),
            &channel,
        )
        .await
        .expect(201);
    }
    // Grouping settings without a group_wait, or out of range, are named.
    let bad = json!({"route": [
        {"channels": ["ops"], "group_interval": "2s", "group_by": ["check"]},
        {"channels": ["ops"], "group_wait": "2h", "group_by": ["colour"]}
    ]});
    let p = send_json(admin, Method::PUT, "/api/v1/alerts/routes", &bad)
        .await
        .problem(422);
    assert!(p.to_string().contains("colour"), "{p}");
    let bad = json!({"route": [
        {"channels": ["ops"], "group_interval": "2s", "group_by": ["check"]},
        {"channels": ["ops"], "group_wait": "2h", "group_interval": "0s"}
    ]});
    let p = send_json(admin, Method::PUT, "/api/v1/alerts/routes", &bad)
        .await
        .problem(422);
    let fields = crate::support::fields(&p);
    assert_eq!(
        fields,
        [
            "route[0].group_interval",
            "route[0].group_by",
            "route[1].group_wait",
            "route[1].group_interval"
        ],
        "{p}"
    );
    let routes = json!({"route": [
        {"channels": ["ops"], "group_wait": "1s", "group_interval": "3s", "continue": true},
        {"channels": ["each"]}
    ]});
    let saved = send_json(admin, Method::PUT, "/api/v1/alerts/routes", &routes)
        .await
        .expect(200)
        .json();
    assert_eq!(saved["routing"]["route"][0]["group_wait"], "1s");
    let rule = json!({"name": "down", "select": {"check": "ping-*"},
        "condition": {"kind": "status"}});
    put(admin, "down", &rule).await.expect(201);

    // Five checks fail in one batch: five steps, one message.
    let failing: Vec<Value> = CHECKS[..5]
        .iter()
        .map(|c| run_of("edge-1", c, 2, false))
        .collect();
    edge.post("/api/v1/ingest", &batch(failing))
        .await
        .expect(200);
    assert_eq!(each.wait_for(5).await.len(), 5);
    let got = grouped.wait_for(1).await;
    assert_eq!(got.len(), 1, "one message for the group");
    let first = got[0].json();
    assert!(
        first["summary"]
            .as_str()
            .unwrap()
            .starts_with("5 alerts: 5 firing\nFIRING down: ping-"),
        "{first}"
    );
    assert_eq!(first["group"].as_array().unwrap().len(), 5);
    assert_eq!(first["state"], "firing");

    // A sixth right after waits for the group's interval, and comes alone.
    edge.post(
        "/api/v1/ingest",
        &batch(vec![run_of("edge-1", "ping-f", 2, false)]),
    )
    .await
    .expect(200);
    assert_eq!(each.wait_for(6).await.len(), 6);
    let got = grouped.wait_for(2).await;
    assert_eq!(got.len(), 2);
    let waited = got[1].at.duration_since(got[0].at);
    assert!(waited >= Duration::from_millis(2800), "{waited:?}");
    let second = got[1].json();
    assert!(second.get("group").is_none(), "{second}");
    assert!(
        second["summary"]
            .as_str()
            .unwrap()
            .starts_with("FIRING down: ping-f"),
        "{second}"
    );

    // All six resolve together: one message.
    let ok: Vec<Value> = CHECKS
        .iter()
        .map(|c| run_of("edge-1", c, 1, true))
        .collect();
    edge.post("/api/v1/ingest", &batch(ok)).await.expect(200);
    assert_eq!(each.wait_for(12).await.len(), 12);
    let got = grouped.wait_for(3).await;
    let third = got[2].json();
    assert!(
        third["summary"]
            .as_str()
            .unwrap()
            .starts_with("6 alerts: 6 resolved"),
        "{third}"
    );

    // Every step in exactly one message, none left out.
    let got = grouped.after(Duration::from_secs(4)).await;
    assert_eq!(got.len(), 3, "nothing more");
    let told: Vec<i64> = got.iter().flat_map(steps).collect();
    let unique: BTreeSet<i64> = told.iter().copied().collect();
    assert_eq!(told.len(), unique.len(), "no step twice: {told:?}");
    let singles: BTreeSet<i64> = each.received().iter().flat_map(steps).collect();
    assert_eq!(unique, singles);
    // The delivery log has one line per message.
    let log = admin
        .get("/api/v1/alerts/channels/ops/deliveries")
        .await
        .expect(200)
        .json();
    assert_eq!(log.as_array().unwrap().len(), 3, "{log}");
}

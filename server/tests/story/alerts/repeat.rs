//! Reminders: a rule with `repeat_interval` tells a firing alert again once
//! it has told nothing for that long — once, whichever replica sweeps —
//! and stops when the alert resolves.

use std::time::Duration;

use serde_json::json;

use super::{put, quick_retry, route_all, run_of};
use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::receiver::Receiver;
use crate::support::server::{Backend, start_with};

both!(a_firing_alert_is_told_again_after_its_repeat_interval_and_not_after_it_resolves);
async fn a_firing_alert_is_told_again_after_its_repeat_interval_and_not_after_it_resolves(
    backend: Backend,
) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let replica = server.replica().await;
    let (edge, _) = enroll(&server, "edge-1").await;
    edge.post(
        "/api/v1/ingest",
        &batch(vec![run_of("edge-1", "ping-core", 10, true)]),
    )
    .await
    .expect(200);
    let hook = Receiver::start(0).await;
    route_all(
        admin,
        &[json!({"name": "ops", "kind": "webhook", "url": hook.url})],
    )
    .await;
    let mut rule = json!({"name": "down", "select": {"check": "ping-core"},
        "condition": {"kind": "status"}, "repeat_interval": "10s"});
    let p = put(admin, "down", &rule).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "repeat_interval", "{p}");
    rule["repeat_interval"] = json!("1m");
    put(admin, "down", &rule).await.expect(201);

    // It failed five minutes ago, and was told then: a minute of quiet is
    // long past, so the next sweep (of either replica) reminds, once.
    edge.post(
        "/api/v1/ingest",
        &batch(vec![run_of("edge-1", "ping-core", 5, false)]),
    )
    .await
    .expect(200);
    hook.wait_for(2).await;
    let got = hook.after(Duration::from_secs(3)).await;
    let steps: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            let n = r.json();
            (n["from"].to_string(), n["state"].to_string())
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("\"ok\"".into(), "\"firing\"".into()),
            ("\"firing\"".into(), "\"firing\"".into())
        ],
        "told, then reminded once"
    );
    let history = replica
        .as_(admin)
        .get("/api/v1/alerts/history?rule=down&limit=1")
        .await
        .expect(200)
        .json();
    assert_eq!(history[0]["from"], "firing");
    assert_eq!(history[0]["to"], "firing");
    assert_eq!(history[0]["notices"], json!(["firing"]));

    // Resolved: told, and no reminder after.
    edge.post(
        "/api/v1/ingest",
        &batch(vec![run_of("edge-1", "ping-core", 1, true)]),
    )
    .await
    .expect(200);
    hook.wait_for(3).await;
    let got = hook.after(Duration::from_secs(3)).await;
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].json()["state"], "ok");
}

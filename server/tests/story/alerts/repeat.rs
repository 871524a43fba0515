//! Reminders: a rule with `repeat_interval` tells a firing alert again once
//! it has told nothing for that long — once, whichever replica sweeps —
//! and stops when the alert resolves; a route's own `repeat_interval`
//! reminds its channels at its own pace.

use std::time::Duration;

use hyper::Method;
use serde_json::json;

use super::{put, quick_retry, run_of, webhook_all};
use crate::api::enroll;
use crate::both;
use crate::registry::send_json;
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
    let hook = webhook_all(admin).await;
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

both!(each_route_reminds_its_channels_at_its_own_interval);
async fn each_route_reminds_its_channels_at_its_own_interval(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    edge.post(
        "/api/v1/ingest",
        &batch(vec![run_of("edge-1", "ping-core", 20, true)]),
    )
    .await
    .expect(200);
    let (pager, chat, mail) = (
        Receiver::start(0).await,
        Receiver::start(0).await,
        Receiver::start(0).await,
    );
    for (name, hook) in [("pager", &pager), ("chat", &chat), ("mail", &mail)] {
        let channel = json!({"name": name, "kind": "webhook", "url": hook.url});
        let path = format!("/api/v1/alerts/channels/{name}");
        send_json(admin, Method::PUT, &path, &channel)
            .await
            .expect(201);
    }
    let bad = json!({"route": [{"channels": ["pager"], "repeat_interval": "10s"}]});
    let p = send_json(admin, Method::PUT, "/api/v1/alerts/routes", &bad)
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "route[0].repeat_interval", "{p}");
    let routes = json!({"route": [
        {"channels": ["pager"], "repeat_interval": "1m", "continue": true},
        {"channels": ["chat"], "repeat_interval": "3m", "continue": true},
        {"channels": ["mail"]}]});
    send_json(admin, Method::PUT, "/api/v1/alerts/routes", &routes)
        .await
        .expect(200);
    let rule = json!({"name": "down", "select": {"check": "ping-core"},
        "condition": {"kind": "status"}});
    put(admin, "down", &rule).await.expect(201);

    // It failed ten minutes ago: quiet past both routes' intervals, so the
    // pager and the chat are each reminded once, by a reminder of their
    // own; the mail's route (and the rule) has none: told once.
    edge.post(
        "/api/v1/ingest",
        &batch(vec![run_of("edge-1", "ping-core", 10, false)]),
    )
    .await
    .expect(200);
    pager.wait_for(2).await;
    chat.wait_for(2).await;
    mail.wait_for(1).await;
    let settle = Duration::from_secs(3);
    for (name, hook, n) in [("pager", &pager, 2), ("chat", &chat, 2), ("mail", &mail, 1)] {
        let got = hook.after(settle).await;
        let steps: Vec<String> = got
            .iter()
            .map(|r| format!("{}→{}", r.json()["from"], r.json()["state"]))
            .collect();
        assert_eq!(got.len(), n, "{name}: {steps:?}");
        assert_eq!(steps[0], "\"ok\"→\"firing\"", "{name}");
        if n == 2 {
            assert_eq!(steps[1], "\"firing\"→\"firing\"", "{name}");
        }
    }
    let history = admin
        .get("/api/v1/alerts/history?rule=down&limit=3")
        .await
        .expect(200)
        .json();
    let mut every: Vec<String> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["repeat_every"].as_str().map(str::to_owned))
        .collect();
    every.sort();
    assert_eq!(every, ["1m", "3m"], "{history}");
}

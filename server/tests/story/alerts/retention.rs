//! Retention of the alert history: steps older than `retention.alerts`
//! go, but never an alert's newest step (its state, which dependencies and
//! reminders read) nor a step a delivery still waits on; newer steps stay.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};
use vantage_server::config::{Retention, ServerConfig};

use super::*;
use crate::support::receiver::closed_url;
use crate::support::server::start_with;

/// The steps of `rule` as (to, when), newest first.
async fn steps_of(admin: &Client, rule: &str) -> Vec<(String, String)> {
    let all = admin
        .get(&format!("/api/v1/alerts/history?rule={rule}"))
        .await
        .expect(200)
        .json();
    all.as_array()
        .unwrap()
        .iter()
        .map(|e| (e["to"].as_str().unwrap().to_owned(), e["at"].to_string()))
        .collect()
}

fn slow(agent: &str, days_ago: i64, minutes: i64, rtt: f64) -> Value {
    let at = Utc::now() - chrono::Duration::days(days_ago) + chrono::Duration::minutes(minutes);
    result(agent, "ping-core", at, &[rtt])
}

both!(old_alert_steps_go_but_each_alerts_state_and_pending_work_stay);
async fn old_alert_steps_go_but_each_alerts_state_and_pending_work_stay(backend: Backend) {
    let config = ServerConfig {
        retention: Retention {
            alerts: Duration::from_secs(86_400),
            ..Retention::default()
        },
        // A receiver that is down keeps its deliveries pending.
        notify_retry: Duration::from_secs(3600),
        ..ServerConfig::default()
    };
    let Some(server) = start_with(backend, config.clone()).await else {
        return;
    };
    let admin = &server.admin;
    let down = closed_url().await;
    send_json(
        admin,
        Method::PUT,
        "/api/v1/alerts/channels/down",
        &json!({"name": "down", "kind": "webhook", "url": down}),
    )
    .await
    .expect(201);
    send_json(
        admin,
        Method::PUT,
        "/api/v1/alerts/routes",
        &json!({"route": [{"match": {"rule": "routed"}, "channels": ["down"]}]}),
    )
    .await
    .expect(200);
    let (edge, _) = enroll(&server, "edge-1").await;
    let (fresh, _) = enroll(&server, "edge-2").await;
    // The check exists before its rules.
    edge.post("/api/v1/ingest", &batch(vec![slow("edge-1", 4, 0, 0.01)]))
        .await
        .expect(200);
    for name in ["unrouted", "routed"] {
        let rule = json!({"name": name, "select": {"check": "ping-core"},
            "condition": {"kind": "threshold", "metric": "rtt_avg", "op": ">", "value": 0.1}});
        put(admin, name, &rule).await.expect(201);
    }
    // Three days ago edge-1 fired, recovered and fired again; edge-2 fires now.
    for (i, rtt) in [0.5, 0.01, 0.5].into_iter().enumerate() {
        edge.post(
            "/api/v1/ingest",
            &batch(vec![slow("edge-1", 3, i as i64, rtt)]),
        )
        .await
        .expect(200);
    }
    fresh
        .post("/api/v1/ingest", &batch(vec![slow("edge-2", 0, 0, 0.5)]))
        .await
        .expect(200);
    let before = steps_of(admin, "unrouted").await;
    assert_eq!(before.len(), 4, "{before:?}");
    assert_eq!(steps_of(admin, "routed").await.len(), 4);

    // The job runs (again while the notifier still routes the steps).
    let store = &server.state.store;
    let deadline = Instant::now() + Duration::from_secs(20);
    let kept = loop {
        vantage_server::jobs::retention(store, &config, Utc::now())
            .await
            .unwrap();
        let kept = steps_of(admin, "unrouted").await;
        if kept.len() == 2 || Instant::now() > deadline {
            break kept;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // edge-2's step of now, and edge-1's newest old one: it still fires.
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[0], before[0]);
    assert_eq!(kept[1], before[1]);
    assert!(kept.iter().all(|(to, _)| to == "firing"), "{kept:?}");
    let firing = admin
        .get("/api/v1/alerts?rule=unrouted&state=firing")
        .await
        .expect(200)
        .json();
    assert_eq!(firing.as_array().unwrap().len(), 2, "{firing}");
    // Every routed step waits on its delivery to the receiver that is down.
    assert_eq!(steps_of(admin, "routed").await.len(), 4);
}

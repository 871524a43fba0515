//! Agent offline: an agent that goes silent sends one "offline"
//! notification, not one per check that stopped reporting; the backlog it
//! sends when it comes back is judged as measured by an offline agent, so
//! the only other notification is "resolved". Once it is back, its
//! alerts are told again.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use super::{put, run_at, webhook_all};
use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::http::Client;
use crate::support::receiver::Received;
use crate::support::server::{Backend, start_with};

fn checks() -> Vec<String> {
    (0..10).map(|i| format!("web-{i:02}")).collect()
}

/// A run of every check at `at`.
fn runs(at: chrono::DateTime<Utc>, ok: bool) -> Vec<Value> {
    checks()
        .iter()
        .map(|c| run_at("edge-1", c, at, ok))
        .collect()
}

async fn ingest(edge: &Client, results: Vec<Value>) {
    edge.post("/api/v1/ingest", &batch(results))
        .await
        .expect(200);
}

fn said(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| r.json()["summary"].as_str().unwrap().to_owned())
        .collect()
}

both!(an_offline_agent_sends_one_notification_not_one_per_check);
async fn an_offline_agent_sends_one_notification_not_one_per_check(backend: Backend) {
    let config = vantage_server::config::ServerConfig {
        offline_after: Duration::from_secs(3),
        ..super::quick_retry()
    };
    let Some(server) = start_with(backend, config).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    let hook = webhook_all(admin).await;
    // An agent_offline rule selects agents, not results.
    let p = put(
        admin,
        "offline",
        &json!({"name": "offline", "select": {"check": "web-*"}, "condition": {"kind": "agent_offline"}}),
    )
    .await
    .problem(422);
    assert_eq!(p["errors"][0]["field"], "select.check", "{p}");
    for rule in [
        json!({"name": "offline", "condition": {"kind": "agent_offline"}}),
        json!({"name": "quiet", "select": {"check": "web-*"}, "condition": {"kind": "no_data", "intervals": 2}}),
        json!({"name": "down", "select": {"check": "web-*"}, "condition": {"kind": "status"}}),
    ] {
        put(admin, rule["name"].as_str().unwrap(), &rule)
            .await
            .expect(201);
    }
    // Ten checks run every second, then the agent goes quiet.
    let start = Utc::now();
    ingest(&edge, runs(start - chrono::Duration::seconds(2), true)).await;
    ingest(&edge, runs(start - chrono::Duration::seconds(1), true)).await;

    // Its ten checks go without data after 2 s; the agent is offline after
    // 3 s: one notification.
    hook.wait_for(1).await;
    let got = hook.after(Duration::from_secs(3)).await;
    assert_eq!(said(&got), ["FIRING offline: agent edge-1: not heard from"]);
    let offline = got[0].json();
    assert_eq!(offline["check"], "");
    assert_eq!(offline["agent"], "edge-1");
    let active = admin
        .get("/api/v1/alerts?rule=offline")
        .await
        .expect(200)
        .json();
    assert_eq!(active[0]["agent"], "edge-1", "{active}");
    assert_eq!(active[0]["state"], "firing", "{active}");
    let quiet = admin
        .get("/api/v1/alerts/history?rule=quiet")
        .await
        .expect(200)
        .json();
    let steps = quiet.as_array().unwrap();
    assert_eq!(steps.len(), 10, "{quiet}");
    for step in steps {
        assert_eq!(step["to"], "no_data", "{step}");
        assert_eq!(
            step["suppressed_by"], "agent edge-1 was offline (rule offline)",
            "{step}"
        );
    }

    // It comes back with its backlog: every check failed while it was cut
    // off, and runs fine now, every half second. Only "resolved" is told.
    let back = Utc::now();
    ingest(&edge, runs(back - chrono::Duration::seconds(1), false)).await;
    let alive = {
        let edge = edge.clone();
        tokio::spawn(async move {
            for _ in 0..60 {
                ingest(&edge, runs(Utc::now(), true)).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    hook.wait_for(2).await;
    let got = hook.after(Duration::from_secs(3)).await;
    assert_eq!(
        said(&got[1..]),
        ["RESOLVED offline: agent edge-1: heard from again"]
    );
    let down = admin
        .get("/api/v1/alerts/history?rule=down")
        .await
        .expect(200)
        .json();
    assert_eq!(down.as_array().unwrap().len(), 20, "fired and resolved");

    // Back online, its alerts are told again.
    ingest(&edge, vec![run_at("edge-1", "web-99", Utc::now(), false)]).await;
    hook.wait_for(3).await;
    let got = hook.after(Duration::from_secs(1)).await;
    alive.abort();
    assert_eq!(
        said(&got[2..]),
        ["FIRING down: web-99 → 10.0.0.1 from edge-1: runs fail"]
    );
}

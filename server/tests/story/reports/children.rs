//! An incident lists its suppressed children: a gateway down with three
//! checks behind it (`depends_on`) sends one notification, and the
//! gateway's report names, under its incident, the three alerts it kept
//! from the channels, in JSON and CSV; a check that does not depend on
//! the gateway, down at the same time, is not among them.

use std::time::Duration;

use chrono::{DurationRound as _, Utc};
use serde_json::{Value, json};

use super::{put, range_path};
use crate::alerts::{put as put_rule, quick_retry, run_at, webhook_all};
use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::server::{Backend, start_with};

const CHILDREN: [&str; 3] = ["web-00", "web-01", "web-02"];

both!(an_incident_names_the_alerts_its_check_target_suppressed);
async fn an_incident_names_the_alerts_its_check_target_suppressed(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    let hook = webhook_all(admin).await;
    // Fine (which makes the checks the rules name), then everything down
    // for a minute, then fine again.
    let minute = chrono::Duration::minutes(1);
    let t0 = (Utc::now() - minute * 30).duration_trunc(minute).unwrap();
    let round = |at, ok| {
        let runs: Vec<Value> = ["gw", "db"]
            .iter()
            .chain(&CHILDREN)
            .map(|c| run_at("edge-1", c, at, ok))
            .collect();
        batch(runs)
    };
    edge.post("/api/v1/ingest", &round(t0, true))
        .await
        .expect(200);
    let rules = [
        json!({"name": "gw-down", "select": {"check": "gw"}, "condition": {"kind": "status"}}),
        json!({"name": "web-down", "select": {"check": "web-*"},
               "condition": {"kind": "status"}, "depends_on": ["gw"]}),
        json!({"name": "db-down", "select": {"check": "db"}, "condition": {"kind": "status"}}),
    ];
    for rule in &rules {
        let name = rule["name"].as_str().unwrap();
        put_rule(admin, name, rule).await.expect(201);
    }

    for (at, ok) in [(t0 + minute, false), (t0 + minute * 2, true)] {
        edge.post("/api/v1/ingest", &round(at, ok))
            .await
            .expect(200);
    }
    // gw-down and db-down fire and resolve: four notifications, none of
    // web-down's.
    hook.wait_for(4).await;
    let got = hook.after(Duration::from_millis(1500)).await;
    let told: Vec<String> = got
        .iter()
        .map(|r| r.json()["rule"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(told.len(), 4, "{told:?}");
    assert!(!told.iter().any(|r| r == "web-down"), "{told:?}");
    vantage_server::jobs::rollup(&server.state.store, Utc::now() + minute)
        .await
        .unwrap();

    put(
        admin,
        "/api/v1/slas/edge",
        &json!({"name": "edge", "objective": 99.9, "period": "year",
                "select": {"check": "*"}}),
    )
    .await;
    let path = range_path("edge", t0 - chrono::Duration::hours(1), t0 + minute * 10);
    let report = admin.get(&path).await.expect(200).json();
    let incidents = report["incidents"].as_array().unwrap();
    let of = |check: &str| -> &Value {
        incidents
            .iter()
            .find(|i| i["check"] == check)
            .unwrap_or_else(|| panic!("no incident of {check}: {incidents:?}"))
    };
    let gw = of("gw");
    assert_eq!(gw["rules"], json!(["gw-down"]));
    let suppressed = gw["suppressed"].as_array().unwrap();
    assert_eq!(
        suppressed
            .iter()
            .map(|s| s["check"].as_str().unwrap())
            .collect::<Vec<_>>(),
        CHILDREN,
        "{gw}"
    );
    for s in suppressed {
        assert_eq!(s["rule"], "web-down");
        assert_eq!(s["target"], "10.0.0.1");
        assert_eq!(s["agents"], json!(["edge-1"]));
        assert_eq!(s["first_at"], json!(t0 + minute));
    }
    // The children's own incidents, and db's, suppressed nothing.
    for check in ["db", "web-00"] {
        assert_eq!(of(check)["suppressed"], json!([]), "{check}");
    }

    let csv = admin
        .get(&format!("{path}&format=csv"))
        .await
        .expect(200)
        .body_text();
    assert!(
        csv.contains(
            "web-00 → 10.0.0.1 (web-down on edge-1); web-01 → 10.0.0.1 (web-down on edge-1); \
             web-02 → 10.0.0.1 (web-down on edge-1)"
        ),
        "{csv}"
    );
}

//! Counting by alerts: three agents' three days, a rule firing on any
//! failed run. One hour two agents fail together, another hour one agent
//! alone: with a quorum of 2 the first hour is down time and the second is
//! not, whatever the runs say; counting by runs, the incident names the
//! rule that fired in it.

use chrono::{Duration, DurationRound as _, Utc};
use serde_json::json;

use super::{assert_close, put, range_path, server, web_runs};
use crate::both;
use crate::support::server::Backend;

both!(a_report_counting_by_alerts_counts_the_time_the_quorum_fired);
async fn a_report_counting_by_alerts_counts_the_time_the_quorum_fired(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let admin = &server.admin;
    put(
        admin,
        "/api/v1/alerts/rules/web-down",
        &json!({"name": "web-down", "select": {"check": "web*"}, "condition": {"kind": "status"}}),
    )
    .await;
    // A rule the SLA does not name: its firing counts for nothing.
    put(
        admin,
        "/api/v1/alerts/rules/web-slow",
        &json!({"name": "web-slow", "select": {"check": "web*"},
            "condition": {"kind": "threshold", "metric": "total_time", "op": ">", "value": 0.001}}),
    )
    .await;
    let day = Utc::now().duration_trunc(Duration::days(1)).unwrap() - Duration::days(4);
    let (from, to) = (day, day + Duration::days(3));
    let together = (day + Duration::hours(6), day + Duration::hours(7));
    let alone = (
        day + Duration::days(1) + Duration::hours(9),
        day + Duration::days(1) + Duration::hours(10),
    );
    web_runs(&server, &["a1", "a2", "a3"], (from, to), |agent, t| {
        (agent != "a3" && (together.0..together.1).contains(&t))
            || (agent == "a2" && (alone.0..alone.1).contains(&t))
    })
    .await;
    // web-slow fires all along, on every agent.
    let slow = admin
        .get("/api/v1/alerts?rule=web-slow&state=firing")
        .await
        .expect(200)
        .json();
    assert_eq!(slow.as_array().map(Vec::len), Some(3), "{slow}");
    put(
        admin,
        "/api/v1/slas/alerts",
        &json!({"name": "alerts", "objective": 99.9, "period": "year", "min_agents": 2,
            "count_by": "alerts", "rules": ["web-down"]}),
    )
    .await;
    put(
        admin,
        "/api/v1/slas/runs",
        &json!({"name": "runs", "objective": 99.9, "period": "year", "min_agents": 2}),
    )
    .await;
    let report = |sla: &str| range_path(sla, from, to);

    let by_alerts = admin.get(&report("alerts")).await.expect(200).json();
    assert_eq!(by_alerts["count_by"], "alerts");
    let s = &by_alerts["summary"];
    let counted = 3 * 86_400;
    assert_eq!(s["counted_seconds"], counted);
    // a1 and a2 fire from the first failed run to the first good one.
    assert_eq!(s["down_seconds"], 3600);
    assert_close(&s["availability"], 100.0 * (1.0 - 3600.0 / counted as f64));
    assert_close(
        &s["error_budget"]["allowed_down_seconds"],
        0.001 * counted as f64,
    );
    assert_close(
        &s["error_budget"]["burn_rate"],
        (3600.0 / counted as f64) / 0.001,
    );
    let incidents = by_alerts["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let i = &incidents[0];
    assert_eq!(i["start"], json!(together.0));
    assert_eq!(i["end"], json!(together.1));
    assert_eq!(i["rules"], json!(["web-down"]));
    assert_eq!(i["first_agents"], json!(["a1", "a2"]));
    // The runs are still reported beside.
    assert_eq!(s["runs"], 3 * 3 * 144);

    let by_runs = admin.get(&report("runs")).await.expect(200).json();
    assert_eq!(by_runs["count_by"], "runs");
    let r = &by_runs["summary"];
    assert_eq!(
        (&r["failed_runs"], &r["outvoted_runs"]),
        (&json!(12), &json!(6))
    );
    assert_eq!(r["down_seconds"], 3600);
    let incidents = by_runs["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0]["rules"], json!(["web-down"]));

    // The page says how it counted, and names the rule.
    let page = admin
        .get(&format!("{}&format=html", report("alerts")))
        .await
        .expect(200)
        .body_text();
    assert!(page.contains("Time firing"), "{page}");
    assert!(page.contains("web-down"), "{page}");
}

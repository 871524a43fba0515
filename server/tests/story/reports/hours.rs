//! A report reads hours where their minutes no longer are: two agents'
//! three days, one hour down on both and one on a single agent, reported
//! with the minute rollups, then again once they are gone (as after
//! `retention.minute`): the same runs, failures, outvoted runs and
//! incident, the down time then counted in hours.

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use serde_json::{Value, json};
use uuid::Uuid;
use vantage_server::store::{JobStore as _, Rollup};

use super::{put, server};
use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::server::Backend;

fn run(agent: &str, at: DateTime<Utc>, ok: bool) -> Value {
    json!({
        "id": Uuid::now_v7(), "agent": agent, "check": "web", "target": "10.0.0.1",
        "plugin": "http", "plugin_version": "0.1.0",
        "status": if ok { "ok" } else { "timeout" },
        "started_at": at, "duration": 0.05,
        "samples": [{"metric": "total_time", "unit": "seconds", "value": 0.02}],
    })
}

both!(a_report_counts_whole_hours_once_their_minutes_are_gone);
async fn a_report_counts_whole_hours_once_their_minutes_are_gone(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let day = Utc::now().duration_trunc(Duration::days(1)).unwrap() - Duration::days(4);
    let (from, to) = (day, day + Duration::days(3));
    let both_down = (day + Duration::hours(6), day + Duration::hours(7));
    let one_down = (
        day + Duration::days(1) + Duration::hours(9),
        day + Duration::days(1) + Duration::hours(10),
    );
    for agent in ["a1", "a2"] {
        let (client, _) = enroll(&server, agent).await;
        let mut runs = Vec::new();
        let mut t = from;
        while t < to {
            let down = (both_down.0..both_down.1).contains(&t)
                || (agent == "a2" && (one_down.0..one_down.1).contains(&t));
            runs.push(run(agent, t, !down));
            t += Duration::minutes(10);
        }
        client
            .post("/api/v1/ingest", &batch(runs))
            .await
            .expect(200);
    }
    vantage_server::jobs::rollup(&server.state.store, Utc::now() + Duration::minutes(1))
        .await
        .unwrap();
    put(
        &server.admin,
        "/api/v1/slas/yearly",
        &json!({"name": "yearly", "objective": 99.9, "period": "year", "min_agents": 2}),
    )
    .await;
    let stamp = |t: DateTime<Utc>| t.to_rfc3339().replace('+', "%2B");
    let path = format!(
        "/api/v1/reports?sla=yearly&from={}&to={}",
        stamp(from),
        stamp(to)
    );
    let by_minutes = server.admin.get(&path).await.expect(200).json();
    let runs = 2 * 3 * 144;
    let s = &by_minutes["summary"];
    assert_eq!(
        (&s["runs"], &s["failed_runs"], &s["outvoted_runs"]),
        (&json!(runs), &json!(12), &json!(6))
    );
    assert_eq!(s["down_minutes"], 6);
    assert_eq!(by_minutes["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(by_minutes["incidents"][0]["duration_seconds"], 3600);

    let gone = server
        .state
        .store
        .delete_rollups_before(Rollup::Minute, Utc::now())
        .await
        .unwrap();
    assert!(gone > 0);
    let by_hours = server.admin.get(&path).await.expect(200).json();
    let h = &by_hours["summary"];
    for figure in [
        "runs",
        "failed_runs",
        "outvoted_runs",
        "availability",
        "incidents",
    ] {
        assert_eq!(h[figure], s[figure], "{figure}");
    }
    // The hour down counts as one step of the hours.
    assert_eq!(h["down_minutes"], 1);
    assert_eq!(by_hours["incidents"], by_minutes["incidents"]);
    // Latency from the hours' sketches, as from the minutes'.
    assert_eq!(h["latency"]["values"], s["latency"]["values"]);
}

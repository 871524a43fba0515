//! A report reads hours where their minutes no longer are: two agents'
//! three days, one hour down on both and one on a single agent, reported
//! with the minute rollups, then again once they are gone (as after
//! `retention.minute`): the same runs, failures, outvoted runs and
//! incident, the down time then counted in hours.

use chrono::{Duration, DurationRound as _, Utc};
use serde_json::json;
use vantage_server::store::{JobStore as _, Rollup};

use super::{put, range_path, server, web_runs, web_runs_where};
use crate::both;
use crate::support::server::Backend;

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
    web_runs(&server, &["a1", "a2"], (from, to), |agent, t| {
        (both_down.0..both_down.1).contains(&t)
            || (agent == "a2" && (one_down.0..one_down.1).contains(&t))
    })
    .await;
    put(
        &server.admin,
        "/api/v1/slas/yearly",
        &json!({"name": "yearly", "objective": 99.9, "period": "year", "min_agents": 2}),
    )
    .await;
    let path = range_path("yearly", from, to);
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
        // Well past now: TimescaleDB's retention drops whole chunks.
        .delete_rollups_before(Rollup::Minute, Utc::now() + Duration::days(30))
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

both!(an_incident_whose_agents_fall_quiet_ends_at_their_next_good_run);
async fn an_incident_whose_agents_fall_quiet_ends_at_their_next_good_run(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let day = Utc::now().duration_trunc(Duration::days(1)).unwrap() - Duration::days(3);
    let (from, to) = (day, day + Duration::days(2));
    let h = |n: i64| day + Duration::hours(n);
    // Down 06:00–07:00, no runs at all until 09:30, then up again.
    web_runs_where(&server, &["a1", "a2"], (from, to), |_, t| {
        if t >= h(6) && t < h(7) {
            Some(false)
        } else if t >= h(7) && t < h(9) + Duration::minutes(30) {
            None
        } else {
            Some(true)
        }
    })
    .await;
    put(
        &server.admin,
        "/api/v1/slas/quiet",
        &json!({"name": "quiet", "objective": 99.9, "period": "year"}),
    )
    .await;
    let report = server
        .admin
        .get(&range_path("quiet", from, to))
        .await
        .expect(200)
        .json();
    let incidents = report["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0]["start"], json!(h(6)));
    assert_eq!(incidents[0]["end"], json!(h(9) + Duration::minutes(30)));
    assert_eq!(incidents[0]["ongoing"], json!(false));
    let runs_a_day = 2 * 144;
    // 06:00 … 06:50 failed; 07:00 … 09:20 never ran.
    assert_eq!(report["summary"]["runs"], 2 * runs_a_day - 2 * 15);
    assert_eq!(report["summary"]["failed_runs"], 2 * 6);
}

//! A report reads whole UTC days from the day rollups, and only days
//! whose rows are current: two agents' three days (one hour down on
//! both), reported from the days, then from their hours once the days
//! are marked (the same report); a late run marks its day again, which
//! is read by hours until the rollup writes it again; and a day whose
//! hours are gone is still counted, from its day row, until it is marked.

use chrono::{Duration, DurationRound as _, Utc};
use serde_json::{Value, json};
use vantage_server::store::{JobStore as _, Rollup, SeriesFilter, SeriesStore as _};

use super::{put, range_path, server, web_run, web_runs};
use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::server::{Backend, TestServer};

async fn report(server: &TestServer, path: &str) -> Value {
    server.admin.get(path).await.expect(200).json()
}

both!(a_report_reads_whole_days_from_the_day_rollups_only_while_they_are_current);
async fn a_report_reads_whole_days_from_the_day_rollups_only_while_they_are_current(
    backend: Backend,
) {
    let Some(server) = server(backend).await else {
        return;
    };
    let store = &server.state.store;
    let day = Utc::now().duration_trunc(Duration::days(1)).unwrap() - Duration::days(4);
    let days = [day, day + Duration::days(1), day + Duration::days(2)];
    let (from, to) = (day, day + Duration::days(3));
    let down = (days[1] + Duration::hours(6), days[1] + Duration::hours(7));
    web_runs(&server, &["a1", "a2"], (from, to), |_, t| {
        (down.0..down.1).contains(&t)
    })
    .await;
    let rolled = || async {
        let late = Utc::now() + Duration::minutes(1);
        vantage_server::jobs::rollup(store, late).await.unwrap();
    };

    // The rollup wrote each day's rows from its hours: 2 × 144 runs a day.
    assert!(
        store
            .dirty_days()
            .await
            .unwrap()
            .iter()
            .all(|d| !days.contains(d))
    );
    let up: Vec<i64> = store
        .series(&SeriesFilter {
            metric: Some("check_up".into()),
            ..SeriesFilter::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|s| s.series_id)
        .collect();
    let rows = store
        .rollups(Rollup::Day, &up, from, to, usize::MAX)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2 * 3, "one row a series a day");
    for d in days {
        let runs: i64 = rows.iter().filter(|r| r.bucket == d).map(|r| r.count).sum();
        assert_eq!(runs, 2 * 144, "{d}");
    }

    put(
        &server.admin,
        "/api/v1/slas/days",
        &json!({"name": "days", "objective": 99.9, "period": "year", "min_agents": 2}),
    )
    .await;
    let path = range_path("days", from, to);
    let by_days = report(&server, &path).await;
    let s = &by_days["summary"];
    assert_eq!((&s["runs"], &s["failed_runs"]), (&json!(864), &json!(12)));
    assert_eq!(by_days["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(by_days["incidents"][0]["duration_seconds"], 3600);

    // Marked, the days are read by hours: the same report.
    store.mark_days(&days).await.unwrap();
    let by_hours = report(&server, &path).await;
    assert_eq!(by_hours["summary"], by_days["summary"]);
    assert_eq!(by_hours["incidents"], by_days["incidents"]);
    assert_eq!(by_hours["targets"], by_days["targets"]);
    rolled().await;
    assert!(store.dirty_days().await.unwrap().is_empty());

    // A late run marks its day again; the report counts it at once, from
    // the hours, and the same once the day is written again.
    let (late, _) = enroll(&server, "a3").await;
    let at = days[2] + Duration::hours(12) + Duration::minutes(5);
    late.post("/api/v1/ingest", &batch(vec![web_run("a3", at, true)]))
        .await
        .expect(200);
    vantage_server::jobs::rollup_ranges(store, Utc::now() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(store.dirty_days().await.unwrap(), vec![days[2]]);
    let with_late = report(&server, &path).await;
    assert_eq!(with_late["summary"]["runs"], 865);
    rolled().await;
    assert!(store.dirty_days().await.unwrap().is_empty());
    assert_eq!(
        report(&server, &path).await["summary"],
        with_late["summary"]
    );

    // The first day's hours gone, its day row still counts it… (The
    // job writes hour rows, and so can remove them, unless TimescaleDB
    // rolls the samples up itself.)
    if store.native_rollups() {
        return;
    }
    store
        .replace_rollups(Rollup::Hour, days[0], days[1], &[])
        .await
        .unwrap();
    let hours_gone = report(&server, &path).await;
    assert_eq!(hours_gone["summary"], with_late["summary"]);
    // … and marked, it is read by its hours (none): its row is not used.
    store.mark_days(&days[..1]).await.unwrap();
    let marked = report(&server, &path).await;
    assert_eq!(marked["summary"]["runs"], 865 - 2 * 144);
}

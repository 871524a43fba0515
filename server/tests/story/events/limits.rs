//! What events may be: at most 100 a result, 2,048 bytes a text, or the
//! batch is refused whole; and how long they stay (`[retention] events`).

use std::time::Duration as StdDuration;

use vantage_server::config::{Retention, ServerConfig};
use vantage_server::jobs;

use super::*;
use crate::support::server::start_with;

both!(a_result_with_too_many_or_too_long_events_is_refused_and_nothing_of_its_batch_stored);
async fn a_result_with_too_many_or_too_long_events_is_refused_and_nothing_of_its_batch_stored(
    backend: Backend,
) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (agent, _) = enroll(&server, "web-1").await;
    let now = Utc::now();
    let good = || {
        log_run(
            "web-1",
            "app-log",
            "app.log",
            now,
            &[("error", "ERROR one", now)],
        )
    };
    let lines: Vec<(&str, &str, DateTime<Utc>)> = vec![("error", "ERROR again", now); 101];
    let many = log_run("web-1", "app-log", "app.log", now, &lines);
    let p = agent
        .post("/api/v1/ingest", &batch(vec![good(), many]))
        .await
        .problem(422);
    assert_eq!(crate::support::fields(&p), ["events"], "{p}");
    assert_eq!(p["errors"][0]["index"], 1, "{p}");

    let long = "é".repeat(1024) + "x";
    assert_eq!(long.len(), 2049);
    let mut too_long = good();
    too_long["events"][0]["text"] = json!(long);
    let p = agent
        .post("/api/v1/ingest", &batch(vec![good(), too_long]))
        .await
        .problem(422);
    assert_eq!(crate::support::fields(&p), ["events[0].text"], "{p}");

    // Exactly at the limits, a batch is stored.
    let mut at_limit = log_run("web-1", "app-log", "app.log", now, &lines[..100]);
    at_limit["events"][0]["text"] = json!("é".repeat(1024));
    let ack = agent
        .post("/api/v1/ingest", &batch(vec![at_limit]))
        .await
        .expect(200)
        .json();
    assert_eq!(ack["accepted"], 1, "{ack}");
    // Only that one: nothing of the refused batches (no `ERROR one`).
    let (stored, _) = texts(&server.admin, &[("limit", "1000")]).await;
    assert_eq!(stored.len(), 100);
    assert!(stored.iter().all(|t| t != "ERROR one"), "{stored:?}");
    let latest = server
        .admin
        .get("/api/v1/results/latest")
        .await
        .expect(200)
        .json();
    assert_eq!(latest.as_array().unwrap().len(), 1, "{latest}");
}

both!(events_older_than_their_retention_are_deleted_and_never_stored);
async fn events_older_than_their_retention_are_deleted_and_never_stored(backend: Backend) {
    let days = |n: u64| StdDuration::from_secs(n * 86_400);
    let config = ServerConfig {
        retention: Retention {
            events: days(10),
            ..Retention::default()
        },
        ..ServerConfig::default()
    };
    let Some(server) = start_with(backend, config.clone()).await else {
        return;
    };
    let (agent, _) = enroll(&server, "web-1").await;
    let now = Utc::now();
    let ago = |d: i64| now - Duration::days(d);
    // A run of now reads a journal back 11 days: the line past events
    // retention is not stored, the others are (raw retention is 7 days,
    // but a line's time is its own).
    let run = log_run(
        "web-1",
        "journal",
        "app.service",
        now,
        &[
            ("error", "ERROR eleven days ago", ago(11)),
            ("error", "ERROR eight days ago", ago(8)),
            ("error", "ERROR two days ago", ago(2)),
            ("error", "ERROR now", now),
        ],
    );
    agent
        .post("/api/v1/ingest", &batch(vec![run]))
        .await
        .expect(200);
    let month = [("from", rfc3339(ago(30)))];
    let month: Vec<(&str, &str)> = month.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (stored, _) = texts(&server.admin, &month).await;
    assert_eq!(
        stored,
        ["ERROR now", "ERROR two days ago", "ERROR eight days ago"]
    );

    // The retention job with the setting at 10 days keeps them; at 5, the
    // eight-day-old line goes, at 1 the two-day-old one too, in the job's
    // bounded chunks, and a second pass finds nothing more.
    let store = &server.state.store;
    jobs::retention(store, &config, Utc::now()).await.unwrap();
    assert_eq!(texts(&server.admin, &month).await.0.len(), 3);
    for (keep, left) in [(5, 2), (1, 1), (1, 1)] {
        let shorter = ServerConfig {
            retention: Retention {
                events: days(keep),
                ..config.retention
            },
            ..config.clone()
        };
        jobs::retention(store, &shorter, Utc::now()).await.unwrap();
        let (kept, _) = texts(&server.admin, &month).await;
        assert_eq!(kept.len(), left, "{keep} days: {kept:?}");
    }
    assert_eq!(texts(&server.admin, &month).await.0, ["ERROR now"]);
}

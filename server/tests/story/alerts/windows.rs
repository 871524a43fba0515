//! Maintenance windows: a window open now keeps its alerts' steps from the
//! channels (marked with its name); one that opens later does not; bad
//! windows are refused, every field named.

use chrono::{Duration, Utc};
use chrono_tz::Tz;
use hyper::Method;
use serde_json::{Value, json};

use super::{put, quick_retry, run_of, webhook_all};
use crate::api::enroll;
use crate::both;
use crate::registry::send_json;
use crate::support::batch;
use crate::support::http::Client;
use crate::support::server::{Backend, start_with};

/// A daily schedule starting at `at` in Paris.
fn daily_at(at: chrono::DateTime<Utc>) -> String {
    let paris = at.with_timezone(&"Europe/Paris".parse::<Tz>().unwrap());
    format!("{} {} * * *", paris.format("%M"), paris.format("%H"))
}

async fn save(admin: &Client, window: &Value) -> crate::support::http::Reply {
    let name = window["name"].as_str().unwrap();
    send_json(
        admin,
        Method::PUT,
        &format!("/api/v1/alerts/windows/{name}"),
        window,
    )
    .await
}

both!(an_open_maintenance_window_keeps_its_alerts_from_the_channels);
async fn an_open_maintenance_window_keeps_its_alerts_from_the_channels(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    edge.post(
        "/api/v1/ingest",
        &batch(vec![
            run_of("edge-1", "ping-core", 10, true),
            run_of("edge-1", "ping-edge", 10, true),
        ]),
    )
    .await
    .expect(200);
    let hook = webhook_all(admin).await;
    let rule =
        json!({"name": "down", "select": {"check": "ping-*"}, "condition": {"kind": "status"}});
    put(admin, "down", &rule).await.expect(201);

    // Every bad field at once.
    let p = save(
        admin,
        &json!({"name": "bad", "match": {}, "schedule": "0 2 * *", "duration": "0s",
                "timezone": "Mars/Olympus", "comment": " "}),
    )
    .await
    .problem(422);
    let fields = crate::support::fields(&p);
    assert_eq!(
        fields,
        ["match", "schedule", "timezone", "duration", "comment"],
        "{p}"
    );

    // ping-core's window opened a minute ago (Paris time); ping-edge's
    // opens in two hours.
    let now = Utc::now();
    let open = json!({"name": "core-maint", "match": {"check": "ping-core"},
        "schedule": daily_at(now - Duration::minutes(1)), "duration": "10m",
        "timezone": "Europe/Paris", "comment": "core switch firmware"});
    let saved = save(admin, &open).await.expect(201).json();
    assert!(saved["open_since"].is_string(), "{saved}");
    assert_eq!(save(admin, &open).await.expect(200).json()["revision"], 1);
    let later = json!({"name": "edge-maint", "match": {"check": "ping-edge"},
        "schedule": daily_at(now + Duration::hours(2)), "duration": "10m",
        "timezone": "Europe/Paris", "comment": "edge upgrade"});
    let saved = save(admin, &later).await.expect(201).json();
    assert!(saved["open_since"].is_null(), "{saved}");
    let next: chrono::DateTime<Utc> = saved["next_start"].as_str().unwrap().parse().unwrap();
    assert!(
        (next - (now + Duration::hours(2))).num_seconds().abs() <= 60,
        "{saved}"
    );

    // Both fail: only ping-edge is told.
    edge.post(
        "/api/v1/ingest",
        &batch(vec![
            run_of("edge-1", "ping-core", 5, false),
            run_of("edge-1", "ping-edge", 5, false),
        ]),
    )
    .await
    .expect(200);
    hook.wait_for(1).await;
    let got = hook.after(std::time::Duration::from_millis(1000)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["check"], "ping-edge");
    let history = admin
        .get("/api/v1/alerts/history?rule=down")
        .await
        .expect(200)
        .json();
    let core = history
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["check"] == "ping-core")
        .unwrap();
    assert_eq!(core["window"], "core-maint", "{core}");
    assert!(core["silenced_by"].is_null());

    // Listed for viewers; deleted by operators, once.
    let listed = admin.get("/api/v1/alerts/windows").await.expect(200).json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    admin
        .delete("/api/v1/alerts/windows/core-maint")
        .await
        .expect(204);
    admin
        .delete("/api/v1/alerts/windows/core-maint")
        .await
        .problem(404);
}

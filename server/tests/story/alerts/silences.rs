//! Silences: while one is on, the steps of the alerts it matches are kept
//! in the history, marked, and sent nowhere; others are sent as before.

use chrono::Utc;
use serde_json::{Value, json};

use super::{put, quick_retry, run_of, webhook_all};
use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::server::{Backend, start_with};

fn run(check: &str, minutes: i64, ok: bool) -> Value {
    run_of("edge-1", check, minutes, ok)
}

both!(a_silence_keeps_matching_steps_from_the_channels_and_marks_them);
async fn a_silence_keeps_matching_steps_from_the_channels_and_marks_them(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    edge.post(
        "/api/v1/ingest",
        &batch(vec![run("ping-core", 10, true), run("ping-edge", 10, true)]),
    )
    .await
    .expect(200);
    let hook = webhook_all(admin).await;
    put(
        admin,
        "down",
        &json!({"name": "down", "select": {"check": "ping-*"}, "condition": {"kind": "status"}}),
    )
    .await
    .expect(201);

    // Bad silences are named.
    let ends = Utc::now() + chrono::Duration::hours(1);
    for (body, field) in [
        (
            json!({"match": {}, "ends_at": ends, "comment": "x"}),
            "match",
        ),
        (
            json!({"match": {"check": "ping-["}, "ends_at": ends, "comment": "x"}),
            "match.check",
        ),
        (
            json!({"match": {"check": "ping-core"}, "ends_at": Utc::now() - chrono::Duration::hours(1), "comment": "x"}),
            "ends_at",
        ),
        (
            json!({"match": {"check": "ping-core"}, "ends_at": ends, "comment": "  "}),
            "comment",
        ),
    ] {
        let p = admin
            .post("/api/v1/alerts/silences", &body)
            .await
            .problem(422);
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }
    let silence = admin
        .post(
            "/api/v1/alerts/silences",
            &json!({"match": {"check": "ping-core"}, "ends_at": ends, "comment": "core maintenance"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(silence["author"], "admin");
    let id = silence["id"].as_str().unwrap().to_owned();

    // Both fail: only ping-edge is sent; ping-core's step is marked.
    edge.post(
        "/api/v1/ingest",
        &batch(vec![run("ping-core", 9, false), run("ping-edge", 9, false)]),
    )
    .await
    .expect(200);
    let got = hook.wait_for(1).await;
    assert_eq!(got.len(), 1, "the silenced step is not sent");
    assert_eq!(got[0].json()["check"], "ping-edge");
    let history = admin.get("/api/v1/alerts/history").await.expect(200).json();
    let core = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["check"] == "ping-core")
        .expect("the silenced step is kept");
    assert_eq!(core["to"], "firing");
    assert_eq!(core["silenced_by"], id.as_str());
    // Still firing, still listed: a silence hides notifications, not state.
    let raised = admin.get("/api/v1/alerts").await.expect(200).json();
    assert_eq!(raised.as_array().unwrap().len(), 2);

    // Ended, it lets the next step through.
    let listed = admin
        .get("/api/v1/alerts/silences")
        .await
        .expect(200)
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    admin
        .delete(&format!("/api/v1/alerts/silences/{id}"))
        .await
        .expect(204);
    admin
        .delete(&format!("/api/v1/alerts/silences/{id}"))
        .await
        .problem(404);
    let on = admin
        .get("/api/v1/alerts/silences")
        .await
        .expect(200)
        .json();
    assert!(on.as_array().unwrap().is_empty());
    let all = admin
        .get("/api/v1/alerts/silences?all=true")
        .await
        .expect(200)
        .json();
    assert_eq!(all.as_array().unwrap().len(), 1);
    edge.post("/api/v1/ingest", &batch(vec![run("ping-core", 8, true)]))
        .await
        .expect(200);
    let got = hook.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].json()["check"], "ping-core");
    assert_eq!(got[1].json()["notices"], json!(["resolved"]));
}

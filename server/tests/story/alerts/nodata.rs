//! `no_data`: an alert that hears nothing for its intervals is told once,
//! by the notifier's sweep, with no result to trigger it; the next result
//! resolves it.

use serde_json::json;

use super::{put, quick_retry, run_of, webhook_all};
use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::server::{Backend, start_with};

both!(silence_for_two_intervals_is_told_once_and_the_next_run_resolves_it);
async fn silence_for_two_intervals_is_told_once_and_the_next_run_resolves_it(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    let run = |minutes| run_of("edge-1", "ping-core", minutes, true);
    edge.post("/api/v1/ingest", &batch(vec![run(5)]))
        .await
        .expect(200);
    let hook = webhook_all(admin).await;
    put(
        admin,
        "quiet",
        &json!({"name": "quiet", "select": {"check": "ping-core"},
                "condition": {"kind": "no_data", "intervals": 2}}),
    )
    .await
    .expect(201);
    // Runs a minute apart, the last three minutes ago: two intervals of
    // silence have passed, and nothing else will arrive to say so.
    edge.post("/api/v1/ingest", &batch(vec![run(4), run(3)]))
        .await
        .expect(200);
    assert_eq!(hook.wait_for(1).await.len(), 1);
    // Sweeps go on every two seconds; none tells it again.
    let got = hook.after(std::time::Duration::from_secs(3)).await;
    assert_eq!(got.len(), 1, "told once across sweeps");
    let told = hook.received()[0].json();
    assert_eq!(told["notices"], json!(["no_data"]));
    assert_eq!(told["state"], "no_data");
    assert_eq!(
        told["summary"],
        "NO DATA quiet: ping-core → 10.0.0.1 from edge-1: no result for 2 intervals"
    );
    let raised = admin
        .get("/api/v1/alerts?state=no_data")
        .await
        .expect(200)
        .json();
    assert_eq!(raised.as_array().unwrap().len(), 1);

    edge.post("/api/v1/ingest", &batch(vec![run(0)]))
        .await
        .expect(200);
    let got = hook.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].json()["notices"], json!(["resolved"]));
    assert!(
        admin
            .get("/api/v1/alerts")
            .await
            .expect(200)
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
}

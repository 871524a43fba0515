//! Three replicas on one database ingest, judge and notify at once: every
//! step reaches the receiver exactly once, whichever replica judged it and
//! whichever routed and sent it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{put, quick_retry, run_of, webhook_all};
use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::http::Client;
use crate::support::server::{Backend, start_with};

/// Check targets, and runs of each: failing, ok, failing… (five changes,
/// under the flapping threshold, so every step tells).
const CHECKS: usize = 40;
const ROUNDS: i64 = 5;

both!(three_replicas_send_every_step_once);
async fn three_replicas_send_every_step_once(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    let round = |minutes: i64, ok: bool| -> Value {
        batch(
            (0..CHECKS)
                .map(|i| run_of("edge-1", &format!("c-{i}"), minutes, ok))
                .collect(),
        )
    };
    edge.post("/api/v1/ingest", &round(ROUNDS + 1, true))
        .await
        .expect(200);
    let hook = webhook_all(admin).await;
    put(
        admin,
        "down",
        &json!({"name": "down", "select": {"check": "c-*"}, "condition": {"kind": "status"}}),
    )
    .await
    .expect(201);

    // Each round goes to another replica; all three notify.
    let (second, third) = (server.replica().await, server.replica().await);
    let agents: [Client; 3] = [edge.clone(), second.as_(&edge), third.as_(&edge)];
    for r in 0..ROUNDS {
        let failing = r % 2 == 0;
        agents[r as usize % 3]
            .post("/api/v1/ingest", &round(ROUNDS - r, !failing))
            .await
            .expect(200);
    }
    let steps = CHECKS * ROUNDS as usize;
    let got = hook.wait_for(steps).await;
    let mut deliveries: BTreeMap<String, usize> = BTreeMap::new();
    for r in &got {
        *deliveries
            .entry(r.header("x-vantage-delivery").to_owned())
            .or_default() += 1;
    }
    let twice: Vec<_> = deliveries.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    assert_eq!(deliveries.len(), steps, "every step, none lost");
    let history = admin
        .get("/api/v1/alerts/history?limit=1000")
        .await
        .expect(200)
        .json();
    assert_eq!(history.as_array().unwrap().len(), steps);
}

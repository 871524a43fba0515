//! Judging a batch's alerts as it is stored: the store says whether a
//! step went to the outbox, so that ingest wakes the notifier only then.

use std::sync::Arc;

use serde_json::json;
use vantage_protocol::result::Status;
use vantage_server::alerting::evaluate::{AlertInput, Reading};
use vantage_server::alerting::rule::Rule;
use vantage_server::store::*;

use super::ingest::{batch, fixture, minutes, run};
use super::open;
use crate::both;
use crate::support::server::Backend;

both!(a_batch_says_whether_it_stored_a_step_to_send);
async fn a_batch_says_whether_it_stored_a_step_to_send(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    let f = fixture(store).await;
    let spec = serde_json::from_value(json!({"name": "down", "condition": {"kind": "status"}}));
    let rule = Arc::new(Rule::compile(spec.unwrap()).unwrap());
    let judged = |m: i64, ok: bool| {
        let status = if ok { Status::Ok } else { Status::Timeout };
        let mut b = batch(f.agent, vec![run(f.check1, minutes(m), status, &[])], 0);
        b.alerts = vec![AlertInput {
            result: 0,
            rule: rule.clone(),
            reading: Reading::Status { ok },
            group: None,
        }];
        b
    };
    let told = |b: &StoreBatch, m: i64| {
        let b = b.clone();
        async move { store.ingest(&b, minutes(m)).await.unwrap().told }
    };
    assert!(
        !told(&judged(1, true), 1).await,
        "a new alert, ok: nothing to tell"
    );
    let failing = judged(2, false);
    assert!(told(&failing, 2).await, "firing");
    assert!(!told(&judged(3, false), 3).await, "still firing");
    assert!(!told(&failing, 4).await, "a replay judges nothing");
    assert!(told(&judged(5, true), 5).await, "resolved");
    assert!(!told(&batch(f.agent, vec![], 0), 6).await, "no results");
}

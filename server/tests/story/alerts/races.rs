//! PostgreSQL only: a batch judges its alerts against their rows as read,
//! unlocked, with its results, and writes only rows still as it read them.
//! Here another writer changes the rows meanwhile (as a twin batch on
//! another replica would) and holds them until the batch waits: the batch
//! judges them again as changed, and its own verdict on the stale rows
//! never reaches the history.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Connection as _;

use super::{put, run_at};
use crate::api::enroll;
use crate::support::batch;
use crate::support::server::{Backend, start};

const CHECKS: usize = 10;

/// A firing alert's memory as a server before the packed form wrote it:
/// one bad run at `at`.
fn firing_memory(at: DateTime<Utc>) -> String {
    let at = at.to_rfc3339();
    json!({
        "machine": {
            "state": "firing", "since": at,
            "window": [[true, "00000000-0000-0000-0000-000000000001"]],
            "bad_since": at, "good_streak": [], "good_since": null,
            "changes": [true], "flapping": false, "told": "firing"
        },
        "last_at": at, "value": null
    })
    .to_string()
}

/// A batch of edge-1's run of every check at `at`, ended ok or not.
fn round_at(at: DateTime<Utc>, ok: bool) -> Value {
    batch(
        (0..CHECKS)
            .map(|i| run_at("edge-1", &format!("c-{i}"), at, ok))
            .collect(),
    )
}

/// The sum of the rule's rows' revisions.
async fn revs(db: &mut sqlx::PgConnection) -> i64 {
    let sql = "SELECT coalesce(sum(rev), -1)::int8 FROM alert_states WHERE rule = 'down'";
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_changed_while_a_batch_judged_it_is_judged_again_under_its_lock() {
    let Some(server) = start(Backend::Postgres).await else {
        return;
    };
    let (edge, _) = enroll(&server, "edge-1").await;
    let base = Utc::now() - chrono::Duration::minutes(10);
    let minute = |m: i64| base + chrono::Duration::minutes(m);
    let round = |m: i64, ok: bool| round_at(minute(m), ok);
    edge.post("/api/v1/ingest", &round(1, true))
        .await
        .expect(200);
    put(
        &server.admin,
        "down",
        &json!({"name": "down", "select": {"check": "c-*"}, "condition": {"kind": "status"}}),
    )
    .await
    .expect(201);
    edge.post("/api/v1/ingest", &round(2, true))
        .await
        .expect(200);

    let mut db = sqlx::PgConnection::connect(&server.url).await.unwrap();
    let before = revs(&mut db).await;
    // Another writer fires every alert at minute 3 and holds the rows.
    let mut other = sqlx::PgConnection::connect(&server.url).await.unwrap();
    let mut tx = other.begin().await.unwrap();
    let changed = sqlx::query(
        "UPDATE alert_states SET state = 'firing', since = $1, evaluated_at = $1, packed = NULL,
             memory = $2::json, rev = rev + 1 WHERE rule = 'down'",
    )
    .bind(minute(3))
    .bind(firing_memory(minute(3)))
    .execute(&mut *tx)
    .await
    .unwrap();
    assert_eq!(changed.rows_affected(), CHECKS as u64);

    // The failing round at minute 4 reads the rows as they were (ok), so
    // it would fire every alert; its write waits for the other writer.
    let ingest = tokio::spawn({
        let (edge, body) = (edge.clone(), round(4, false));
        async move { edge.post("/api/v1/ingest", &body).await.status }
    });
    let waiting = Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND datname = current_database()",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        if n > 0 {
            break;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(20),
            "the batch never waited for the rows"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tx.commit().await.unwrap();
    assert_eq!(ingest.await.unwrap(), 200);

    // Judged again against the firing rows: a bad run keeps them firing,
    // with no step; judged against the stale rows it would have fired them.
    let history = server
        .admin
        .get("/api/v1/alerts/history?limit=100")
        .await
        .expect(200)
        .json();
    let steps: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["from"].as_str().unwrap(), e["to"].as_str().unwrap()))
        .collect();
    assert!(steps.is_empty(), "steps from stale rows: {steps:?}");
    let alerts = server.admin.get("/api/v1/alerts").await.expect(200).json();
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), CHECKS);
    assert!(alerts.iter().all(|a| a["state"] == "firing"), "{alerts:?}");
    // Each row: the other writer's revision, then the batch's, packed again.
    assert_eq!(revs(&mut db).await, before + 2 * CHECKS as i64);
    let legacy: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM alert_states WHERE rule = 'down' AND (packed IS NULL OR memory IS NOT NULL)",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(legacy, 0);
}

/// What a replica knows of an agent's alert states is used only while no
/// other writer moved them: a replica that judged runs of every check
/// before judges the next against the states another replica (or a
/// deleted rule) left, not against what it knew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_judges_alerts_another_replica_moved_as_the_database_has_them() {
    let Some(server) = start(Backend::Postgres).await else {
        return;
    };
    let (edge, _) = enroll(&server, "edge-1").await;
    // Rounds 5 s apart: a good run after a good one is steady (written
    // only every 30 s), judged from what the replica knows.
    let base = Utc::now() - chrono::Duration::minutes(30);
    let round = |n: i64, ok: bool| round_at(base + chrono::Duration::seconds(5 * n), ok);
    let rule = json!({"name": "down", "select": {"check": "c-*"}, "condition": {"kind": "status"}});
    edge.post("/api/v1/ingest", &round(1, true))
        .await
        .expect(200);
    put(&server.admin, "down", &rule).await.expect(201);
    let other = server.replica().await;
    let (here, there) = (edge.clone(), other.as_(&edge));
    let steps = || async {
        let history = server
            .admin
            .get("/api/v1/alerts/history?limit=1000")
            .await
            .expect(200)
            .json();
        let mut steps: Vec<(String, String)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["from"].as_str().unwrap().to_owned(),
                    e["to"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        steps.reverse();
        steps.dedup();
        steps
    };
    let step = |from: &str, to: &str| (from.to_owned(), to.to_owned());

    // This replica judges two good rounds (the second as steady as can be).
    here.post("/api/v1/ingest", &round(2, true))
        .await
        .expect(200);
    here.post("/api/v1/ingest", &round(3, true))
        .await
        .expect(200);
    // The other fires every alert; this one's next good round resolves them.
    there
        .post("/api/v1/ingest", &round(4, false))
        .await
        .expect(200);
    here.post("/api/v1/ingest", &round(5, true))
        .await
        .expect(200);
    assert_eq!(steps().await, [step("ok", "firing"), step("firing", "ok")]);
    let raised = server.admin.get("/api/v1/alerts").await.expect(200).json();
    assert_eq!(raised.as_array().unwrap().len(), 0, "{raised}");

    // This one fires them; the rule is deleted and made again on the other:
    // the alerts start over, and this one's next failing round fires anew.
    here.post("/api/v1/ingest", &round(6, false))
        .await
        .expect(200);
    let admin_there = other.as_(&server.admin);
    assert_eq!(
        admin_there.delete("/api/v1/alerts/rules/down").await.status,
        204
    );
    put(&admin_there, "down", &rule).await.expect(201);
    // Both replicas read rules again within a second or two.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    here.post("/api/v1/ingest", &round(7, false))
        .await
        .expect(200);
    let history = steps().await;
    assert_eq!(
        history,
        [
            step("ok", "firing"),
            step("firing", "ok"),
            step("ok", "firing"),
        ],
        "a new alert fires again (once per check: {CHECKS} each)"
    );
    let fired = server
        .admin
        .get("/api/v1/alerts/history?limit=1000")
        .await
        .expect(200)
        .json();
    assert_eq!(fired.as_array().unwrap().len(), 4 * CHECKS);
}

//! PostgreSQL only: three real server processes on one database judge and
//! notify 10 000 steps while one of them is killed with SIGKILL mid-storm.
//! Its claims run out and the others send what it had not finished:
//! nothing is lost, and only the sends it had in flight (at most 32) may
//! come twice, with the same `x-vantage-delivery` for the receiver to
//! drop the copy.

use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::{Value, json};

use super::run_of;
use crate::registry::send_json;
use crate::support::agent::{ServerProcess, free_port};
use crate::support::batch;
use crate::support::http::{Client, login};
use crate::support::pg::fresh_database;
use crate::support::receiver::Receiver;

/// Check targets, and runs of each: failing, ok, failing… (five changes,
/// under the flapping threshold, so every step tells): 10 000 steps.
const CHECKS: usize = 2_000;
const ROUNDS: i64 = 5;
/// Results per batch.
const BATCH: usize = 1_000;
/// The notifier's sends in flight at once, per replica: what a killed one
/// may have sent without recording it.
const IN_FLIGHT: usize = 32;
const PASSWORD: &str = "failover-story-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_storm_loses_no_notification() {
    let Some(database) = fresh_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    // A short lease: a dead replica's claims run out in 15 s.
    std::fs::write(
        &config,
        "notify_lease = \"15s\"\nnotify_retry = \"200ms\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let mut servers: Vec<ServerProcess> = Vec::new();
    for _ in 0..3 {
        let port = free_port();
        let server = tokio::task::spawn_blocking({
            let (database, config) = (database.clone(), config.clone());
            move || ServerProcess::start_with(&database, port, PASSWORD, &["--config", &config])
        })
        .await
        .unwrap();
        servers.push(server);
    }
    let admin = login(&servers[0].url, PASSWORD).await;

    let token = admin
        .post("/api/v1/enrollment-tokens", &json!({"expires_in": "10m"}))
        .await
        .expect(201)
        .json();
    let enrolled = Client::new(&servers[0].url)
        .post(
            "/api/v1/agents/enroll",
            &json!({"token": token["token"], "name": "edge-1", "agent": {
                "hostname": "edge-1", "os": "linux", "arch": "x86_64", "version": "0.1.0",
                "addresses": ["10.1.2.3"]}}),
        )
        .await
        .expect(201)
        .json();
    let credential = enrolled["credential"].as_str().unwrap().to_owned();
    let agent = |server: &ServerProcess| Client::new(&server.url).with_token(&credential);
    let batches = |minutes: i64, ok: bool| -> Vec<Value> {
        (0..CHECKS)
            .map(|i| run_of("edge-1", &format!("c-{i}"), minutes, ok))
            .collect::<Vec<_>>()
            .chunks(BATCH)
            .map(|chunk| batch(chunk.to_vec()))
            .collect()
    };
    for b in batches(ROUNDS + 1, true) {
        agent(&servers[0])
            .post("/api/v1/ingest", &b)
            .await
            .expect(200);
    }

    // Each answer takes 200 ms: sending is the bottleneck, so every replica
    // always has sends in flight.
    let hook = Receiver::slow(0, Duration::from_millis(200)).await;
    let channel = json!({"name": "ops", "kind": "webhook", "url": hook.url});
    send_json(&admin, Method::PUT, "/api/v1/alerts/channels/ops", &channel)
        .await
        .expect(201);
    let routes = json!({"route": [{"channels": ["ops"]}]});
    send_json(&admin, Method::PUT, "/api/v1/alerts/routes", &routes)
        .await
        .expect(200);
    let rule = json!({"name": "down", "select": {"check": "c-*"}, "condition": {"kind": "status"}});
    send_json(&admin, Method::PUT, "/api/v1/alerts/rules/down", &rule)
        .await
        .expect(201);
    // Each replica reads rules again within a second of using them
    // (`alerting::book`): a batch another replica judges sooner is judged
    // by the rules it had.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Batches go round the live replicas; one is killed once the receiver
    // has a third of the steps, while sends are in flight.
    let steps = CHECKS * ROUNDS as usize;
    let mut killed = None;
    let mut next = 0;
    for r in 0..ROUNDS {
        for b in batches(ROUNDS - r, r % 2 == 1) {
            agent(&servers[next % servers.len()])
                .post("/api/v1/ingest", &b)
                .await
                .expect(200);
            next += 1;
        }
        if r == 1 {
            let deadline = Instant::now() + Duration::from_secs(60);
            while hook.count() < steps / 3 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let mut victim = servers.remove(1);
            freeze_while_it_holds_claims(&victim, &database).await;
            victim.child.kill().unwrap();
            victim.child.wait().unwrap();
            killed = Some(hook.count());
        }
    }

    // The lease runs out; the two left send the rest.
    let deadline = Instant::now() + Duration::from_secs(180);
    while hook.deliveries().len() < steps && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let by = hook.deliveries();
    let twice: usize = by.values().map(|n| n - 1).sum();
    eprintln!(
        "failover: {steps} steps, replica killed after {} were received; {} deliveries, {twice} twice",
        killed.unwrap(),
        by.len()
    );
    assert_eq!(by.len(), steps, "every step delivered, none lost");
    assert!(by.values().all(|n| *n <= 2), "none more than twice");
    assert!(
        twice <= IN_FLIGHT,
        "only what the killed replica had in flight may come twice: {twice}"
    );
    let pool = sqlx::PgPool::connect(&database).await.unwrap();
    let (events, unsent, taken_over): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM alert_events),
                (SELECT count(*) FROM alert_deliveries WHERE status <> 'sent'),
                (SELECT count(*) FROM alert_deliveries WHERE attempts > 1)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(events, steps as i64, "one history step per change");
    assert_eq!(unsent, 0);
    // The receiver refuses nothing: a second attempt is a claim the dead
    // replica left, taken over once its lease ran out.
    eprintln!("failover: {taken_over} deliveries taken over from the killed replica");
    assert!(taken_over >= 1, "the killed replica had sends in flight");
    assert!(killed.unwrap() < steps, "killed mid-storm");
}

/// Stops the victim (SIGSTOP) until it is seen holding claims it does not
/// finish: the live replicas settle theirs within a few receiver answers,
/// so a claim older than a second and still pending is the frozen one's.
/// Without this the kill could land between two of its claim rounds, when
/// it holds nothing, and the story would show no take-over.
async fn freeze_while_it_holds_claims(victim: &ServerProcess, database: &str) {
    let pool = sqlx::PgPool::connect(database).await.unwrap();
    let signal = |name: &str| {
        let sent = std::process::Command::new("kill")
            .args([&format!("-{name}"), &victim.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name}");
    };
    for _ in 0..20 {
        signal("STOP");
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        // A claim lasts the 15 s lease: one ending within 13.5 s was made
        // over 1.5 s ago.
        let (held,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM alert_deliveries
             WHERE status = 'pending' AND claimed_until > now()
               AND claimed_until < now() + interval '13.5 seconds'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if held > 0 {
            return;
        }
        signal("CONT");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the victim never held a claim while frozen");
}

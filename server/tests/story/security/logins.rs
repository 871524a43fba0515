//! A login flood against the real server binary: 10 000 wrong passwords
//! from 50 loopback addresses. Failing addresses are locked out without
//! the password being checked, the server keeps answering, and the right
//! password still works from a clean address.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::http::{Client, loopback};
use crate::support::process::{ServerProcess, free_port};

const PASSWORD: &str = "flood-story-password";
const ADDRESSES: u8 = 50;
const PER_ADDRESS: usize = 200;

fn login(password: &str) -> serde_json::Value {
    json!({"username": "admin", "password": password})
}

/// Wrong passwords from `client`, one after the other; the statuses.
async fn hammer(client: Client, n: usize) -> Vec<(u16, Option<u64>)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let reply = client
            .post("/api/v1/auth/login", &login(&format!("wrong-password-{i}")))
            .await;
        let retry_after = reply
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse().ok());
        out.push((reply.status.as_u16(), retry_after));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_is_locked_out_and_the_server_keeps_answering() {
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", data.path().join("vantage.db").display());
    let server = ServerProcess::start(&db, free_port(), PASSWORD);
    let client = Client::new(&server.url);

    // /healthz sampled all along the flood.
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let probe = {
        let client = client.from(loopback(250));
        tokio::spawn(async move {
            let mut took = Vec::new();
            while !*stop.borrow() {
                let start = Instant::now();
                client.get("/healthz").await.expect(200);
                took.push(start.elapsed());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            took
        })
    };

    let started = Instant::now();
    let floods: Vec<_> = (1..=ADDRESSES)
        .map(|i| tokio::spawn(hammer(client.from(loopback(i + 1)), PER_ADDRESS)))
        .collect();
    let mut answers = Vec::new();
    for flood in floods {
        answers.extend(flood.await.unwrap());
    }
    let flood_took = started.elapsed();
    stop_tx.send(true).unwrap();
    let mut took = probe.await.unwrap();

    assert_eq!(answers.len(), usize::from(ADDRESSES) * PER_ADDRESS);
    let refused = answers.iter().filter(|(s, _)| *s == 401).count();
    let locked = answers.iter().filter(|(s, _)| *s == 429).count();
    assert_eq!(
        refused + locked,
        answers.len(),
        "every answer is 401 or 429: {:?}",
        answers.iter().find(|(s, _)| *s != 401 && *s != 429)
    );
    assert!(
        answers
            .iter()
            .filter(|(s, _)| *s == 429)
            .all(|(_, retry)| retry.is_some_and(|r| r >= 1)),
        "every lock-out says when to retry"
    );
    // The user is locked after 10 failures for every address that failed;
    // each clean address still gets one try: about 60 passwords checked.
    assert!(
        refused <= 2 * usize::from(ADDRESSES),
        "{refused} passwords checked of {}",
        answers.len()
    );

    took.sort();
    let p99 = took[(took.len() * 99 / 100).min(took.len() - 1)];
    eprintln!(
        "login flood: {} attempts in {flood_took:?}, {refused} checked (401), {locked} locked out (429); /healthz p50 {:?}, p99 {p99:?} over {} probes",
        answers.len(),
        took[took.len() / 2],
        took.len()
    );
    assert!(took.len() >= 10, "the probe ran along the flood");
    // Answering, not speed: the figure is printed above; the bound only
    // catches a server the flood starves (seconds), and holds on a CI
    // machine whose two cores other stories share (90 ms p99 was seen
    // beside the scale story, 19 ms p50).
    assert!(p99 < Duration::from_secs(1), "/healthz p99 {p99:?}");

    // A flooding address is locked out even with the right password…
    client
        .from(loopback(2))
        .post("/api/v1/auth/login", &login(PASSWORD))
        .await
        .problem(429);
    // …but the admin, from a clean address, logs in.
    let session = client
        .from(loopback(200))
        .post("/api/v1/auth/login", &login(PASSWORD))
        .await
        .expect(200)
        .json();
    assert!(session["token"].is_string(), "{session}");
}

#[test]
fn the_server_refuses_a_short_admin_password() {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vantage-server"))
        .args(["--listen", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}", data.path().join("v.db").display()))
        .env("VANTAGE_ADMIN_PASSWORD", "too-short")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("at least 12 characters"), "{said}");
}

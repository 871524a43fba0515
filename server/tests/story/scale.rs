//! PostgreSQL only: the proof under load. Three server processes on one
//! database behind Debian's HAProxy (health checks on `/readyz`), a
//! thousand simulated agents ingesting through it, and twenty dashboard
//! pages on its live WebSocket. The replica that leads the jobs is killed
//! with SIGKILL mid-run and started again. Then:
//! - every acknowledged result is stored, exactly once, with its samples;
//! - every page was told of every result, or had a gap (a resync, or its
//!   socket closed with its replica) and caught up after it;
//! - another replica leads the jobs within 10 s, and they keep running;
//! - every agent's outbox drains, and the restarted replica takes work.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::leader::{one_leader, rounds};
use crate::support::http::login;
use crate::support::pg::fresh_database;
use crate::support::process::{ServerProcess, free_port};

mod fleet;
mod haproxy;
mod watchers;

use fleet::Ledger;
use haproxy::Haproxy;
use watchers::{Page, Watched};

/// An HTTP client's builder (reqwest is built without a default
/// TLS provider; these clients speak plain HTTP on loopback).
fn http() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

const PASSWORD: &str = "scale-story-password";
const REPLICAS: usize = 3;
const AGENTS: usize = 1000;
const PAGES: usize = 20;
/// How long the agents make batches, from the first.
const LOAD: Duration = Duration::from_secs(30);
/// When the leader is killed, and how long it stays down.
const KILL_AT: Duration = Duration::from_secs(10);
const DOWN_FOR: Duration = Duration::from_secs(5);
/// How long the outboxes may take to drain once no batch is made.
const DRAIN: Duration = Duration::from_secs(30);
/// How long a page may take to be told of the last results.
const SETTLE: Duration = Duration::from_secs(5);
/// The bound for a take-over after `kill -9`.
const FAILOVER: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_behind_haproxy_lose_nothing_when_the_leader_is_killed_under_load() {
    if !Haproxy::available() {
        return;
    }
    let Some(database) = fresh_database().await else {
        return;
    };
    // The balancer's address is a trusted proxy: each agent is its own
    // client for the rate limit, as behind a real one.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "trusted_proxies = [\"127.0.0.1/32\"]\n").unwrap();
    let config = config.to_str().unwrap().to_owned();
    let extra = ["--config", config.as_str()];
    let ports: Vec<u16> = (0..REPLICAS).map(|_| free_port()).collect();
    let mut servers: Vec<ServerProcess> = ports
        .iter()
        .map(|&port| ServerProcess::start_with(&database, port, PASSWORD, &extra))
        .collect();
    let mut lb = Haproxy::start(&ports);
    lb.wait_all_up(REPLICAS).await;

    let admin = login(&lb.url, PASSWORD).await;
    let bearer = admin.token.clone().unwrap();
    let enrolling = Instant::now();
    let agents = fleet::enroll(&lb.url, &bearer, AGENTS).await;
    let enrolled_in = enrolling.elapsed();
    let mut pages = Vec::new();
    for _ in 0..PAGES {
        pages.push(Page::open(&lb.url, &bearer).await);
    }
    let watching = Arc::new(AtomicBool::new(true));
    let pages: Vec<_> = pages
        .into_iter()
        .map(|page| tokio::spawn(page.watch(watching.clone())))
        .collect();

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let (making, made) = tokio::sync::watch::channel(true);
    let start = Instant::now();
    let fleet = tokio::spawn(fleet::run(
        lb.url.clone(),
        agents,
        ledger.clone(),
        made,
        start + LOAD + DRAIN,
    ));

    // The leader is killed under load; another takes over.
    tokio::time::sleep_until((start + KILL_AT).into()).await;
    let (leader, _) = one_leader(&servers, &rounds(&servers).await).await;
    let victim = format!("r{leader}");
    let held = servers.remove(leader).kill9_holding_port();
    let killed_at = Instant::now();
    eprintln!("killed at {:?}", killed_at - start);
    one_leader(&servers, &rounds(&servers).await).await;
    let failover = killed_at.elapsed();
    tokio::time::sleep_until((killed_at + DOWN_FOR).into()).await;
    servers.insert(leader, held.restart_with(&database, PASSWORD, &extra));
    let restarted_at = Instant::now();
    lb.wait_all_up(REPLICAS).await;

    tokio::time::sleep_until((start + LOAD).into()).await;
    making.send_replace(false);
    let left = fleet.await.unwrap();
    let drained_in = start.elapsed().saturating_sub(LOAD);
    tokio::time::sleep(SETTLE).await;
    watching.store(false, Ordering::Relaxed);
    let mut watched = Vec::new();
    for page in pages {
        watched.push(page.await.unwrap());
    }
    // The jobs still run, on whichever replica leads now.
    one_leader(&servers, &rounds(&servers).await).await;

    let ledger = Arc::try_unwrap(ledger).unwrap().into_inner().unwrap();
    report(
        &ledger,
        &watched,
        &victim,
        failover,
        enrolled_in,
        drained_in,
    );
    let stuck: usize = left.iter().sum();
    assert_eq!(stuck, 0, "batches still in outboxes after {DRAIN:?}");
    assert!(
        failover < FAILOVER,
        "the jobs were led again after {failover:?}"
    );
    assert!(
        ledger
            .answered_by
            .iter()
            .any(|(replica, at)| *replica == victim && *at > restarted_at),
        "the restarted replica {victim} took no batch"
    );
    stored_exactly_once(&database, &ledger).await;
    for (i, page) in watched.iter().enumerate() {
        every_result_told(i, page, &ledger, &victim);
    }
}

/// Every acknowledged result is a row, no other is, and each has its
/// samples once.
async fn stored_exactly_once(database: &str, ledger: &Ledger) {
    let pool = sqlx::PgPool::connect(database).await.unwrap();
    let stored: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM results")
        .fetch_all(&pool)
        .await
        .unwrap();
    let distinct: BTreeSet<Uuid> = stored.iter().copied().collect();
    assert_eq!(distinct.len(), stored.len(), "a result stored twice");
    let acked: BTreeSet<Uuid> = ledger.acked.keys().copied().collect();
    let missing = acked.difference(&distinct).count();
    let unasked = distinct.difference(&acked).count();
    assert_eq!(
        (missing, unasked),
        (0, 0),
        "acknowledged but not stored, stored but never acknowledged"
    );
    let (rows, keys): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT (series_id, ts)) FROM samples")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    let per_result = ledger.samples_per_result.expect("a batch was stored") as i64;
    assert_eq!(rows, keys, "a sample stored twice");
    assert_eq!(rows, per_result * stored.len() as i64, "samples per result");
}

/// A page was told of every result, save those its gaps cover; its
/// replica was killed only if it was the victim's, and it caught up after
/// every gap.
fn every_result_told(i: usize, page: &Watched, ledger: &Ledger, victim: &str) {
    let missed: Vec<_> = ledger
        .acked
        .iter()
        .filter(|(id, _)| !page.seen.contains_key(id))
        .filter(|(_, a)| !page.gaps.iter().any(|g| g.covers(a.sent, a.acked)))
        .map(|(id, a)| (id, a.acked - a.sent))
        .take(5)
        .collect();
    assert!(
        missed.is_empty(),
        "page {i} on {:?} (gaps {:?}) was never told of {missed:?}",
        page.replicas,
        page.gaps
    );
    assert_eq!(page.caught_up, page.gaps.len(), "page {i} caught up");
    let closed = page
        .gaps
        .iter()
        .filter(|g| g.why == "socket closed")
        .count();
    let expected = usize::from(page.replicas[0] == victim);
    assert_eq!(
        closed, expected,
        "page {i} first on {:?}: its socket closed {closed} times",
        page.replicas
    );
    let told = page.seen.len() as f64 / ledger.acked.len() as f64;
    assert!(told > 0.5, "page {i} was told of {told:.2} of the results");
}

/// What the run measured, for the note and the failure's context.
fn report(
    ledger: &Ledger,
    pages: &[Watched],
    victim: &str,
    failover: Duration,
    enrolled_in: Duration,
    drained_in: Duration,
) {
    let mut latencies = ledger.latencies.clone();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let mut delays: Vec<Duration> = pages
        .iter()
        .flat_map(|p| {
            p.seen.iter().filter_map(|(id, seen)| {
                let a = ledger.acked.get(id)?;
                Some(seen.saturating_duration_since(a.asked))
            })
        })
        .collect();
    delays.sort();
    let delay = |q: f64| delays[((delays.len().max(1) - 1) as f64 * q) as usize];
    let mut by_replica: BTreeMap<&str, usize> = BTreeMap::new();
    for (replica, _) in &ledger.answered_by {
        *by_replica.entry(replica).or_default() += 1;
    }
    let gaps: Vec<usize> = pages.iter().map(|p| p.gaps.len()).collect();
    eprintln!(
        "scale: {AGENTS} agents enrolled in {enrolled_in:?}; {} results acknowledged \
         ({by_replica:?}); failed attempts {:?}; ack p50 {:?} p99 {:?} max {:?}; \
         {victim} killed, jobs led again in {failover:?}; outboxes drained {drained_in:?} \
         after the load; pages told p50 {:?} p99 {:?} after the acknowledged attempt; \
         gaps per page {gaps:?}",
        ledger.acked.len(),
        ledger.failures,
        at(0.5),
        at(0.99),
        at(1.0),
        delay(0.5),
        delay(0.99),
    );
}

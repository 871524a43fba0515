//! The real agent against the server: `vantage-agent enroll`, measure,
//! ship through the outbox, query — then an outage with `kill -9` on both
//! sides, and the outbox's size bound. Every story runs on both backends.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

mod logs;

use crate::both;
use crate::support::agent::{
    AgentHome, RunningAgent, ServerProcess, distinct, free_port, outbox_ids, stored_ids, tcp_target,
};
use crate::support::http::Client;
use crate::support::server::{Backend, start, store};
use crate::support::tls::private_ca;

const PASSWORD: &str = "outage-story-password";

async fn enrollment_token(admin: &Client) -> String {
    admin
        .post("/api/v1/enrollment-tokens", &json!({}))
        .await
        .expect(201)
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn login(url: &str) -> Client {
    crate::support::http::login(url, PASSWORD).await
}

/// Waits until every result `agent` printed is stored, then stops it. In
/// that order: a stopped agent ships nothing more, and a result printed
/// just before the stop waits in its outbox for the next start.
async fn stop_once_stored(url: &str, agent: RunningAgent) {
    wait_stored(url, &distinct(&agent.printed()), Duration::from_secs(30)).await;
    agent.stop();
}

/// Waits until every id in `want` is stored; returns what is stored.
async fn wait_stored(url: &str, want: &BTreeSet<Uuid>, limit: Duration) -> Vec<Uuid> {
    let start = Instant::now();
    loop {
        let stored = stored_ids(url).await;
        if want.iter().all(|id| stored.contains(id)) {
            return stored;
        }
        assert!(
            start.elapsed() < limit,
            "{} of {} results stored after {limit:?}",
            stored.len(),
            want.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

both!(enroll_measure_query);
async fn enroll_measure_query(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (_target, port) = tcp_target();
    let home = AgentHome::new();
    let config = home.config(
        Some(port),
        "500ms",
        "[server]\nheartbeat = \"1s\"\nmax_backoff = \"2s\"\n",
    );
    home.enroll(
        &config,
        &format!("http://{}", server.addr),
        &enrollment_token(&server.admin).await,
        "e2e-agent",
    );
    let agent = RunningAgent::start(&config);
    agent.wait_printed(4, Duration::from_secs(60));
    let printed = distinct(&agent.printed());
    wait_stored(&server.url, &printed, Duration::from_secs(30)).await;

    let agents = server.admin.get("/api/v1/agents").await.expect(200).json();
    let a = &agents["items"][0];
    assert_eq!(
        (a["name"].as_str(), a["online"].as_bool(), a["os"].as_str()),
        (Some("e2e-agent"), Some(true), Some(std::env::consts::OS))
    );
    let latest = server
        .admin
        .get("/api/v1/results/latest")
        .await
        .expect(200)
        .json();
    assert_eq!(latest[0]["check"], "port");
    assert_eq!(latest[0]["status"], "ok");
    assert_eq!(latest[0]["plugin"], "tcp");
    let stats = server
        .admin
        .get("/api/v1/series/stats?check=port&metric=connect_time")
        .await
        .expect(200)
        .json();
    let s = &stats["series"][0]["stats"];
    assert!(s["count"].as_u64().unwrap() >= 4, "{stats}");
    assert!(
        s["p50"].as_f64().unwrap() > 0.0 && s["p50"].as_f64().unwrap() < 0.5,
        "{stats}"
    );
    assert_eq!(stats["checks"][0]["availability"], 1.0);
    stop_once_stored(&server.url, agent).await;
}

/// A server whose database outlives it (restarts keep the data).
async fn database(backend: Backend) -> Option<(String, Option<tempfile::TempDir>)> {
    let (store, dir, url) = store(backend).await?;
    drop(store);
    Some((url, dir))
}

both!(outage_with_kill9);
async fn outage_with_kill9(backend: Backend) {
    let Some((url, _dir)) = database(backend).await else {
        return;
    };
    let port = free_port();
    let server = ServerProcess::start(&url, port, PASSWORD);
    let admin = login(&server.url).await;
    let (_target, tcp) = tcp_target();
    let home = AgentHome::new();
    let extra = "[server]\nheartbeat = \"1s\"\nmax_backoff = \"2s\"\n";
    let config = home.config(Some(tcp), "200ms", extra);
    home.enroll(
        &config,
        &server.url,
        &enrollment_token(&admin).await,
        "outage-agent",
    );

    let agent = RunningAgent::start(&config);
    agent.wait_printed(5, Duration::from_secs(60));
    wait_stored(&url, &distinct(&agent.printed()), Duration::from_secs(30)).await;

    // The server dies; the agent keeps measuring into its outbox, then dies too.
    let held = server.kill9_holding_port();
    let before = agent.printed().len();
    agent.wait_printed(before + 10, Duration::from_secs(30));
    let mut produced = agent.kill9();
    // Appended but maybe not printed when it died: the outbox holds it.
    produced.extend(outbox_ids(&home));
    produced.sort();
    produced.dedup();
    // The agent comes back first, still without a server.
    let agent = RunningAgent::start(&config);
    agent.wait_printed(5, Duration::from_secs(60));
    let server = held.restart(&url, PASSWORD);
    agent.wait_printed(10, Duration::from_secs(30));
    produced.extend(agent.stop());
    // A last start without checks drains what is left.
    let drain = RunningAgent::start(&home.config(None, "1s", extra));
    let produced = distinct(&produced);
    let stored = wait_stored(&url, &produced, Duration::from_secs(60)).await;
    drop(drain);
    assert_eq!(
        distinct(&stored),
        produced,
        "stored results must equal produced ones"
    );
    drop(server);
}

both!(outbox_bound_counts_what_it_drops);
async fn outbox_bound_counts_what_it_drops(backend: Backend) {
    let Some((url, _dir)) = database(backend).await else {
        return;
    };
    let port = free_port();
    let server = ServerProcess::start(&url, port, PASSWORD);
    let admin = login(&server.url).await;
    let (_target, tcp) = tcp_target();
    let home = AgentHome::new();
    let extra = "[server]\nheartbeat = \"1s\"\nmax_backoff = \"2s\"\n\n[outbox]\nmax_bytes = \"12KiB\"\nsegment_bytes = \"4KiB\"\n";
    let config = home.config(Some(tcp), "100ms", extra);
    home.enroll(
        &config,
        &server.url,
        &enrollment_token(&admin).await,
        "bounded-agent",
    );
    let held = server.kill9_holding_port();

    // About 600 bytes a result: 80 results are four times the bound.
    let agent = RunningAgent::start(&config);
    agent.wait_printed(80, Duration::from_secs(60));
    let produced = distinct(&agent.stop());
    let server = held.restart(&url, PASSWORD);
    let drain = RunningAgent::start(&home.config(None, "1s", extra));
    let admin = login(&server.url).await;
    // Drained when the agent reports an empty backlog in a heartbeat.
    let start = Instant::now();
    let reported = loop {
        let agents = admin.get("/api/v1/agents").await.expect(200).json();
        let outbox = agents["items"][0]["outbox"].clone();
        if agents["items"][0]["last_seen_at"].is_string() && outbox["backlog_results"] == 0 {
            break outbox;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never drained: {agents}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    drop(drain);
    let stored = distinct(&stored_ids(&url).await);
    assert!(
        stored.is_subset(&produced),
        "stored results the agent never produced"
    );
    let dropped = (produced.len() - stored.len()) as u64;
    assert!(
        dropped > 0,
        "the bound never dropped anything: {} produced, {} stored",
        produced.len(),
        stored.len()
    );
    assert_eq!(
        reported["dropped_results"].as_u64(),
        Some(dropped),
        "dropped_results must count exactly what is missing: {reported}"
    );
    // What survived is the newest: every stored id is newer than every dropped one.
    let oldest_stored = stored.iter().min().unwrap();
    assert!(
        produced.difference(&stored).all(|d| d < oldest_stored),
        "the bound must drop the oldest results"
    );
}

both!(tls_with_a_private_ca);
async fn tls_with_a_private_ca(backend: Backend) {
    let Some((url, _dir)) = database(backend).await else {
        return;
    };
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca(pki.path());
    // The server over plain HTTP for this test's admin calls, then over
    // HTTPS with the private CA's certificate for the agent (one at a
    // time: SQLite takes one server).
    let plain = ServerProcess::start(&url, free_port(), PASSWORD);
    let admin = login(&plain.url).await;
    let token = enrollment_token(&admin).await;
    drop(plain);
    let tls = ServerProcess::start_with(
        &url,
        free_port(),
        PASSWORD,
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    assert!(tls.url.starts_with("https://127.0.0.1:"), "{}", tls.url);
    let (_target, tcp) = tcp_target();
    let home = AgentHome::new();
    let config = home.config(
        Some(tcp),
        "300ms",
        "[server]\nheartbeat = \"1s\"\nmax_backoff = \"2s\"\n",
    );
    // Without the CA the server's certificate is not trusted, and the token is not spent.
    let refused = home.try_enroll(&config, &tls.url, &token, "tls-agent", &[]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("TLS") || said.contains("certificate"),
        "{said}"
    );
    let ok = home.try_enroll(&config, &tls.url, &token, "tls-agent", &["--ca", &ca]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let agent = RunningAgent::start(&config);
    agent.wait_printed(3, Duration::from_secs(60));
    wait_stored(&url, &distinct(&agent.printed()), Duration::from_secs(30)).await;
    drop(agent);
    drop(tls);
    let plain = ServerProcess::start(&url, free_port(), PASSWORD);
    let admin = login(&plain.url).await;
    let agents = admin.get("/api/v1/agents").await.expect(200).json();
    assert_eq!(agents["items"][0]["name"], "tls-agent");
}

both!(the_agent_scrapes_the_servers_own_metrics_into_stored_series);
async fn the_agent_scrapes_the_servers_own_metrics_into_stored_series(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let home = AgentHome::new();
    let check = format!(
        "[server]\nheartbeat = \"1s\"\nmax_backoff = \"2s\"\n\n\
         [[check]]\nname = \"server-metrics\"\nplugin = \"prometheus\"\n\
         targets = [\"http://{}/metrics\"]\ninterval = \"700ms\"\n\
         config = {{ allow = [\"vantage_ingest_*\"], deny_labels = {{ outcome = [\"rejected\", \"throttled\"] }} }}\n",
        server.addr
    );
    let config = home.config(None, "1s", &check);
    home.enroll(
        &config,
        &format!("http://{}", server.addr),
        &enrollment_token(&server.admin).await,
        "scraper",
    );
    let agent = RunningAgent::start(&config);
    agent.wait_printed(6, Duration::from_secs(60));
    stop_once_stored(&server.url, agent).await;

    let stats = |metric: &'static str| {
        let admin = &server.admin;
        async move {
            admin
                .get(&format!(
                    "/api/v1/series/stats?check=server-metrics&metric={metric}"
                ))
                .await
                .expect(200)
                .json()
        }
    };
    // The agent's own results reach the server between scrapes, so the
    // rate of stored results is positive in some run.
    let rates = stats("vantage_ingest_results_per_second").await;
    let series = rates["series"].as_array().unwrap();
    let outcomes: BTreeSet<&str> = series
        .iter()
        .map(|s| s["series"]["labels"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        BTreeSet::from(["duplicate", "expired", "stored"]),
        "{rates}"
    );
    let stored = series
        .iter()
        .find(|s| s["series"]["labels"]["outcome"] == "stored")
        .unwrap();
    assert_eq!(stored["series"]["unit"], "count", "{stored}");
    assert!(stored["stats"]["max"].as_f64().unwrap() > 0.0, "{stored}");
    // Denied label values and unlisted metrics never left the agent.
    let batches = stats("vantage_ingest_batches_per_second").await;
    let batch_outcomes: BTreeSet<&str> = batches["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["series"]["labels"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        batch_outcomes,
        BTreeSet::from(["replayed", "stored"]),
        "{batches}"
    );
    let http = stats("vantage_http_requests_per_second").await;
    assert_eq!(http["series"], json!([]), "{http}");
    let kept = stats("series_kept").await;
    assert!(
        kept["series"][0]["stats"]["min"].as_f64().unwrap() >= 1.0,
        "{kept}"
    );
}

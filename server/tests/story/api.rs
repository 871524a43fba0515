//! The API story on both backends: enroll, ingest exactly once, query at
//! every resolution; then bad input, the auth walk and `/metrics`.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;
use vantage_server::store::SeriesStore as _;

use crate::both;
use crate::support::http::Client;
use crate::support::server::{Backend, TestServer, start};
use crate::support::{batch, result};

mod bad_input;
mod fleet;
mod rollups;

/// Enrolls an agent through the API; returns its client and id.
pub(crate) async fn enroll(server: &TestServer, name: &str) -> (Client, Uuid) {
    let token = server
        .admin
        .post("/api/v1/enrollment-tokens", &json!({"expires_in": "10m"}))
        .await
        .expect(201)
        .json();
    let enrolled = server
        .client()
        .post(
            "/api/v1/agents/enroll",
            &json!({"token": token["token"], "name": name, "agent": {
                "hostname": "host-1", "os": "linux", "arch": "x86_64", "version": "0.1.0", "addresses": ["10.1.2.3"]}}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(enrolled["name"], name);
    let credential = enrolled["credential"].as_str().unwrap();
    assert!(credential.starts_with("va_"));
    (
        server.client().with_token(credential),
        enrolled["agent_id"].as_str().unwrap().parse().unwrap(),
    )
}

async fn stored_results(server: &TestServer) -> usize {
    let now = Utc::now();
    let ids: Vec<i64> = server
        .state
        .store
        .latest(None)
        .await
        .unwrap()
        .iter()
        .map(|r| r.check_id)
        .collect();
    server
        .state
        .store
        .status_counts(
            &ids,
            now - chrono::Duration::days(30),
            now + chrono::Duration::days(1),
        )
        .await
        .unwrap()
        .total() as usize
}

both!(story);
async fn story(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (agent, agent_id) = enroll(&server, "edge-1").await;
    let now = Utc::now();
    let first: Vec<Value> = (0..3)
        .map(|i| {
            result(
                "edge-1",
                "ping-core",
                now - chrono::Duration::seconds(30 - i * 10),
                &[0.010, 0.012, 0.011 + i as f64 * 0.001],
            )
        })
        .collect();
    let b = batch(first.clone());
    let ack = agent.post("/api/v1/ingest", &b).await.expect(200).json();
    assert_eq!(
        (
            ack["accepted"].as_u64(),
            ack["duplicates"].as_u64(),
            ack["replayed"].as_bool()
        ),
        (Some(3), Some(0), Some(false))
    );
    // A replay of the same batch is acknowledged as it was, and stores nothing.
    let replay = agent.post("/api/v1/ingest", &b).await.expect(200).json();
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["accepted"], 3);
    // A re-formed batch (an agent restart) holding a stored result stores only the new one.
    let newer = result(
        "edge-1",
        "ping-core",
        now - chrono::Duration::seconds(1),
        &[0.020, 0.021, 0.022],
    );
    let ack = agent
        .post(
            "/api/v1/ingest",
            &batch(vec![first[2].clone(), newer.clone()]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        (ack["accepted"].as_u64(), ack["duplicates"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(stored_results(&server).await, 4);
    // A run that timed out: no samples of its own, but it counts against availability.
    let mut timeout = result(
        "edge-1",
        "ping-core",
        now - chrono::Duration::seconds(50),
        &[],
    );
    timeout["status"] = json!("timeout");
    timeout["samples"] = json!([]);
    agent
        .post("/api/v1/ingest", &batch(vec![timeout]))
        .await
        .expect(200);

    agent
        .post("/api/v1/agents/heartbeat", &json!({"version": "0.1.0", "started_at": now, "outbox": {"backlog_results": 2, "backlog_bytes": 300, "dropped_results": 5, "dropped_bytes": 700}, "addresses": ["10.1.2.3"]}))
        .await
        .expect(204);
    let agents = server.admin.get("/api/v1/agents").await.expect(200).json();
    let a = &agents["items"][0];
    assert_eq!(
        (a["id"].as_str(), a["online"].as_bool()),
        (Some(agent_id.to_string().as_str()), Some(true))
    );
    assert_eq!(a["outbox"]["dropped_results"], 5);
    server
        .admin
        .get(&format!("/api/v1/agents/{agent_id}"))
        .await
        .expect(200);

    let latest = server
        .admin
        .get(&format!("/api/v1/results/latest?agent_id={agent_id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(latest.as_array().unwrap().len(), 1, "{latest}");
    assert_eq!(latest[0]["result_id"], newer["id"]);

    // Raw history and exact statistics of the per-packet RTTs (4 runs × 3 packets).
    let q = format!(
        "agent_id={agent_id}&check=ping-core&metric=rtt&from={}",
        (now - chrono::Duration::minutes(5)).to_rfc3339()
    );
    let q = q.replace('+', "%2B");
    let history = server
        .admin
        .get(&format!("/api/v1/series/history?{q}"))
        .await
        .expect(200)
        .json();
    assert_eq!(history["resolution"], "raw");
    let points: usize = history["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["points"].as_array().unwrap().len())
        .sum();
    assert_eq!(points, 12, "{history}");
    let stats = server
        .admin
        .get(&format!("/api/v1/series/stats?{q}"))
        .await
        .expect(200)
        .json();
    let seq0 = stats["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["series"]["labels"]["seq"] == "0")
        .unwrap();
    assert_eq!(seq0["stats"]["count"], 4);
    assert_eq!(seq0["stats"]["max"], 0.020);
    assert_eq!(stats["checks"][0]["availability"], 0.8);
    assert_eq!(stats["checks"][0]["runs"]["ok"], 4);
    assert_eq!(stats["checks"][0]["runs"]["timeout"], 1);

    // Rollups: results of two hours ago, rolled up by the job, queried at 1m and 1h.
    let past = now - chrono::Duration::hours(2);
    let old: Vec<Value> = (0..120)
        .map(|i| {
            result(
                "edge-1",
                "ping-old",
                past + chrono::Duration::seconds(i * 15),
                &[0.001 * (1 + i % 10) as f64],
            )
        })
        .collect();
    agent.post("/api/v1/ingest", &batch(old)).await.expect(200);
    let written = vantage_server::jobs::rollup(&server.state.store, Utc::now())
        .await
        .unwrap();
    // TimescaleDB's own rollups are refreshed, not written by the job; the
    // points read below hold both.
    assert!(written > 0 || vantage_server::store::JobStore::native_rollups(&server.state.store));
    let window = format!(
        "agent_id={agent_id}&check=ping-old&metric=rtt&from={}&to={}",
        (past - chrono::Duration::minutes(1))
            .to_rfc3339()
            .replace('+', "%2B"),
        (past + chrono::Duration::minutes(31))
            .to_rfc3339()
            .replace('+', "%2B")
    );
    let minute = server
        .admin
        .get(&format!("/api/v1/series/history?{window}&resolution=1m"))
        .await
        .expect(200)
        .json();
    assert_eq!(minute["resolution"], "1m");
    assert_eq!(minute["approximate"], true);
    let pts = minute["series"][0]["points"].as_array().unwrap();
    assert_eq!(
        pts.iter()
            .map(|p| p["count"].as_i64().unwrap())
            .sum::<i64>(),
        120,
        "{minute}"
    );
    assert!(pts.iter().all(|p| p["quantiles"]["p50"].is_number()));
    let hour_stats = server
        .admin
        .get(&format!("/api/v1/series/stats?{window}&resolution=1h"))
        .await
        .expect(200)
        .json();
    let s = &hour_stats["series"][0]["stats"];
    assert_eq!(s["count"], 120);
    assert_eq!(
        (s["min"].as_f64(), s["max"].as_f64()),
        (Some(0.001), Some(0.010))
    );
    assert_eq!(hour_stats["checks"][0]["availability"], 1.0);
    assert!(
        hour_stats["checks"][0].get("runs").is_none(),
        "run counts are raw-only"
    );
    let p50 = s["p50"].as_f64().unwrap();
    assert!((p50 - 0.005).abs() <= 0.005 * 0.011, "p50 {p50}");
    // Rolling up again changes nothing (the ranges were consumed; recomputing is idempotent).
    vantage_server::jobs::rollup(&server.state.store, Utc::now())
        .await
        .unwrap();
    let again = server
        .admin
        .get(&format!("/api/v1/series/stats?{window}&resolution=1h"))
        .await
        .expect(200)
        .json();
    assert_eq!(
        again["series"][0]["stats"],
        hour_stats["series"][0]["stats"]
    );
}

both!(users_and_tokens);
async fn users_and_tokens(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let anon = server.client();
    anon.post(
        "/api/v1/auth/login",
        &json!({"username": "admin", "password": "wrong"}),
    )
    .await
    .problem(401);
    anon.post(
        "/api/v1/auth/login",
        &json!({"username": "nobody", "password": "wrong"}),
    )
    .await
    .problem(401);
    server
        .admin
        .post(
            "/api/v1/users",
            &json!({"username": "vera", "password": "short", "role": "viewer"}),
        )
        .await
        .problem(422);
    server
        .admin
        .post(
            "/api/v1/users",
            &json!({"username": "vera", "password": "a-long-password", "role": "viewer"}),
        )
        .await
        .expect(201);
    server
        .admin
        .post(
            "/api/v1/users",
            &json!({"username": "vera", "password": "a-long-password", "role": "admin"}),
        )
        .await
        .problem(409);
    let login = anon
        .post(
            "/api/v1/auth/login",
            &json!({"username": "vera", "password": "a-long-password"}),
        )
        .await
        .expect(200)
        .json();
    let vera = anon.with_token(login["token"].as_str().unwrap());
    assert_eq!(
        vera.get("/api/v1/auth/me").await.expect(200).json()["role"],
        "viewer"
    );
    vera.post("/api/v1/tokens", &json!({"name": "ci", "role": "admin"}))
        .await
        .problem(403);
    let t = vera
        .post("/api/v1/tokens", &json!({"name": "ci"}))
        .await
        .expect(201)
        .json();
    let api = anon.with_token(t["token"].as_str().unwrap());
    api.get("/api/v1/agents").await.expect(200);
    api.post("/api/v1/enrollment-tokens", &json!({}))
        .await
        .problem(403);
    server
        .admin
        .delete(&format!("/api/v1/tokens/{}", t["id"].as_str().unwrap()))
        .await
        .expect(204);
    api.get("/api/v1/agents").await.problem(401);
    server
        .admin
        .delete(&format!("/api/v1/tokens/{}", t["id"].as_str().unwrap()))
        .await
        .problem(404);
    vera.post("/api/v1/auth/logout", &json!({}))
        .await
        .expect(204);
    vera.get("/api/v1/auth/me").await.problem(401);
}

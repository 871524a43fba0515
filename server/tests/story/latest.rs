//! The latest results tell which check targets a check still has: a target
//! the check moved away from (an earlier run's, on another port) keeps its
//! last result but reads as not current, on both backends.

use chrono::Utc;
use hyper::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::enroll;
use crate::both;
use crate::registry::{Packages, publish, send_json};
use crate::support::http::Client;
use crate::support::server::{Backend, TestServer, start};
use crate::support::{batch, result};

/// A tcp result of `check` for `target`, stored through the agent's ingest.
async fn report(agent: &Client, check: &str, target: &str) {
    let mut r = result("edge-1", check, Utc::now(), &[0.001]);
    r["target"] = target.into();
    r["plugin"] = "tcp".into();
    agent
        .post("/api/v1/ingest", &batch(vec![r]))
        .await
        .expect(200);
}

async fn put_check(server: &TestServer, targets: &[&str], agents: Value) {
    let spec = json!({
        "name": "port", "plugin": "tcp", "targets": targets, "interval": "5s",
        "grants": ["tcp"], "agents": agents,
    });
    let answer = send_json(&server.admin, Method::PUT, "/api/v1/checks/port", &spec).await;
    assert!(
        matches!(answer.status.as_u16(), 200 | 201),
        "{:?}",
        answer.json()
    );
}

/// The latest row of (`check`, `target`) on the agent.
async fn latest(server: &TestServer, agent: Uuid, check: &str, target: &str) -> Value {
    let rows = server
        .admin
        .get(&format!("/api/v1/results/latest?agent_id={agent}"))
        .await
        .expect(200)
        .json();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == check && r["target"] == target)
        .unwrap_or_else(|| panic!("no {check} · {target} in {rows}"))
        .clone()
}

both!(a_target_the_check_no_longer_has_is_not_current);
async fn a_target_the_check_no_longer_has_is_not_current(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let packages = Packages::new();
    packages.register_keys(&server.admin).await;
    publish(
        &server.admin,
        packages.tcp("1.0.0", &["tcp"], &packages.publisher),
    )
    .await
    .expect(201);
    let (agent, agent_id) = enroll(&server, "edge-1").await;
    put_check(&server, &["127.0.0.1:1001"], json!({})).await;
    report(&agent, "port", "127.0.0.1:1001").await;
    // A check of the agent's own, which the server does not define.
    report(&agent, "local-only", "127.0.0.1:9").await;

    let first = latest(&server, agent_id, "port", "127.0.0.1:1001").await;
    assert_eq!(first["current"], true, "{first}");
    assert_eq!(first["interval_ms"], 5000, "{first}");
    assert_eq!(first["status"], "ok", "{first}");
    let local = latest(&server, agent_id, "local-only", "127.0.0.1:9").await;
    assert_eq!(local["current"], true, "{local}");
    assert_eq!(local["interval_ms"], Value::Null, "{local}");

    // The demo runs again, its services on other ports: the old target is
    // history, the new one current once it reports.
    put_check(&server, &["127.0.0.1:1002"], json!({})).await;
    report(&agent, "port", "127.0.0.1:1002").await;
    let old = latest(&server, agent_id, "port", "127.0.0.1:1001").await;
    assert_eq!(old["current"], false, "{old}");
    assert_eq!(
        old["status"], "ok",
        "the last result stays as it was: {old}"
    );
    assert_eq!(old["result_id"], first["result_id"]);
    let new = latest(&server, agent_id, "port", "127.0.0.1:1002").await;
    assert_eq!(new["current"], true, "{new}");

    // The check moves to other agents: none of its targets is current here.
    put_check(
        &server,
        &["127.0.0.1:1002"],
        json!({"groups": ["elsewhere"]}),
    )
    .await;
    let moved = latest(&server, agent_id, "port", "127.0.0.1:1002").await;
    assert_eq!(moved["current"], false, "{moved}");
    assert_eq!(moved["interval_ms"], 5000, "{moved}");
    // The unfiltered list judges the same.
    let all = server
        .admin
        .get("/api/v1/results/latest")
        .await
        .expect(200)
        .json();
    let currents: Vec<(&str, &str, bool)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["check"].as_str().unwrap(),
                r["target"].as_str().unwrap(),
                r["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        currents,
        [
            ("local-only", "127.0.0.1:9", true),
            ("port", "127.0.0.1:1001", false),
            ("port", "127.0.0.1:1002", false),
        ]
    );
}

/// A system-like result: a process table of `pids`, at `started_at`.
fn processes(started_at: chrono::DateTime<Utc>, pids: &[(u32, f64)]) -> Value {
    let mut r = result("edge-1", "this-host", started_at, &[]);
    r["target"] = "localhost".into();
    r["plugin"] = "system".into();
    r["samples"] = pids
        .iter()
        .map(|(pid, memory)| {
            json!({"metric": "process_memory", "unit": "bytes", "value": memory,
                   "labels": {"pid": pid.to_string(), "name": format!("p{pid}")}})
        })
        .chain([json!({"metric": "load1", "unit": "none", "value": 0.5})])
        .collect();
    r
}

both!(the_latest_runs_samples_are_read_whole_whatever_their_labels);
async fn the_latest_runs_samples_are_read_whole_whatever_their_labels(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (agent, agent_id) = enroll(&server, "edge-1").await;
    // Three runs with a changing process table: 150 series in all, more
    // than a history query may cover, 60 in the last run.
    let start = Utc::now() - chrono::Duration::seconds(30);
    for run in 0..3u32 {
        let pids: Vec<(u32, f64)> = (0..60)
            .map(|i| (1000 + run * 45 + i, f64::from(i) * 1024.0))
            .collect();
        let at = start + chrono::Duration::seconds(i64::from(run) * 10);
        agent
            .post("/api/v1/ingest", &batch(vec![processes(at, &pids)]))
            .await
            .expect(200);
    }
    let query = format!(
        "/api/v1/results/latest/samples?agent_id={agent_id}&check=this-host&target=localhost"
    );
    let run = server.admin.get(&query).await.expect(200).json();
    let row = latest(&server, agent_id, "this-host", "localhost").await;
    assert_eq!(run["result_id"], row["result_id"]);
    let samples = run["samples"].as_array().unwrap();
    // The run's 61 samples and the server's own `check_up` of it.
    assert_eq!(samples.len(), 62, "{run}");
    let first: Vec<(&str, f64)> = samples[..2]
        .iter()
        .map(|s| (s["metric"].as_str().unwrap(), s["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(first, [("check_up", 1.0), ("load1", 0.5)]);
    let pids: Vec<u32> = samples[2..]
        .iter()
        .map(|s| s["labels"]["pid"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(pids.iter().all(|p| (1090..1150).contains(p)), "{pids:?}");
    assert_eq!(samples[2]["unit"], "bytes");
    // A history query over the same series is refused: too many series.
    server
        .admin
        .get(&format!(
            "/api/v1/series/history?agent_id={agent_id}&check=this-host&metric=process_memory"
        ))
        .await
        .expect(422);

    // No such target, a bad agent id, a missing parameter: problems.
    let missing = server
        .admin
        .get(&format!(
            "/api/v1/results/latest/samples?agent_id={agent_id}&check=this-host&target=elsewhere"
        ))
        .await
        .expect(404);
    assert_eq!(missing.content_type(), "application/problem+json");
    server
        .admin
        .get("/api/v1/results/latest/samples?agent_id=nope&check=a&target=b")
        .await
        .expect(422);
    server
        .admin
        .get(&format!(
            "/api/v1/results/latest/samples?agent_id={agent_id}"
        ))
        .await
        .expect(422);
}

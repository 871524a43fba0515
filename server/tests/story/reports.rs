//! Reports and SLAs over the API, on both backends: a golden month whose
//! every figure is counted by hand (`golden`), the same report as CSV,
//! HTML and PDF (`formats`), counting by alerts (`by_alerts`), silences
//! taken out (`silences`), incidents' suppressed children (`children`),
//! whole days read from the day rollups (`days`),
//! and bad SLAs and queries (`bad_input`).

mod bad_input;
mod by_alerts;
mod children;
mod days;
mod deliveries;
mod formats;
mod golden;
mod hours;
mod silences;

use chrono::{DateTime, Duration, Utc};
use hyper::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use vantage_server::config::{Retention, ServerConfig};

use crate::api::enroll;
use crate::registry::send_json;
use crate::support::batch;
use crate::support::http::Client;
use crate::support::server::{Backend, TestServer, start_with};

pub(crate) async fn put(admin: &Client, path: &str, body: &Value) -> Value {
    let reply = send_json(admin, Method::PUT, path, body).await;
    reply.expect(201).json()
}

/// A server keeping raw results long enough to take a whole past month.
pub(crate) async fn server(backend: Backend) -> Option<TestServer> {
    start_with(backend, config()).await
}

pub(crate) fn config() -> ServerConfig {
    ServerConfig {
        retention: Retention {
            raw: std::time::Duration::from_secs(80 * 86_400),
            ..Retention::default()
        },
        ..ServerConfig::default()
    }
}

/// Within the sketch's 1 %.
pub(crate) fn assert_within_1pct(got: &Value, want: f64) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {got}"));
    assert!((got - want).abs() <= want * 0.01, "{got} ≠ {want} ± 1 %");
}

/// Within the 0.001 % (of availability) the issue asks for, and much
/// closer: the figures are counts.
pub(crate) fn assert_close(got: &Value, want: f64) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {got}"));
    assert!((got - want).abs() < 1e-9, "{got} ≠ {want}");
}

/// A `web` run of `agent` at `at` against 10.0.0.1: ok or timed out.
pub(crate) fn web_run(agent: &str, at: DateTime<Utc>, ok: bool) -> Value {
    json!({
        "id": Uuid::now_v7(), "agent": agent, "check": "web", "target": "10.0.0.1",
        "plugin": "http", "plugin_version": "0.1.0",
        "status": if ok { "ok" } else { "timeout" },
        "started_at": at, "duration": 0.05,
        "samples": [{"metric": "total_time", "unit": "seconds", "value": 0.02}],
    })
}

/// Each agent enrolled and its `web` runs every 10 minutes over
/// `[from, to)` stored, failing where `down(agent, at)`; then rolled up.
pub(crate) async fn web_runs(
    server: &TestServer,
    agents: &[&str],
    range: (DateTime<Utc>, DateTime<Utc>),
    down: impl Fn(&str, DateTime<Utc>) -> bool,
) {
    web_runs_where(server, agents, range, |a, t| Some(!down(a, t))).await;
}

/// As [`web_runs`], where `ok(agent, at)` is `None` for no run at all.
pub(crate) async fn web_runs_where(
    server: &TestServer,
    agents: &[&str],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    ok: impl Fn(&str, DateTime<Utc>) -> Option<bool>,
) {
    for agent in agents {
        let (client, _) = enroll(server, agent).await;
        let mut runs = Vec::new();
        let mut t = from;
        while t < to {
            if let Some(ok) = ok(agent, t) {
                runs.push(web_run(agent, t, ok));
            }
            t += Duration::minutes(10);
        }
        client
            .post("/api/v1/ingest", &batch(runs))
            .await
            .expect(200);
    }
    vantage_server::jobs::rollup(&server.state.store, Utc::now() + Duration::minutes(1))
        .await
        .unwrap();
}

/// A report's path over `[from, to)`.
pub(crate) fn range_path(sla: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let stamp = |t: DateTime<Utc>| t.to_rfc3339().replace('+', "%2B");
    format!(
        "/api/v1/reports?sla={sla}&from={}&to={}",
        stamp(from),
        stamp(to)
    )
}

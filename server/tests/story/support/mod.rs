//! Test support: a throw-away PostgreSQL cluster, in-process servers over
//! either backend, an HTTP client, and results to send.
#![allow(dead_code, unreachable_pub)]

pub mod agent;
pub mod http;
pub mod lab;
pub mod pg;
pub mod process;
pub mod receiver;
pub mod server;
pub mod smtp;
pub mod tls;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

/// A ping-like result: an RTT per packet, their average and the loss.
/// The fields a problem+json's `errors` name, in order.
pub fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .expect("a problem with errors")
        .iter()
        .map(|e| e["field"].as_str().expect("a field"))
        .collect()
}

pub fn result(agent: &str, check: &str, started_at: DateTime<Utc>, rtts: &[f64]) -> Value {
    let mut samples: Vec<Value> = rtts
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"metric": "rtt", "unit": "seconds", "value": v, "labels": {"seq": i.to_string()}}))
        .collect();
    let avg = rtts.iter().sum::<f64>() / rtts.len().max(1) as f64;
    samples.push(json!({"metric": "rtt_avg", "unit": "seconds", "value": avg}));
    samples.push(json!({"metric": "loss", "unit": "ratio", "value": 0.0}));
    json!({
        "id": Uuid::now_v7(),
        "agent": agent,
        "check": check,
        "target": "10.0.0.1",
        "plugin": "ping",
        "plugin_version": "0.1.0",
        "status": "ok",
        "started_at": started_at,
        "duration": 0.5,
        "samples": samples,
    })
}

pub fn batch(results: Vec<Value>) -> Value {
    json!({"batch_id": Uuid::now_v7(), "results": results})
}

/// Whether a required tool is missing and the run must fail rather than skip.
pub fn required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("VANTAGE_REQUIRE_ALL").is_some()
}

/// What a finished command printed, stdout then stderr, for assertions.
pub fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

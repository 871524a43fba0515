//! One set of result rules (`vantage_protocol::rules`): a result at each
//! edge of a limit goes through the real agent and the real server, and is
//! either stored as the agent printed it, or refused by the agent itself
//! with a clear status — never accepted by one side and refused by the other.

use std::time::Duration;

use serde_json::{Value, json};

use crate::both;
use crate::remote::enrollment_token;
use crate::support::agent::{AgentHome, RunningAgent, distinct};
use crate::support::server::{Backend, start};

/// A check of the `misbehave` fixture in mode `emit` (or `trap`), and what
/// the agent must make of it.
struct Case {
    name: &'static str,
    config: Value,
    /// The status the agent prints and the server stores.
    status: &'static str,
    /// Words the message must hold (None: no message).
    message: Option<&'static str>,
    /// Whether the sample survives (with its labels).
    sample: bool,
}

fn cases() -> Vec<Case> {
    let emit = |labels: Value, message: Option<String>, metric: &str| {
        let mut c = json!({"mode": "emit", "labels": labels, "metric": metric});
        if let Some(m) = message {
            c["message"] = json!(m);
        }
        c
    };
    vec![
        Case {
            name: "label-129",
            config: emit(json!([["hop", "x".repeat(129)]]), None, "value"),
            status: "ok",
            message: None,
            sample: true,
        },
        Case {
            // 85 euro signs and one byte: 256 bytes, the limit.
            name: "label-256",
            config: emit(
                json!([["hop", format!("{}x", "€".repeat(85))]]),
                None,
                "value",
            ),
            status: "ok",
            message: None,
            sample: true,
        },
        Case {
            name: "label-257",
            config: emit(json!([["hop", "y".repeat(257)]]), None, "value"),
            status: "error",
            message: Some("labels.hop is longer than 256 bytes"),
            sample: false,
        },
        Case {
            name: "label-key",
            config: emit(json!([["Bad Key", "v"]]), None, "value"),
            status: "error",
            message: Some("label names must match"),
            sample: false,
        },
        Case {
            // 1365 euro signs and two bytes: 4097 bytes, one over.
            name: "message-4097",
            config: emit(json!([]), Some(format!("{}ab", "€".repeat(1365))), "value"),
            status: "ok",
            message: Some("€€€"),
            sample: true,
        },
        Case {
            name: "check-up",
            config: emit(json!([]), None, "check_up"),
            status: "error",
            message: Some("`check_up` is not declared"),
            sample: false,
        },
        Case {
            // A panic whose message is cut inside a character at any length.
            name: "trap-utf8",
            config: json!({"mode": "trap", "message": "€".repeat(1000)}),
            status: "error",
            message: Some("€€€"),
            sample: false,
        },
    ]
}

fn agent_config(home: &AgentHome) -> std::path::PathBuf {
    let mut extra = String::from("[server]\nheartbeat = \"1s\"\nmax_backoff = \"2s\"\n");
    for case in cases() {
        extra.push_str(&format!(
            "\n[[check]]\nname = \"{}\"\nplugin = \"misbehave\"\ntargets = [\"127.0.0.1:9\"]\ninterval = \"1h\"\njitter = \"0s\"\ngrants = []\n[check.config]\n",
            case.name
        ));
        for (k, v) in case.config.as_object().unwrap() {
            // JSON strings and arrays of strings are valid TOML values.
            extra.push_str(&format!("{k} = {v}\n"));
        }
    }
    home.config(None, "1h", &extra)
}

both!(results_at_every_limit_are_stored_as_printed_or_refused_by_the_agent);
async fn results_at_every_limit_are_stored_as_printed_or_refused_by_the_agent(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let home = AgentHome::new();
    let config = agent_config(&home);
    let token = enrollment_token(&server.admin).await;
    home.enroll(
        &config,
        &format!("http://{}", server.addr),
        &token,
        "rules-agent",
    );
    let mut agent = RunningAgent::start(&config);
    let cases = cases();
    for case in &cases {
        agent.wait_result(case.name, 0, Duration::from_secs(60), |_| true);
    }
    // Every printed result reaches the store: none is refused by the server.
    let printed = distinct(&agent.printed());
    let start = std::time::Instant::now();
    let latest = loop {
        let latest = server
            .admin
            .get("/api/v1/results/latest")
            .await
            .expect(200)
            .json();
        let stored = latest.as_array().unwrap().len();
        if stored >= cases.len() {
            break latest;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{stored} of {} checks stored: {latest}",
            cases.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(printed.len(), cases.len(), "one run per check");
    let rejected = home.dir.path().join("data/outbox/rejected.jsonl");
    assert!(
        !rejected.exists(),
        "the server refused what the agent accepted: {}",
        std::fs::read_to_string(&rejected).unwrap_or_default()
    );
    for case in &cases {
        let mine = agent.results_of(case.name);
        let printed = &mine[0];
        let stored = latest
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["check"] == case.name)
            .unwrap_or_else(|| panic!("{} not stored: {latest}", case.name));
        assert_eq!(printed["status"], case.status, "{}: {printed}", case.name);
        assert_eq!(stored["status"], case.status, "{}: {stored}", case.name);
        let message = printed["message"].as_str();
        match case.message {
            None => assert_eq!(message, None, "{}", case.name),
            Some(words) => {
                let m = message.unwrap_or_else(|| panic!("{}: no message", case.name));
                assert!(m.contains(words), "{}: {m}", case.name);
                assert!(m.len() <= 4096, "{}: {} bytes", case.name, m.len());
                assert_eq!(stored["message"].as_str(), Some(m), "{}", case.name);
            }
        }
        let samples = printed["samples"].as_array().unwrap();
        assert_eq!(!samples.is_empty(), case.sample, "{}: {printed}", case.name);
    }
    // The labels the agent let through are the server's series.
    for (name, hop) in [
        ("label-129", "x".repeat(129)),
        ("label-256", format!("{}x", "€".repeat(85))),
    ] {
        let series = server
            .admin
            .get(&format!("/api/v1/series?check={name}&metric=value"))
            .await
            .expect(200)
            .json();
        assert_eq!(series[0]["labels"]["hop"], hop.as_str(), "{name}: {series}");
    }
    // The agent went on after the panic and the refused outputs.
    assert!(agent.child_running(), "the agent exited");
    agent.stop();
}

//! A log file feeds a check end to end: the real agent's `log-match` reads
//! what is appended to a file it is granted, the server stores the matched
//! lines as searchable events, and a rule on their count fires.

use std::io::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use super::{enrollment_token, stop_once_stored};
use crate::alerts::put;
use crate::both;
use crate::support::agent::{AgentHome, RunningAgent};
use crate::support::server::{Backend, start};

fn append(path: &std::path::Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn matched(result: &Value) -> f64 {
    result["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["metric"] == "lines_matched")
        .map(|s| s["value"].as_f64().unwrap())
        .sum()
}

both!(a_log_file_feeds_searchable_events_and_an_alert_on_their_count);
async fn a_log_file_feeds_searchable_events_and_an_alert_on_their_count(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let rule = json!({
        "name": "app-errors",
        "select": {"check": "app-log*"},
        "condition": {"kind": "threshold", "metric": "lines_matched", "op": ">=", "value": 5,
                      "aggregate": "sum", "window": "5m"}
    });
    put(admin, "app-errors", &rule).await.expect(201);

    let home = AgentHome::new();
    let logs = home.dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let app = logs.join("app.log");
    append(&app, "ERROR from before the agent started\n");
    let glob = format!("{}/*.log", logs.display());
    let check = format!(
        "[server]\nheartbeat = \"1s\"\nmax_backoff = \"2s\"\n\n\
         [[check]]\nname = \"app-log\"\nplugin = \"log-match\"\ntargets = [\"localhost\"]\n\
         interval = \"300ms\"\nallow = [\"{glob}\"]\n\
         config = {{ files = [\"{glob}\"], patterns = [{{ name = \"error\", regex = \"(?i)error\" }}] }}\n"
    );
    let config = home.config(None, "1s", &check);
    home.enroll(
        &config,
        &format!("http://{}", server.addr),
        &enrollment_token(admin).await,
        "log-host",
    );
    let agent = RunningAgent::start(&config);
    // The first run records where the file ends: the backlog is not read.
    let seen = agent.wait_result("app-log", 0, Duration::from_secs(60), |r| {
        r["status"] == "ok"
    });
    append(
        &app,
        "info all fine\nERROR disk full on /var\nerror: upstream reset\n",
    );
    let seen = agent.wait_result("app-log", seen, Duration::from_secs(30), |r| {
        matched(r) > 0.0
    });
    append(&app, "ERROR three\nERROR four\nError five\n");
    agent.wait_result("app-log", seen, Duration::from_secs(30), |r| {
        matched(r) > 0.0
    });
    stop_once_stored(&server.url, agent).await;

    let found = admin
        .get("/api/v1/events?check=app-log&q=ERROR")
        .await
        .expect(200)
        .json();
    let texts: Vec<&str> = found["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Error five",
            "ERROR four",
            "ERROR three",
            "error: upstream reset",
            "ERROR disk full on /var"
        ],
        "newest first, the backlog left out: {found}"
    );
    let first = &found["events"][4];
    assert_eq!(first["agent"], "log-host");
    assert_eq!(first["labels"]["source"], app.display().to_string());
    assert_eq!(first["labels"]["pattern"], "error");
    let narrowed = admin
        .get("/api/v1/events?check=app-log&q=upstream")
        .await
        .expect(200)
        .json();
    assert_eq!(
        narrowed["events"].as_array().unwrap().len(),
        1,
        "{narrowed}"
    );

    let alerts = admin
        .get("/api/v1/alerts?rule=app-errors")
        .await
        .expect(200)
        .json();
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["state"], "firing", "{alerts:?}");
    assert_eq!(alerts[0]["value"], 5.0, "{alerts:?}");
}

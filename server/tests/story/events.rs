//! Events on both backends: matched log lines stored once with their
//! results, searched by agent, check, target, text and time, paged newest
//! first; bad searches named; limits, retention (`limits`) and a rule on
//! the count of lines matched (`counting`).

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::http::Client;
use crate::support::server::{Backend, start};

mod counting;
mod limits;

/// A run of the `log-match` plugin on `agent`'s `check` of `target` at
/// `at`: `lines_matched` per pattern, and each line as an event
/// `(pattern, text, when)`.
pub(crate) fn log_run(
    agent: &str,
    check: &str,
    target: &str,
    at: DateTime<Utc>,
    lines: &[(&str, &str, DateTime<Utc>)],
) -> Value {
    let mut patterns: Vec<&str> = vec!["error", "panic"];
    patterns.extend(lines.iter().map(|l| l.0));
    patterns.sort_unstable();
    patterns.dedup();
    let samples: Vec<Value> = patterns
        .iter()
        .map(|p| {
            let n = lines.iter().filter(|l| l.0 == *p).count();
            json!({"metric": "lines_matched", "unit": "count", "value": n, "labels": {"pattern": p}})
        })
        .collect();
    let events: Vec<Value> = lines
        .iter()
        .map(|(pattern, text, when)| {
            json!({"at": when, "text": text, "labels": {"source": target, "pattern": pattern}})
        })
        .collect();
    json!({
        "id": Uuid::now_v7(),
        "agent": agent,
        "check": check,
        "target": target,
        "plugin": "log-match",
        "plugin_version": "0.1.0",
        "status": "ok",
        "started_at": at,
        "duration": 0.01,
        "samples": samples,
        "events": events,
    })
}

/// `/api/v1/events` with these parameters, URL-encoded.
pub(crate) fn search(params: &[(&str, &str)]) -> String {
    format!(
        "/api/v1/events?{}",
        serde_urlencoded::to_string(params).unwrap()
    )
}

/// The texts of a search's events, in order, and its `next`.
pub(crate) async fn texts(client: &Client, params: &[(&str, &str)]) -> (Vec<String>, Value) {
    let page = client.get(&search(params)).await.expect(200).json();
    let texts = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect();
    (texts, page["next"].clone())
}

/// The texts of the events whose text holds `q`.
async fn found(client: &Client, q: &str) -> Vec<String> {
    texts(client, &[("q", q)]).await.0
}

async fn send(agent: &Client, body: &Value) -> Value {
    agent.post("/api/v1/ingest", body).await.expect(200).json()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

both!(events_are_stored_once_and_found_by_agent_check_target_text_and_time);
async fn events_are_stored_once_and_found_by_agent_check_target_text_and_time(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let (web, web_id) = enroll(&server, "web-1").await;
    let (db, _) = enroll(&server, "db-1").await;
    // Stored to the microsecond.
    let now = Utc::now().trunc_subsecs(6);
    let ago = |m: i64| now - Duration::minutes(m);
    let app = "/var/log/app.log";
    let first = batch(vec![log_run(
        "web-1",
        "app-log",
        app,
        ago(30),
        &[
            ("error", "ERROR disk 50% full", ago(31)),
            ("error", "error: disk 500 full", ago(31)),
            ("panic", "PANIC at the_core", ago(30)),
        ],
    )]);
    let ack = send(&web, &first).await;
    assert_eq!(ack["accepted"], 1, "{ack}");
    // The batch again (a replay), and its result in a new batch (a
    // duplicate): neither stores its events a second time.
    assert_eq!(send(&web, &first).await["replayed"], true);
    let again = batch(first["results"].as_array().unwrap().clone());
    assert_eq!(send(&web, &again).await["duplicates"], 1);
    send(
        &web,
        &batch(vec![log_run(
            "web-1",
            "auth-log",
            "auth.service",
            ago(20),
            &[("error", "Error: login refused for axb", ago(20))],
        )]),
    )
    .await;
    send(
        &db,
        &batch(vec![
            log_run(
                "db-1",
                "app-log",
                app,
                ago(10),
                &[("error", "ERROR replica lag", ago(10))],
            ),
            log_run("db-1", "app-log", app, ago(9), &[]),
        ]),
    )
    .await;

    // Everything of the last day, newest first; a line's own time orders
    // it, and lines of one time keep their order in the run (by id).
    let (all, next) = texts(admin, &[]).await;
    assert_eq!(
        all,
        [
            "ERROR replica lag",
            "Error: login refused for axb",
            "PANIC at the_core",
            "error: disk 500 full",
            "ERROR disk 50% full",
        ]
    );
    assert_eq!(next, Value::Null);
    let page = admin
        .get(&search(&[("check", "auth-log")]))
        .await
        .expect(200)
        .json();
    let e = &page["events"][0];
    assert_eq!(e["agent"], "web-1");
    assert_eq!(e["agent_id"], web_id.to_string());
    assert_eq!(
        (&e["check"], &e["target"]),
        (&json!("auth-log"), &json!("auth.service"))
    );
    assert_eq!(
        e["labels"],
        json!({"source": "auth.service", "pattern": "error"})
    );
    assert_eq!(
        e["at"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap(),
        ago(20)
    );
    assert!(e["id"].as_i64().unwrap() > 0);

    // By agent, check, target, and together.
    let web_id = web_id.to_string();
    assert_eq!(texts(admin, &[("agent_id", &web_id)]).await.0.len(), 4);
    assert_eq!(texts(admin, &[("check", "app-log")]).await.0.len(), 4);
    assert_eq!(texts(admin, &[("target", app)]).await.0.len(), 4);
    let (both, _) = texts(admin, &[("agent_id", &web_id), ("check", "app-log")]).await;
    assert_eq!(
        both,
        [
            "PANIC at the_core",
            "error: disk 500 full",
            "ERROR disk 50% full"
        ]
    );
    assert!(texts(admin, &[("check", "nothing")]).await.0.is_empty());
    // Text, ignoring case, with `%`, `_` and `\` as themselves.
    assert_eq!(found(admin, "error").await.len(), 4);
    assert_eq!(found(admin, "DISK 50%").await, ["ERROR disk 50% full"]);
    assert_eq!(found(admin, "the_core").await, ["PANIC at the_core"]);
    assert!(found(admin, "a_b").await.is_empty(), "`_` is no wildcard");
    assert!(
        found(admin, "50%full").await.is_empty(),
        "`%` is no wildcard"
    );
    assert!(found(admin, "\\").await.is_empty());
    // Time: [from, to).
    let (window, _) = texts(
        admin,
        &[("from", &rfc3339(ago(20))), ("to", &rfc3339(ago(10)))],
    )
    .await;
    assert_eq!(window, ["Error: login refused for axb"]);
    let (old, _) = texts(admin, &[("to", &rfc3339(ago(25)))]).await;
    assert_eq!(old.len(), 3);
    let later = [
        ("from", rfc3339(now + Duration::minutes(1))),
        ("to", rfc3339(now + Duration::minutes(2))),
    ];
    let later: Vec<(&str, &str)> = later.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(texts(admin, &later).await.0.is_empty());

    // Pages of two, each after the last one's `next`, up to the end.
    let mut pages = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut params = vec![("limit", "2".to_owned())];
        params.extend(before.map(|b| ("before", b)));
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (page, next) = texts(admin, &params).await;
        pages.push(page);
        match next {
            Value::Null => break,
            id => before = Some(id.as_i64().unwrap().to_string()),
        }
    }
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!(pages.concat(), all);
    // Paging keeps its filters.
    let (first_page, next) = texts(admin, &[("q", "disk"), ("limit", "1")]).await;
    assert_eq!(first_page, ["error: disk 500 full"]);
    let next = next.as_i64().unwrap().to_string();
    let (rest, end) = texts(admin, &[("q", "disk"), ("limit", "1"), ("before", &next)]).await;
    assert_eq!(
        (rest, end),
        (vec!["ERROR disk 50% full".to_owned()], Value::Null)
    );
    // A viewer may search; no one may without a credential.
    server.client().get(&search(&[])).await.problem(401);
}

both!(bad_event_searches_are_problems_naming_the_parameter);
async fn bad_event_searches_are_problems_naming_the_parameter(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let long = "x".repeat(257);
    for (params, field) in [
        (vec![("agent_id", "edge-1")], "agent_id"),
        (vec![("from", "yesterday")], "from"),
        (vec![("to", "2026-02-30T00:00:00Z")], "to"),
        (
            vec![
                ("from", "2026-01-02T00:00:00Z"),
                ("to", "2026-01-01T00:00:00Z"),
            ],
            "from",
        ),
        (vec![("before", "-1")], "before"),
        (vec![("before", "abc")], "before"),
        (vec![("limit", "0")], "limit"),
        (vec![("limit", "1001")], "limit"),
        (vec![("limit", "many")], "limit"),
        (vec![("q", "")], "q"),
        (vec![("q", long.as_str())], "q"),
        (vec![("check", "")], "check"),
    ] {
        let p = server.admin.get(&search(&params)).await.problem(422);
        assert_eq!(crate::support::fields(&p), [field], "{params:?}: {p}");
    }
    let p = server
        .admin
        .get("/api/v1/events?colour=red")
        .await
        .problem(422);
    assert!(p["detail"].as_str().unwrap().contains("colour"), "{p}");
    // At the limits, and an event id that was never stored: an empty page.
    let q = "x".repeat(256);
    let (none, next) = texts(
        &server.admin,
        &[("q", &q), ("limit", "1000"), ("before", "999999")],
    )
    .await;
    assert!(none.is_empty() && next.is_null());
}

//! The audit log: every change through the API with who, when, from
//! where and what (secrets redacted); failed logins and refusals too;
//! reads, validation errors and agents' data left out; admins only;
//! pages and filters; retention.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use hyper::Method;
use serde_json::{Value, json};
use vantage_server::config::ServerConfig;
use vantage_server::store::{Actor, AuditEntry, AuditStore as _};

use crate::api::enroll;
use crate::both;
use crate::remote::send_json;
use crate::support::http::{Client, loopback};
use crate::support::server::{Backend, start};
use crate::support::{batch, result};

async fn entries(admin: &Client, query: &str) -> Vec<Value> {
    let page = admin
        .get(&format!("/api/v1/audit?{query}"))
        .await
        .expect(200)
        .json();
    page["items"].as_array().unwrap().clone()
}

/// The newest entry whose action is `action` that succeeded.
fn find<'a>(log: &'a [Value], action: &str) -> &'a Value {
    log.iter()
        .find(|e| e["action"] == action && e["status"].as_u64().is_some_and(|s| s < 300))
        .unwrap_or_else(|| panic!("no {action} in {log:#?}"))
}

both!(every_change_is_logged_with_who_when_where_and_what_without_secrets);
async fn every_change_is_logged_with_who_when_where_and_what_without_secrets(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let before = Utc::now();
    let admin = server.admin.from(loopback(21));
    admin
        .post(
            "/api/v1/users",
            &json!({"username": "ann", "password": "ann-long-password", "role": "operator"}),
        )
        .await
        .expect(201);
    // A failed login is kept, under the name it gave; then ann logs in.
    server
        .client()
        .from(loopback(22))
        .post(
            "/api/v1/auth/login",
            &json!({"username": "ann", "password": "not-her-password"}),
        )
        .await
        .problem(401);
    let login = server
        .client()
        .from(loopback(22))
        .post(
            "/api/v1/auth/login",
            &json!({"username": "ann", "password": "ann-long-password"}),
        )
        .await
        .expect(200)
        .json();
    let ann = server
        .client()
        .from(loopback(22))
        .with_token(login["token"].as_str().unwrap());
    // Beyond her role: refused, and kept.
    ann.post(
        "/api/v1/users",
        &json!({"username": "eve", "password": "eve-long-password", "role": "admin"}),
    )
    .await
    .problem(403);
    // A token, and a change made with it.
    let token = ann
        .post("/api/v1/tokens", &json!({"name": "ci"}))
        .await
        .expect(201)
        .json();
    let ci = server.client().with_token(token["token"].as_str().unwrap());
    ci.post("/api/v1/tokens", &json!({"name": "ci-child"}))
        .await
        .expect(201);
    // What changes nothing is not kept: a read, a validation error.
    ann.get("/api/v1/agents").await.expect(200);
    send_json(
        &admin,
        Method::PATCH,
        "/api/v1/users/not-a-uuid",
        &json!({}),
    )
    .await;
    admin
        .post("/api/v1/users", &json!({"username": "bob"}))
        .await
        .problem(422);
    // An agent's enrollment is kept; its results and heartbeats are data.
    let (agent, agent_id) = enroll(&server, "edge-1").await;
    agent
        .post(
            "/api/v1/ingest",
            &batch(vec![result("edge-1", "web", Utc::now(), &[1.0])]),
        )
        .await
        .expect(200);

    let log = entries(&server.admin, "").await;
    let created = find(&log, "POST /api/v1/users");
    assert_eq!(created["actor"]["kind"], "user");
    assert_eq!(created["actor"]["name"], "admin");
    assert_eq!(created["source"], "127.0.0.21");
    assert_eq!(created["status"], 201);
    assert_eq!(created["target"], "/api/v1/users");
    assert_eq!(created["detail"]["request"]["username"], "ann");
    assert_eq!(created["detail"]["request"]["role"], "operator");
    assert_eq!(created["detail"]["request"]["password"], "[redacted]");
    assert!(
        !log.iter()
            .any(|e| e.to_string().contains("ann-long-password")
                || e.to_string().contains("not-her-password")),
        "no password anywhere in the log"
    );
    let at: chrono::DateTime<Utc> = created["at"].as_str().unwrap().parse().unwrap();
    assert!(at >= before && at <= Utc::now());

    let logins: Vec<&Value> = log
        .iter()
        .filter(|e| e["action"] == "POST /api/v1/auth/login")
        .collect();
    let statuses: Vec<(u64, &str, &str)> = logins
        .iter()
        .map(|e| {
            (
                e["status"].as_u64().unwrap(),
                e["actor"]["kind"].as_str().unwrap(),
                e["actor"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&(401, "anonymous", "ann")),
        "{statuses:?}"
    );
    assert!(statuses.contains(&(200, "user", "ann")), "{statuses:?}");
    assert!(
        logins
            .iter()
            .all(|e| e["source"] == "127.0.0.22" || e["actor"]["name"] == "admin")
    );

    let refused = log
        .iter()
        .find(|e| e["status"] == 403)
        .expect("the refusal is kept");
    assert_eq!(
        (
            refused["actor"]["name"].as_str(),
            refused["action"].as_str()
        ),
        (Some("ann"), Some("POST /api/v1/users"))
    );
    let child = find(&log, "POST /api/v1/tokens");
    assert_eq!(child["actor"]["kind"], "token");
    assert_eq!(child["actor"]["name"], "ann");
    assert_eq!(child["actor"]["token_id"], token["id"]);
    assert_eq!(child["detail"]["request"]["name"], "ci-child");

    let enrolled = find(&log, "POST /api/v1/agents/enroll");
    assert_eq!(enrolled["actor"]["kind"], "agent");
    assert_eq!(enrolled["actor"]["id"], agent_id.to_string());
    assert_eq!(enrolled["detail"]["request"]["token"], "[redacted]");
    assert!(
        log.iter().all(|e| e["status"] != 422
            && !e["action"].as_str().unwrap().starts_with("GET ")
            && e["action"] != "POST /api/v1/ingest"
            && !e["target"].as_str().unwrap().contains("not-a-uuid")),
        "reads, validation errors and agents' data are left out: {log:#?}"
    );
    // The first admin, made at start, is the oldest entry.
    let first = log.last().unwrap();
    assert_eq!(first["actor"]["kind"], "system");
    assert_eq!(first["detail"]["username"], "admin");

    // Filters and pages.
    let anns = entries(&server.admin, "actor=ann").await;
    assert!(!anns.is_empty() && anns.iter().all(|e| e["actor"]["name"] == "ann"));
    let users = entries(&server.admin, "target=/api/v1/users").await;
    assert!(
        !users.is_empty()
            && users
                .iter()
                .all(|e| e["target"].as_str().unwrap().starts_with("/api/v1/users"))
    );
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/api/v1/audit?limit=2&cursor={c}"),
            None => "/api/v1/audit?limit=2".into(),
        };
        let page = server.admin.get(&query).await.expect(200).json();
        for e in page["items"].as_array().unwrap() {
            assert!(seen.insert(e["id"].as_i64().unwrap()), "no entry twice");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let all = server
        .admin
        .get("/api/v1/audit?limit=1000")
        .await
        .expect(200)
        .json();
    assert_eq!(seen.len(), all["items"].as_array().unwrap().len());
    let since = (Utc::now() + Duration::hours(1)).to_rfc3339();
    assert!(
        entries(
            &server.admin,
            &format!("since={}", since.replace('+', "%2B"))
        )
        .await
        .is_empty()
    );

    // Admins only; bad parameters are problems naming them.
    ann.get("/api/v1/audit").await.problem(403);
    for (query, field) in [
        ("limit=0", "limit"),
        ("cursor=%21%21", "cursor"),
        (
            "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
            "until",
        ),
    ] {
        let problem = server
            .admin
            .get(&format!("/api/v1/audit?{query}"))
            .await
            .problem(422);
        assert!(
            crate::support::fields(&problem).contains(&field),
            "{query}: {problem}"
        );
    }
}

both!(audit_entries_older_than_their_retention_are_deleted);
async fn audit_entries_older_than_their_retention_are_deleted(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let store = &server.state.store;
    let now = Utc::now();
    let entry = |days: i64, target: &str| AuditEntry {
        id: 0,
        at: now - Duration::days(days),
        actor: Actor::system(),
        source: String::new(),
        action: "test".into(),
        target: target.into(),
        status: 200,
        detail: json!({}),
    };
    store.record_audit(&entry(40, "/old")).await.unwrap();
    store.record_audit(&entry(20, "/kept")).await.unwrap();
    let config: ServerConfig = toml::from_str("[retention]\naudit = '30d'").unwrap();
    vantage_server::jobs::retention(store, &config, now)
        .await
        .unwrap();
    let targets: Vec<String> = entries(&server.admin, "")
        .await
        .iter()
        .map(|e| e["target"].as_str().unwrap().to_owned())
        .collect();
    assert!(targets.contains(&"/kept".to_owned()), "{targets:?}");
    assert!(!targets.contains(&"/old".to_owned()), "{targets:?}");
    assert!(
        targets.iter().any(|t| t.starts_with("/api/v1/users/")),
        "today's entries stay: {targets:?}"
    );
}

//! The small holes: enrollment that queues for SQLite's writer, a token's
//! `last_used_at` written on every request, a session cookie without
//! `Secure` behind a TLS proxy.

use std::time::Duration;

use serde_json::json;
use sqlx::Connection as _;
use vantage_server::config::ServerConfig;

use crate::both;
use crate::support::server::{Backend, TestServer, start, start_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_enrollment_token_is_refused_while_the_writer_is_busy() {
    let Some(server) = start(Backend::Sqlite).await else {
        return;
    };
    let used = server
        .admin
        .post("/api/v1/enrollment-tokens", &json!({}))
        .await
        .expect(201)
        .json();
    let enroll = |token: &str| {
        json!({"token": token, "name": "edge", "agent": {
            "hostname": "h", "os": "linux", "arch": "x86_64", "version": "0.1.0"}})
    };
    server
        .client()
        .post(
            "/api/v1/agents/enroll",
            &enroll(used["token"].as_str().unwrap()),
        )
        .await
        .expect(201);

    // Another connection holds SQLite's write lock.
    let path = server.url.trim_start_matches("sqlite://");
    let mut holder = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    for (token, status) in [
        ("ve_not-a-token-this-server-made", 401),
        (used["token"].as_str().unwrap(), 409),
    ] {
        let reply = tokio::time::timeout(
            Duration::from_secs(2),
            server
                .client()
                .post("/api/v1/agents/enroll", &enroll(token)),
        )
        .await
        .expect("answered without waiting for the writer");
        reply.problem(status);
    }
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
}

/// The `last_used_at` of the API token named `name`, as listed.
async fn last_used(server: &TestServer, name: &str) -> serde_json::Value {
    let tokens = server.admin.get("/api/v1/tokens").await.expect(200).json();
    tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()["last_used_at"]
        .clone()
}

both!(a_tokens_last_use_is_written_at_most_once_a_minute);
async fn a_tokens_last_use_is_written_at_most_once_a_minute(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let created = server
        .admin
        .post("/api/v1/tokens", &json!({"name": "ci"}))
        .await
        .expect(201)
        .json();
    let ci = server
        .client()
        .with_token(created["token"].as_str().unwrap());
    assert!(last_used(&server, "ci").await.is_null());
    ci.get("/api/v1/agents").await.expect(200);
    let first = last_used(&server, "ci").await;
    assert!(first.is_string(), "{first}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    ci.get("/api/v1/agents").await.expect(200);
    assert_eq!(last_used(&server, "ci").await, first, "not written again");

    // Once the stamp is a minute old, the next use writes it.
    rewind_last_use(&server.url, Duration::from_secs(61)).await;
    let rewound = last_used(&server, "ci").await;
    ci.get("/api/v1/agents").await.expect(200);
    let now = last_used(&server, "ci").await;
    assert!(now.as_str() > rewound.as_str(), "{rewound} → {now}");
}

async fn rewind_last_use(url: &str, by: Duration) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = last_used_at - make_interval(secs => $1)",
        )
        .bind(by.as_secs_f64())
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query("UPDATE api_tokens SET last_used_at = last_used_at - ?1")
            .bind(by.as_micros() as i64)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

both!(the_session_cookie_is_secure_behind_a_tls_proxy_when_asked);
async fn the_session_cookie_is_secure_behind_a_tls_proxy_when_asked(backend: Backend) {
    for (secure_cookies, secure) in [(None, false), (Some(true), true)] {
        let config = ServerConfig {
            secure_cookies,
            ..ServerConfig::default()
        };
        let Some(server) = start_with(backend, config).await else {
            return;
        };
        let reply = server
            .client()
            .post(
                "/api/v1/auth/session",
                &json!({"username": "admin", "password": crate::support::server::ADMIN_PASSWORD}),
            )
            .await
            .expect(200);
        let cookie = reply.headers["set-cookie"].to_str().unwrap();
        assert_eq!(cookie.contains("; Secure"), secure, "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    }
}

both!(a_query_that_would_read_more_points_than_the_cap_is_refused);
async fn a_query_that_would_read_more_points_than_the_cap_is_refused(backend: Backend) {
    let config = ServerConfig {
        max_query_points: 10,
        ..ServerConfig::default()
    };
    let Some(server) = start_with(backend, config).await else {
        return;
    };
    let (agent, _) = crate::api::enroll(&server, "edge-1").await;
    let now = chrono::Utc::now();
    let results = (0..12)
        .map(|i| {
            crate::support::result(
                "edge-1",
                "ping",
                now - chrono::Duration::minutes(i),
                &[0.01],
            )
        })
        .collect();
    agent
        .post("/api/v1/ingest", &crate::support::batch(results))
        .await
        .expect(200);

    // Twelve raw points of rtt_avg: over the cap of ten.
    let over = "metric=rtt_avg&resolution=raw";
    for path in ["/api/v1/series/history", "/api/v1/series/stats"] {
        let refused = server
            .admin
            .get(&format!("{path}?{over}"))
            .await
            .problem(422);
        assert_eq!(crate::support::fields(&refused), ["query"], "{refused}");
        assert!(
            refused["detail"]
                .as_str()
                .unwrap()
                .contains("more than 10 points"),
            "{refused}"
        );
    }
    // Narrowed to the last five minutes, it fits.
    let from =
        (now - chrono::Duration::seconds(270)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let narrowed = server
        .admin
        .get(&format!("/api/v1/series/history?{over}&from={from}"))
        .await
        .expect(200)
        .json();
    let points = narrowed["series"][0]["points"].as_array().unwrap().len();
    assert_eq!(points, 5, "{narrowed}");
}

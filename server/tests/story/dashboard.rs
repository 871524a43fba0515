//! What the dashboard stands on: the cookie session with its CSRF guard, the
//! live WebSocket, and the page served for every path outside the API.

use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt as _;
use hyper::Method;
use hyper::body::Bytes;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest as _};

use crate::api::enroll;
use crate::both;
use crate::support::http::Reply;
use crate::support::server::{ADMIN_PASSWORD, Backend, TestServer, start};
use crate::support::{batch, result};

mod live;
mod replicas;

fn set_cookie(reply: &Reply) -> String {
    reply
        .headers
        .get("set-cookie")
        .expect("a set-cookie header")
        .to_str()
        .unwrap()
        .to_owned()
}

/// A request as the page sends it: the cookie, and the CSRF header if given.
async fn as_page(
    server: &TestServer,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut headers = vec![("cookie", cookie), ("content-type", "application/json")];
    if let Some(csrf) = csrf {
        headers.push(("x-csrf-token", csrf));
    }
    let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    server.client().send(method, path, &headers, body).await
}

async fn session_cookie(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let page = server.client();

    // A wrong password: no cookie.
    let refused = page
        .post(
            "/api/v1/auth/session",
            &json!({"username": "admin", "password": "wrong"}),
        )
        .await;
    assert!(refused.headers.get("set-cookie").is_none());
    refused.problem(401);

    let opened = page
        .post(
            "/api/v1/auth/session",
            &json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await
        .expect(200);
    let header = set_cookie(&opened);
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(header.contains(attribute), "{header}");
    }
    let body = opened.json();
    assert!(
        body.get("token").is_none(),
        "the token stays out of the page's reach: {body}"
    );
    assert_eq!(body["role"], "admin");
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    let cookie = header.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("vantage_session=vs_"), "{cookie}");

    // Reads need only the cookie; the session tells its CSRF token again.
    let again = as_page(
        &server,
        Method::GET,
        "/api/v1/auth/session",
        &cookie,
        None,
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(again["csrf_token"], csrf.as_str());
    assert_eq!(again["offline_after_seconds"], 45);
    as_page(&server, Method::GET, "/api/v1/agents", &cookie, None, None)
        .await
        .expect(200);

    // Changes need the CSRF header, and the right one.
    let change = json!({"expires_in": "10m"});
    let p = as_page(
        &server,
        Method::POST,
        "/api/v1/enrollment-tokens",
        &cookie,
        None,
        Some(change.clone()),
    )
    .await
    .problem(403);
    assert!(
        p["detail"].as_str().unwrap().contains("X-CSRF-Token"),
        "{p}"
    );
    as_page(
        &server,
        Method::POST,
        "/api/v1/enrollment-tokens",
        &cookie,
        Some("forged"),
        Some(change.clone()),
    )
    .await
    .problem(403);
    as_page(
        &server,
        Method::POST,
        "/api/v1/enrollment-tokens",
        &cookie,
        Some(&csrf),
        Some(change.clone()),
    )
    .await
    .expect(201);
    // A bearer token (the CLI, automation) needs no CSRF header.
    server
        .admin
        .post("/api/v1/enrollment-tokens", &change)
        .await
        .expect(201);

    // The admin page lists the users.
    server
        .admin
        .post(
            "/api/v1/users",
            &json!({"username": "watcher", "password": "long-enough-password", "role": "viewer"}),
        )
        .await
        .expect(201);
    let users = server.admin.get("/api/v1/users").await.expect(200).json();
    let listed: Vec<(&str, &str)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["username"].as_str().unwrap(), u["role"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [("admin", "admin"), ("watcher", "viewer")]);

    // Only a session token is taken from the cookie.
    let api_token = server
        .admin
        .post("/api/v1/tokens", &json!({"name": "ci", "role": "viewer"}))
        .await
        .expect(201)
        .json();
    // Tokens are listed without their secrets: an admin sees everyone's, a
    // user only their own; a revoked one says so.
    let watcher = page
        .post(
            "/api/v1/auth/login",
            &json!({"username": "watcher", "password": "long-enough-password"}),
        )
        .await
        .expect(200)
        .json();
    let watcher = page.with_token(watcher["token"].as_str().unwrap());
    assert_eq!(
        watcher.get("/api/v1/tokens").await.expect(200).json(),
        json!([])
    );
    watcher
        .post("/api/v1/tokens", &json!({"name": "mine"}))
        .await
        .expect(201);
    let own = watcher.get("/api/v1/tokens").await.expect(200).json();
    assert_eq!(own.as_array().unwrap().len(), 1, "{own}");
    assert_eq!(own[0]["name"], "mine");
    assert_eq!(own[0]["username"], "watcher");
    let all = server.admin.get("/api/v1/tokens").await.expect(200).json();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mine", "ci"], "newest first");
    assert!(!all.to_string().contains("vt_"), "no secret listed: {all}");
    server
        .admin
        .delete(&format!(
            "/api/v1/tokens/{}",
            api_token["id"].as_str().unwrap()
        ))
        .await
        .expect(204);
    let all = server.admin.get("/api/v1/tokens").await.expect(200).json();
    assert!(all[1]["revoked_at"].is_string(), "{all}");
    assert!(all[0]["revoked_at"].is_null(), "{all}");

    let wrong_kind = format!("vantage_session={}", api_token["token"].as_str().unwrap());
    as_page(
        &server,
        Method::GET,
        "/api/v1/agents",
        &wrong_kind,
        None,
        None,
    )
    .await
    .problem(401);

    // Logging out ends the session and clears the cookie.
    as_page(
        &server,
        Method::DELETE,
        "/api/v1/auth/session",
        &cookie,
        None,
        None,
    )
    .await
    .problem(403);
    let closed = as_page(
        &server,
        Method::DELETE,
        "/api/v1/auth/session",
        &cookie,
        Some(&csrf),
        None,
    )
    .await
    .expect(204);
    assert!(set_cookie(&closed).contains("Max-Age=0"), "{closed:?}");
    as_page(&server, Method::GET, "/api/v1/agents", &cookie, None, None)
        .await
        .problem(401);
    as_page(
        &server,
        Method::GET,
        "/api/v1/auth/session",
        &cookie,
        None,
        None,
    )
    .await
    .problem(401);
}
both!(session_cookie);

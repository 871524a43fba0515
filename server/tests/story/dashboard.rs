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

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(
    server: &TestServer,
    headers: &[(&str, &str)],
) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://{}/api/v1/live", server.addr)
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        request.headers_mut().insert(name, v.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(s, _)| s)
}

/// The next event on the socket (pings skipped), within 10 s.
async fn next_event(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an event within 10 s")
            .expect("the socket is open")
            .unwrap();
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn heartbeat() -> Value {
    json!({"version": "0.1.0", "started_at": Utc::now(), "addresses": ["10.1.2.3"]})
}

async fn live_stream(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin_token = server.admin.token.clone().unwrap();
    let bearer = format!("Bearer {admin_token}");

    // Refusals: no credential, another site's page, not an upgrade.
    match connect(&server, &[]).await {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("{other:?}"),
    }
    let origin = [
        ("authorization", bearer.as_str()),
        ("origin", "https://evil.example"),
    ];
    match connect(&server, &origin).await {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("{other:?}"),
    }
    let p = server.admin.get("/api/v1/live").await.problem(400);
    assert!(p["detail"].as_str().unwrap().contains("WebSocket"), "{p}");

    // The page's own origin is welcome.
    let host = server.addr.to_string();
    let own = format!("http://{host}");
    let mut socket = connect(&server, &[("authorization", &bearer), ("origin", &own)])
        .await
        .unwrap();

    let (agent, agent_id) = enroll(&server, "edge-live").await;
    agent
        .post("/api/v1/agents/heartbeat", &heartbeat())
        .await
        .expect(204);
    let heard = next_event(&mut socket).await;
    assert_eq!(heard["type"], "agent", "{heard}");
    assert_eq!(heard["agent_id"], agent_id.to_string());
    assert_eq!(heard["name"], "edge-live");

    let started = Utc::now() - chrono::Duration::seconds(5);
    let one = result("edge-live", "ping-gw", started, &[0.010, 0.012]);
    let b = batch(vec![one.clone()]);
    agent.post("/api/v1/ingest", &b).await.expect(200);
    let event = next_event(&mut socket).await;
    assert_eq!(event["type"], "result", "{event}");
    let r = &event["result"];
    assert_eq!(r["check"], "ping-gw");
    assert_eq!(r["target"], "10.0.0.1");
    assert_eq!(r["plugin"], "ping");
    assert_eq!(r["agent"], "edge-live");
    assert_eq!(r["status"], "ok");
    assert_eq!(r["result_id"], one["id"]);
    // Two rtt samples, rtt_avg, loss, and the check_up sample.
    let samples = event["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 5, "{event}");
    let series = server
        .admin
        .get(&format!(
            "/api/v1/series?check=ping-gw&metric=rtt&agent_id={agent_id}"
        ))
        .await
        .expect(200)
        .json();
    let rtt_ids: Vec<&Value> = series
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["series_id"])
        .collect();
    assert_eq!(rtt_ids.len(), 2);
    for id in rtt_ids {
        assert!(
            samples.iter().any(|s| &s["series_id"] == id),
            "{id} in {event}"
        );
    }

    // A re-sent batch stores nothing and tells nothing: the next event is
    // the next heartbeat.
    agent.post("/api/v1/ingest", &b).await.expect(200);
    agent
        .post("/api/v1/agents/heartbeat", &heartbeat())
        .await
        .expect(204);
    assert_eq!(next_event(&mut socket).await["type"], "agent");

    socket.close(None).await.unwrap();
}
both!(live_stream);

/// The page is served for every path outside the API; the API keeps its
/// problems. Needs `web/dist` (`cargo xtask web`, done by `cargo xtask test`).
#[tokio::test]
async fn the_dashboard_is_served_outside_the_api() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist/index.html");
    assert!(
        dist.is_file(),
        "no {}: run `cargo xtask web` first",
        dist.display()
    );
    let server = start(Backend::Sqlite).await.unwrap();
    let page = server.client();
    for path in [
        "/",
        "/checks/12",
        "/agents/5d1c6a7e-0000-0000-0000-000000000000",
    ] {
        let r = page.get(path).await.expect(200);
        assert!(
            r.content_type().starts_with("text/html"),
            "{path}: {}",
            r.content_type()
        );
        let body = String::from_utf8_lossy(&r.body);
        assert!(body.contains("<div id=\"app\">"), "{body}");
        let csp = r
            .headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(r.headers.get("cache-control").unwrap(), "no-cache");
    }
    // The built script is named by its hash and cached for good.
    let index = String::from_utf8_lossy(&page.get("/").await.body).into_owned();
    let script = index
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("index.html loads a script");
    let js = page.get(script).await.expect(200);
    assert!(
        js.content_type().contains("javascript"),
        "{}",
        js.content_type()
    );
    assert!(
        js.headers
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("immutable")
    );

    page.get("/api/v1/nothing-here").await.problem(404);
    page.get("/assets/missing-0000.js").await.problem(404);
    page.send(Method::POST, "/checks/12", &[], Bytes::new())
        .await
        .problem(400);
}

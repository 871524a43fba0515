//! The live WebSocket, and the page served for every path outside the API.

use super::*;

pub(super) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(
    server: &TestServer,
    headers: &[(&str, &str)],
) -> Result<Socket, tungstenite::Error> {
    connect_to(&server.addr.to_string(), headers).await
}

/// The live socket of the server at `host` (`127.0.0.1:port`).
pub(super) async fn connect_to(
    host: &str,
    headers: &[(&str, &str)],
) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://{host}/api/v1/live")
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
pub(super) async fn next_event(socket: &mut Socket) -> Value {
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

pub(super) fn heartbeat() -> Value {
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

    // A re-sent batch stores nothing but is told again, the same result: a
    // server that died between storing and telling told nothing the first
    // time. Then the next heartbeat.
    let replayed = agent.post("/api/v1/ingest", &b).await.expect(200).json();
    assert_eq!(replayed["replayed"], true, "{replayed}");
    let again = next_event(&mut socket).await;
    assert_eq!(again["type"], "result", "{again}");
    assert_eq!(again["result"]["result_id"], one["id"]);
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

/// A disabled user's open stream ends: the socket rechecks its credential
/// (every 20 s) and closes with code 4401.
async fn a_disabled_users_stream_closes(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let watcher = crate::registry::user(&server, "watcher", "viewer").await;
    let users = server.admin.get("/api/v1/users").await.expect(200).json();
    let id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "watcher")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {}", watcher.token.unwrap());
    let mut socket = connect(&server, &[("authorization", &bearer)])
        .await
        .unwrap();
    crate::remote::send_json(
        &server.admin,
        hyper::Method::PATCH,
        &format!("/api/v1/users/{id}"),
        &json!({"disabled": true}),
    )
    .await
    .expect(200);
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                other => panic!("the stream ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("closed within 30 s");
    assert_eq!(closed, Some(4401));
}

both!(a_disabled_users_stream_closes);

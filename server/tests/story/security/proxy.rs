//! Behind a reverse proxy: with `trusted_proxies`, the client a proxy
//! names in `X-Forwarded-For` is the one the login throttle locks out and
//! the audit log records; without it, the header is ignored, so a client
//! cannot pick its address.

use hyper::Method;
use hyper::body::Bytes;
use serde_json::json;
use vantage_server::config::ServerConfig;

use crate::both;
use crate::support::http::{Client, Reply};
use crate::support::server::{ADMIN_PASSWORD, Backend, start, start_with};

async fn login_via(client: &Client, forwarded: &str, password: &str) -> Reply {
    let body = json!({"username": "admin", "password": password});
    client
        .send(
            Method::POST,
            "/api/v1/auth/login",
            &[
                ("content-type", "application/json"),
                ("x-forwarded-for", forwarded),
            ],
            Bytes::from(body.to_string()),
        )
        .await
}

async fn newest_source(admin: &Client) -> String {
    let log = admin.get("/api/v1/audit?limit=1").await.expect(200).json();
    log["items"][0]["source"].as_str().unwrap().to_owned()
}

both!(behind_a_trusted_proxy_the_forwarded_client_is_throttled_and_audited);
async fn behind_a_trusted_proxy_the_forwarded_client_is_throttled_and_audited(backend: Backend) {
    let config: ServerConfig = toml::from_str("trusted_proxies = ['127.0.0.0/8']").unwrap();
    let Some(server) = start_with(backend, config).await else {
        return;
    };
    let proxy = server.client();
    // One client behind the proxy fails until it is locked out…
    let mut locked = false;
    for _ in 0..12 {
        let reply = login_via(&proxy, "198.51.100.20, 203.0.113.7", "not-the-password").await;
        match reply.status.as_u16() {
            401 => {}
            429 => {
                locked = true;
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(locked, "the forwarded client is locked out");
    // …while another behind the same proxy logs in.
    login_via(&proxy, "203.0.113.8", ADMIN_PASSWORD)
        .await
        .expect(200);
    // The audit log names the forwarded client.
    let failed = server
        .admin
        .get("/api/v1/audit?actor=admin&limit=100")
        .await
        .expect(200)
        .json();
    let sources: Vec<&str> = failed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "POST /api/v1/auth/login")
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert!(sources.contains(&"203.0.113.7"), "{sources:?}");
    assert!(sources.contains(&"203.0.113.8"), "{sources:?}");
    assert!(
        !sources.contains(&"198.51.100.20"),
        "a hop left of the client is not it"
    );
}

both!(without_trusted_proxies_a_forwarded_header_changes_nothing);
async fn without_trusted_proxies_a_forwarded_header_changes_nothing(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let body = json!({"name": "ci"});
    server
        .admin
        .send(
            Method::POST,
            "/api/v1/tokens",
            &[
                ("content-type", "application/json"),
                ("x-forwarded-for", "203.0.113.9"),
            ],
            Bytes::from(body.to_string()),
        )
        .await
        .expect(201);
    assert_eq!(newest_source(&server.admin).await, "127.0.0.1");
}

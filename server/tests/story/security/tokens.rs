//! API tokens never outlive the server's `token_max_lifetime` nor the token
//! that created them, and revoking a token revokes everything below it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use vantage_server::config::ServerConfig;

use crate::both;
use crate::support::fields;
use crate::support::http::Client;
use crate::support::server::{Backend, start_with};

fn expires(created: &Value) -> DateTime<Utc> {
    created["expires_at"].as_str().unwrap().parse().unwrap()
}

async fn token(by: &Client, body: Value) -> Value {
    by.post("/api/v1/tokens", &body).await.expect(201).json()
}

both!(tokens_never_outlive_their_parent_and_revocation_goes_down_the_line);
async fn tokens_never_outlive_their_parent_and_revocation_goes_down_the_line(backend: Backend) {
    let config = ServerConfig {
        token_max_lifetime: Some(Duration::from_secs(3600)),
        ..ServerConfig::default()
    };
    let Some(server) = start_with(backend, config).await else {
        return;
    };
    let admin = &server.admin;
    let now = Utc::now();

    // No lifetime asked: the server's maximum; more than it: refused.
    let t1 = token(admin, json!({"name": "ci"})).await;
    let t1_ends = expires(&t1);
    assert!(
        (t1_ends - now - chrono::Duration::hours(1))
            .num_seconds()
            .abs()
            < 60,
        "{t1}"
    );
    let refused = admin
        .post(
            "/api/v1/tokens",
            &json!({"name": "long", "expires_in": "2h"}),
        )
        .await
        .problem(422);
    assert_eq!(fields(&refused), ["expires_in"], "{refused}");

    // A token's children: never past it; by default exactly until it ends.
    let by_t1 = server.client().with_token(t1["token"].as_str().unwrap());
    let t2 = token(&by_t1, json!({"name": "child", "expires_in": "30m"})).await;
    let by_t2 = server.client().with_token(t2["token"].as_str().unwrap());
    let t3 = token(&by_t2, json!({"name": "grandchild"})).await;
    assert_eq!(expires(&t3), expires(&t2), "{t3}");
    let outliving = by_t2
        .post(
            "/api/v1/tokens",
            &json!({"name": "older", "expires_in": "45m"}),
        )
        .await
        .problem(422);
    assert!(
        outliving["detail"].as_str().unwrap().contains("outlive"),
        "{outliving}"
    );
    let by_t3 = server.client().with_token(t3["token"].as_str().unwrap());
    by_t3.get("/api/v1/agents").await.expect(200);

    // Revoking the first revokes the line below it; a token made from a
    // session is not part of that line.
    let other = token(admin, json!({"name": "other"})).await;
    admin
        .delete(&format!("/api/v1/tokens/{}", t1["id"].as_str().unwrap()))
        .await
        .expect(204);
    for by in [&by_t1, &by_t2, &by_t3] {
        by.get("/api/v1/agents").await.problem(401);
    }
    server
        .client()
        .with_token(other["token"].as_str().unwrap())
        .get("/api/v1/agents")
        .await
        .expect(200);
    let listed = admin.get("/api/v1/tokens").await.expect(200).json();
    let revoked = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["revoked_at"].is_null())
        .count();
    assert_eq!(revoked, 3, "{listed}");
}

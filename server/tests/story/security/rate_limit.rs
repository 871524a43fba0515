//! Every `/api/` route is rate-limited per client: per credential, or per
//! address without one, answered 429 with `Retry-After`; made-up tokens
//! spend their address's budget.

use vantage_server::config::ServerConfig;

use crate::api::enroll;
use crate::both;
use crate::support::http::loopback;
use crate::support::server::{Backend, start_with};

const PER_MINUTE: u32 = 30;

both!(each_client_has_its_own_budget_of_requests);
async fn each_client_has_its_own_budget_of_requests(backend: Backend) {
    let config = ServerConfig {
        rate_limit: PER_MINUTE,
        ..ServerConfig::default()
    };
    let Some(server) = start_with(backend, config).await else {
        return;
    };

    // Anonymous: the address's budget, a minute's worth at once.
    let stranger = server.client().from(loopback(5));
    for _ in 0..PER_MINUTE {
        stranger.get("/api/v1/auth/session").await.expect(401);
    }
    let refused = stranger.get("/api/v1/auth/session").await;
    let wait: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    let problem = refused.problem(429);
    assert!(
        problem["detail"].as_str().unwrap().contains("rate limit"),
        "{problem}"
    );
    // Outside `/api/`, and other addresses, are not concerned.
    stranger.get("/healthz").await.expect(200);
    let neighbour = server.client().from(loopback(6));
    neighbour.get("/api/v1/auth/session").await.expect(401);

    // A credential has a budget of its own, wherever it comes from.
    let (agent, _) = enroll(&server, "edge-1").await;
    let admin = server.admin.from(loopback(5));
    // (It already made one request: the enrollment token.)
    for _ in 1..PER_MINUTE {
        admin.get("/api/v1/agents").await.expect(200);
    }
    admin.get("/api/v1/agents").await.problem(429);
    agent
        .from(loopback(6))
        .get("/api/v1/agents/desired")
        .await
        .expect(200);

    // Made-up tokens each look new, but their 401s spend the address.
    let forger = server.client().from(loopback(7));
    for i in 0..PER_MINUTE {
        forger
            .with_token(&format!("vt_made-up-{i}"))
            .get("/api/v1/agents")
            .await
            .expect(401);
    }
    forger
        .with_token("vt_yet-another")
        .get("/api/v1/agents")
        .await
        .problem(429);
}

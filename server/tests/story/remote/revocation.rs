//! A revocation the server takes back: the agent keeps it, on disk and
//! across a restart, and never runs the revoked publisher's package again.

use super::*;

/// A compromised server un-revokes `key` in its own database.
async fn take_back(server: &crate::support::server::TestServer, key: &str) {
    if server.url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&server.url).await.unwrap();
        sqlx::query("UPDATE publisher_keys SET revoked_at = NULL WHERE key_id = $1")
            .bind(key)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(&server.url).await.unwrap();
        sqlx::query("UPDATE publisher_keys SET revoked_at = NULL WHERE key_id = ?1")
            .bind(key)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    server.state.changes.bump();
}

/// Waits until the agent reports check `port` refused, naming `key`.
async fn refused_naming(admin: &Client, agent_id: &str, key: &str) {
    wait_for_check_status(admin, agent_id, |c| {
        c["name"] == "port"
            && c["state"] == "refused"
            && c["problem"].as_str().is_some_and(|p| p.contains(key))
    })
    .await;
}

both!(a_revocation_taken_back_by_the_server_still_holds);
async fn a_revocation_taken_back_by_the_server_still_holds(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let publisher = packages.publisher.public().id().0;
    let ManagedAgent {
        home,
        config,
        agent,
        id: agent_id,
    } = ManagedAgent::start(admin, &url, &packages).await;
    let (_target, port) = tcp_target();
    tcp_check(admin, "port", &format!("127.0.0.1:{port}"), &[]).await;
    agent.wait_result("port", 0, LIMIT, |r| r["status"] == "ok");

    // Revoked: the agent records it for good.
    admin
        .post(
            &format!("/api/v1/registry/keys/{publisher}/revoke"),
            &json!({}),
        )
        .await
        .expect(200);
    let revoked_file = home.dir.path().join("data/revoked.json");
    wait_until("the revocation is stored", LIMIT, || async {
        std::fs::read_to_string(&revoked_file).is_ok_and(|t| t.contains(&publisher))
    })
    .await;

    // The server takes it back and offers the package again: refused.
    take_back(&server, &publisher).await;
    let view = admin.get("/api/v1/checks/port").await.expect(200).json();
    assert_eq!(
        view["resolved"]["version"], "1.0.0",
        "the server offers it: {view}"
    );
    refused_naming(admin, &agent_id, &publisher).await;
    let before = agent.results_of("port").len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        agent.results_of("port").len(),
        before,
        "nothing signed by the revoked key runs"
    );

    // A restart starts from the stored revocations.
    agent.stop();
    let agent = RunningAgent::start(&config);
    refused_naming(admin, &agent_id, &publisher).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        agent.results_of("port").is_empty(),
        "after a restart nothing runs either"
    );
}

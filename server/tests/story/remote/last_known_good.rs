//! The last-known-good configuration: an agent whose server is down at start runs it from disk.

use super::*;

/// The server is down when the agent starts: it runs its last-known-good
/// configuration from disk, and the results reach the server when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_known_good_while_the_server_is_down() {
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", data.path().join("vantage.db").display());
    let port = free_port();
    let password = "lkg-story-password";
    let server = ServerProcess::start(&db, port, password);
    let admin = crate::support::http::login(&server.url, password).await;
    let packages = Packages::new();
    packages.register_keys(&admin).await;
    publish(&admin, packages.tcp("1.0.0", &["tcp"], &packages.publisher))
        .await
        .expect(201);
    let (_target, target_port) = tcp_target();
    let home = AgentHome::new();
    let config = managed_config(&home);
    let root = packages.root.public().id().0;
    enroll_into(&admin, &server.url, &home, "lkg-1", &root, &["lkg"]).await;
    send_json(
        &admin,
        Method::PUT,
        "/api/v1/checks/lkg-port",
        &json!({
            "name": "lkg-port", "plugin": "tcp",
            "targets": [format!("127.0.0.1:{target_port}")], "interval": "300ms",
            "grants": ["tcp"], "agents": {"groups": ["lkg"]},
        }),
    )
    .await
    .expect(201);
    let agent = RunningAgent::start(&config);
    agent.wait_result("lkg-port", 0, LIMIT, |r| r["status"] == "ok");
    agent.stop();
    server.kill9();

    // No server: the agent starts from what it persisted.
    let agent = RunningAgent::start(&config);
    agent.wait_result("lkg-port", 0, LIMIT, |r| {
        r["status"] == "ok" && version(r) == "1.0.0"
    });
    assert!(
        agent
            .log
            .lock()
            .unwrap()
            .contains("Starting from the last-known-good configuration"),
        "{}",
        agent.log.lock().unwrap()
    );
    let offline: Vec<_> = agent.printed();

    // The server returns: what was measured meanwhile is delivered.
    let _server = ServerProcess::start(&db, port, password);
    let want: BTreeSet<_> = offline.into_iter().collect();
    wait_until("offline results stored", LIMIT, || async {
        let stored = crate::support::agent::stored_ids(&db).await;
        want.iter().all(|id| stored.contains(id))
    })
    .await;
    drop(agent);
}

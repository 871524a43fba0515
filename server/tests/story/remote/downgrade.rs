//! Rollback and freeze protection with the real agent: the server alone
//! cannot send an agent back to an older signed version; a root-signed
//! registry statement that yanks the newer one can. The agent holds the
//! newest statement and takes no older one, even when the server serves
//! it; once it expires unreplaced, the agent reports its trust metadata
//! stale.

use chrono::Utc;
use vantage_protocol::statement::{RegistryStatement, StatementBody, Yanked};

use super::*;

fn statement(root: &SigningKeyPair, sequence: u64, expires_in: chrono::Duration) -> Value {
    let now = Utc::now();
    let body = StatementBody {
        sequence,
        issued_at: now,
        expires_at: now + expires_in,
        yanked: vec![Yanked {
            plugin: "tcp".into(),
            version: "1.1.0".parse().unwrap(),
        }],
        revoked_keys: vec![],
        owners: vec![],
    };
    serde_json::to_value(RegistryStatement::sign(&body, root)).unwrap()
}

/// Uploads a statement as the admin.
async fn upload(admin: &Client, statement: Value) -> Reply {
    send_json(
        admin,
        Method::POST,
        "/api/v1/registry/statements",
        &statement,
    )
    .await
}

/// Runs one SQL statement on the story's database, behind the server's
/// back: a compromised server serving what it likes.
async fn behind_its_back(url: &str, sql: &'static str) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(url.trim_start_matches("sqlite://"))
            .busy_timeout(Duration::from_secs(5));
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

both!(a_server_alone_cannot_downgrade_a_plugin_but_a_signed_yank_can);
async fn a_server_alone_cannot_downgrade_a_plugin_but_a_signed_yank_can(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let managed = ManagedAgent::start(admin, &url, &packages).await;
    let publisher = &packages.publisher;
    publish(admin, packages.tcp("1.1.0", &["tcp"], publisher))
        .await
        .expect(201);
    let (_target, port) = tcp_target();
    tcp_check(admin, "port", &format!("127.0.0.1:{port}"), &[]).await;
    let agent = &managed.agent;
    let mut seen = agent.wait_result("port", 0, LIMIT, |r| {
        version(r) == "1.1.0" && r["status"] == "ok"
    });

    // The server names 1.0.0 again (a yank on the server, or a
    // compromised one): refused, 1.1.0 keeps running.
    admin
        .post("/api/v1/registry/plugins/tcp/1.1.0/yank", &json!({}))
        .await
        .expect(200);
    wait_until("the downgrade is refused", LIMIT, || async {
        let (port, _) = reported(admin, &managed.id).await;
        port["state"] == "refused"
            && port["problem"].as_str().is_some_and(|p| {
                p.contains("downgrade of tcp to 1.0.0") && p.contains("still running tcp@1.1.0")
            })
    })
    .await;
    seen = agent.wait_result("port", seen, LIMIT, |r| r["status"] == "ok");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        agent
            .results_of("port")
            .iter()
            .all(|r| version(r) == "1.1.0"),
        "nothing ran 1.0.0"
    );

    // Statements: only a root's signature, only newer ones.
    let rogue = SigningKeyPair::generate("rogue");
    let unsigned = upload(admin, statement(&rogue, 1, chrono::Duration::hours(1)))
        .await
        .problem(422);
    assert_eq!(crate::support::fields(&unsigned), ["signatures"]);
    let by_publisher = upload(admin, statement(publisher, 1, chrono::Duration::hours(1)))
        .await
        .problem(422);
    assert_eq!(
        crate::support::fields(&by_publisher),
        ["signatures"],
        "roots only"
    );
    let root = &packages.root;
    upload(admin, statement(root, 1, chrono::Duration::hours(1)))
        .await
        .expect(201);
    upload(admin, statement(root, 1, chrono::Duration::hours(1)))
        .await
        .problem(409);
    upload(admin, statement(root, 7, -chrono::Duration::seconds(1)))
        .await
        .problem(422);

    // The root's signed yank lets the agent go back.
    seen = agent.wait_result("port", seen, LIMIT, |r| {
        version(r) == "1.0.0" && r["status"] == "ok"
    });
    wait_until("the agent reports statement 1", LIMIT, || async {
        let (port, trust) = reported(admin, &managed.id).await;
        port["state"] == "running" && trust["sequence"] == 1 && trust["stale"] == false
    })
    .await;
    let latest = admin
        .get("/api/v1/registry/statements/latest")
        .await
        .expect(200)
        .json();
    assert_eq!(latest["body"]["sequence"], 1);
    assert_eq!(latest["signed_by"], root.public().id().0);

    // Statement 2 expires in seconds; the server then serves statement 1
    // again behind its own back: the agent keeps 2 and, once it expires,
    // reports its trust metadata stale.
    upload(admin, statement(root, 2, chrono::Duration::seconds(4)))
        .await
        .expect(201);
    wait_until("the agent takes statement 2", LIMIT, || async {
        reported(admin, &managed.id).await.1["sequence"] == 2
    })
    .await;
    behind_its_back(
        &server.url,
        "DELETE FROM registry_statements WHERE sequence = 2",
    )
    .await;
    // A change to the state, so that the agent gets statement 1 again.
    tcp_check(admin, "other", &format!("127.0.0.1:{port}"), &[]).await;
    agent.wait_result("other", 0, LIMIT, |r| r["status"] == "ok");
    wait_until("the agent reports statement 2 stale", LIMIT, || async {
        let (_, trust) = reported(admin, &managed.id).await;
        trust["sequence"] == 2 && trust["stale"] == true
    })
    .await;
    // It still holds to 2's yank, and still runs.
    agent.wait_result("port", seen, LIMIT, |r| {
        version(r) == "1.0.0" && r["status"] == "ok"
    });
    let stored =
        std::fs::read_to_string(managed.home.dir.path().join("data/statement.json")).unwrap();
    assert!(stored.contains("\\\"sequence\\\":2"), "{stored}");
}

//! Names bound to publishers on the agent: a second trusted publisher's
//! `tcp`, slipped into the registry behind its checks (a compromised
//! server), is refused by an agent that ran the first publisher's; a
//! root-signed statement that gives the name to the second lets it in.

use chrono::Utc;
use sha2::{Digest as _, Sha256};
use vantage_protocol::statement::{Owner, RegistryStatement, StatementBody};
use vantage_server::store::{PackageRow, RegistryStore as _};

use super::*;

both!(a_second_publisher_cannot_take_over_a_name_on_the_agent);
async fn a_second_publisher_cannot_take_over_a_name_on_the_agent(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let managed = ManagedAgent::start(admin, &url, &packages).await;
    let (_target, port) = tcp_target();
    tcp_check(admin, "port", &format!("127.0.0.1:{port}"), &[]).await;
    let agent = &managed.agent;
    let seen = agent.wait_result("port", 0, LIMIT, |r| {
        version(r) == "1.0.0" && r["status"] == "ok"
    });

    // A rival publisher, endorsed by the same root.
    let rival = SigningKeyPair::generate("rival");
    admin
        .post(
            "/api/v1/registry/keys",
            &json!({"key": rival.public().to_file(), "endorsement": packages.root.endorse(&rival.public())}),
        )
        .await
        .expect(201);
    let takeover = packages.tcp("1.5.0", &["tcp"], &rival);
    // The registry refuses it (`security::names`)…
    publish(admin, takeover.clone()).await.problem(422);
    // …so a compromised server writes it into its database itself.
    let package = vantage_protocol::package::Package::from_bytes(&takeover).unwrap();
    let me = admin.get("/api/v1/auth/me").await.expect(200).json();
    let row = PackageRow {
        manifest: package.manifest().clone(),
        digest: package.digest().to_string(),
        sha256: hex::encode(Sha256::digest(&takeover)),
        size: takeover.len() as u64,
        signer: rival.public().id(),
        published_at: Utc::now(),
        published_by: me["user_id"].as_str().unwrap().parse().unwrap(),
        yanked_at: None,
    };
    assert!(
        server
            .state
            .store
            .publish_package(&row, &takeover)
            .await
            .unwrap()
    );
    server.state.changes.bump();

    // The agent refuses it and keeps running the first publisher's.
    let owner = packages.publisher.public().id().0;
    wait_until("the takeover is refused", LIMIT, || async {
        let (c, _) = reported(admin, &managed.id).await;
        c["state"] == "refused"
            && c["plugin"] == "tcp@1.5.0"
            && c["problem"]
                .as_str()
                .is_some_and(|p| p.contains(&format!("belongs to {owner}")))
    })
    .await;
    let seen = agent.wait_result("port", seen, LIMIT, |r| r["status"] == "ok");
    assert!(
        agent
            .results_of("port")
            .iter()
            .all(|r| version(r) == "1.0.0")
    );

    // A root gives the name to the rival: the agent takes 1.5.0.
    let now = Utc::now();
    let statement = RegistryStatement::sign(
        &StatementBody {
            sequence: 1,
            issued_at: now,
            expires_at: now + chrono::Duration::days(30),
            yanked: vec![],
            revoked_keys: vec![],
            owners: vec![Owner {
                plugin: "tcp".into(),
                key_id: rival.public().id(),
            }],
        },
        &packages.root,
    );
    send_json(
        admin,
        Method::POST,
        "/api/v1/registry/statements",
        &serde_json::to_value(statement).unwrap(),
    )
    .await
    .expect(201);
    agent.wait_result("port", seen, LIMIT, |r| {
        version(r) == "1.5.0" && r["status"] == "ok"
    });
}

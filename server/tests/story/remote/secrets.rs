//! Secrets in check configuration: the http plugin's header values are
//! `writeOnly`. They reach the target through the agent that runs the
//! check, and no one else: not the API (any role), not the database in
//! clear, not the audit log, not an agent outside the check.

use super::*;
use vantage_server::store::CheckStore as _;

use crate::support::receiver::Receiver;

const SECRET: &str = "Bearer s3cret-token";

fn no_secret(what: &str, text: &str) {
    assert!(!text.contains("s3cret"), "{what} shows the secret: {text}");
}

both!(a_secret_header_reaches_the_target_and_no_one_else);
async fn a_secret_header_reaches_the_target_and_no_one_else(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let managed = ManagedAgent::start(admin, &url, &packages).await;
    publish(admin, packages.http("1.0.0", &packages.publisher))
        .await
        .expect(201);
    let (outsider, _) = crate::api::enroll(&server, "outsider").await;
    let hook = Receiver::start(0).await;
    let spec = |auth: &str, interval: &str| {
        json!({
            "name": "api", "plugin": "http", "version": "^1",
            "targets": [hook.url], "interval": interval, "allow": ["127.0.0.1"],
            "config": {"method": "POST", "headers": {"Authorization": auth, "X-Team": "ops"}},
            "grants": ["http"], "agents": {"groups": ["edge"]},
        })
    };
    let saved = send_json(
        admin,
        Method::PUT,
        "/api/v1/checks/api",
        &spec(SECRET, "300ms"),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(
        saved["spec"]["config"]["headers"],
        json!({"Authorization": "[redacted]", "X-Team": "[redacted]"})
    );
    assert_eq!(saved["spec"]["config"]["method"], "POST");

    // The agent that runs it sends it.
    managed
        .agent
        .wait_result("api", 0, LIMIT, |r| r["status"] == "ok");
    let got = hook.received();
    assert!(
        got.iter()
            .any(|r| r.header("authorization") == SECRET && r.header("x-team") == "ops"),
        "the target got the header"
    );

    // No one else sees it.
    let viewer = crate::registry::user(&server, "vic", "viewer").await;
    for (who, client) in [("admin", admin), ("viewer", &viewer)] {
        no_secret(
            who,
            &client
                .get("/api/v1/checks/api")
                .await
                .expect(200)
                .body_text(),
        );
        no_secret(
            who,
            &client.get("/api/v1/checks").await.expect(200).body_text(),
        );
        let desired = client
            .get(&format!("/api/v1/agents/{}/desired", managed.id))
            .await
            .expect(200)
            .json();
        assert_eq!(
            desired["checks"][0]["config"]["headers"]["Authorization"], "[redacted]",
            "{who}: {desired}"
        );
    }
    let outsiders = outsider.get("/api/v1/agents/desired").await.expect(200);
    no_secret("another agent's desired state", &outsiders.body_text());
    let rows = server.state.store.checks().await.unwrap();
    let stored = serde_json::to_string(&rows[0].spec.config).unwrap();
    no_secret("the database", &stored);
    assert!(
        rows[0].spec.config["headers"]["Authorization"]
            .as_str()
            .unwrap()
            .starts_with("vsec1:"),
        "{stored}"
    );
    let audit = admin
        .get("/api/v1/audit?target=/api/v1/checks")
        .await
        .expect(200);
    no_secret("the audit log", &audit.body_text());
    assert!(audit.body_text().contains("[redacted]"));

    // Saved again as shown: kept, the same revision, still sent.
    let revision = saved["revision"].clone();
    let again = send_json(
        admin,
        Method::PUT,
        "/api/v1/checks/api",
        &spec("[redacted]", "300ms"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(again["revision"], revision, "nothing changed");
    // A new interval with the secret kept: a new revision, still sent.
    send_json(
        admin,
        Method::PUT,
        "/api/v1/checks/api",
        &spec("[redacted]", "400ms"),
    )
    .await
    .expect(200);
    let before = hook.count();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = hook.received();
    assert!(later.len() > before);
    assert!(
        later[before..]
            .iter()
            .all(|r| r.header("authorization") == SECRET)
    );
    // A new secret replaces it.
    send_json(
        admin,
        Method::PUT,
        "/api/v1/checks/api",
        &spec("Bearer rotated", "400ms"),
    )
    .await
    .expect(200);
    wait_until("the rotated secret is sent", LIMIT, || async {
        hook.received()
            .iter()
            .any(|r| r.header("authorization") == "Bearer rotated")
    })
    .await;

    // `[redacted]` where nothing is stored is named.
    let mut bad = spec("[redacted]", "400ms");
    bad["config"]["headers"]["X-New"] = json!("[redacted]");
    let problem = send_json(admin, Method::PUT, "/api/v1/checks/api", &bad)
        .await
        .problem(422);
    assert_eq!(
        crate::support::fields(&problem),
        ["config/headers/X-New"],
        "{problem}"
    );
}

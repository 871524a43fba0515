//! Remote configuration end to end, with the real agent binary: publish a
//! signed plugin, assign it to a group, watch the agent run it; upgrade,
//! yank and approve without a restart; a compromised server; a narrowed
//! grant; and the last-known-good configuration while the server is down.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hyper::Method;
use hyper::body::Bytes;
use serde_json::{Value, json};
use vantage_protocol::keys::SigningKeyPair;
use vantage_protocol::manifest::Manifest;
use vantage_protocol::package::Package;

use crate::both;
use crate::support::agent::{
    AgentHome, RunningAgent, ServerProcess, free_port, plugin_dir, tcp_target,
};
use crate::support::http::{Client, Reply};
use crate::support::server::{Backend, start};

mod downgrade;
mod enrollment;
mod fixtures;
mod install;
mod last_known_good;
mod names;
mod revocation;
mod scope;
mod secrets;
mod update;

pub(crate) use fixtures::*;

fn version(r: &Value) -> &str {
    r["plugin_version"].as_str().unwrap()
}

/// The plugin versions of the stored results of `check`, read from the database.
async fn stored_versions(url: &str, check: &str) -> BTreeSet<String> {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let v = sqlx::query_scalar::<_, String>(
            "SELECT r.plugin_version FROM results r JOIN checks c ON c.id = r.check_id WHERE c.name = $1",
        )
        .bind(check)
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        v.into_iter().collect()
    } else {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(url.trim_start_matches("sqlite://"))
            .read_only(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let v = sqlx::query_scalar::<_, String>(
            "SELECT r.plugin_version FROM results r JOIN checks c ON c.id = r.check_id WHERE c.name = ?",
        )
        .bind(check)
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        v.into_iter().collect()
    }
}

async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> F,
) {
    let start = Instant::now();
    while !probe().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const LIMIT: Duration = Duration::from_secs(60);

both!(publish_assign_upgrade_yank_approve);
async fn publish_assign_upgrade_yank_approve(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    packages.register_keys(admin).await;
    let publisher = &packages.publisher;
    publish(admin, packages.tcp("1.0.0", &["tcp"], publisher))
        .await
        .expect(201);

    let (_target, port) = tcp_target();
    let home = AgentHome::new();
    managed_config(&home);
    let root = packages.root.public().id().0;
    let agent_id = enroll_into(admin, &url, &home, "edge-1", &root, &["edge"]).await;
    let spec = json!({
        "name": "port", "plugin": "tcp", "version": "^1",
        "targets": [format!("127.0.0.1:{port}")], "interval": "300ms",
        "grants": ["tcp"], "agents": {"groups": ["edge"]},
    });
    send_json(admin, Method::PUT, "/api/v1/checks/port", &spec)
        .await
        .expect(201);

    // Assigned → downloaded, verified against the pinned root, run, stored.
    let agent = RunningAgent::start(&home.dir.path().join("agent.toml"));
    let pid = agent.child.id();
    let mut seen = agent.wait_result("port", 0, LIMIT, |r| {
        version(r) == "1.0.0" && r["status"] == "ok"
    });
    wait_until("results stored as tcp@1.0.0", LIMIT, || async {
        stored_versions(&server.url, "port").await.contains("1.0.0")
    })
    .await;

    // A new minor version: swapped between runs, same process.
    let published = Instant::now();
    publish(admin, packages.tcp("1.1.0", &["tcp"], publisher))
        .await
        .expect(201);
    let swapped = agent.wait_result("port", seen, LIMIT, |r| version(r) == "1.1.0");
    // A figure for the notes (not asserted): publish → first run of 1.1.0,
    // through long poll, download, verification and compilation.
    eprintln!(
        "[{backend:?}] publish → first result of 1.1.0: {:?}",
        published.elapsed()
    );
    let after: Vec<_> = agent.results_of("port")[swapped - 1..].to_vec();
    assert!(
        after.iter().all(|r| version(r) == "1.1.0"),
        "after the swap every run is 1.1.0"
    );
    seen = agent.results_of("port").len();
    wait_until("results stored as tcp@1.1.0", LIMIT, || async {
        stored_versions(&server.url, "port").await.contains("1.1.0")
    })
    .await;

    // Yanked by a root-signed statement (which yanks it on the server
    // too): back to what `^1` still allows. A yank on the server alone
    // would not take agents below what they ran (`remote::downgrade`).
    let now = chrono::Utc::now();
    let yank = vantage_protocol::statement::RegistryStatement::sign(
        &vantage_protocol::statement::StatementBody {
            sequence: 1,
            issued_at: now,
            expires_at: now + chrono::Duration::days(30),
            yanked: vec![vantage_protocol::statement::Yanked {
                plugin: "tcp".into(),
                version: "1.1.0".parse().unwrap(),
            }],
            revoked_keys: vec![],
            owners: vec![],
        },
        &packages.root,
    );
    send_json(
        admin,
        Method::POST,
        "/api/v1/registry/statements",
        &serde_json::to_value(yank).unwrap(),
    )
    .await
    .expect(201);
    seen = agent.wait_result("port", seen, LIMIT, |r| version(r) == "1.0.0");

    // A version that requests a new capability waits for approval.
    publish(admin, packages.tcp("1.2.0", &["tcp", "dns"], publisher))
        .await
        .expect(201);
    let view = admin.get("/api/v1/checks/port").await.expect(200).json();
    assert_eq!(view["resolved"]["version"], "1.0.0", "{view}");
    assert_eq!(view["pending_upgrade"]["version"], "1.2.0", "{view}");
    assert_eq!(view["pending_upgrade"]["new_capabilities"], json!(["dns"]));
    let desired = admin
        .get(&format!("/api/v1/agents/{agent_id}/desired"))
        .await
        .expect(200)
        .json();
    assert_eq!(desired["checks"][0]["plugin"]["version"], "1.0.0");
    let before = agent.results_of("port").len();
    agent.wait_result("port", before, LIMIT, |r| r["status"] == "ok");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        agent
            .results_of("port")
            .iter()
            .skip(seen)
            .all(|r| version(r) == "1.0.0"),
        "nothing runs 1.2.0 before it is approved"
    );
    // Approving = saving the check again; `dns` is reviewed, not granted.
    let approved = send_json(admin, Method::PUT, "/api/v1/checks/port", &spec)
        .await
        .expect(200)
        .json();
    assert_eq!(approved["resolved"]["version"], "1.2.0", "{approved}");
    assert!(approved.get("pending_upgrade").is_none_or(Value::is_null));
    seen = agent.wait_result("port", seen, LIMIT, |r| {
        version(r) == "1.2.0" && r["status"] == "ok"
    });

    // A grant narrower than the request: the run fails at the denied call.
    let denied = json!({
        "name": "port-denied", "plugin": "tcp", "version": "=1.2.0",
        "targets": [format!("127.0.0.1:{port}")], "interval": "300ms",
        "grants": [], "agents": {"groups": ["edge"]},
    });
    send_json(admin, Method::PUT, "/api/v1/checks/port-denied", &denied)
        .await
        .expect(201);
    agent.wait_result("port-denied", 0, LIMIT, |r| {
        r["status"] == "error"
            && r["message"]
                .as_str()
                .is_some_and(|m| m.contains("capability `tcp` is not granted"))
    });

    // A compromised server: a package signed by a key no pinned root
    // endorsed, written straight into its database as the newest version.
    let foreign = SigningKeyPair::generate("attacker");
    foreign_package(
        &server.state,
        &foreign,
        &packages.tcp("1.3.0", &["tcp"], &foreign),
    )
    .await;
    let view = admin.get("/api/v1/checks/port").await.expect(200).json();
    assert_eq!(
        view["resolved"]["version"], "1.3.0",
        "the server was fooled: {view}"
    );
    let foreign_id = foreign.public().id().0;
    wait_for_check_status(admin, &agent_id, |c| {
        c["name"] == "port"
            && c["plugin"] == "tcp@1.3.0"
            && c["state"] == "refused"
            && c["problem"]
                .as_str()
                .is_some_and(|p| p.contains(&foreign_id) && p.contains("still running tcp@1.2.0"))
    })
    .await;
    let now = agent.results_of("port").len();
    agent.wait_result("port", now, LIMIT, |r| version(r) == "1.2.0");
    assert!(
        agent
            .results_of("port")
            .iter()
            .all(|r| version(r) != "1.3.0"),
        "the foreign package never ran"
    );
    assert!(!stored_versions(&server.url, "port").await.contains("1.3.0"));

    // The same process did all of it.
    assert_eq!(agent.child.id(), pid);
    let mut agent = agent;
    assert!(
        agent.child.try_wait().unwrap().is_none(),
        "the agent is still running"
    );
    let _ = seen;
}

/// What a compromised server can do: register an attacker's key as a root of
/// its own registry and write the attacker's package straight into its
/// database, bypassing the API.
async fn foreign_package(state: &vantage_server::AppState, key: &SigningKeyPair, bytes: &[u8]) {
    use sha2::{Digest, Sha256};
    use vantage_protocol::config::PublisherKey;
    use vantage_server::store::{PackageRow, RegistryStore as _};

    let public = key.public();
    let row = PublisherKey {
        key_id: public.id(),
        name: public.name.clone(),
        public_key: public.to_base64(),
        root: true,
        endorsement: None,
        created_at: chrono::Utc::now(),
        revoked_at: None,
    };
    assert!(state.store.put_key(&row).await.unwrap());
    let package = Package::from_bytes(bytes).unwrap();
    let row = PackageRow {
        manifest: package.manifest().clone(),
        digest: package.digest().to_string(),
        sha256: hex::encode(Sha256::digest(bytes)),
        size: bytes.len() as u64,
        signer: public.id(),
        published_at: chrono::Utc::now(),
        published_by: uuid::Uuid::now_v7(),
        yanked_at: None,
    };
    assert!(state.store.publish_package(&row, bytes).await.unwrap());
    state.changes.bump();
}

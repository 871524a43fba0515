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

/// The first-party TCP plugin's component and manifest, re-packed as other
/// versions and signed by this story's own keys.
pub(crate) struct Packages {
    component: Vec<u8>,
    manifest: Manifest,
    pub root: SigningKeyPair,
    pub publisher: SigningKeyPair,
}

impl Packages {
    pub(crate) fn new() -> Packages {
        let bytes = std::fs::read(plugin_dir().join("tcp.vpkg")).unwrap();
        let package = Package::from_bytes(&bytes).unwrap();
        Packages {
            component: package.component().to_vec(),
            manifest: package.manifest().clone(),
            root: SigningKeyPair::generate("story-root"),
            publisher: SigningKeyPair::generate("story-publisher"),
        }
    }

    /// `tcp@version` requesting `caps`, signed by `signer`.
    pub(crate) fn tcp(&self, version: &str, caps: &[&str], signer: &SigningKeyPair) -> Vec<u8> {
        let mut manifest = self.manifest.clone();
        manifest.version = version.parse().unwrap();
        manifest.capabilities = caps.iter().map(|c| c.parse().unwrap()).collect();
        let mut package = Package::new(manifest, self.component.clone()).unwrap();
        package.sign(signer);
        package.to_bytes()
    }

    /// Registers the root and the publisher key it endorses.
    pub(crate) async fn register_keys(&self, admin: &Client) {
        admin
            .post(
                "/api/v1/registry/keys",
                &json!({"key": self.root.public().to_file(), "root": true}),
            )
            .await
            .expect(201);
        let endorsement = self.root.endorse(&self.publisher.public());
        admin
            .post(
                "/api/v1/registry/keys",
                &json!({"key": self.publisher.public().to_file(), "endorsement": endorsement}),
            )
            .await
            .expect(201);
    }
}

pub(crate) async fn publish(admin: &Client, package: Vec<u8>) -> Reply {
    admin
        .send(
            Method::POST,
            "/api/v1/registry/plugins",
            &[("content-type", "application/octet-stream")],
            Bytes::from(package),
        )
        .await
}

pub(crate) async fn send_json(admin: &Client, method: Method, path: &str, body: &Value) -> Reply {
    admin
        .send(
            method,
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(body).unwrap().into(),
        )
        .await
}

/// A managed agent's configuration: no local checks, no local trust, no
/// plugin folders: everything it runs comes from the server, verified
/// against the roots it pins at enrollment.
pub(crate) fn managed_config(home: &AgentHome) -> PathBuf {
    let text = format!(
        "[agent]\nname = \"unused\"\ndata_dir = \"{}\"\n\n[server]\nheartbeat = \"1s\"\nmax_backoff = \"1s\"\nconfig_wait = \"10s\"\n",
        home.dir.path().join("data").display()
    );
    let path = home.dir.path().join("agent.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) async fn enrollment_token(admin: &Client) -> String {
    admin
        .post("/api/v1/enrollment-tokens", &json!({}))
        .await
        .expect(201)
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Enrolls pinning `root`, and places the agent in `groups`; its id.
pub(crate) async fn enroll_into(
    admin: &Client,
    server: &str,
    home: &AgentHome,
    name: &str,
    root: &str,
    groups: &[&str],
) -> String {
    let config = home.dir.path().join("agent.toml");
    let out = home.try_enroll(
        &config,
        server,
        &enrollment_token(admin).await,
        name,
        &["--trust-root", root],
    );
    assert!(
        out.status.success(),
        "enroll: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(root));
    let agents = admin.get("/api/v1/agents").await.expect(200).json();
    let id = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    send_json(
        admin,
        Method::PATCH,
        &format!("/api/v1/agents/{id}"),
        &json!({"groups": groups}),
    )
    .await
    .expect(200);
    id
}

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

    // Yanked: back to what `^1` still allows.
    admin
        .post("/api/v1/registry/plugins/tcp/1.1.0/yank", &json!({}))
        .await
        .expect(200);
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
    wait_until("the agent reports the refusal", LIMIT, || async {
        let a = admin
            .get(&format!("/api/v1/agents/{agent_id}"))
            .await
            .expect(200)
            .json();
        a["config_status"]["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                c["name"] == "port"
                    && c["plugin"] == "tcp@1.3.0"
                    && c["state"] == "refused"
                    && c["problem"].as_str().is_some_and(|p| {
                        p.contains(&foreign.public().id().0)
                            && p.contains("still running tcp@1.2.0")
                    })
            })
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

/// The server is down when the agent starts: it runs its last-known-good
/// configuration from disk, and the results reach the server when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_known_good_while_the_server_is_down() {
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", data.path().join("vantage.db").display());
    let port = free_port();
    let password = "lkg-story-password";
    let server = ServerProcess::start(&db, port, password);
    let anonymous = Client::new(&server.url);
    let login = anonymous
        .post(
            "/api/v1/auth/login",
            &json!({"username": "admin", "password": password}),
        )
        .await
        .expect(200)
        .json();
    let admin = anonymous.with_token(login["token"].as_str().unwrap());
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

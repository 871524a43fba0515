//! What the remote-configuration stories share: re-signed packages, managed
//! agents enrolled into groups, the registry calls.

use super::*;

/// The first-party TCP and HTTP plugins' components and manifests,
/// re-packed as other versions and signed by this story's own keys.
pub(crate) struct Packages {
    component: Vec<u8>,
    manifest: Manifest,
    http: Package,
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
            http: Package::from_bytes(&std::fs::read(plugin_dir().join("http.vpkg")).unwrap())
                .unwrap(),
            root: SigningKeyPair::generate("story-root"),
            publisher: SigningKeyPair::generate("story-publisher"),
        }
    }

    /// `tcp@version` requesting `caps`, signed by `signer`.
    pub(crate) fn tcp(&self, version: &str, caps: &[&str], signer: &SigningKeyPair) -> Vec<u8> {
        self.tcp_signed(version, caps, &[signer])
    }

    /// `tcp@version` requesting `caps`, signed by each of `signers`.
    pub(crate) fn tcp_signed(
        &self,
        version: &str,
        caps: &[&str],
        signers: &[&SigningKeyPair],
    ) -> Vec<u8> {
        let mut manifest = self.manifest.clone();
        manifest.version = version.parse().unwrap();
        manifest.capabilities = caps.iter().map(|c| c.parse().unwrap()).collect();
        let mut package = Package::new(manifest, self.component.clone()).unwrap();
        for signer in signers {
            package.sign(signer);
        }
        package.to_bytes()
    }

    /// The first-party `http@version`, signed by `signer`.
    pub(crate) fn http(&self, version: &str, signer: &SigningKeyPair) -> Vec<u8> {
        let mut manifest = self.http.manifest().clone();
        manifest.version = version.parse().unwrap();
        let mut package = Package::new(manifest, self.http.component().to_vec()).unwrap();
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

/// A managed agent `edge-1` in group `edge`, enrolled pinning the story's
/// root, running; the registry holds `tcp@1.0.0` by the story's publisher.
pub(crate) struct ManagedAgent {
    pub home: AgentHome,
    pub config: PathBuf,
    pub agent: RunningAgent,
    pub id: String,
}

impl ManagedAgent {
    pub(crate) async fn start(admin: &Client, url: &str, packages: &Packages) -> ManagedAgent {
        packages.register_keys(admin).await;
        publish(admin, packages.tcp("1.0.0", &["tcp"], &packages.publisher))
            .await
            .expect(201);
        let home = AgentHome::new();
        let config = managed_config(&home);
        let root = packages.root.public().id().0;
        let id = enroll_into(admin, url, &home, "edge-1", &root, &["edge"]).await;
        let agent = RunningAgent::start(&config);
        ManagedAgent {
            home,
            config,
            agent,
            id,
        }
    }
}

/// Saves a `tcp ^1` check for group `edge` against `target`, every 300 ms.
pub(crate) async fn tcp_check(admin: &Client, name: &str, target: &str, allow: &[&str]) {
    send_json(
        admin,
        Method::PUT,
        &format!("/api/v1/checks/{name}"),
        &json!({
            "name": name, "plugin": "tcp", "version": "^1",
            "targets": [target], "interval": "300ms", "allow": allow,
            "grants": ["tcp"], "agents": {"groups": ["edge"]},
        }),
    )
    .await
    .expect(201);
}

/// Waits until the agent reports a check status (from its config status)
/// for which `matches` holds.
pub(crate) async fn wait_for_check_status(
    admin: &Client,
    agent_id: &str,
    matches: impl Fn(&Value) -> bool,
) {
    wait_until("the agent reports the check's status", LIMIT, || async {
        let a = admin
            .get(&format!("/api/v1/agents/{agent_id}"))
            .await
            .expect(200)
            .json();
        a["config_status"]["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .any(&matches)
    })
    .await;
}

/// What the agent last reported of the check `port` (null before it did),
/// and of its trust metadata.
pub(crate) async fn reported(admin: &Client, agent: &str) -> (Value, Value) {
    let view = admin
        .get(&format!("/api/v1/agents/{agent}"))
        .await
        .expect(200)
        .json();
    let status = &view["config_status"];
    let port = status["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "port").cloned())
        .unwrap_or(Value::Null);
    (port, status["trust"].clone())
}

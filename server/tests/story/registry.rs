//! The registry on both backends: keys (roots, endorsements, revocation),
//! publishing signed packages and refusing the rest, search, yanking, and
//! the package files with their caching headers.

use std::path::PathBuf;

use hyper::Method;
use hyper::body::Bytes;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use vantage_protocol::keys::SigningKeyPair;
use vantage_protocol::manifest::Manifest;
use vantage_protocol::package::Package;

use crate::api::enroll;
use crate::both;
use crate::support::http::{Client, Reply};
use crate::support::server::{Backend, TestServer, start};

/// The folder of signed first-party packages (`cargo xtask build-plugins`).
fn plugin_dir() -> PathBuf {
    let dir = std::env::var_os("VANTAGE_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"));
    assert!(
        dir.join("tcp.vpkg").is_file(),
        "no plugin packages in {}: run `cargo xtask build-plugins`",
        dir.display()
    );
    dir
}

/// The first-party TCP plugin's component and manifest, re-packed as other
/// versions and signed by this story's own keys.
pub(crate) struct Packages {
    component: Vec<u8>,
    manifest: Manifest,
    pub(crate) root: SigningKeyPair,
    pub(crate) publisher: SigningKeyPair,
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

    /// `tcp@version` requesting `caps`, unsigned.
    pub(crate) fn unsigned(&self, version: &str, caps: &[&str]) -> Package {
        let mut manifest = self.manifest.clone();
        manifest.version = version.parse().unwrap();
        manifest.capabilities = caps.iter().map(|c| c.parse().unwrap()).collect();
        Package::new(manifest, self.component.clone()).unwrap()
    }

    /// `tcp@version` requesting `caps`, signed by `signer`.
    pub(crate) fn tcp(&self, version: &str, caps: &[&str], signer: &SigningKeyPair) -> Vec<u8> {
        let mut package = self.unsigned(version, caps);
        package.sign(signer);
        package.to_bytes()
    }

    /// Registers the root and the publisher key it endorses.
    pub(crate) async fn register_keys(&self, admin: &Client) {
        add_key(
            admin,
            &json!({"key": self.root.public().to_file(), "root": true}),
        )
        .await
        .expect(201);
        let endorsement = self.root.endorse(&self.publisher.public());
        add_key(
            admin,
            &json!({"key": self.publisher.public().to_file(), "endorsement": endorsement}),
        )
        .await
        .expect(201);
    }
}

pub(crate) async fn add_key(admin: &Client, body: &Value) -> Reply {
    admin.post("/api/v1/registry/keys", body).await
}

pub(crate) async fn publish(client: &Client, package: Vec<u8>) -> Reply {
    client
        .send(
            Method::POST,
            "/api/v1/registry/plugins",
            &[("content-type", "application/octet-stream")],
            Bytes::from(package),
        )
        .await
}

pub(crate) async fn send_json(client: &Client, method: Method, path: &str, body: &Value) -> Reply {
    client
        .send(
            method,
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(body).unwrap().into(),
        )
        .await
}

/// A user with `role`, logged in.
pub(crate) async fn user(server: &TestServer, name: &str, role: &str) -> Client {
    let password = "long-enough-password";
    server
        .admin
        .post(
            "/api/v1/users",
            &json!({"username": name, "password": password, "role": role}),
        )
        .await
        .expect(201);
    let login = server
        .client()
        .post(
            "/api/v1/auth/login",
            &json!({"username": name, "password": password}),
        )
        .await
        .expect(200)
        .json();
    server.client().with_token(login["token"].as_str().unwrap())
}

fn detail(problem: &Value) -> String {
    problem.to_string()
}

both!(keys_and_publishing);
async fn keys_and_publishing(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let viewer = user(&server, "vic", "viewer").await;
    let operator = user(&server, "otto", "operator").await;
    let packages = Packages::new();
    let (root, publisher) = (&packages.root, &packages.publisher);

    // Keys: exactly one of root and endorsement; endorsements must verify
    // against a registered root; ids are unique; only admins add them.
    let root_file = root.public().to_file();
    add_key(&viewer, &json!({"key": root_file, "root": true}))
        .await
        .problem(403);
    add_key(admin, &json!({"key": "not a key", "root": true}))
        .await
        .problem(422);
    let p = add_key(admin, &json!({"key": root_file}))
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "root", "{p}");
    let endorsement = root.endorse(&publisher.public());
    add_key(
        admin,
        &json!({"key": publisher.public().to_file(), "endorsement": endorsement}),
    )
    .await
    .problem(422);
    let added = add_key(admin, &json!({"key": root_file, "root": true}))
        .await
        .expect(201)
        .json();
    assert_eq!(added["key_id"], root.public().id().0);
    add_key(admin, &json!({"key": root_file, "root": true}))
        .await
        .problem(409);
    // An endorsement of another key does not carry over.
    let stranger = SigningKeyPair::generate("stranger");
    let p = add_key(
        admin,
        &json!({"key": stranger.public().to_file(), "endorsement": endorsement}),
    )
    .await
    .problem(422);
    assert_eq!(p["errors"][0]["field"], "endorsement", "{p}");
    add_key(
        admin,
        &json!({"key": publisher.public().to_file(), "endorsement": endorsement}),
    )
    .await
    .expect(201);
    let keys = viewer.get("/api/v1/registry/keys").await.expect(200).json();
    assert_eq!(keys.as_array().unwrap().len(), 2, "{keys}");

    // Publishing: signed by the endorsed key → 201, with the file's sha256.
    let v1 = packages.tcp("1.0.0", &["tcp"], publisher);
    publish(&viewer, v1.clone()).await.problem(403);
    let published = publish(&operator, v1.clone()).await.expect(201).json();
    assert_eq!(published["sha256"], hex::encode(Sha256::digest(&v1)));
    assert_eq!(published["signer"], publisher.public().id().0);
    assert_eq!(published["size"], v1.len());
    assert_eq!(
        published["digest"],
        Package::from_bytes(&v1).unwrap().digest().to_string()
    );

    // Refused: unsigned, tampered, by an unknown key, by a revoked key, not a package.
    let p = publish(admin, packages.unsigned("1.0.1", &["tcp"]).to_bytes())
        .await
        .problem(422);
    assert!(detail(&p).contains("unsigned"), "{p}");
    let mut tampered = packages.tcp("1.0.2", &["tcp"], publisher);
    let signatures = serde_json::to_vec(Package::from_bytes(&tampered).unwrap().signatures())
        .unwrap()
        .len();
    let last_component_byte = tampered.len() - 4 - signatures - 1;
    tampered[last_component_byte] ^= 1;
    let p = publish(admin, tampered).await.problem(422);
    assert!(detail(&p).contains("tampered"), "{p}");
    let p = publish(admin, packages.tcp("1.0.3", &["tcp"], &stranger))
        .await
        .problem(422);
    assert!(detail(&p).contains(&stranger.public().id().0), "{p}");
    let retired = SigningKeyPair::generate("retired");
    add_key(
        admin,
        &json!({"key": retired.public().to_file(), "endorsement": root.endorse(&retired.public())}),
    )
    .await
    .expect(201);
    let revoke = format!("/api/v1/registry/keys/{}/revoke", retired.public().id());
    viewer.post(&revoke, &json!({})).await.problem(403);
    let revoked = admin.post(&revoke, &json!({})).await.expect(200).json();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let again = admin.post(&revoke, &json!({})).await.expect(200).json();
    assert_eq!(
        again["revoked_at"], revoked["revoked_at"],
        "revoking twice keeps the first time"
    );
    admin
        .post("/api/v1/registry/keys/00000000deadbeef/revoke", &json!({}))
        .await
        .problem(404);
    let p = publish(admin, packages.tcp("1.0.4", &["tcp"], &retired))
        .await
        .problem(422);
    assert!(detail(&p).contains("revoked"), "{p}");
    publish(admin, b"not a package".to_vec()).await.problem(422);

    // The same version again: 409, and nothing changed.
    let before = viewer
        .get("/api/v1/registry/plugins/tcp")
        .await
        .expect(200)
        .json();
    publish(admin, packages.tcp("1.0.0", &["tcp", "dns"], publisher))
        .await
        .problem(409);
    let after = viewer
        .get("/api/v1/registry/plugins/tcp")
        .await
        .expect(200)
        .json();
    assert_eq!(before, after);
    assert_eq!(after.as_array().unwrap().len(), 1, "{after}");

    // Versions, newest first; search; one version; yank and restore.
    publish(admin, packages.tcp("1.1.0", &["tcp"], publisher))
        .await
        .expect(201);
    let versions = viewer
        .get("/api/v1/registry/plugins/tcp")
        .await
        .expect(200)
        .json();
    let listed: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["1.1.0", "1.0.0"]);
    let found = viewer
        .get("/api/v1/registry/plugins?q=TCP%20port")
        .await
        .expect(200)
        .json();
    assert_eq!(found[0]["name"], "tcp", "{found}");
    assert_eq!(found[0]["latest"], "1.1.0");
    assert_eq!(found[0]["versions"], json!(["1.1.0", "1.0.0"]));
    let none = viewer
        .get("/api/v1/registry/plugins?q=nothing-like-it")
        .await
        .expect(200)
        .json();
    assert_eq!(none, json!([]));
    viewer
        .get("/api/v1/registry/plugins/tcp/1.0.0")
        .await
        .expect(200);
    viewer
        .get("/api/v1/registry/plugins/tcp/one")
        .await
        .problem(422);
    viewer
        .get("/api/v1/registry/plugins/tcp/9.9.9")
        .await
        .problem(404);
    viewer
        .get("/api/v1/registry/plugins/nothing")
        .await
        .problem(404);
    let yank = "/api/v1/registry/plugins/tcp/1.1.0/yank";
    viewer.post(yank, &json!({})).await.problem(403);
    let yanked = operator.post(yank, &json!({})).await.expect(200).json();
    assert!(yanked["yanked_at"].is_string(), "{yanked}");
    let found = viewer
        .get("/api/v1/registry/plugins")
        .await
        .expect(200)
        .json();
    assert_eq!(found[0]["latest"], "1.0.0", "{found}");
    let restored = operator.delete(yank).await.expect(200).json();
    assert!(restored.get("yanked_at").is_none(), "{restored}");
    operator
        .post("/api/v1/registry/plugins/tcp/2.0.0/yank", &json!({}))
        .await
        .problem(404);

    // Package files: immutable, revalidated by ETag, for users and agents.
    let (agent, _) = enroll(&server, "reader").await;
    let sha = hex::encode(Sha256::digest(&v1));
    let blob = format!("/api/v1/registry/blobs/{sha}");
    for reader in [&viewer, &agent] {
        let r = reader.get(&blob).await.expect(200);
        assert_eq!(r.body.as_ref(), v1.as_slice());
        assert_eq!(r.content_type(), "application/octet-stream");
        assert_eq!(
            r.headers["cache-control"],
            "private, max-age=31536000, immutable"
        );
        assert_eq!(r.headers["etag"], format!("\"{sha}\"").as_str());
    }
    let etag = format!("\"{sha}\"");
    let r = agent
        .send(
            Method::GET,
            &blob,
            &[("if-none-match", &etag)],
            Bytes::new(),
        )
        .await
        .expect(304);
    assert!(r.body.is_empty());
    server.client().get(&blob).await.problem(401);
    agent
        .get(&format!("/api/v1/registry/blobs/{}", "0".repeat(64)))
        .await
        .problem(404);
    agent
        .get("/api/v1/registry/blobs/not-a-digest")
        .await
        .problem(422);

    // Enrollment hands out the roots (not endorsed keys) for the agent to pin.
    let token = admin
        .post("/api/v1/enrollment-tokens", &json!({}))
        .await
        .expect(201)
        .json();
    let enrolled = server
        .client()
        .post(
            "/api/v1/agents/enroll",
            &json!({"token": token["token"], "name": "pinner", "agent": {
                "hostname": "h", "os": "linux", "arch": "x86_64", "version": "0.1.0"}}),
        )
        .await
        .expect(201)
        .json();
    let roots: Vec<&str> = enrolled["trust_roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key_id"].as_str().unwrap())
        .collect();
    assert_eq!(roots, [root.public().id().0.as_str()]);
}

//! Agent releases on both backends: archives uploaded by their sha256,
//! manifests signed by a root or a key endorsed for releases and refused
//! otherwise, re-signing, the seq rule, yanking, and downloads by agents.

use chrono::{Duration, Utc};
use hyper::Method;
use hyper::body::Bytes;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use vantage_protocol::keys::{KeyRole, SigningKeyPair};
use vantage_protocol::update::{AGENT_PRODUCT, ReleaseBody, SignedRelease};

use crate::api::enroll;
use crate::both;
use crate::registry::{add_key, send_json, user};
use crate::support::http::{Client, Reply};
use crate::support::server::{Backend, start};

const PLATFORM: &str = "x86_64-unknown-linux-gnu";

async fn upload(client: &Client, sha256: &str, bytes: &[u8]) -> Reply {
    client
        .send(
            Method::PUT,
            &format!("/api/v1/releases/blobs/{sha256}"),
            &[("content-type", "application/octet-stream")],
            Bytes::copy_from_slice(bytes),
        )
        .await
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn body(version: &str, archive: &[u8], seq: u64) -> ReleaseBody {
    let now = Utc::now();
    ReleaseBody {
        product: AGENT_PRODUCT.into(),
        version: version.parse().unwrap(),
        platform: PLATFORM.into(),
        sha256: sha(archive),
        size: archive.len() as u64,
        min_version: None,
        seq,
        issued_at: now,
        expires_at: now + Duration::days(30),
    }
}

async fn publish(client: &Client, manifest: &SignedRelease) -> Reply {
    send_json(client, Method::POST, "/api/v1/releases", &json!(manifest)).await
}

both!(releases_are_published_only_when_a_release_key_signed_them);
async fn releases_are_published_only_when_a_release_key_signed_them(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let viewer = user(&server, "vic", "viewer").await;
    let operator = user(&server, "otto", "operator").await;
    let root = SigningKeyPair::generate("root");
    let ci = SigningKeyPair::generate("ci-release");
    let plugins = SigningKeyPair::generate("plugin-team");
    add_key(
        admin,
        &json!({"key": root.public().to_file(), "root": true}),
    )
    .await
    .expect(201);
    let endorsement = root.endorse_for(&ci.public(), KeyRole::Releases);
    let added = add_key(
        admin,
        &json!({"key": ci.public().to_file(), "endorsement": endorsement}),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(added["endorsement"]["role"], "releases", "{added}");
    add_key(
        admin,
        &json!({"key": plugins.public().to_file(), "endorsement": root.endorse(&plugins.public())}),
    )
    .await
    .expect(201);
    // A plugin endorsement relabelled as a release one does not verify.
    let mut forged = root.endorse(&plugins.public());
    forged.role = KeyRole::Releases;
    let stranger = SigningKeyPair::generate("stranger");
    let p = add_key(
        admin,
        &json!({"key": stranger.public().to_file(), "endorsement": forged}),
    )
    .await
    .problem(422);
    assert_eq!(p["errors"][0]["field"], "endorsement", "{p}");

    // Archives: by sha256, checked, idempotent, operators only.
    let v11 = b"\x1f\x8b pretend this is vantage-agent 1.1.0".to_vec();
    let v12 = b"\x1f\x8b pretend this is vantage-agent 1.2.0".to_vec();
    upload(&viewer, &sha(&v11), &v11).await.problem(403);
    let p = upload(&operator, &sha(&v12), &v11).await.problem(422);
    assert!(p.to_string().contains("not "), "{p}");
    upload(&operator, "not-hex", &v11).await.problem(422);
    upload(&operator, &sha(b""), b"").await.problem(422);
    let stored = upload(&operator, &sha(&v11), &v11).await.expect(201).json();
    assert_eq!(stored["size"], v11.len());
    upload(&operator, &sha(&v11), &v11).await.expect(200);

    // Manifests: a plugin key, a stranger, an unknown archive, a wrong
    // size, an expired one: each refused, naming why.
    let by_plugins = SignedRelease::sign(&body("1.1.0", &v11, 1), &plugins);
    let p = publish(&operator, &by_plugins).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "signatures", "{p}");
    assert!(p.to_string().contains("--role releases"), "{p}");
    let p = publish(
        &operator,
        &SignedRelease::sign(&body("1.1.0", &v11, 1), &stranger),
    )
    .await
    .problem(422);
    assert!(p.to_string().contains("no signature"), "{p}");
    let p = publish(
        &operator,
        &SignedRelease::sign(&body("1.2.0", &v12, 1), &ci),
    )
    .await
    .problem(422);
    assert!(
        p.to_string().contains("PUT it to /api/v1/releases/blobs/"),
        "{p}"
    );
    let mut wrong_size = body("1.1.0", &v11, 1);
    wrong_size.size += 1;
    let p = publish(&operator, &SignedRelease::sign(&wrong_size, &ci))
        .await
        .problem(422);
    assert!(p.to_string().contains("bytes"), "{p}");
    let mut expired = body("1.1.0", &v11, 1);
    expired.issued_at -= Duration::days(60);
    expired.expires_at = expired.issued_at + Duration::days(1);
    let p = publish(&operator, &SignedRelease::sign(&expired, &ci))
        .await
        .problem(422);
    assert!(p.to_string().contains("expired"), "{p}");
    let mut garbled = SignedRelease::sign(&body("1.1.0", &v11, 1), &ci);
    garbled.body = garbled.body.replace("1.1.0", "1.1.1");
    publish(&operator, &garbled).await.problem(422);
    publish(&viewer, &SignedRelease::sign(&body("1.1.0", &v11, 1), &ci))
        .await
        .problem(403);
    send_json(
        &operator,
        Method::POST,
        "/api/v1/releases",
        &json!({"body": "{}"}),
    )
    .await
    .problem(422);
    assert_eq!(
        viewer.get("/api/v1/releases").await.expect(200).json(),
        json!([])
    );

    // Signed by the release key: published, with its signer and manifest.
    let first = SignedRelease::sign(&body("1.1.0", &v11, 1), &ci);
    let view = publish(&operator, &first).await.expect(201).json();
    assert_eq!(view["signer"], ci.public().id().0, "{view}");
    assert_eq!(view["seq"], 1);
    assert_eq!(view["manifest"]["body"], first.body);
    // The seq must grow; the same version with another archive is a conflict.
    upload(&operator, &sha(&v12), &v12).await.expect(201);
    let p = publish(
        &operator,
        &SignedRelease::sign(&body("1.2.0", &v12, 1), &ci),
    )
    .await
    .problem(409);
    assert!(p.to_string().contains("seq 2"), "{p}");
    let p = publish(
        &operator,
        &SignedRelease::sign(&body("1.1.0", &v12, 2), &ci),
    )
    .await
    .problem(409);
    assert!(p.to_string().contains("another archive"), "{p}");
    // A root signs releases too.
    publish(
        &operator,
        &SignedRelease::sign(&body("1.2.0", &v12, 2), &root),
    )
    .await
    .expect(201);
    // Re-signing 1.1.0 with a later seq and expiry replaces its manifest.
    let mut later = body("1.1.0", &v11, 3);
    later.expires_at += Duration::days(100);
    let view = publish(&operator, &SignedRelease::sign(&later, &ci))
        .await
        .expect(200)
        .json();
    assert_eq!(view["seq"], 3, "{view}");
    let list = viewer.get("/api/v1/releases").await.expect(200).json();
    let versions: Vec<(&str, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["version"].as_str().unwrap(), r["seq"].as_u64().unwrap()))
        .collect();
    assert_eq!(versions, [("1.2.0", 2), ("1.1.0", 3)]);

    // Yank and restore, every platform of a version.
    operator
        .post("/api/v1/releases/9.9.9/yank", &json!({}))
        .await
        .problem(404);
    operator
        .post("/api/v1/releases/latest/yank", &json!({}))
        .await
        .problem(422);
    viewer
        .post("/api/v1/releases/1.2.0/yank", &json!({}))
        .await
        .problem(403);
    let yanked = operator
        .post("/api/v1/releases/1.2.0/yank", &json!({}))
        .await
        .expect(200)
        .json();
    assert!(yanked[0]["yanked_at"].is_string(), "{yanked}");
    let restored = operator
        .delete("/api/v1/releases/1.2.0/yank")
        .await
        .expect(200)
        .json();
    assert!(restored[0].get("yanked_at").is_none(), "{restored}");

    // Agents (and users) download archives by sha256, cacheable forever.
    let (agent, _) = enroll(&server, "edge-1").await;
    let reply = agent
        .get(&format!("/api/v1/releases/blobs/{}", sha(&v11)))
        .await
        .expect(200);
    assert_eq!(reply.body.as_ref(), v11.as_slice());
    agent
        .get(&format!("/api/v1/releases/blobs/{}", sha(b"nothing")))
        .await
        .problem(404);
    server
        .client()
        .anonymous()
        .get(&format!("/api/v1/releases/blobs/{}", sha(&v11)))
        .await
        .problem(401);
    // Agents publish nothing.
    publish(&agent, &SignedRelease::sign(&body("1.3.0", &v11, 9), &ci))
        .await
        .problem(403);
}

//! A compromised server: releases its API would refuse, written straight
//! into its database and offered to an agent, which checks them itself
//! against the roots it pinned and refuses each while its version runs on.

use vantage_server::store::{ReleaseRow, ReleaseStore as _};

use super::*;

/// A release row as the server would store it, with `manifest` as given.
fn row(body: ReleaseBody, manifest: SignedRelease) -> ReleaseRow {
    ReleaseRow {
        body,
        manifest,
        signer: vantage_protocol::keys::KeyId("0000000000000000".into()),
        published_at: Utc::now(),
        published_by: uuid::Uuid::now_v7(),
        yanked_at: None,
    }
}

fn body(version: &str, archive: &[u8], seq: u64) -> ReleaseBody {
    let now = Utc::now();
    ReleaseBody {
        product: AGENT_PRODUCT.into(),
        version: version.parse().unwrap(),
        platform: platform(),
        sha256: hex::encode(Sha256::digest(archive)),
        size: archive.len() as u64,
        min_version: None,
        seq,
        issued_at: now,
        expires_at: now + chrono::Duration::days(1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_refuses_unsigned_foreign_expired_and_tampered_releases_a_server_offers() {
    let server = start(Backend::Sqlite).await.expect("sqlite always works");
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let fleet = Fleet::start(admin, &url, &packages, 1, "").await;
    let key = release_key(admin, &packages).await;
    let store = &server.state.store;
    let good = archive(None);
    let sha = hex::encode(Sha256::digest(&good));
    store
        .put_release_blob(&sha, &good, Utc::now())
        .await
        .unwrap();

    // No signature at all.
    let unsigned = body("8.0.1", &good, 1);
    let manifest = SignedRelease {
        body: serde_json::to_string(&unsigned).unwrap(),
        signatures: Vec::new(),
    };
    store
        .insert_release(&row(unsigned, manifest))
        .await
        .unwrap();
    // Signed by the publisher's key, endorsed for plugins only.
    let foreign = body("8.0.2", &good, 2);
    let manifest = SignedRelease::sign(&foreign, &packages.publisher);
    store.insert_release(&row(foreign, manifest)).await.unwrap();
    // Signed by the release key, but expired.
    let mut expired = body("8.0.3", &good, 3);
    expired.issued_at -= chrono::Duration::days(3);
    expired.expires_at = expired.issued_at + chrono::Duration::days(1);
    let manifest = SignedRelease::sign(&expired, &key);
    store.insert_release(&row(expired, manifest)).await.unwrap();
    // Signed for one archive; the server hands out another of the same size.
    let mut signed_for = good.clone();
    let last = signed_for.len() - 1;
    signed_for[last] ^= 0xff;
    let tampered = body("8.0.4", &signed_for, 4);
    store
        .put_release_blob(&tampered.sha256, &good, Utc::now())
        .await
        .unwrap();
    let manifest = SignedRelease::sign(&tampered, &key);
    store
        .insert_release(&row(tampered, manifest))
        .await
        .unwrap();

    for (version, why) in [
        (
            "8.0.1",
            "no signature by a trusted root or release key verifies",
        ),
        (
            "8.0.2",
            "no signature by a trusted root or release key verifies",
        ),
        ("8.0.3", "the release manifest expired at"),
        ("8.0.4", "the archive does not match the manifest"),
    ] {
        let id = start_rollout(admin, version, &["1"]).await;
        let halted = rollout_in(admin, &id, "halted", LIMIT).await;
        assert_eq!(
            halted["agents"][0]["step"], "refused",
            "{version}: {halted}"
        );
        assert!(first_reason(&halted).contains(why), "{version}: {halted}");
    }
    // Nothing switched: the agent runs the version it started with, and
    // goes on measuring.
    assert_ne!(running(admin, &fleet.agents[0].3).await, NEW);
    assert!(update_state(&fleet.agents[0].0)["trial"].is_null());
    let before = fleet.agent(0).printed().len();
    fleet.agent(0).wait_printed(before + 2, LIMIT);
}

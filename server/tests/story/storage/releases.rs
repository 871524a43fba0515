//! [`ReleaseStore`]: agent archives by sha256, release manifests with a
//! growing seq, re-signing, yanks.

use chrono::Duration;
use uuid::Uuid;
use vantage_protocol::keys::SigningKeyPair;
use vantage_protocol::update::{AGENT_PRODUCT, ReleaseBody, SignedRelease};
use vantage_server::store::*;

use super::{open, t0};
use crate::both;
use crate::support::server::Backend;

fn release(version: &str, platform: &str, sha: char, seq: u64) -> ReleaseRow {
    let body = ReleaseBody {
        product: AGENT_PRODUCT.into(),
        version: version.parse().unwrap(),
        platform: platform.into(),
        sha256: sha.to_string().repeat(64),
        size: 3,
        min_version: None,
        seq,
        issued_at: t0(),
        expires_at: t0() + Duration::days(30),
    };
    let key = SigningKeyPair::from_seed("root", [1; 32]);
    ReleaseRow {
        manifest: SignedRelease::sign(&body, &key),
        body,
        signer: key.public().id(),
        published_at: t0(),
        published_by: Uuid::now_v7(),
        yanked_at: None,
    }
}

both!(archives_are_stored_once_and_manifests_only_with_a_growing_seq);
async fn archives_are_stored_once_and_manifests_only_with_a_growing_seq(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    assert_eq!(store.release_blob_size(&a).await.unwrap(), None);
    assert!(store.put_release_blob(&a, b"one", t0()).await.unwrap());
    assert!(!store.put_release_blob(&a, b"one", t0()).await.unwrap());
    assert!(store.put_release_blob(&b, b"two", t0()).await.unwrap());
    assert_eq!(store.release_blob_size(&a).await.unwrap(), Some(3));
    assert_eq!(store.release_blob(&b).await.unwrap().unwrap(), b"two");
    assert_eq!(store.release_blob(&"c".repeat(64)).await.unwrap(), None);

    let x86 = "x86_64-unknown-linux-gnu";
    let arm = "aarch64-unknown-linux-gnu";
    assert!(
        store
            .insert_release(&release("1.0.0", x86, 'a', 1))
            .await
            .unwrap()
    );
    // The same version and platform, or a seq not above the highest: no.
    assert!(
        !store
            .insert_release(&release("1.0.0", x86, 'a', 2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_release(&release("1.0.0", arm, 'b', 1))
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_release(&release("1.0.0", arm, 'b', 2))
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_release(&release("1.1.0", x86, 'b', 3))
            .await
            .unwrap()
    );

    // Re-signing: same archive and a higher seq only.
    assert!(
        !store
            .refresh_release(&release("1.0.0", x86, 'b', 4))
            .await
            .unwrap()
    );
    assert!(
        !store
            .refresh_release(&release("1.0.0", x86, 'a', 3))
            .await
            .unwrap()
    );
    assert!(
        store
            .refresh_release(&release("1.0.0", x86, 'a', 4))
            .await
            .unwrap()
    );

    let listed: Vec<(String, String, u64)> = store
        .releases()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.body.version.to_string(),
                r.body.platform.clone(),
                r.body.seq,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("1.1.0".into(), x86.into(), 3),
            ("1.0.0".into(), arm.into(), 2),
            ("1.0.0".into(), x86.into(), 4),
        ]
    );
    let rows = store.releases().await.unwrap();
    assert_eq!(
        rows[2].manifest.parsed().unwrap().seq,
        4,
        "the manifest is the new one"
    );

    // A yank covers every platform of the version and keeps its first time.
    assert_eq!(
        store.set_release_yanked("1.0.0", Some(t0())).await.unwrap(),
        2
    );
    assert_eq!(
        store
            .set_release_yanked("1.0.0", Some(t0() + Duration::hours(1)))
            .await
            .unwrap(),
        2
    );
    let yanked: Vec<_> = store
        .releases()
        .await
        .unwrap()
        .iter()
        .map(|r| r.yanked_at)
        .collect();
    assert_eq!(yanked, [None, Some(t0()), Some(t0())]);
    assert_eq!(store.set_release_yanked("1.0.0", None).await.unwrap(), 2);
    assert_eq!(
        store.set_release_yanked("9.0.0", Some(t0())).await.unwrap(),
        0
    );
    assert!(
        store
            .releases()
            .await
            .unwrap()
            .iter()
            .all(|r| r.yanked_at.is_none())
    );
}

//! [`RegistryStore`]: publisher keys, packages and their files, yanks.

use chrono::Duration;
use uuid::Uuid;
use vantage_protocol::config::PublisherKey;
use vantage_protocol::keys::{Endorsement, KeyId};
use vantage_protocol::manifest::{BaseUnit, Capability, Manifest, MetricSpec};
use vantage_server::store::*;

use super::{open, t0};
use crate::both;
use crate::support::server::Backend;

fn key(id: &str, root: bool, minutes: i64) -> PublisherKey {
    PublisherKey {
        key_id: KeyId(id.into()),
        name: format!("key {id}"),
        public_key: format!("base64 of {id}"),
        root,
        endorsement: (!root).then(|| Endorsement {
            by: KeyId("root".into()),
            role: Default::default(),
            signature: "c2lnbmF0dXJl".into(),
        }),
        created_at: t0() + Duration::minutes(minutes),
        revoked_at: None,
    }
}

fn package(name: &str, version: &str) -> PackageRow {
    PackageRow {
        manifest: Manifest {
            name: name.into(),
            version: version.parse().unwrap(),
            description: format!("{name} checks"),
            capabilities: [Capability::Tcp].into(),
            config_schema: serde_json::json!({"type": "object"}),
            metrics: vec![MetricSpec {
                name: "connect_time".into(),
                unit: BaseUnit::Seconds,
                help: "Time to connect.".into(),
                kind: Default::default(),
            }],
            dynamic_metrics: None,
        },
        digest: format!("digest of {name}@{version}"),
        sha256: format!("sha of {name}@{version}"),
        size: 3,
        signer: KeyId("root".into()),
        published_at: t0(),
        published_by: Uuid::now_v7(),
        yanked_at: None,
    }
}

both!(keys_are_kept_in_order_and_revoked_once);
async fn keys_are_kept_in_order_and_revoked_once(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    assert!(store.keys().await.unwrap().is_empty());
    let (root, second, first) = (key("root", true, 0), key("b", false, 2), key("c", false, 1));
    for k in [&root, &second, &first] {
        assert!(store.put_key(k).await.unwrap());
    }
    assert!(
        !store.put_key(&key("b", true, 5)).await.unwrap(),
        "an id is added once"
    );
    assert_eq!(
        store.keys().await.unwrap(),
        [root.clone(), first.clone(), second.clone()],
        "oldest first, endorsements kept"
    );

    assert!(store.revoke_key(&first.key_id, t0()).await.unwrap());
    assert!(
        store
            .revoke_key(&first.key_id, t0() + Duration::hours(1))
            .await
            .unwrap(),
        "twice is not an error"
    );
    assert!(!store.revoke_key(&KeyId("nope".into()), t0()).await.unwrap());
    let revoked: Vec<_> = store
        .keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.key_id.0, k.revoked_at))
        .collect();
    assert_eq!(
        revoked,
        [
            ("root".to_owned(), None),
            ("c".to_owned(), Some(t0())),
            ("b".to_owned(), None)
        ],
        "the first revocation counts"
    );
}

both!(packages_are_published_once_listed_and_yanked);
async fn packages_are_published_once_listed_and_yanked(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    let tcp1 = package("tcp", "1.0.0");
    let tcp2 = package("tcp", "1.10.0");
    let dns = package("dns", "0.2.0");
    for (p, bytes) in [(&tcp1, b"one"), (&tcp2, b"two"), (&dns, b"dns")] {
        assert!(store.publish_package(p, bytes).await.unwrap());
    }
    assert!(
        !store
            .publish_package(&package("tcp", "1.0.0"), b"new")
            .await
            .unwrap(),
        "a version is published once"
    );

    assert_eq!(
        store.packages(None).await.unwrap(),
        [dns.clone(), tcp2.clone(), tcp1.clone()],
        "by name, newest version first (1.10 after 1.0 by semver)"
    );
    assert_eq!(
        store.packages(Some("tcp")).await.unwrap(),
        [tcp2.clone(), tcp1.clone()]
    );
    assert!(store.packages(Some("nope")).await.unwrap().is_empty());
    assert_eq!(
        store.package_blob(&tcp1.sha256).await.unwrap().as_deref(),
        Some(&b"one"[..]),
        "the first file stays"
    );
    assert!(store.package_blob("unknown").await.unwrap().is_none());

    let yanked = |store: &Store| {
        let store = store.clone();
        async move {
            store
                .packages(Some("tcp"))
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.version().to_string(), p.yanked_at))
                .collect::<Vec<_>>()
        }
    };
    let at = t0() + Duration::hours(1);
    assert!(store.set_yanked("tcp", "1.0.0", Some(at)).await.unwrap());
    assert!(
        store
            .set_yanked("tcp", "1.0.0", Some(at + Duration::hours(1)))
            .await
            .unwrap()
    );
    assert_eq!(
        yanked(store).await,
        [("1.10.0".to_owned(), None), ("1.0.0".to_owned(), Some(at))],
        "the first yank's time is kept"
    );
    assert!(store.set_yanked("tcp", "1.0.0", None).await.unwrap());
    assert_eq!(
        yanked(store).await,
        [("1.10.0".to_owned(), None), ("1.0.0".to_owned(), None)],
        "restored"
    );
    assert!(!store.set_yanked("tcp", "9.9.9", Some(at)).await.unwrap());
}

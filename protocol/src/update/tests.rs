use chrono::Duration;

use super::*;

fn body(version: &str, seq: u64) -> ReleaseBody {
    let now = Utc::now();
    ReleaseBody {
        product: AGENT_PRODUCT.into(),
        version: version.parse().unwrap(),
        platform: "x86_64-unknown-linux-gnu".into(),
        sha256: "ab".repeat(32),
        size: 1234,
        min_version: None,
        seq,
        issued_at: now,
        expires_at: now + Duration::days(30),
    }
}

fn row(key: &SigningKeyPair, endorsement: Option<crate::keys::Endorsement>) -> PublisherKey {
    let public = key.public();
    PublisherKey {
        key_id: public.id(),
        name: public.name.clone(),
        public_key: public.to_base64(),
        root: endorsement.is_none(),
        endorsement,
        created_at: Utc::now(),
        revoked_at: None,
    }
}

#[test]
fn a_release_verifies_for_a_root_or_a_key_endorsed_for_releases_only() {
    let root = SigningKeyPair::from_seed("root", [1; 32]);
    let ci = SigningKeyPair::from_seed("ci", [2; 32]);
    let plugins = SigningKeyPair::from_seed("plugins", [3; 32]);
    let stranger_root = SigningKeyPair::from_seed("stranger", [4; 32]);
    let keys = vec![
        row(&ci, Some(root.endorse_for(&ci.public(), KeyRole::Releases))),
        row(&plugins, Some(root.endorse(&plugins.public()))),
        row(
            &SigningKeyPair::from_seed("other", [5; 32]),
            Some(stranger_root.endorse_for(&ci.public(), KeyRole::Releases)),
        ),
    ];
    let roots = [root.public()];
    let by_root = SignedRelease::sign(&body("1.1.0", 1), &root);
    assert_eq!(by_root.verify(&roots, &keys).unwrap().1, root.public().id());
    let by_ci = SignedRelease::sign(&body("1.1.0", 1), &ci);
    let (read, signer) = by_ci.verify(&roots, &keys).unwrap();
    assert_eq!(
        (read.version.to_string(), signer),
        ("1.1.0".into(), ci.public().id())
    );

    let by_plugins = SignedRelease::sign(&body("1.1.0", 1), &plugins);
    assert_eq!(
        by_plugins.verify(&roots, &keys).unwrap_err(),
        ReleaseError::PluginKey(plugins.public().id())
    );
    // Endorsed by a root this agent did not pin: not trusted at all.
    let by_stranger = SignedRelease::sign(&body("1.1.0", 1), &stranger_root);
    assert_eq!(
        by_stranger.verify(&roots, &keys).unwrap_err(),
        ReleaseError::Unsigned
    );
    // The release key with no endorsement row given: not trusted either.
    assert_eq!(
        by_ci.verify(&roots, &[]).unwrap_err(),
        ReleaseError::Unsigned
    );

    // One byte of the body changed: no longer signed.
    let mut altered = by_ci.clone();
    altered.body = altered.body.replace("1.1.0", "1.9.0");
    assert_eq!(
        altered.verify(&roots, &keys).unwrap_err(),
        ReleaseError::Unsigned
    );
    // A package or statement signature of the same bytes is not a release's.
    let mut plain = by_root.clone();
    plain.signatures[0].signature = B64.encode(root.sign(plain.body.as_bytes()));
    assert_eq!(
        plain.verify(&roots, &keys).unwrap_err(),
        ReleaseError::Unsigned
    );
    // Survives a JSON round trip: the body is kept as text.
    let back: SignedRelease =
        serde_json::from_str(&serde_json::to_string(&by_ci).unwrap()).unwrap();
    assert!(back.verify(&roots, &keys).is_ok());
}

#[test]
fn malformed_manifests_are_refused_naming_the_field() {
    let root = SigningKeyPair::from_seed("root", [1; 32]);
    type Spoil = fn(&mut ReleaseBody);
    let cases: [(&str, Spoil); 6] = [
        ("product", |b| b.product = "vantage-server".into()),
        ("platform", |b| b.platform = "x86_64 linux; rm".into()),
        ("sha256", |b| b.sha256 = "xyz".into()),
        ("size", |b| b.size = 0),
        ("expires", |b| b.expires_at = b.issued_at),
        ("min_version", |b| {
            b.min_version = Some("9.0.0".parse().unwrap())
        }),
    ];
    for (field, spoil) in cases {
        let mut b = body("1.1.0", 1);
        spoil(&mut b);
        let signed = SignedRelease::sign(&b, &root);
        let err = signed.verify(&[root.public()], &[]).unwrap_err();
        assert!(
            matches!(&err, ReleaseError::Body(m) if m.contains(field)),
            "{field}: {err}"
        );
    }
    let garbage = SignedRelease {
        body: "{".into(),
        signatures: vec![],
    };
    assert!(matches!(garbage.parsed(), Err(ReleaseError::Body(_))));
}

#[test]
fn an_agent_takes_only_a_current_newer_release_for_its_platform() {
    let now = Utc::now();
    let running: semver::Version = "1.0.0".parse().unwrap();
    let platform = "x86_64-unknown-linux-gnu";
    let ok = body("1.1.0", 5);
    assert_eq!(ok.admits(&running, platform, 4, false, now), Ok(()));
    assert!(matches!(
        ok.admits(&running, platform, 4, false, ok.expires_at),
        Err(ReleaseError::Expired(_))
    ));
    assert!(matches!(
        ok.admits(&running, "aarch64-unknown-linux-gnu", 4, false, now),
        Err(ReleaseError::Platform { .. })
    ));
    assert!(matches!(
        ok.admits(&running, platform, 5, false, now),
        Err(ReleaseError::Replayed { got: 5, held: 5 })
    ));
    let older = body("0.9.0", 6);
    assert!(matches!(
        older.admits(&running, platform, 4, false, now),
        Err(ReleaseError::Downgrade { .. })
    ));
    assert_eq!(older.admits(&running, platform, 4, true, now), Ok(()));
    let mut needs = body("2.0.0", 7);
    needs.min_version = Some("1.5.0".parse().unwrap());
    let err = needs.admits(&running, platform, 4, false, now).unwrap_err();
    assert_eq!(
        err.to_string(),
        "1.0.0 may not update to 2.0.0 directly: it needs 1.5.0 or newer first"
    );
}

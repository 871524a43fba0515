use super::*;

fn component() -> Vec<u8> {
    let mut c = b"\0asm\x0d\x00\x01\x00".to_vec();
    c.extend_from_slice(&[1, 2, 3, 4]);
    c
}

fn package() -> Package {
    let m = Manifest::from_json(
        br#"{"name":"t","version":"0.1.0","description":"d","capabilities":["tcp"],
            "config_schema":{"type":"object"},"metrics":[]}"#,
    )
    .unwrap();
    Package::new(m, component()).unwrap()
}

fn store(key: &SigningKeyPair) -> TrustStore {
    let mut s = TrustStore::new();
    s.add(key.public());
    s
}

#[test]
fn signed_packages_verify_and_round_trip() {
    let key = SigningKeyPair::from_seed("dev", [1; 32]);
    let mut p = package();
    p.sign(&key);
    let read = Package::from_bytes(&p.to_bytes()).unwrap();
    assert_eq!(read.digest(), p.digest());
    assert_eq!(store(&key).verify(&read).unwrap().id(), key.public().id());
}

#[test]
fn unsigned_unknown_revoked_and_tampered_packages_are_refused() {
    let key = SigningKeyPair::from_seed("dev", [1; 32]);
    let other = SigningKeyPair::from_seed("other", [2; 32]);
    assert_eq!(store(&key).verify(&package()), Err(TrustError::Unsigned));

    let mut p = package();
    p.sign(&other);
    assert!(matches!(
        store(&key).verify(&p),
        Err(TrustError::UnknownKeys(_))
    ));

    let mut p = package();
    p.sign(&key);
    let mut s = store(&key);
    s.revoke(key.public().id());
    assert!(matches!(s.verify(&p), Err(TrustError::Revoked(_))));

    // Flip one byte of the component, then of the manifest.
    let bytes = p.to_bytes();
    let component_at = bytes.len() - 4 - serde_json::to_vec(p.signatures()).unwrap().len() - 1;
    let mut tampered = bytes.clone();
    tampered[component_at] ^= 1;
    let t = Package::from_bytes(&tampered).unwrap();
    assert!(matches!(
        store(&key).verify(&t),
        Err(TrustError::BadSignature { .. })
    ));

    let mut tampered = bytes.clone();
    let pos = tampered.windows(3).position(|w| w == b"\"d\"").unwrap() + 1;
    tampered[pos] = b'e';
    let t = Package::from_bytes(&tampered).unwrap();
    assert!(matches!(
        store(&key).verify(&t),
        Err(TrustError::BadSignature { .. })
    ));
}

#[test]
fn malformed_files_are_refused() {
    assert!(matches!(
        Package::from_bytes(b"nope"),
        Err(PackageError::Truncated(_))
    ));
    assert!(matches!(
        Package::from_bytes(b"NOTAPKG!xxxxxxxx"),
        Err(PackageError::Magic)
    ));
    let bytes = package().to_bytes();
    assert!(matches!(
        Package::from_bytes(&bytes[..bytes.len() - 1]),
        Err(PackageError::Truncated(_))
    ));
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        Package::from_bytes(&long),
        Err(PackageError::Trailing(1))
    ));
}

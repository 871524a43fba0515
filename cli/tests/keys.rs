//! `vantage keys generate` and `vantage keys statement`.

mod common;

use std::fs;

use common::Workdir;
use vantage_protocol::keys::{PublicKey, SigningKeyPair};

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn generate_writes_a_private_secret_key_and_its_public_key() {
    let w = Workdir::new();
    let run = w
        .vantage(&["keys", "generate", "--name", "dev", "--out", "keys"])
        .ok();
    let secret =
        SigningKeyPair::from_file(&fs::read_to_string(w.join("keys/dev.key")).unwrap()).unwrap();
    let public =
        PublicKey::from_file(&fs::read_to_string(w.join("keys/dev.pub")).unwrap()).unwrap();
    assert_eq!(secret.public(), public);
    assert_eq!(public.name, "dev");
    assert_eq!(run.stdout.trim(), public.id().0);
    #[cfg(unix)]
    assert_eq!(mode(&w.join("keys/dev.key")), 0o600);
}

#[test]
fn generate_refuses_to_overwrite_a_key_unless_forced() {
    let w = Workdir::new();
    let first = w.generate_key("dev");
    let before = fs::read_to_string(w.join("keys/dev.key")).unwrap();

    w.vantage(&["keys", "generate", "--name", "dev", "--out", "keys"])
        .fails(1, "keys/dev.key already exists");
    assert_eq!(fs::read_to_string(w.join("keys/dev.key")).unwrap(), before);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let loose = fs::Permissions::from_mode(0o644);
        fs::set_permissions(w.join("keys/dev.key"), loose).unwrap();
    }
    let run = w
        .vantage(&[
            "keys", "generate", "--name", "dev", "--out", "keys", "--force",
        ])
        .ok();
    assert_ne!(run.stdout.trim(), first);
    assert_ne!(fs::read_to_string(w.join("keys/dev.key")).unwrap(), before);
    #[cfg(unix)]
    assert_eq!(mode(&w.join("keys/dev.key")), 0o600);
}

#[test]
fn generate_refuses_a_name_that_is_not_a_plain_file_name() {
    let w = Workdir::new();
    for name in ["../evil", "", ".hidden", "a b"] {
        w.vantage(&["keys", "generate", "--name", name])
            .fails(1, "key name");
    }
    assert_eq!(fs::read_dir(w.path()).unwrap().count(), 0);
}

#[test]
fn a_statement_is_signed_offline_with_the_root_and_bad_entries_are_named() {
    let w = Workdir::new();
    w.generate_key("root");
    let root = PublicKey::from_file(&fs::read_to_string(w.join("keys/root.pub")).unwrap()).unwrap();
    w.vantage(&[
        "keys",
        "statement",
        "--root",
        "keys/root.key",
        "--sequence",
        "3",
        "--expires-in",
        "7d",
        "--yank",
        "tcp@1.1.0",
        "--revoke",
        "9c1d0e7a22b3f415",
        "--owner",
        "http=7ff311804faef7b3",
        "-o",
        "s3.json",
    ])
    .ok();
    let text = fs::read_to_string(w.join("s3.json")).unwrap();
    let statement: vantage_protocol::statement::RegistryStatement =
        serde_json::from_str(&text).unwrap();
    let (body, by) = statement.verify([&root]).unwrap();
    assert_eq!(by, root.id());
    assert_eq!(body.sequence, 3);
    assert!(body.yanks("tcp", &"1.1.0".parse().unwrap()));
    assert_eq!(body.revoked_keys[0].0, "9c1d0e7a22b3f415");
    assert_eq!(body.owners[0].plugin, "http");
    let days = (body.expires_at - body.issued_at).num_days();
    assert_eq!(days, 7);

    w.vantage(&[
        "keys",
        "statement",
        "--root",
        "keys/root.key",
        "--sequence",
        "4",
        "--yank",
        "tcp-1.1.0",
    ])
    .fails(1, "`tcp-1.1.0` is not NAME@VERSION");
    w.vantage(&[
        "keys",
        "statement",
        "--root",
        "keys/root.key",
        "--sequence",
        "4",
        "--owner",
        "http",
    ])
    .fails(1, "`http` is not NAME=KEY_ID");
    w.vantage(&[
        "keys",
        "statement",
        "--root",
        "keys/root.pub",
        "--sequence",
        "4",
    ])
    .fails(1, "keys/root.pub");
}

#[test]
fn verify_release_accepts_the_signed_sums_and_refuses_any_change() {
    let w = Workdir::new();
    w.generate_key("release");
    w.generate_key("other");
    let key = SigningKeyPair::from_file(&fs::read_to_string(w.join("keys/release.key")).unwrap())
        .unwrap();
    let archive = b"an archive's bytes";
    fs::write(w.join("vantage.tar.gz"), archive).unwrap();
    let sums = format!(
        "{}  vantage.tar.gz\n{}  vantage-aarch64.tar.gz\n",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(archive)),
        "00".repeat(32)
    );
    fs::write(w.join("SHA256SUMS"), &sums).unwrap();
    let signature = vantage_protocol::release::sign_sums(&key, sums.as_bytes());
    fs::write(
        w.join("SHA256SUMS.sig"),
        serde_json::to_string(&signature).unwrap(),
    )
    .unwrap();
    let verify = |key: &str| {
        w.vantage(&[
            "keys",
            "verify-release",
            "SHA256SUMS",
            "SHA256SUMS.sig",
            "--key",
            key,
        ])
    };
    // The archive present is checked; the one not downloaded is skipped.
    let run = verify("keys/release.pub").ok();
    assert!(run.stdout.contains("vantage.tar.gz: OK"), "{}", run.stdout);
    verify("keys/other.pub").fails(1, "is not signed by key");
    fs::write(w.join("vantage.tar.gz"), b"an archive's bytes, changed").unwrap();
    verify("keys/release.pub").fails(1, "not");
    fs::write(w.join("vantage.tar.gz"), archive).unwrap();
    fs::write(
        w.join("SHA256SUMS"),
        sums.replace("vantage.tar.gz", "evil.tar.gz"),
    )
    .unwrap();
    verify("keys/release.pub").fails(1, "is not signed by key");
}

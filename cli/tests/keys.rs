//! `vantage keys generate`.

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

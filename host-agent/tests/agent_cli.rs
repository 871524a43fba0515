//! The `vantage-agent` binary: trust decisions, bad configuration, `--once`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{package, plugin_dir};
use vantage_protocol::keys::SigningKeyPair;
use vantage_protocol::result::{CheckResult, Status};

/// A folder with a plugin folder, the dev key and a config file.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plugins")).unwrap();
        std::fs::copy(plugin_dir().join("dev.pub"), dir.path().join("dev.pub")).unwrap();
        Setup { dir }
    }

    fn add(&self, file: &str, bytes: &[u8]) {
        std::fs::write(self.dir.path().join("plugins").join(file), bytes).unwrap();
    }

    fn config(&self, checks: &str) -> PathBuf {
        let path = self.dir.path().join("agent.toml");
        let text = format!(
            "[agent]\nname = \"cli-test\"\ndata_dir = \"{}\"\n\n[trust]\nkeys = [\"dev.pub\"]\n\n[plugins]\ndirs = [\"plugins\"]\n\n{checks}",
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/test-agent-data")
                .display()
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn agent(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vantage-agent"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

const TCP_CHECK: &str = "[[check]]\nname = \"port\"\nplugin = \"tcp\"\ntargets = [\"127.0.0.1:1\"]\ninterval = \"1s\"\n";

fn refused(setup: &Setup, expected: &str) {
    let out = agent(&["check"], &setup.config(TCP_CHECK));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("agent.toml: check[0] `port`.plugin: plugin `tcp` was refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains(expected),
        "expected `{expected}` in: {stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn unsigned_tampered_and_unknown_key_packages_are_refused() {
    let original = package("tcp");

    let setup = Setup::new();
    let unsigned = vantage_protocol::package::Package::new(
        original.manifest().clone(),
        original.component().to_vec(),
    )
    .unwrap();
    setup.add("tcp.vpkg", &unsigned.to_bytes());
    refused(&setup, "package is unsigned");

    let setup = Setup::new();
    let mut foreign = unsigned.clone();
    foreign.sign(&SigningKeyPair::generate("stranger"));
    setup.add("tcp.vpkg", &foreign.to_bytes());
    refused(&setup, "signed only by keys this trust store does not hold");

    // One byte flipped in the component, then in the manifest.
    let bytes = original.to_bytes();
    let manifest_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let in_component = 12 + manifest_len + 8 + original.component().len() / 2;
    let in_manifest = 12
        + bytes[12..12 + manifest_len]
            .windows(11)
            .position(|w| w == b"description")
            .unwrap()
        + 20;
    for at in [in_component, in_manifest] {
        let setup = Setup::new();
        let mut tampered = bytes.clone();
        tampered[at] ^= 0x01;
        setup.add("tcp.vpkg", &tampered);
        refused(
            &setup,
            "does not match the package contents (tampered or corrupted)",
        );
    }

    let setup = Setup::new();
    setup.add("tcp.vpkg", &bytes);
    let revoked = format!("[trust]\nrevoked = [\"{}\"]\n", support::dev_key().id());
    let config = setup.config(TCP_CHECK);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[trust]\n", &revoked);
    std::fs::write(&config, text).unwrap();
    let out = agent(&["check"], &config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("signed only by revoked keys"), "{stderr}");

    let setup = Setup::new();
    setup.add("tcp.vpkg", b"not a package at all");
    refused(&setup, "bad magic bytes");
}

#[test]
fn bad_configuration_names_the_file_and_field_and_starts_nothing() {
    let setup = Setup::new();
    setup.add("tcp.vpkg", &package("tcp").to_bytes());
    let cases = [
        (
            TCP_CHECK.replace("\"tcp\"", "\"htp\""),
            "`port`.plugin: plugin `htp` is not installed (installed: tcp)",
        ),
        (TCP_CHECK.replace("\"1s\"", "\"1 fortnight\""), "interval"),
        (
            TCP_CHECK.replace("\"1s\"", "\"5ms\""),
            "check[0] `port`.interval: 5ms is outside 100ms–24h",
        ),
        (
            format!("{TCP_CHECK}config = {{ read_max = \"lots\" }}\n"),
            "check[0] `port` (tcp@0.1.0): config.read_max:",
        ),
        (
            format!("{TCP_CHECK}config = {{ surprise = 1 }}\n"),
            "surprise",
        ),
        (
            format!("{TCP_CHECK}grants = [\"http\"]\n"),
            "`port`.grants: `http` is not requested by plugin tcp@0.1.0",
        ),
    ];
    for (checks, expected) in cases {
        let out = agent(&["run", "--once"], &setup.config(&checks));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{checks}: {stderr}");
        assert!(
            stderr.contains("agent.toml") && stderr.contains(expected),
            "expected `{expected}` in: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "something ran: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn once_prints_one_json_line_per_check_and_target() {
    let setup = Setup::new();
    setup.add("tcp.vpkg", &package("tcp").to_bytes());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap();
    let closed = support::net::closed_port();
    let checks = format!(
        "[[check]]\nname = \"ports\"\nplugin = \"tcp@^0.1\"\ntargets = [\"{open}\", \"127.0.0.1:{closed}\"]\ninterval = \"1s\"\n"
    );
    let out = agent(&["run", "--once"], &setup.config(&checks));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<CheckResult> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].status, Status::Ok);
    assert_eq!(results[0].target, open.to_string());
    assert_eq!(results[1].status, Status::Refused);
    assert!(
        results
            .iter()
            .all(|r| r.agent == "cli-test" && r.check == "ports" && r.plugin == "tcp")
    );
    assert_ne!(results[0].id, results[1].id);
}

#[test]
fn once_survives_a_plugin_that_panics_with_multi_byte_text() {
    let setup = Setup::new();
    setup.add("misbehave.vpkg", &package("misbehave").to_bytes());
    // 2,000 euro signs: any byte limit falls inside a character.
    let checks = format!(
        "[[check]]\nname = \"euros\"\nplugin = \"misbehave\"\ntargets = [\"127.0.0.1:9\"]\ninterval = \"1s\"\ngrants = []\n[check.config]\nmode = \"trap\"\nmessage = \"{}\"\n\n[[check]]\nname = \"fine\"\nplugin = \"misbehave\"\ntargets = [\"127.0.0.1:9\"]\ninterval = \"1s\"\ngrants = []\n",
        "€".repeat(2000)
    );
    let out = agent(&["run", "--once"], &setup.config(&checks));
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<CheckResult> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let euros = results.iter().find(|r| r.check == "euros").unwrap();
    assert_eq!(euros.status, Status::Error);
    let message = euros.message.as_deref().unwrap();
    assert!(
        message.contains("€€€") && message.len() <= 4096,
        "{message}"
    );
    let fine = results.iter().find(|r| r.check == "fine").unwrap();
    assert_eq!(fine.status, Status::Ok);
}

//! `vantage keys add | endorse | revoke`, `plugin publish | yank | list`,
//! `checks apply | list | export | approve` and `alerts apply | export |
//! list` against the real `vantage-server`
//! binary (build it first: `cargo build -p vantage-server`).

mod alerts;
#[path = "../common/mod.rs"]
mod common;
mod releases;
mod reports;
mod server;

use std::fs;
use std::path::PathBuf;

use common::{Run, Workdir};
use semver::Version;
use server::TestServer;
use vantage_protocol::keys::{Endorsement, PublicKey, SigningKeyPair};
use vantage_protocol::manifest::Capability;
use vantage_protocol::package::Package;

/// `vantage ARGS…` against `server`.
fn vantage(w: &Workdir, server: &TestServer, args: &[&str]) -> Run {
    w.vantage_with_env(args, &server.env())
}

/// A package built by `cargo xtask build-plugins`.
fn built_package(name: &str) -> Package {
    let dir = std::env::var_os("VANTAGE_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"));
    let path = dir.join(format!("{name}.vpkg"));
    let bytes = fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run `cargo xtask build-plugins` (or `cargo xtask test`)",
            path.display()
        )
    });
    Package::from_bytes(&bytes).unwrap()
}

/// The first-party tcp plugin (`cargo xtask build-plugins`), re-packed as
/// `version` with `capabilities` and signed by `key`, at `tcp-VERSION.vpkg`.
fn tcp_package(w: &Workdir, version: &str, capabilities: &[Capability], key: &str) -> String {
    let original = built_package("tcp");
    let mut manifest = original.manifest().clone();
    manifest.version = Version::parse(version).unwrap();
    manifest.capabilities = capabilities.iter().copied().collect();
    let mut package = Package::new(manifest, original.component().to_vec()).unwrap();
    let key = fs::read_to_string(w.join(&format!("keys/{key}.key"))).unwrap();
    package.sign(&SigningKeyPair::from_file(&key).unwrap());
    let name = format!("tcp-{version}.vpkg");
    fs::write(w.join(&name), package.to_bytes()).unwrap();
    name
}

const CHECK: &str = r#"
[[check]]
name = "port"
plugin = "tcp"
version = "^1"
targets = ["127.0.0.1:9"]
interval = "30s"
grants = ["tcp"]
[check.config]
timeout_ms = 500
"#;

const OTHER: &str = r#"
[[check]]
name = "other"
plugin = "tcp"
targets = ["127.0.0.1:7"]
interval = "1m"
grants = []
"#;

#[track_caller]
fn says(run: &Run, needle: &str) {
    assert!(
        run.stdout.contains(needle),
        "stdout lacks {needle:?}\nstdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
}

fn revision(server: &TestServer, check: &str) -> i64 {
    server.get(&format!("/api/v1/checks/{check}"))["revision"]
        .as_i64()
        .unwrap()
}

#[test]
fn a_publisher_and_an_operator_configure_the_server_from_the_command_line() {
    let server = TestServer::start(None);
    let w = Workdir::new();
    let v = |args: &[&str]| vantage(&w, &server, args);

    // Keys: a root, and a team key it endorses offline.
    let root = w.generate_key("root");
    let team = w.generate_key("team");
    let run = v(&["keys", "add", "keys/root.pub", "--root"]).ok();
    assert_eq!(run.stdout.trim(), format!("added root key {root} (root)"));
    v(&[
        "keys",
        "endorse",
        "--root",
        "keys/root.key",
        "keys/team.pub",
        "-o",
        "team.endorsement.json",
    ])
    .ok();
    let endorsement: Endorsement =
        serde_json::from_str(&fs::read_to_string(w.join("team.endorsement.json")).unwrap())
            .unwrap();
    let team_pub = PublicKey::from_file(&fs::read_to_string(w.join("keys/team.pub")).unwrap());
    let root_pub = PublicKey::from_file(&fs::read_to_string(w.join("keys/root.pub")).unwrap());
    assert!(endorsement.verify(&team_pub.unwrap(), &root_pub.unwrap()));
    let run = v(&[
        "keys",
        "add",
        "keys/team.pub",
        "--endorsement",
        "team.endorsement.json",
    ])
    .ok();
    says(&run, &format!("endorsed by {root}"));
    let run = v(&["keys", "list"]).ok();
    says(&run, &root);
    says(&run, &format!("endorsed by {root}"));

    // Publishing: once, not twice.
    let v1 = tcp_package(&w, "1.0.0", &[Capability::Tcp], "team");
    let run = v(&["plugin", "publish", &v1]).ok();
    says(&run, "published tcp@1.0.0 (sha256 ");
    says(&run, &format!("signed by {team})"));
    v(&["plugin", "publish", &v1]).fails(1, "tcp@1.0.0 already exists");
    let run = v(&["plugin", "list", "tc"]).ok();
    assert!(
        run.stdout
            .lines()
            .any(|l| l.split_whitespace().eq(["tcp", "1.0.0", "1.0.0"])),
        "{}",
        run.stdout
    );

    // A dry run says what would change and changes nothing.
    fs::write(w.join("checks.toml"), CHECK).unwrap();
    let run = v(&["checks", "apply", "-f", "checks.toml", "--dry-run"]).ok();
    says(
        &run,
        "+ port: tcp@^1, every 30s, targets 127.0.0.1:9, grants tcp",
    );
    assert_eq!(server.get("/api/v1/checks"), serde_json::json!([]));

    // Applied, then applied again: unchanged, nothing sent.
    let run = v(&["checks", "apply", "-f", "checks.toml"]).ok();
    says(&run, "created port (revision ");
    let first = revision(&server, "port");
    let run = v(&["checks", "apply", "-f", "checks.toml"]).ok();
    says(&run, "= 1 check unchanged");
    says(&run, "nothing to apply");
    assert_eq!(revision(&server, "port"), first);
    let run = v(&["checks", "list"]).ok();
    says(&run, "tcp@1.0.0");

    // A changed interval.
    fs::write(w.join("checks.toml"), CHECK.replace("\"30s\"", "\"10s\"")).unwrap();
    let run = v(&["checks", "apply", "-f", "checks.toml"]).ok();
    says(&run, "~ port\n    interval: 30s → 10s\n");
    says(&run, "updated port");
    let second = revision(&server, "port");
    assert!(second > first);

    // A bad check: the field is named, the others are still applied.
    let bad = CHECK.replace("\"^1\"", "\"banana\"") + OTHER;
    fs::write(w.join("bad.toml"), bad).unwrap();
    let run = v(&["checks", "apply", "-f", "bad.toml"]).fails(1, "version");
    assert!(run.stderr.contains("error: port: 422"), "{}", run.stderr);
    says(&run, "created other");
    assert_eq!(revision(&server, "port"), second);

    // Export reads back as the same checks.
    let run = v(&["checks", "export"]).ok();
    fs::write(w.join("exported.toml"), &run.stdout).unwrap();
    let run = v(&["checks", "apply", "-f", "exported.toml"]).ok();
    says(&run, "= 2 checks unchanged");

    // Not in the file: kept, unless pruned.
    fs::write(w.join("checks.toml"), CHECK.replace("\"30s\"", "\"10s\"")).unwrap();
    let run = v(&["checks", "apply", "-f", "checks.toml"]).ok();
    says(&run, "- other: kept (not in file; --prune deletes it)");
    let run = v(&["checks", "apply", "-f", "checks.toml", "--prune"]).ok();
    says(&run, "deleted other");
    let names: Vec<_> = server
        .get("/api/v1/checks")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["spec"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["port"]);

    // A version that asks for more waits for approval.
    let v11 = tcp_package(&w, "1.1.0", &[Capability::Tcp, Capability::Dns], "team");
    v(&["plugin", "publish", &v11]).ok();
    let run = v(&["checks", "apply", "-f", "checks.toml"]).ok();
    says(
        &run,
        "note: port: tcp@1.1.0 waits for approval: it also requests dns",
    );
    let run = v(&["checks", "list"]).ok();
    says(&run, "1.1.0 (needs approval)");
    let run = v(&["checks", "approve", "port"]).ok();
    says(&run, "runs tcp@1.1.0");

    // Yanked, the check falls back; restored, it comes back.
    let run = v(&["plugin", "yank", "tcp@1.1.0"]).ok();
    assert_eq!(run.stdout.trim(), "yanked tcp@1.1.0");
    let resolved = |s: &TestServer| s.get("/api/v1/checks/port")["resolved"]["version"].clone();
    assert_eq!(resolved(&server), "1.0.0");
    let run = v(&["plugin", "yank", "tcp@1.1.0", "--undo"]).ok();
    assert_eq!(run.stdout.trim(), "restored tcp@1.1.0");
    assert_eq!(resolved(&server), "1.1.0");

    // A revoked key publishes nothing more.
    let run = v(&["keys", "revoke", &team]).ok();
    assert_eq!(run.stdout.trim(), format!("revoked key {team}"));
    let v12 = tcp_package(&w, "1.2.0", &[Capability::Tcp], "team");
    v(&["plugin", "publish", &v12]).fails(1, "422");
}

/// Python, JavaScript and C plugins go through the registry exactly like a
/// Rust one: unsigned refused, signed published, downloaded byte for byte,
/// verified offline, and their checks validated against their own schemas.
#[test]
fn plugins_in_every_language_publish_and_verify_like_rust_ones() {
    let server = TestServer::start(None);
    let w = Workdir::new();
    let v = |args: &[&str]| vantage(&w, &server, args);
    let root = w.generate_key("root");
    v(&["keys", "add", "keys/root.pub", "--root"]).ok();
    let key =
        SigningKeyPair::from_file(&fs::read_to_string(w.join("keys/root.key")).unwrap()).unwrap();

    let plugins = [
        ("tcp", "Rust"),
        ("example-http-keyword", "Python"),
        ("example-tls-expiry", "JavaScript"),
        ("example-tcp-banner", "C"),
    ];
    for (name, language) in plugins {
        let built = built_package(name);
        let version = built.manifest().version.to_string();
        let mut package =
            Package::new(built.manifest().clone(), built.component().to_vec()).unwrap();
        let unsigned = format!("{name}-unsigned.vpkg");
        fs::write(w.join(&unsigned), package.to_bytes()).unwrap();
        v(&["plugin", "publish", &unsigned]).fails(1, "422");

        package.sign(&key);
        let file = format!("{name}.vpkg");
        fs::write(w.join(&file), package.to_bytes()).unwrap();
        let run = v(&["plugin", "publish", &file]).ok();
        says(&run, &format!("published {name}@{version} (sha256 "));
        says(&run, &format!("signed by {root})"));

        let listed = server.get(&format!("/api/v1/registry/plugins/{name}/{version}"));
        assert_eq!(listed["size"], package.to_bytes().len(), "{language}");
        let sha256 = listed["sha256"].as_str().unwrap();
        let blob = server.get_bytes(&format!("/api/v1/registry/blobs/{sha256}"));
        assert_eq!(
            blob,
            package.to_bytes(),
            "{language}: the blob is the upload"
        );
        let downloaded = format!("{name}-downloaded.vpkg");
        fs::write(w.join(&downloaded), &blob).unwrap();
        let run = v(&["plugin", "verify", &downloaded, "--trust", "keys/root.pub"]).ok();
        says(&run, &format!("verified: {name}@{version}"));
    }

    // Each plugin's checks are validated against its own schema.
    let checks = r#"
[[check]]
name = "ssh"
plugin = "example-tcp-banner"
targets = ["127.0.0.1:22"]
interval = "1m"
grants = ["tcp"]
[check.config]
expect = "SSH-2.0-"

[[check]]
name = "api"
plugin = "example-http-keyword"
targets = ["http://127.0.0.1:8080/health"]
interval = "1m"
grants = ["http"]
[check.config]
keyword = "ok"

[[check]]
name = "cert"
plugin = "example-tls-expiry"
targets = ["https://127.0.0.1:8443/"]
interval = "1h"
grants = ["http"]
[check.config]
warn_days = 21
"#;
    fs::write(w.join("checks.toml"), checks).unwrap();
    let run = v(&["checks", "apply", "-f", "checks.toml"]).ok();
    for name in ["ssh", "api", "cert"] {
        says(&run, &format!("created {name} (revision "));
    }
    let bad = checks
        .replace("expect = \"SSH-2.0-\"", "expect = \"\"")
        .replace("warn_days = 21", "warn_days = \"soon\"");
    fs::write(w.join("bad.toml"), bad).unwrap();
    let run = v(&["checks", "apply", "-f", "bad.toml"]).fails(1, "422");
    assert!(run.stderr.contains("error: ssh: 422"), "{}", run.stderr);
    assert!(run.stderr.contains("error: cert: 422"), "{}", run.stderr);
    says(&run, "= 1 check unchanged");
}

#[test]
fn server_errors_are_the_problems_the_server_answers() {
    let server = TestServer::start(None);
    let w = Workdir::new();
    let run = w
        .vantage(&[
            "checks",
            "list",
            "--server",
            &server.url,
            "--token",
            "vt_not-a-token",
        ])
        .fails(1, "401 Unauthorized");
    assert!(run.stdout.is_empty());
    // Without a server or a token, the command line is incomplete.
    w.vantage_with_env(&["checks", "list"], &[("VANTAGE_SERVER", &server.url)])
        .fails(2, "--token");
}

#[test]
fn a_server_with_a_private_ca_is_trusted_with_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = server::private_ca(dir.path());
    let server = TestServer::start(Some((&cert, &key, &ca)));
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let w = Workdir::new();
    vantage(&w, &server, &["plugin", "list"]).fails(1, "UnknownIssuer");
    let run = vantage(
        &w,
        &server,
        &["plugin", "list", "--ca", ca.to_str().unwrap()],
    )
    .ok();
    assert_eq!(run.stdout.trim(), "NAME  LATEST  VERSIONS");
}

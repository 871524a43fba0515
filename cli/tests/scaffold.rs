//! The whole plugin-author path, for real: `vantage plugin new` scaffolds a
//! crate, cargo builds it for wasm32-wasip2, the CLI packs, signs and
//! verifies it, and the agent's host runs it against a local listener.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::Workdir;
use vantage_agent::caps::Scope;
use vantage_agent::host::{HostOptions, PluginHost};
use vantage_agent::plugin::VerifiedPlugin;
use vantage_agent::run::{Limits, RunRequest};
use vantage_protocol::keys::PublicKey;
use vantage_protocol::package::{Package, TrustStore};
use vantage_protocol::result::Status;

#[tokio::test]
async fn a_scaffolded_plugin_builds_signs_verifies_and_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let work = Workdir::new();
    let sdk = root.join("plugin-sdk");
    work.vantage(&["keys", "generate", "--name", "author", "--out", "keys"])
        .ok();
    work.vantage(&[
        "plugin",
        "new",
        "port-probe",
        "--sdk-path",
        sdk.to_str().unwrap(),
    ])
    .ok();

    // Share the plugins' target folder so that the SDK's dependencies,
    // already built by `cargo xtask build-plugins`, are reused.
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .current_dir(work.join("port-probe"))
        .env("CARGO_TARGET_DIR", root.join("plugins/target/scaffold"))
        .status()
        .unwrap();
    assert!(status.success(), "the scaffold does not build");
    let wasm = root.join("plugins/target/scaffold/wasm32-wasip2/release/port_probe.wasm");

    work.vantage(&[
        "plugin",
        "pack",
        "--manifest",
        "port-probe/manifest.json",
        "--component",
        wasm.to_str().unwrap(),
        "--out",
        "port-probe.vpkg",
    ])
    .ok();
    work.vantage(&[
        "plugin",
        "sign",
        "port-probe.vpkg",
        "--key",
        "keys/author.key",
    ])
    .ok();
    let verified = work
        .vantage(&[
            "plugin",
            "verify",
            "port-probe.vpkg",
            "--trust",
            "keys/author.pub",
        ])
        .ok();
    assert!(
        verified.stdout.contains("verified: port-probe@0.1.0"),
        "{}",
        verified.stdout
    );

    let mut trust = TrustStore::new();
    trust.add(
        PublicKey::from_file(&std::fs::read_to_string(work.join("keys/author.pub")).unwrap())
            .unwrap(),
    );
    let package =
        Package::from_bytes(&std::fs::read(work.join("port-probe.vpkg")).unwrap()).unwrap();
    let host = PluginHost::new(&HostOptions::default()).unwrap();
    let plugin = VerifiedPlugin::verify(package, &trust)
        .unwrap()
        .compile(&host)
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let request = RunRequest {
        check: "scaffold".into(),
        target: target.clone(),
        config: "{}".into(),
        timeout: Duration::from_secs(5),
        grants: plugin.manifest().capabilities.clone(),
        scope: Arc::new(Scope::new(&target, &[]).unwrap()),
        limits: Limits::default(),
    };
    let result = plugin.run(&host, "author-laptop", &request).await;
    assert_eq!(result.status, Status::Ok, "{result:?}");
    assert!(
        result
            .samples
            .iter()
            .any(|s| s.metric == "connect_time" && s.value > 0.0),
        "{result:?}"
    );
}

/// `vantage plugin new --lang LANG`, then the scaffold's own `build.sh`: its
/// native tests, then the component; then pack, sign, verify and run it in
/// the agent's host against a listener and against a closed port.
async fn scaffold_in(lang: &str) {
    let work = Workdir::new();
    work.vantage(&["keys", "generate", "--name", "author", "--out", "keys"])
        .ok();
    let created = work
        .vantage(&["plugin", "new", "port-probe", "--lang", lang])
        .ok();
    assert!(
        created.stdout.contains("./build.sh --test && ./build.sh"),
        "{}",
        created.stdout
    );
    let dir = work.join("port-probe");
    assert!(dir.join("wit/plugin.wit").is_file());
    assert!(dir.join("manifest.json").is_file());

    let build = |args: &[&str]| {
        let output = Command::new(dir.join("build.sh"))
            .args(args)
            .current_dir(&dir)
            .env("VANTAGE", env!("CARGO_BIN_EXE_vantage"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{lang}: build.sh {args:?} failed\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    build(&["--test"]);
    build(&["port-probe.wasm"]);

    work.vantage(&[
        "plugin",
        "pack",
        "--manifest",
        "port-probe/manifest.json",
        "--component",
        "port-probe/port-probe.wasm",
        "--out",
        "port-probe.vpkg",
    ])
    .ok();
    work.vantage(&[
        "plugin",
        "sign",
        "port-probe.vpkg",
        "--key",
        "keys/author.key",
    ])
    .ok();
    let verified = work
        .vantage(&[
            "plugin",
            "verify",
            "port-probe.vpkg",
            "--trust",
            "keys/author.pub",
        ])
        .ok();
    assert!(
        verified.stdout.contains("verified: port-probe@0.1.0"),
        "{}",
        verified.stdout
    );

    let mut trust = TrustStore::new();
    trust.add(
        PublicKey::from_file(&std::fs::read_to_string(work.join("keys/author.pub")).unwrap())
            .unwrap(),
    );
    let package =
        Package::from_bytes(&std::fs::read(work.join("port-probe.vpkg")).unwrap()).unwrap();
    let host = PluginHost::new(&HostOptions::default()).unwrap();
    let plugin = VerifiedPlugin::verify(package, &trust)
        .unwrap()
        .compile(&host)
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let request = |target: &str| RunRequest {
        check: "scaffold".into(),
        target: target.to_owned(),
        config: "{}".into(),
        timeout: Duration::from_secs(5),
        grants: plugin.manifest().capabilities.clone(),
        scope: Arc::new(Scope::new(target, &[]).unwrap()),
        limits: Limits::default(),
    };
    let result = plugin.run(&host, "author-laptop", &request(&open)).await;
    assert_eq!(result.status, Status::Ok, "{lang}: {result:?}");
    assert!(
        result
            .samples
            .iter()
            .any(|s| s.metric == "connect_time" && s.value > 0.0),
        "{lang}: {result:?}"
    );
    let result = plugin.run(&host, "author-laptop", &request(&closed)).await;
    assert_eq!(result.status, Status::Refused, "{lang}: {result:?}");
    assert!(result.message.is_some(), "{lang}: {result:?}");
}

#[tokio::test]
async fn a_scaffolded_c_plugin_builds_signs_verifies_and_runs() {
    scaffold_in("c").await;
}

#[tokio::test]
async fn a_scaffolded_javascript_plugin_builds_signs_verifies_and_runs() {
    scaffold_in("js").await;
}

#[tokio::test]
async fn a_scaffolded_python_plugin_builds_signs_verifies_and_runs() {
    scaffold_in("python").await;
}

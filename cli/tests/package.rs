//! `vantage plugin pack | sign | verify | inspect | manifest-schema` on real files.

mod common;

use std::fs;

use common::Workdir;
use vantage_protocol::package::Package;

#[test]
fn a_signed_package_verifies_with_its_publishers_key() {
    let w = Workdir::new();
    let key_id = w.signed_package("dev");
    let expected = format!("verified: probe@1.2.3 signed by {key_id} (dev)");

    let run = w
        .vantage(&["plugin", "verify", "probe.vpkg", "--trust", "keys/dev.pub"])
        .ok();
    assert_eq!(run.stdout.trim(), expected);
    let run = w
        .vantage(&["plugin", "verify", "probe.vpkg", "--trust-dir", "keys"])
        .ok();
    assert_eq!(run.stdout.trim(), expected);
}

#[test]
fn a_package_signed_by_an_untrusted_key_is_refused() {
    let w = Workdir::new();
    let key_id = w.signed_package("dev");
    w.generate_key("other");
    let run = w
        .vantage(&[
            "plugin",
            "verify",
            "probe.vpkg",
            "--trust",
            "keys/other.pub",
        ])
        .fails(1, "not hold");
    assert!(run.stderr.contains(&key_id), "{}", run.stderr);
    assert!(run.stderr.contains("probe.vpkg"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn a_tampered_component_is_refused() {
    let w = Workdir::new();
    w.signed_package("dev");
    let mut bytes = fs::read(w.join("probe.vpkg")).unwrap();
    let at = bytes
        .windows(4)
        .position(|b| b == b"code")
        .expect("the component is in the package");
    bytes[at] ^= 1;
    fs::write(w.join("probe.vpkg"), bytes).unwrap();
    w.vantage(&["plugin", "verify", "probe.vpkg", "--trust", "keys/dev.pub"])
        .fails(1, "tampered");
}

#[test]
fn an_unsigned_package_is_refused() {
    let w = Workdir::new();
    w.plugin_sources("probe");
    w.generate_key("dev");
    let run = w
        .vantage(&[
            "plugin",
            "pack",
            "--manifest",
            "manifest.json",
            "--component",
            "probe.wasm",
        ])
        .ok();
    assert!(run.stdout.contains("probe-1.2.3.vpkg"), "{}", run.stdout);
    w.vantage(&[
        "plugin",
        "verify",
        "probe-1.2.3.vpkg",
        "--trust",
        "keys/dev.pub",
    ])
    .fails(1, "unsigned");
}

#[test]
fn verify_needs_a_trusted_key_and_readable_files() {
    let w = Workdir::new();
    w.signed_package("dev");
    w.vantage(&["plugin", "verify", "probe.vpkg"])
        .fails(1, "no trusted keys");
    w.vantage(&["plugin", "verify", "probe.vpkg", "--trust", "keys/dev.key"])
        .fails(1, "public key file keys/dev.key");
    w.vantage(&[
        "plugin",
        "verify",
        "missing.vpkg",
        "--trust",
        "keys/dev.pub",
    ])
    .fails(1, "reading package missing.vpkg");
    fs::write(w.join("junk.vpkg"), b"junk").unwrap();
    w.vantage(&["plugin", "verify", "junk.vpkg", "--trust", "keys/dev.pub"])
        .fails(1, "reading package junk.vpkg: package is truncated");
}

#[test]
fn sign_with_out_leaves_the_original_alone_and_co_signs() {
    let w = Workdir::new();
    let dev = w.signed_package("dev");
    let ops = w.generate_key("ops");
    let run = w
        .vantage(&[
            "plugin",
            "sign",
            "probe.vpkg",
            "--key",
            "keys/ops.key",
            "--out",
            "both.vpkg",
        ])
        .ok();
    assert!(run.stdout.contains(&ops), "{}", run.stdout);
    let original = Package::from_bytes(&fs::read(w.join("probe.vpkg")).unwrap()).unwrap();
    let both = Package::from_bytes(&fs::read(w.join("both.vpkg")).unwrap()).unwrap();
    assert_eq!(original.signatures().len(), 1);
    let ids: Vec<_> = both
        .signatures()
        .iter()
        .map(|s| s.key_id.0.clone())
        .collect();
    assert_eq!(ids, [dev, ops]);
    assert!(
        run.stdout.contains(&both.digest().to_string()),
        "{}",
        run.stdout
    );
}

#[test]
fn pack_refuses_bad_inputs_and_names_the_file() {
    let w = Workdir::new();
    w.plugin_sources("probe");
    let pack = |manifest: &str, component: &str| {
        w.vantage(&[
            "plugin",
            "pack",
            "--manifest",
            manifest,
            "--component",
            component,
            "--out",
            "x.vpkg",
        ])
    };

    fs::write(w.join("core.wasm"), b"\0asm\x01\0\0\0rest").unwrap();
    pack("manifest.json", "core.wasm").fails(1, "core.wasm is a core WebAssembly module");
    fs::write(w.join("text.wasm"), b"hello world").unwrap();
    pack("manifest.json", "text.wasm").fails(1, "text.wasm is not a WebAssembly component");
    pack("manifest.json", "missing.wasm").fails(1, "reading component file missing.wasm");

    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(w.join("manifest.json")).unwrap()).unwrap();
    manifest["name"] = "Not OK".into();
    fs::write(w.join("bad.json"), manifest.to_string()).unwrap();
    let run = pack("bad.json", "probe.wasm").fails(1, "invalid manifest file bad.json");
    assert!(run.stderr.contains("field `name`"), "{}", run.stderr);

    manifest["name"] = "probe".into();
    manifest["surprise"] = true.into();
    fs::write(w.join("bad.json"), manifest.to_string()).unwrap();
    pack("bad.json", "probe.wasm").fails(1, "surprise");
    assert!(!w.join("x.vpkg").exists());
}

#[test]
fn inspect_json_shows_what_the_package_holds() {
    let w = Workdir::new();
    let key_id = w.signed_package("dev");
    let run = w
        .vantage(&["plugin", "inspect", "probe.vpkg", "--json"])
        .ok();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let package = Package::from_bytes(&fs::read(w.join("probe.vpkg")).unwrap()).unwrap();

    assert_eq!(json["name"], "probe");
    assert_eq!(json["version"], "1.2.3");
    assert_eq!(json["description"], "connects somewhere");
    assert_eq!(json["digest"], package.digest().to_string());
    assert_eq!(json["component_bytes"], common::component().len());
    assert_eq!(json["capabilities"], serde_json::json!(["tcp", "dns"]));
    assert_eq!(
        json["metrics"],
        serde_json::json!([{"name": "connect_time", "unit": "seconds", "help": "handshake time"}])
    );
    assert_eq!(json["config_schema"]["additionalProperties"], false);
    assert_eq!(json["signatures"], serde_json::json!([{"key_id": key_id}]));
}

#[test]
fn inspect_text_shows_the_same_fields() {
    let w = Workdir::new();
    let key_id = w.signed_package("dev");
    let run = w.vantage(&["plugin", "inspect", "probe.vpkg"]).ok();
    for needle in [
        "name:         probe",
        "version:      1.2.3",
        "capabilities: tcp, dns",
        "connect_time (seconds): handshake time",
        "\"additionalProperties\": false",
        &format!("key {key_id}"),
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} missing from\n{}",
            run.stdout
        );
    }
}

#[test]
fn manifest_schema_prints_the_manifest_json_schema() {
    let w = Workdir::new();
    let run = w.vantage(&["plugin", "manifest-schema"]).ok();
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(schema, vantage_protocol::manifest::Manifest::json_schema());
    assert!(schema["properties"]["capabilities"].is_object());
}

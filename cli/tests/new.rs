//! `vantage plugin new`: the scaffold (built for wasm32-wasip2 elsewhere).

mod common;

use std::fs;

use common::Workdir;
use vantage_protocol::manifest::{Capability, Manifest};

fn cargo_toml(w: &Workdir, path: &str) -> toml::Table {
    fs::read_to_string(w.join(path))
        .unwrap()
        .parse()
        .expect("Cargo.toml is valid TOML")
}

#[test]
fn new_scaffolds_a_crate_with_a_valid_manifest() {
    let w = Workdir::new();
    w.vantage(&["plugin", "new", "my-probe"]).ok();

    let manifest = Manifest::from_json(&fs::read(w.join("my-probe/manifest.json")).unwrap())
        .expect("the scaffold's manifest is valid");
    assert_eq!(manifest.id(), "my-probe@0.1.0");
    assert_eq!(
        manifest.capabilities.iter().copied().collect::<Vec<_>>(),
        [Capability::Tcp]
    );
    assert_eq!(manifest.config_schema["additionalProperties"], false);
    assert_eq!(manifest.metrics.len(), 1);
    assert!(
        manifest
            .validate_config(&serde_json::json!({"timeout_ms": 500}))
            .is_ok()
    );
    assert!(
        manifest
            .validate_config(&serde_json::json!({"surprise": 1}))
            .is_err()
    );

    let cargo = cargo_toml(&w, "my-probe/Cargo.toml");
    assert_eq!(cargo["package"]["name"].as_str(), Some("my-probe"));
    assert_eq!(
        cargo["lib"]["crate-type"].as_array().unwrap()[0].as_str(),
        Some("cdylib")
    );
    assert_eq!(
        cargo["dependencies"]["vantage-plugin-sdk"].as_str(),
        Some("0.1")
    );
    assert!(cargo["workspace"].as_table().unwrap().is_empty());

    let config = cargo_toml(&w, "my-probe/.cargo/config.toml");
    assert_eq!(config["build"]["target"].as_str(), Some("wasm32-wasip2"));

    let lib = fs::read_to_string(w.join("my-probe/src/lib.rs")).unwrap();
    assert!(lib.contains("export_probe!"), "{lib}");
    assert!(lib.contains("tcp::connect"), "{lib}");
    let readme = fs::read_to_string(w.join("my-probe/README.md")).unwrap();
    for command in [
        "vantage plugin pack",
        "vantage plugin sign",
        "vantage plugin verify",
        "my_probe.wasm",
    ] {
        assert!(readme.contains(command), "README lacks {command}");
    }
}

#[test]
fn new_with_sdk_path_depends_on_the_checkout_by_relative_path() {
    let w = Workdir::new();
    fs::create_dir_all(w.join("sdk")).unwrap();
    fs::write(w.join("sdk/Cargo.toml"), "[package]\n").unwrap();
    w.vantage(&[
        "plugin",
        "new",
        "probe2",
        "--dir",
        "plugins",
        "--sdk-path",
        "sdk",
    ])
    .ok();
    let cargo = cargo_toml(&w, "plugins/probe2/Cargo.toml");
    let sdk = &cargo["dependencies"]["vantage-plugin-sdk"];
    assert_eq!(sdk["path"].as_str(), Some("../../sdk"));

    w.vantage(&["plugin", "new", "probe3", "--sdk-path", "nowhere"])
        .fails(1, "sdk path nowhere");
    assert!(!w.join("probe3").exists());
}

#[test]
fn the_scaffold_manifest_packs() {
    let w = Workdir::new();
    w.vantage(&["plugin", "new", "packable", "--dir", "."]).ok();
    fs::write(w.join("probe.wasm"), common::component()).unwrap();
    let run = w
        .vantage(&[
            "plugin",
            "pack",
            "--manifest",
            "packable/manifest.json",
            "--component",
            "probe.wasm",
        ])
        .ok();
    assert!(run.stdout.contains("packable@0.1.0"), "{}", run.stdout);
}

#[test]
fn new_refuses_bad_names_and_existing_directories() {
    let w = Workdir::new();
    for name in ["Bad", "1probe", "my_probe", "../evil", "a/b", ""] {
        w.vantage(&["plugin", "new", name])
            .fails(1, "invalid plugin name");
    }
    assert_eq!(fs::read_dir(w.path()).unwrap().count(), 0);

    fs::create_dir(w.join("taken")).unwrap();
    w.vantage(&["plugin", "new", "taken"])
        .fails(1, "taken already exists");
    assert_eq!(fs::read_dir(w.join("taken")).unwrap().count(), 0);
}

#[test]
fn new_scaffolds_each_language_with_the_contract_and_an_executable_build() {
    use std::os::unix::fs::PermissionsExt as _;
    let w = Workdir::new();
    for (lang, files) in [
        ("python", &["app.py", "logic.py", "test_logic.py"][..]),
        (
            "js",
            &[
                "src/probe.js",
                "src/connect.js",
                "test/connect.test.js",
                "package.json",
                "package-lock.json",
            ][..],
        ),
        (
            "c",
            &["probe.c", "config.c", "config.h", "test_config.c"][..],
        ),
    ] {
        let name = format!("probe-{lang}");
        w.vantage(&["plugin", "new", &name, "--lang", lang]).ok();
        let dir = w.join(&name);
        for file in files
            .iter()
            .chain(&["manifest.json", "README.md", ".gitignore"])
        {
            let text =
                fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{lang} {file}: {e}"));
            assert!(!text.contains("{{"), "{lang} {file} has a placeholder left");
        }
        let build = fs::metadata(dir.join("build.sh")).unwrap();
        assert_eq!(
            build.permissions().mode() & 0o111,
            0o111,
            "{lang}: build.sh is not executable"
        );
        assert_eq!(
            fs::read_to_string(dir.join("wit/plugin.wit")).unwrap(),
            include_str!("../../wit/plugin.wit"),
            "{lang}: the scaffold's WIT is the contract"
        );
        let manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["name"], name.as_str());
    }
    // The CLI prints the same contract.
    let wit = w.vantage(&["plugin", "wit"]).ok();
    assert_eq!(wit.stdout, include_str!("../../wit/plugin.wit"));
}

#[test]
fn new_refuses_an_unknown_language_and_an_sdk_path_outside_rust() {
    let w = Workdir::new();
    w.vantage(&["plugin", "new", "probe", "--lang", "cobol"])
        .fails(2, "invalid value 'cobol'");
    w.vantage(&["plugin", "new", "probe", "--lang", "js", "--sdk-path", "."])
        .fails(1, "--sdk-path is for Rust plugins only");
    assert_eq!(fs::read_dir(w.path()).unwrap().count(), 0);
}

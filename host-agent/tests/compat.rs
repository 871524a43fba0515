//! A plugin built against an earlier 0.1.x contract runs on this host:
//! wasmtime matches imports and exports semver-compatibly, so a component
//! importing `vantage:plugin/clock@0.1.0` and exporting
//! `vantage:plugin/probe@0.1.0` links against the host's later 0.1.x. A
//! component built against a version the host does not serve is refused when
//! it is compiled, with the import named.
//!
//! The components are built here from the WIT as it was at 0.1.0 (a fixture)
//! and a core module in WAT, so no binary is committed.

mod support;

use serde_json::json;
use vantage_agent::plugin::VerifiedPlugin;
use vantage_protocol::keys::SigningKeyPair;
use vantage_protocol::manifest::Manifest;
use vantage_protocol::package::{Package, TrustStore};
use vantage_protocol::result::Status;
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

/// `wit/plugin.wit` as released at 0.1.0.
const WIT_0_1_0: &str = include_str!("fixtures/plugin-0.1.0.wit");
/// The contract the host serves.
const WIT_HOST: &str = include_str!("../../wit/plugin.wit");
/// What the plugin says, so the test sees its outcome come through.
const MESSAGE: &str = "built against 0.1.0";

/// A core module for world `plugin` at `version`: its `run` calls
/// `clock.monotonic-ns` and returns `{ status: ok, message: some(MESSAGE),
/// samples: [] }`.
fn core_module(version: &str) -> Vec<u8> {
    let len = MESSAGE.len();
    let wat = format!(
        r#"(module
  (import "vantage:plugin/clock@{version}" "monotonic-ns" (func $monotonic_ns (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{MESSAGE}")
  (global $heap (mut i32) (i32.const 4096))

  ;; A bump allocator: the host copies the check context in through it.
  (func (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.const 65536)) (then unreachable))
    (local.get $ptr))

  ;; The flattened check-context: check, target and config as (ptr, len),
  ;; then timeout-ms. The outcome is returned through a pointer, laid out as
  ;; the canonical ABI says (size 24, align 4).
  (func (export "vantage:plugin/probe@{version}#run")
    (param i32 i32 i32 i32 i32 i32 i32) (result i32)
    (drop (call $monotonic_ns))
    (i32.store8 offset=0 (i32.const 64) (i32.const 0))    ;; status: ok
    (i32.store8 offset=4 (i32.const 64) (i32.const 1))    ;; message: some,
    (i32.store offset=8 (i32.const 64) (i32.const 1024))  ;;   its ptr
    (i32.store offset=12 (i32.const 64) (i32.const {len})) ;;   and len
    (i32.store offset=16 (i32.const 64) (i32.const 8))    ;; samples: ptr (sample's alignment)
    (i32.store offset=20 (i32.const 64) (i32.const 0))    ;;   and len 0
    (i32.const 64)))"#
    );
    wat::parse_str(wat).expect("the WAT assembles")
}

/// The component of [`core_module`] at `version`, typed by `wit`.
fn component(wit: &str, version: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let package = resolve
        .push_source("plugin.wit", wit)
        .expect("the WIT parses");
    let world = resolve
        .select_world(&[package], Some("plugin"))
        .expect("the WIT has world `plugin`");
    let mut module = core_module(version);
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .unwrap();
    ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .unwrap()
        .encode()
        .expect("the module encodes as a component")
}

/// `component` in a package signed with a fresh key and verified against a
/// trust store holding only that key, as the agent verifies every package.
fn verified(component: Vec<u8>) -> VerifiedPlugin {
    let manifest = Manifest::from_json(
        json!({
            "name": "compat",
            "version": "0.1.0",
            "description": "A plugin built against an older contract.",
            "capabilities": [],
            "config_schema": {"type": "object"},
            "metrics": [],
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let key = SigningKeyPair::generate("compat");
    let mut package = Package::new(manifest, component).unwrap();
    package.sign(&key);
    let mut trust = TrustStore::new();
    trust.add(key.public());
    VerifiedPlugin::verify(package, &trust).unwrap()
}

fn names(component: &[u8], name: &str) -> bool {
    component.windows(name.len()).any(|w| w == name.as_bytes())
}

#[tokio::test]
async fn a_plugin_built_against_0_1_0_runs_on_this_host() {
    let served = WIT_HOST
        .lines()
        .find(|line| line.starts_with("package "))
        .unwrap();
    assert!(
        served.starts_with("package vantage:plugin@0.1.")
            && served != "package vantage:plugin@0.1.0;",
        "the host serves `{served}`, not a later 0.1.x, so this test proves nothing"
    );
    let component = component(WIT_0_1_0, "0.1.0");
    for name in [
        "vantage:plugin/types@0.1.0",
        "vantage:plugin/clock@0.1.0",
        "vantage:plugin/probe@0.1.0",
    ] {
        assert!(names(&component, name), "the component names {name}");
    }

    let host = support::host();
    let plugin = verified(component)
        .compile(&host)
        .expect("a 0.1.0 plugin links against the host");
    let request = support::request(&plugin, "127.0.0.1", json!({}));
    let r = support::run(&host, &plugin, &request).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.message.as_deref(), Some(MESSAGE), "{r:?}");
}

#[tokio::test]
async fn a_plugin_built_against_an_unserved_version_is_refused_naming_the_import() {
    let wit = WIT_0_1_0.replace(
        "package vantage:plugin@0.1.0;",
        "package vantage:plugin@0.2.0;",
    );
    assert_ne!(wit, WIT_0_1_0);

    let host = support::host();
    let error = verified(component(&wit, "0.2.0"))
        .compile(&host)
        .expect_err("no 0.2.0 on this host");
    // As the agent reports it: the whole chain.
    let text = format!("{error:#}");
    assert!(text.starts_with("linking compat@0.1.0: "), "{text}");
    assert!(
        text.contains("component imports instance `vantage:plugin/clock@0.2.0`"),
        "{text}"
    );
}

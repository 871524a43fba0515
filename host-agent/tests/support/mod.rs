//! Shared test support: the built plugin packages, a host, and real local
//! services (TCP, UDP, HTTP/HTTPS, DNS through dnsmasq, network namespaces).
#![allow(dead_code, unreachable_pub)]

pub mod net;
pub mod peers;
pub mod topo;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vantage_agent::caps::Scope;
use vantage_agent::host::{HostOptions, PluginHost};
use vantage_agent::plugin::{CompiledPlugin, VerifiedPlugin};
use vantage_agent::run::{Limits, RunRequest};
use vantage_protocol::keys::PublicKey;
use vantage_protocol::manifest::Capability;
use vantage_protocol::package::{Package, TrustStore};
use vantage_protocol::result::CheckResult;

/// The folder of signed packages built by `cargo xtask build-plugins`.
pub fn plugin_dir() -> PathBuf {
    let dir = std::env::var_os("VANTAGE_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"));
    assert!(
        dir.join("dev.pub").is_file(),
        "no plugin packages in {}: run `cargo xtask build-plugins` (or `cargo xtask test`)",
        dir.display()
    );
    dir
}

/// A trust store holding the development key.
pub fn trust() -> TrustStore {
    let mut trust = TrustStore::new();
    trust.add(dev_key());
    trust
}

pub fn dev_key() -> PublicKey {
    PublicKey::from_file(&std::fs::read_to_string(plugin_dir().join("dev.pub")).unwrap()).unwrap()
}

/// The package of a first-party plugin.
pub fn package(name: &str) -> Package {
    let path = plugin_dir().join(format!("{name}.vpkg"));
    Package::from_bytes(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

/// Options with a precompiled-artifact cache shared by the test binaries.
pub fn options() -> HostOptions {
    HostOptions {
        cache_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-compiled")),
        max_instances: 64,
        ..HostOptions::default()
    }
}

pub fn host() -> Arc<PluginHost> {
    Arc::new(PluginHost::new(&options()).unwrap())
}

pub fn compile(host: &PluginHost, name: &str) -> Arc<CompiledPlugin> {
    let verified = VerifiedPlugin::verify(package(name), &trust()).unwrap();
    Arc::new(verified.compile(host).unwrap())
}

/// A run request granting what the manifest requests.
pub fn request(plugin: &CompiledPlugin, target: &str, config: serde_json::Value) -> RunRequest {
    RunRequest {
        check: format!("{}-test", plugin.manifest().name).into(),
        target: target.to_owned(),
        config: config.to_string().into(),
        timeout: Duration::from_secs(5),
        grants: plugin.manifest().capabilities.clone(),
        scope: Arc::new(Scope::new(target, &[]).unwrap()),
        limits: Limits::default(),
    }
}

pub fn grants(list: &[Capability]) -> BTreeSet<Capability> {
    list.iter().copied().collect()
}

pub async fn run(host: &PluginHost, plugin: &CompiledPlugin, request: &RunRequest) -> CheckResult {
    plugin.run(host, "test-agent", request).await
}

/// The value of the first sample of `metric` (with all `labels`), if any.
pub fn value(result: &CheckResult, metric: &str) -> Option<f64> {
    result
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.is_empty())
        .map(|s| s.value)
        .or_else(|| {
            result
                .samples
                .iter()
                .find(|s| s.metric == metric)
                .map(|s| s.value)
        })
}

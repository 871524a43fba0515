//! `vantage-agent self-test`: what a new build proves before an update
//! switches to it, beside the agent that runs and without disturbing it.
//! It loads the configuration, reads the credential and parses the roots
//! it pinned and the local trust keys, compiles one plugin (in memory: the
//! shared artifact cache is not written), and reads the outbox read-only.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use vantage_protocol::package::Package;

use crate::catalog::load_trust;
use crate::config::AgentConfig;
use crate::enroll::Credential;
use crate::host::{HostOptions, PluginHost};

/// Runs every step; the lines say what each found. The first failing
/// step is the error.
pub fn self_test(config_path: &Path) -> anyhow::Result<Vec<String>> {
    let mut said = vec![format!(
        "vantage-agent {} for {}",
        crate::VERSION,
        crate::PLATFORM
    )];
    let config = AgentConfig::load(config_path)?;
    let trust = load_trust(&config)?;
    said.push(format!(
        "configuration {}: {} local checks, {} local trust keys",
        config_path.display(),
        config.checks.len(),
        trust.keys().count()
    ));
    let data_dir = config.resolve(&config.agent.data_dir);
    match Credential::load(&data_dir)? {
        Some(credential) => {
            let roots = credential.roots().context("the pinned root keys")?;
            said.push(format!(
                "enrolled as {} with {}; {} pinned root keys",
                credential.name,
                credential.server,
                roots.len()
            ));
        }
        None => said.push("not enrolled".into()),
    }
    let dirs = std::iter::once(data_dir.join("packages"))
        .chain(config.plugins.dirs.iter().map(|d| config.resolve(d)));
    match first_package(dirs)? {
        Some(path) => {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let package = Package::from_bytes(&bytes)
                .with_context(|| format!("reading {}", path.display()))?;
            let host = PluginHost::new(&HostOptions {
                max_instances: 1,
                max_memory_bytes: 64 << 20,
                ..HostOptions::default()
            })?;
            host.prepare(
                &package.manifest().id(),
                &package.digest(),
                package.component(),
            )
            .with_context(|| format!("compiling {}", path.display()))?;
            said.push(format!("compiled {}", package.manifest().id()));
        }
        None => said.push("no plugin package to compile".into()),
    }
    let outbox = data_dir.join("outbox");
    let found = crate::outbox::inspect(&outbox)
        .with_context(|| format!("reading the outbox in {}", outbox.display()))?;
    said.push(format!(
        "outbox {}: {} records in {} segments",
        outbox.display(),
        found.records,
        found.segments
    ));
    Ok(said)
}

/// The first `.vpkg` by name in the first folder that holds one.
fn first_package(dirs: impl Iterator<Item = PathBuf>) -> anyhow::Result<Option<PathBuf>> {
    for dir in dirs {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        };
        let mut packages: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "vpkg"))
            .collect();
        packages.sort();
        if let Some(first) = packages.into_iter().next() {
            return Ok(Some(first));
        }
    }
    Ok(None)
}

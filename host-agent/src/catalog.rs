//! The installed plugins and the jobs built from the configuration: packages
//! are read from the plugin folders, verified against the trust store, and
//! the ones that checks name are compiled once each; [`crate::jobs`] turns
//! each `[[check]]` into jobs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vantage_protocol::keys::{KeyId, PublicKey};
use vantage_protocol::package::{Package, TrustStore};

use crate::config::{AgentConfig, ConfigError, parse_plugin_ref};
use crate::host::PluginHost;
use crate::jobs::{self, CheckProblem, JobSpec};
use crate::plugin::{CompiledPlugin, VerifiedPlugin};
use crate::scheduler::Job;

/// Verified packages by plugin name, and why others were refused.
#[derive(Debug, Default)]
pub struct Catalog {
    plugins: BTreeMap<String, Vec<VerifiedPlugin>>,
    refused: BTreeMap<String, Vec<String>>,
}

impl Catalog {
    /// Reads every `.vpkg` in `dirs`, keeping those a trusted key signed.
    pub fn load(dirs: &[PathBuf], trust: &TrustStore) -> Catalog {
        let mut catalog = Catalog::default();
        for dir in dirs {
            let entries = match std::fs::read_dir(dir) {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "Cannot read a plugin folder.");
                    continue;
                }
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "vpkg"))
                .collect();
            paths.sort();
            for path in paths {
                catalog.add_file(&path, trust);
            }
        }
        catalog
    }

    fn add_file(&mut self, path: &Path, trust: &TrustStore) {
        let package = match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| Package::from_bytes(&b).map_err(|e| e.to_string()))
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "Plugin package refused.");
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let name = stem.split('@').next().unwrap_or_default().to_owned();
                self.refused
                    .entry(name)
                    .or_default()
                    .push(format!("{}: {e}", path.display()));
                return;
            }
        };
        let id = package.manifest().id();
        let name = package.manifest().name.clone();
        match VerifiedPlugin::verify(package, trust) {
            Ok(plugin) => {
                tracing::info!(
                    plugin = id,
                    signer = %plugin.signer().id(),
                    path = %path.display(),
                    "Plugin verified."
                );
                self.plugins.entry(name).or_default().push(plugin);
            }
            Err(e) => {
                tracing::warn!(plugin = id, path = %path.display(), error = %e, "Plugin package refused.");
                self.refused
                    .entry(name)
                    .or_default()
                    .push(format!("{id} ({}): {e}", path.display()));
            }
        }
    }

    /// The highest verified version of `name` that satisfies `req`.
    pub fn select(&self, name: &str, req: &semver::VersionReq) -> Result<&VerifiedPlugin, String> {
        let candidates = self
            .plugins
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(best) = candidates
            .iter()
            .filter(|p| req.matches(&p.manifest().version))
            .max_by(|a, b| a.manifest().version.cmp(&b.manifest().version))
        {
            return Ok(best);
        }
        if let Some(reasons) = self.refused.get(name) {
            return Err(format!(
                "plugin `{name}` was refused: {}",
                reasons.join("; ")
            ));
        }
        if !candidates.is_empty() {
            let versions: Vec<String> = candidates
                .iter()
                .map(|p| p.manifest().version.to_string())
                .collect();
            return Err(format!(
                "no version of plugin `{name}` matches `{req}` (installed: {})",
                versions.join(", ")
            ));
        }
        let installed: Vec<&str> = self.plugins.keys().map(String::as_str).collect();
        Err(format!(
            "plugin `{name}` is not installed (installed: {})",
            if installed.is_empty() {
                "none".to_owned()
            } else {
                installed.join(", ")
            }
        ))
    }
}

/// Reads the trust store's public key files.
pub fn load_trust(config: &AgentConfig) -> Result<TrustStore, ConfigError> {
    let mut trust = TrustStore::new();
    for (i, file) in config.trust.keys.iter().enumerate() {
        let path = config.resolve(file);
        let key = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| PublicKey::from_file(&text).map_err(|e| e.to_string()))
            .map_err(|e| ConfigError {
                file: config.path.display().to_string(),
                problem: format!("trust.keys[{i}] ({}): {e}", path.display()),
            })?;
        trust.add(key);
    }
    for id in &config.trust.revoked {
        trust.revoke(KeyId(id.to_ascii_lowercase()));
    }
    Ok(trust)
}

/// Builds one job per check and target, compiling each plugin once. Nothing
/// starts here: any error leaves nothing half-started.
pub fn build_jobs(
    config: &AgentConfig,
    catalog: &Catalog,
    host: &PluginHost,
) -> Result<Vec<Job>, ConfigError> {
    let err = |problem: String| ConfigError {
        file: config.path.display().to_string(),
        problem,
    };
    let mut compiled: HashMap<String, Arc<CompiledPlugin>> = HashMap::new();
    let mut jobs = Vec::new();
    for (i, check) in config.checks.iter().enumerate() {
        let at = |field: &str| format!("check[{i}] `{}`.{field}", check.name);
        let (name, req) =
            parse_plugin_ref(&check.plugin).map_err(|e| err(format!("{}: {e}", at("plugin"))))?;
        let verified = catalog
            .select(&name, &req)
            .map_err(|e| err(format!("{}: {e}", at("plugin"))))?;
        let config_json = serde_json::to_value(&check.config).expect("TOML tables convert to JSON");
        let spec = JobSpec {
            name: &check.name,
            targets: check.targets.clone(),
            config: &config_json,
            grants: check.grants.as_ref(),
            allow: &check.allow,
            interval: check.interval,
            timeout: check.timeout(),
            jitter: check.jitter,
            limits: jobs::limits(&config.limits, check.memory_mib),
        };
        let plan = spec.plan(verified.manifest()).map_err(|p| {
            err(match p {
                CheckProblem::Field(field, problem) => format!("{}: {problem}", at(field)),
                CheckProblem::Config(plugin, problems) => format!(
                    "check[{i}] `{}` ({plugin}): {}",
                    check.name,
                    problems.join("; ")
                ),
            })
        })?;
        let key = verified.digest().to_string();
        let plugin = match compiled.get(&key) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(
                    verified
                        .clone()
                        .compile(host)
                        .map_err(|e| err(format!("{}: {e:#}", at("plugin"))))?,
                );
                compiled.insert(key, p.clone());
                p
            }
        };
        jobs.extend(plan.jobs(&plugin));
    }
    Ok(jobs)
}

//! Managed mode: the checks the server assigns, applied without restarting.
//!
//! The agent long-polls its desired state, downloads the packages it names
//! (content-addressed, cached in `<data_dir>/packages`), and verifies each
//! one *itself*: against the roots it pinned at enrollment (plus the local
//! `[trust]` keys), and the publisher keys those roots endorsed. The server
//! only proposes; a package no trusted publisher signed is refused and the
//! refusal reported. Changed jobs are swapped between runs by the
//! [`Scheduler`](crate::scheduler::Scheduler); the effective state is
//! persisted as last-known-good (`<data_dir>/desired.json`) and applied at
//! the next start before the server is reached.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use sha2::{Digest as _, Sha256};
use tokio::sync::watch;
use vantage_protocol::config::{
    BLOB_PATH, CONFIG_STATUS_PATH, CheckState, CheckStatus, ConfigSource, ConfigStatus,
    DESIRED_PATH, DesiredCheck, DesiredState, PluginPin,
};
use vantage_protocol::keys::PublicKey;
use vantage_protocol::package::{MAX_COMPONENT_BYTES, Package, TrustStore};

use crate::caps::Scope;
use crate::config::{LimitsSection, ServerSection};
use crate::enroll::{Credential, public_key};
use crate::host::PluginHost;
use crate::plugin::{CompiledPlugin, VerifiedPlugin};
use crate::run::{Limits, RunRequest};
use crate::scheduler::Job;
use crate::uplink::backoff;
use crate::uplink::client::ServerClient;

/// The last-known-good desired state, in the data folder.
pub const DESIRED_FILE: &str = "desired.json";
/// Largest desired state read.
const MAX_DESIRED_BYTES: usize = 16 << 20;

/// A check that could not be applied: whether the package was refused or
/// something else failed, and why.
type Refusal = (CheckState, String);

/// The agent's share of remote configuration.
#[derive(Debug)]
pub struct Remote {
    host: Arc<PluginHost>,
    credential: Credential,
    /// The local `[trust]` keys and revocations.
    local_trust: TrustStore,
    limits: LimitsSection,
    server: ServerSection,
    data_dir: PathBuf,
    /// Jobs of the local `[[check]]`s, which run besides the server's.
    local_jobs: Vec<Job>,
    /// Compiled packages by digest, so an unchanged plugin is compiled once.
    compiled: HashMap<String, Arc<CompiledPlugin>>,
    /// What runs now, by check name.
    applied: BTreeMap<String, (DesiredCheck, Vec<Job>)>,
    jobs: watch::Sender<Arc<Vec<Job>>>,
}

impl Remote {
    /// Managed mode for an enrolled agent; `jobs` is what the scheduler runs.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        host: Arc<PluginHost>,
        credential: Credential,
        local_trust: TrustStore,
        limits: LimitsSection,
        server: ServerSection,
        data_dir: PathBuf,
        local_jobs: Vec<Job>,
        jobs: watch::Sender<Arc<Vec<Job>>>,
    ) -> Remote {
        Remote {
            host,
            credential,
            local_trust,
            limits,
            server,
            data_dir,
            local_jobs,
            compiled: HashMap::new(),
            applied: BTreeMap::new(),
            jobs,
        }
    }

    /// Applies the last-known-good state, if any, then follows the server
    /// until `stop` turns true.
    pub async fn run(mut self, stop: watch::Receiver<bool>) {
        let mut current = None;
        match load_last_known_good(&self.data_dir) {
            Ok(Some(state)) => {
                tracing::info!(
                    version = state.version,
                    checks = state.checks.len(),
                    "Starting from the last-known-good configuration."
                );
                let status = self.apply(&state, ConfigSource::LastKnownGood, None).await;
                log_status(&status);
                current = Some(state.version);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "The last-known-good configuration is unreadable; ignoring it.")
            }
        }
        let client = ServerClient::new(
            &self.credential.server,
            self.credential.ca_file.as_deref(),
            Some(self.credential.credential.clone()),
        );
        match client {
            Ok(client) => self.follow(client, current, stop).await,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "Cannot reach the server for configuration.")
            }
        }
    }

    /// Long-polls the desired state and applies every new one. While some
    /// check of the current state is not running (a download failed, a
    /// package was refused), the state is applied again now and then, with
    /// growing pauses: what was transient heals, what was refused stays so.
    async fn follow(
        &mut self,
        mut client: ServerClient,
        mut current: Option<String>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut attempt: u32 = 0;
        let mut last: Option<(DesiredState, ConfigStatus)> = None;
        let mut retries: u32 = 0;
        let mut retry_at: Option<tokio::time::Instant> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            if let (Some(at), Some((state, reported))) = (retry_at, &last)
                && tokio::time::Instant::now() >= at
            {
                let state = state.clone();
                let status = self
                    .apply(&state, ConfigSource::Server, Some(&mut client))
                    .await;
                if status.checks != reported.checks {
                    log_status(&status);
                    self.report(&mut client, &status).await;
                }
                retries += 1;
                retry_at = incomplete(&status).then(|| retry_after(retries));
                last = Some((state, status));
            }
            // Wait on the server no longer than until the next retry.
            let mut wait = self.server.config_wait;
            if let Some(at) = retry_at {
                wait = wait.min(at.saturating_duration_since(tokio::time::Instant::now()));
            }
            let path = format!("{DESIRED_PATH}?wait={}", wait.as_secs());
            let asked = tokio::select! {
                r = client.get(&path, current.as_deref(), MAX_DESIRED_BYTES, wait) => r,
                _ = stop.wait_for(|s| *s) => return,
            };
            let pause = match asked {
                Ok(reply) if reply.status == 200 => {
                    match serde_json::from_slice::<DesiredState>(&reply.body) {
                        Ok(state) => {
                            attempt = 0;
                            let status = self
                                .apply(&state, ConfigSource::Server, Some(&mut client))
                                .await;
                            log_status(&status);
                            self.report(&mut client, &status).await;
                            current = Some(state.version.clone());
                            retries = 0;
                            retry_at = incomplete(&status).then(|| retry_after(retries));
                            last = Some((state, status));
                            None
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "The server's desired state is not valid; keeping the current one.");
                            Some(backoff(attempt, self.server.max_backoff, None))
                        }
                    }
                }
                Ok(reply) if reply.status == 304 => {
                    attempt = 0;
                    if last.is_none() && current.is_some() {
                        // Started from last-known-good and the server agrees:
                        // apply it once more with the server at hand, so
                        // what the cache lacked is downloaded.
                        if let Ok(Some(state)) = load_last_known_good(&self.data_dir) {
                            let status = self
                                .apply(&state, ConfigSource::Server, Some(&mut client))
                                .await;
                            self.report(&mut client, &status).await;
                            retry_at = incomplete(&status).then(|| retry_after(retries));
                            last = Some((state, status));
                        }
                    }
                    None
                }
                Ok(reply) if reply.status == 401 || reply.status == 403 => {
                    tracing::error!(
                        status = reply.status,
                        problem = reply.problem_text(),
                        "The server refused this agent's credential; configuration is paused."
                    );
                    Some(self.server.auth_pause)
                }
                Ok(reply) => {
                    tracing::warn!(
                        status = reply.status,
                        problem = reply.problem_text(),
                        "Fetching the desired state failed."
                    );
                    Some(backoff(attempt, self.server.max_backoff, reply.retry_after))
                }
                Err(e) => {
                    tracing::debug!(error = %format!("{e:#}"), "The server is unreachable for configuration.");
                    Some(backoff(attempt, self.server.max_backoff, None))
                }
            };
            if let Some(pause) = pause {
                attempt = attempt.saturating_add(1);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    }

    async fn report(&self, client: &mut ServerClient, status: &ConfigStatus) {
        let body = serde_json::to_vec(status).expect("a status serialises");
        match client.post(CONFIG_STATUS_PATH, &body, false).await {
            Ok(r) if (200..300).contains(&r.status) => {}
            Ok(r) => tracing::warn!(
                status = r.status,
                problem = r.problem_text(),
                "The server did not take the configuration status."
            ),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "Reporting the configuration status failed.")
            }
        }
    }

    /// Applies `state`: every check whose package verifies and compiles
    /// replaces its running version; one that fails keeps its running
    /// version, if any. Then the scheduler gets the new job set and the
    /// effective state is saved as last-known-good.
    pub async fn apply(
        &mut self,
        state: &DesiredState,
        source: ConfigSource,
        mut client: Option<&mut ServerClient>,
    ) -> ConfigStatus {
        let trust = self.trust(state);
        let mut applied = BTreeMap::new();
        let mut statuses = Vec::new();
        for check in &state.checks {
            let plugin_id = format!("{}@{}", check.plugin.name, check.plugin.version);
            let unchanged = self
                .applied
                .get(&check.name)
                .filter(|(running, _)| running == check)
                .cloned();
            let outcome = match unchanged {
                Some(entry) => Ok(entry),
                None => self
                    .prepare(check, &trust, client.as_deref_mut())
                    .await
                    .map(|jobs| (check.clone(), jobs)),
            };
            match outcome {
                Ok(entry) => {
                    statuses.push(CheckStatus {
                        name: check.name.clone(),
                        plugin: plugin_id,
                        state: CheckState::Running,
                        problem: None,
                    });
                    applied.insert(check.name.clone(), entry);
                }
                Err((state, problem)) => {
                    let kept = self.applied.get(&check.name).cloned();
                    let problem = match &kept {
                        Some((old, _)) => format!(
                            "{problem}; still running {}@{}",
                            old.plugin.name, old.plugin.version
                        ),
                        None => problem,
                    };
                    tracing::warn!(
                        check = check.name,
                        plugin = plugin_id,
                        problem,
                        "Check not applied."
                    );
                    statuses.push(CheckStatus {
                        name: check.name.clone(),
                        plugin: plugin_id,
                        state,
                        problem: Some(problem),
                    });
                    if let Some(kept) = kept {
                        applied.insert(check.name.clone(), kept);
                    }
                }
            }
        }
        self.applied = applied;
        let _ = self.jobs.send(Arc::new(self.job_set()));
        // Compiled plugins nothing uses any more are let go.
        let in_use: std::collections::HashSet<&str> = self
            .applied
            .values()
            .map(|(c, _)| c.plugin.digest.as_str())
            .collect();
        self.compiled
            .retain(|digest, _| in_use.contains(digest.as_str()));
        let effective = DesiredState {
            version: state.version.clone(),
            checks: self.applied.values().map(|(c, _)| c.clone()).collect(),
            keys: state.keys.clone(),
            revoked_keys: state.revoked_keys.clone(),
        };
        if let Err(e) = save_last_known_good(&self.data_dir, &effective) {
            tracing::warn!(error = %format!("{e:#}"), "Saving the last-known-good configuration failed.");
        }
        ConfigStatus {
            version: state.version.clone(),
            applied_at: Utc::now(),
            source,
            checks: statuses,
        }
    }

    /// Local jobs (unless a server check has the same name) and the server's.
    fn job_set(&self) -> Vec<Job> {
        let mut jobs: Vec<Job> = self
            .local_jobs
            .iter()
            .filter(|j| {
                let shadowed = self.applied.contains_key(&*j.request.check);
                if shadowed {
                    tracing::warn!(check = %j.request.check, "A server check has the name of a local check: the server's runs.");
                }
                !shadowed
            })
            .cloned()
            .collect();
        jobs.extend(self.applied.values().flat_map(|(_, j)| j.iter().cloned()));
        jobs
    }

    /// The keys this agent trusts for `state` (see [`agent_trust`]).
    fn trust(&self, state: &DesiredState) -> TrustStore {
        let pinned = self.credential.roots().unwrap_or_else(|e| {
            tracing::error!(error = %format!("{e:#}"), "A pinned root key is damaged; no pinned root is trusted.");
            Vec::new()
        });
        agent_trust(&self.local_trust, &pinned, state)
    }

    /// Fetches, verifies and compiles the check's package, and builds its jobs.
    async fn prepare(
        &mut self,
        check: &DesiredCheck,
        trust: &TrustStore,
        client: Option<&mut ServerClient>,
    ) -> Result<Vec<Job>, Refusal> {
        let plugin = match self.compiled.get(&check.plugin.digest) {
            Some(plugin) => plugin.clone(),
            None => {
                let package = self.package(&check.plugin, client).await?;
                let verified = VerifiedPlugin::verify(package, trust)
                    .map_err(|e| (CheckState::Refused, format!("package refused: {e}")))?;
                let host = self.host.clone();
                let plugin = tokio::task::spawn_blocking(move || verified.compile(&host))
                    .await
                    .map_err(|e| (CheckState::Failed, format!("compiling: {e}")))?
                    .map_err(|e| (CheckState::Failed, format!("compiling: {e:#}")))?;
                let plugin = Arc::new(plugin);
                self.compiled
                    .insert(check.plugin.digest.clone(), plugin.clone());
                plugin
            }
        };
        self.jobs_for(check, plugin)
            .map_err(|problem| (CheckState::Failed, problem))
    }

    /// The package a pin names: from the cache, or downloaded and cached.
    /// Anything that does not match the pin exactly is refused.
    async fn package(
        &self,
        pin: &PluginPin,
        client: Option<&mut ServerClient>,
    ) -> Result<Package, Refusal> {
        let refused = |why: String| (CheckState::Refused, why);
        if pin.sha256.len() != 64 || !pin.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(refused(format!("`{}` is not a sha256", pin.sha256)));
        }
        let cache = self.data_dir.join("packages");
        let path = cache.join(format!("{}.vpkg", pin.sha256.to_ascii_lowercase()));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) if hex::encode(Sha256::digest(&bytes)) == pin.sha256 => bytes,
            _ => {
                let Some(client) = client else {
                    return Err((
                        CheckState::Failed,
                        "the package is not cached and the server is unreachable".into(),
                    ));
                };
                let bytes = download(client, pin).await.map_err(|e| {
                    (
                        CheckState::Failed,
                        format!("downloading the package: {e:#}"),
                    )
                })?;
                if hex::encode(Sha256::digest(&bytes)) != pin.sha256.to_ascii_lowercase() {
                    return Err(refused(
                        "the downloaded package does not match its sha256".into(),
                    ));
                }
                if let Err(e) = write_atomically(&cache, &path, &bytes) {
                    tracing::warn!(error = %format!("{e:#}"), "Caching a package failed.");
                }
                bytes
            }
        };
        let package =
            Package::from_bytes(&bytes).map_err(|e| refused(format!("not a package: {e}")))?;
        let manifest = package.manifest();
        if package.digest().to_string() != pin.digest
            || manifest.name != pin.name
            || manifest.version != pin.version
        {
            return Err(refused(format!(
                "the package is {} (digest {}), not the {}@{} (digest {}) the server named",
                manifest.id(),
                package.digest(),
                pin.name,
                pin.version,
                pin.digest
            )));
        }
        Ok(package)
    }

    /// One job per target, checked like a local `[[check]]`.
    fn jobs_for(
        &self,
        check: &DesiredCheck,
        plugin: Arc<CompiledPlugin>,
    ) -> Result<Vec<Job>, String> {
        let manifest = plugin.manifest();
        if let Some(extra) = check
            .grants
            .iter()
            .find(|g| !manifest.capabilities.contains(g))
        {
            return Err(format!(
                "`{extra}` is granted but {} does not request it",
                manifest.id()
            ));
        }
        manifest
            .validate_config(&check.config)
            .map_err(|problems| format!("config: {}", problems.join("; ")))?;
        let interval = Duration::from_millis(check.interval_ms);
        if interval < Duration::from_millis(100) {
            return Err(format!("interval {interval:?} is below 100ms"));
        }
        let timeout = Duration::from_millis(check.timeout_ms.max(1));
        let limits = Limits {
            memory_bytes: (self.limits.memory_mib as usize) << 20,
            output_bytes: (self.limits.output_kib as usize) << 10,
            host_calls: self.limits.host_calls,
            log_lines: self.limits.log_lines,
        };
        let name: Arc<str> = check.name.as_str().into();
        let config: Arc<str> = check.config.to_string().into();
        check
            .targets
            .iter()
            .map(|t| {
                let scope =
                    Scope::new(&t.target, &check.allow).map_err(|e| format!("allow: {e}"))?;
                Ok(Job {
                    plugin: plugin.clone(),
                    request: RunRequest {
                        check: name.clone(),
                        target: t.target.clone(),
                        config: config.clone(),
                        timeout,
                        grants: check.grants.clone(),
                        scope: Arc::new(scope),
                        limits,
                    },
                    interval,
                    jitter: (interval / 10).min(Duration::from_secs(1)),
                })
            })
            .collect()
    }
}

/// The keys an agent trusts for `state`: its local `[trust]` keys and its
/// pinned roots, plus each publisher key that one of *those* endorsed; minus
/// every revocation, local or from the server. A root the server names is
/// trusted only if it is pinned or local.
pub fn agent_trust(local: &TrustStore, pinned: &[PublicKey], state: &DesiredState) -> TrustStore {
    let mut trust = local.clone();
    let mut roots: Vec<PublicKey> = trust.keys().cloned().collect();
    roots.extend(pinned.iter().cloned());
    for root in &roots {
        trust.add(root.clone());
    }
    for key in state.keys.iter().filter(|k| !k.root) {
        let (Some(endorsement), Ok(public)) = (&key.endorsement, public_key(key)) else {
            continue;
        };
        if roots.iter().any(|root| endorsement.verify(&public, root)) {
            trust.add(public);
        } else {
            tracing::debug!(key = %key.key_id, "A publisher key no trusted root endorsed is not trusted.");
        }
    }
    for key in state.keys.iter().filter(|k| k.revoked_at.is_some()) {
        trust.revoke(key.key_id.clone());
    }
    for id in &state.revoked_keys {
        trust.revoke(id.clone());
    }
    trust
}

async fn download(client: &mut ServerClient, pin: &PluginPin) -> anyhow::Result<Vec<u8>> {
    let size = usize::try_from(pin.size.min(MAX_COMPONENT_BYTES + (4 << 20))).unwrap_or(usize::MAX);
    let reply = client
        .get(
            &format!("{BLOB_PATH}{}", pin.sha256),
            None,
            size.max(1),
            Duration::from_secs(300),
        )
        .await?;
    anyhow::ensure!(reply.status == 200, "{}", reply.problem_text());
    Ok(reply.body.to_vec())
}

/// Whether some check of the state is not running as asked.
fn incomplete(status: &ConfigStatus) -> bool {
    status.checks.iter().any(|c| c.state != CheckState::Running)
}

/// When to apply an incomplete state again: 5 s, 10 s, 20 s… at most 5 min.
fn retry_after(retries: u32) -> tokio::time::Instant {
    let wait = Duration::from_secs(5) * 2u32.saturating_pow(retries.min(6));
    tokio::time::Instant::now() + wait.min(Duration::from_secs(300))
}

fn log_status(status: &ConfigStatus) {
    let running = status
        .checks
        .iter()
        .filter(|c| c.state == CheckState::Running)
        .count();
    tracing::info!(
        version = status.version,
        source = ?status.source,
        running,
        not_running = status.checks.len() - running,
        "Configuration applied."
    );
}

/// The persisted last-known-good state, if there is one.
pub fn load_last_known_good(data_dir: &Path) -> anyhow::Result<Option<DesiredState>> {
    let path = data_dir.join(DESIRED_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn save_last_known_good(data_dir: &Path, state: &DesiredState) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec_pretty(state)?;
    write_atomically(data_dir, &data_dir.join(DESIRED_FILE), &bytes)
}

/// Writes `path` through a temporary file, fsynced and renamed.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use vantage_protocol::config::PublisherKey;
    use vantage_protocol::keys::SigningKeyPair;
    use vantage_protocol::manifest::Manifest;

    use super::*;

    fn registry_key(pair: &SigningKeyPair, root: Option<&SigningKeyPair>) -> PublisherKey {
        PublisherKey {
            key_id: pair.public().id(),
            name: pair.name.clone(),
            public_key: pair.public().to_base64(),
            root: root.is_none(),
            endorsement: root.map(|r| r.endorse(&pair.public())),
            created_at: Utc::now(),
            revoked_at: None,
        }
    }

    fn signed_by(pair: &SigningKeyPair) -> Package {
        let manifest = Manifest::from_json(
            br#"{"name": "t", "version": "1.0.0", "description": "t", "capabilities": [],
                 "config_schema": {"type": "object"}, "metrics": []}"#,
        )
        .unwrap();
        let mut package = Package::new(manifest, b"\0asm\x0d\0\x01\0".to_vec()).unwrap();
        package.sign(pair);
        package
    }

    fn state(keys: Vec<PublisherKey>, revoked: Vec<vantage_protocol::keys::KeyId>) -> DesiredState {
        DesiredState {
            version: "v".into(),
            checks: Vec::new(),
            keys,
            revoked_keys: revoked,
        }
    }

    #[test]
    fn only_keys_a_pinned_root_endorsed_are_trusted() {
        let pinned = SigningKeyPair::from_seed("pinned", [1; 32]);
        let team = SigningKeyPair::from_seed("team", [2; 32]);
        let rogue_root = SigningKeyPair::from_seed("rogue", [3; 32]);
        let rogue = SigningKeyPair::from_seed("rogue-team", [4; 32]);
        let s = state(
            vec![
                registry_key(&pinned, None),
                registry_key(&team, Some(&pinned)),
                // The server names a root of its own and a key it endorsed.
                registry_key(&rogue_root, None),
                registry_key(&rogue, Some(&rogue_root)),
            ],
            Vec::new(),
        );
        let trust = agent_trust(&TrustStore::new(), &[pinned.public()], &s);
        assert!(trust.verify(&signed_by(&pinned)).is_ok());
        assert!(trust.verify(&signed_by(&team)).is_ok());
        assert!(trust.verify(&signed_by(&rogue_root)).is_err());
        assert!(trust.verify(&signed_by(&rogue)).is_err());

        // A forged endorsement (the key renamed after signing) is ignored.
        let mut forged = registry_key(&rogue, Some(&pinned));
        forged.name = "someone-else".into();
        let trust = agent_trust(
            &TrustStore::new(),
            &[pinned.public()],
            &state(vec![forged], Vec::new()),
        );
        assert!(trust.verify(&signed_by(&rogue)).is_err());

        // Revocations from the server always narrow trust, roots included.
        let s = state(
            vec![registry_key(&team, Some(&pinned))],
            vec![team.public().id()],
        );
        let trust = agent_trust(&TrustStore::new(), &[pinned.public()], &s);
        assert!(trust.verify(&signed_by(&team)).is_err());
        let s = state(Vec::new(), vec![pinned.public().id()]);
        let trust = agent_trust(&TrustStore::new(), &[pinned.public()], &s);
        assert!(trust.verify(&signed_by(&pinned)).is_err());

        // Local [trust] keys are roots too.
        let mut local = TrustStore::new();
        local.add(rogue_root.public());
        let s = state(vec![registry_key(&rogue, Some(&rogue_root))], Vec::new());
        assert!(
            agent_trust(&local, &[], &s)
                .verify(&signed_by(&rogue))
                .is_ok()
        );
    }
}

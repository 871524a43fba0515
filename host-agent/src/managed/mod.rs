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
//!
//! The parts: `poll` follows the server, `apply` turns a desired state into
//! jobs (through the job builder `crate::jobs` that local checks use too),
//! `packages` fetches and caches the packages, `trust` decides which keys
//! sign for this agent, `last_known_good` keeps the state across
//! restarts; `statement` holds the registry's newest signed statement and
//! `floors` the versions each plugin ran, below which a server alone
//! cannot send the agent back; `owners` which keys a plugin name belongs to;
//! `update` hands the desired state's update offer to [`crate::update`].

mod apply;
mod floors;
mod last_known_good;
mod owners;
mod packages;
mod poll;
mod revoked;
mod statement;
mod trust;
mod update;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use vantage_protocol::config::{CheckState, ConfigSource, DesiredCheck};
use vantage_protocol::keys::{KeyId, PublicKey};
use vantage_protocol::package::TrustStore;

use crate::config::{LimitsSection, ServerSection};
use crate::enroll::Credential;
use crate::host::PluginHost;
use crate::plugin::CompiledPlugin;
use crate::scheduler::Job;
use crate::uplink::client::ServerClient;
pub use last_known_good::load_last_known_good;
use poll::log_status;
pub use trust::agent_trust;
pub use update::Updates;

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
    /// The roots pinned at enrollment.
    roots: Vec<PublicKey>,
    /// Every key this agent has seen revoked: only grows, kept on disk.
    revoked: BTreeSet<KeyId>,
    /// The newest registry statement a pinned root signed, kept on disk.
    statement: statement::Held,
    /// The versions each plugin ran, kept on disk.
    floors: floors::Floors,
    /// Which keys each plugin name belongs to, kept on disk.
    owners: owners::Owners,
    jobs: watch::Sender<Arc<Vec<Job>>>,
    updates: Updates,
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
        updates: Updates,
    ) -> Remote {
        let revoked = revoked::load(&data_dir).unwrap_or_else(|e| {
            tracing::error!(error = %format!("{e:#}"), "The stored revocations are unreadable: starting from the server's alone.");
            BTreeSet::new()
        });
        // Parsed once: the credential does not change while the agent runs.
        let roots = credential.roots().unwrap_or_else(|e| {
            tracing::error!(error = %format!("{e:#}"), "A pinned root key is damaged; no pinned root is trusted.");
            Vec::new()
        });
        let statement = statement::Held::load(&data_dir, &roots).unwrap_or_else(|e| {
            tracing::error!(error = %format!("{e:#}"), "The stored registry statement is unusable: waiting for the server's.");
            statement::Held::empty(&data_dir)
        });
        let floors = floors::Floors::load(&data_dir).unwrap_or_else(|e| {
            tracing::error!(error = %format!("{e:#}"), "The stored version floors are unreadable: starting afresh.");
            floors::Floors::empty(&data_dir)
        });
        let owners = owners::Owners::load(&data_dir).unwrap_or_else(|e| {
            tracing::error!(error = %format!("{e:#}"), "The stored name owners are unreadable: starting afresh.");
            owners::Owners::empty(&data_dir)
        });
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
            roots,
            revoked,
            statement,
            floors,
            owners,
            jobs,
            updates,
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
}

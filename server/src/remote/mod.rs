//! Remote configuration on the server: which publisher keys the registry
//! trusts ([`trust`]), how a check resolves to a package ([`resolve`]),
//! what each agent should run ([`desired`]), and the checks an operator
//! saves ([`validate`]).
//!
//! Handlers that change anything a desired state depends on call
//! [`Changes::bump`], which wakes the agents long-polling this replica;
//! those waiting also look again every second, for changes made through
//! other replicas.

pub mod desired;
pub mod resolve;
pub mod rollout;
pub mod trust;
pub mod validate;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, watch};
use uuid::Uuid;
use vantage_protocol::config::{CheckView, DesiredState, DesiredTarget, PublisherKey};

use self::desired::ResolvedCheck;
use crate::secrets::Sealer;
use crate::store::{
    AgentRow, AgentStore as _, CheckRow, CheckStore as _, PackageRow, RegistryStore as _, Store,
    StoreResult,
};
use vantage_protocol::secrets::REDACTED;
use vantage_protocol::statement::RegistryStatement;

/// How long a [`Snapshot`] serves long polls before it is read again.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Everything desired states are computed from, read together.
#[derive(Debug)]
pub struct Snapshot {
    pub agents: Vec<AgentRow>,
    pub keys: Vec<PublisherKey>,
    pub packages: Vec<PackageRow>,
    pub checks: Vec<ResolvedCheck>,
    /// The registry's newest statement, which every agent gets.
    pub statement: Option<RegistryStatement>,
    /// The active rollout: the agents it asked get its offer.
    pub active: rollout::Active,
    /// Where each agent is in `agents`.
    by_id: HashMap<Uuid, usize>,
}

/// A check the server gives an agent, as far as its results are judged.
pub struct Assignment<'a> {
    pub check: &'a str,
    pub targets: Vec<DesiredTarget>,
    pub interval_ms: u64,
}

/// A stored check with its secrets opened, and how it resolves; a check
/// whose secrets do not open resolves to nothing, saying why.
fn open_and_resolve(
    row: CheckRow,
    packages: &[PackageRow],
    trusted: &std::collections::BTreeSet<vantage_protocol::keys::KeyId>,
    sealer: &Sealer,
) -> ResolvedCheck {
    let mut opened = row.clone();
    match sealer.open_spec(&mut opened.spec) {
        Ok(()) => ResolvedCheck {
            resolution: resolve::resolve(&opened.spec, &opened.reviewed, packages, trusted),
            row: opened,
        },
        Err(e) => ResolvedCheck {
            resolution: resolve::Resolution::none(format!("its secret configuration: {e}")),
            row,
        },
    }
}

impl Snapshot {
    pub async fn load(store: &Store, sealer: &Sealer) -> StoreResult<Snapshot> {
        let agents = store.agents(None, u32::MAX).await?;
        let keys = store.keys().await?;
        let packages = store.packages(None).await?;
        let checks = store.checks().await?;
        // A damaged row is left out (the agents hold to what they have).
        let statement = match store.latest_statement().await? {
            Some(text) => serde_json::from_str(&text)
                .inspect_err(|e| tracing::error!(error = %e, "The stored registry statement is damaged; agents are not sent one."))
                .ok(),
            None => None,
        };
        let trusted = trust::trusted_ids(&keys);
        let checks = checks
            .into_iter()
            .map(|row| open_and_resolve(row, &packages, &trusted, sealer))
            .collect();
        let active = rollout::Active::load(store, &keys).await?;
        let by_id = agents.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
        Ok(Snapshot {
            by_id,
            agents,
            keys,
            packages,
            active,
            checks,
            statement,
        })
    }

    /// An agent's desired state as people see it: secrets `[redacted]`
    /// (only the agent itself gets them, from [`desired`](Self::desired)).
    pub fn shown(&self, agent_id: Uuid) -> Option<DesiredState> {
        let mut state = self.desired(agent_id)?;
        for check in &mut state.checks {
            let schema = self
                .packages
                .iter()
                .find(|p| p.digest == check.plugin.digest)
                .map(|p| &p.manifest.config_schema);
            match schema {
                Some(schema) => vantage_protocol::secrets::for_each_secret(
                    schema,
                    &mut check.config,
                    &mut |_, value| *value = serde_json::Value::String(REDACTED.into()),
                ),
                // Without its schema nothing tells which values are secret.
                None => check.config = serde_json::json!({}),
            }
        }
        Some(state)
    }

    fn agent(&self, agent_id: Uuid) -> Option<&AgentRow> {
        self.by_id.get(&agent_id).map(|&i| &self.agents[i])
    }

    /// The checks an agent runs, with their targets and intervals: what of
    /// its desired state judges its results, without the rest (no config,
    /// no keys, no digest).
    pub fn assignments(&self, agent_id: Uuid) -> Option<Vec<Assignment<'_>>> {
        let agent = self.agent(agent_id)?;
        Some(
            self.checks
                .iter()
                .filter_map(|c| {
                    Some(Assignment {
                        check: &c.row.spec.name,
                        targets: desired::assigned_targets(agent, &self.agents, c)?,
                        interval_ms: c.row.spec.interval.as_millis() as u64,
                    })
                })
                .collect(),
        )
    }

    /// The desired state of an agent, if it exists.
    pub fn desired(&self, agent_id: Uuid) -> Option<DesiredState> {
        let agent = self.agent(agent_id)?;
        Some(desired::desired_state(
            agent,
            &self.agents,
            &self.checks,
            &self.keys,
            self.statement.as_ref(),
            self.active.offer_for(agent_id),
        ))
    }
}

/// A check as the API shows it, with how it resolves against `packages`.
/// Its secrets are shown as `[redacted]`.
pub fn check_view(
    row: CheckRow,
    packages: &[PackageRow],
    keys: &[PublisherKey],
    sealer: &Sealer,
) -> CheckView {
    let mut spec = row.spec.clone();
    crate::secrets::redact_spec(&mut spec);
    let (revision, updated_at, reviewed) = (row.revision, row.updated_at, row.reviewed.clone());
    let r = open_and_resolve(row, packages, &trust::trusted_ids(keys), sealer).resolution;
    CheckView {
        spec,
        revision,
        updated_at,
        reviewed,
        resolved: r.resolved.map(|p| p.pin()),
        unresolved: r.unresolved,
        pending_upgrade: r.pending_upgrade,
    }
}

struct Cached {
    generation: u64,
    at: Instant,
    snapshot: Arc<Snapshot>,
}

/// Changes to what desired states are made of, as this replica sees them,
/// and the snapshot long polls share.
pub struct Changes {
    generation: watch::Sender<u64>,
    closing: AtomicBool,
    cached: Mutex<Option<Cached>>,
    /// The other replicas, once connected.
    outward: std::sync::OnceLock<Arc<crate::fanout::Fanout>>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes")
            .field("generation", &*self.generation.borrow())
            .field("closing", &self.closing.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            generation: watch::Sender::new(0),
            closing: AtomicBool::new(false),
            cached: Mutex::new(None),
            outward: std::sync::OnceLock::new(),
        }
    }
}

impl Changes {
    /// Something desired states depend on changed: wake the long polls,
    /// here and on the other replicas.
    pub fn bump(&self) {
        self.bump_here();
        if let Some(fanout) = self.outward.get() {
            fanout.send(crate::fanout::Notice::Changes);
        }
    }

    /// Wakes this replica's long polls only (another replica's change).
    pub fn bump_here(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// Tells the other replicas too, from now on.
    pub fn fan_out(&self, fanout: Arc<crate::fanout::Fanout>) {
        let _ = self.outward.set(fanout);
    }

    /// Resolves when [`bump`](Self::bump) is next called.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// The server is stopping: long polls answer at once.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.bump_here();
    }

    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// The shared snapshot: read again after a bump, or when older than
    /// [`RECHECK`] (other replicas' changes). Polls woken together wait
    /// for one read.
    pub async fn snapshot(&self, store: &Store, sealer: &Sealer) -> StoreResult<Arc<Snapshot>> {
        let mut cached = self.cached.lock().await;
        let generation = *self.generation.borrow();
        if let Some(c) = cached.as_ref()
            && c.generation == generation
            && c.at.elapsed() < RECHECK
        {
            return Ok(c.snapshot.clone());
        }
        let at = Instant::now();
        let snapshot = Arc::new(Snapshot::load(store, sealer).await?);
        *cached = Some(Cached {
            generation,
            at,
            snapshot: snapshot.clone(),
        });
        Ok(snapshot)
    }
}

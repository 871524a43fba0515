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
pub mod trust;
pub mod validate;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, watch};
use uuid::Uuid;
use vantage_protocol::config::{CheckView, DesiredState, PublisherKey};

use self::desired::ResolvedCheck;
use crate::store::{
    AgentRow, AgentStore as _, CheckRow, CheckStore as _, PackageRow, RegistryStore as _, Store,
    StoreResult,
};

/// How long a [`Snapshot`] serves long polls before it is read again.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Everything desired states are computed from, read together.
#[derive(Debug)]
pub struct Snapshot {
    pub agents: Vec<AgentRow>,
    pub keys: Vec<PublisherKey>,
    pub packages: Vec<PackageRow>,
    pub checks: Vec<ResolvedCheck>,
}

impl Snapshot {
    pub async fn load(store: &Store) -> StoreResult<Snapshot> {
        let agents = store.agents(None, u32::MAX).await?;
        let keys = store.keys().await?;
        let packages = store.packages(None).await?;
        let checks = store.checks().await?;
        let trusted = trust::trusted_ids(&keys);
        let checks = checks
            .into_iter()
            .map(|row| ResolvedCheck {
                resolution: resolve::resolve(&row.spec, &row.reviewed, &packages, &trusted),
                row,
            })
            .collect();
        Ok(Snapshot {
            agents,
            keys,
            packages,
            checks,
        })
    }

    /// The desired state of an agent, if it exists.
    pub fn desired(&self, agent_id: Uuid) -> Option<DesiredState> {
        let agent = self.agents.iter().find(|a| a.id == agent_id)?;
        Some(desired::desired_state(
            agent,
            &self.agents,
            &self.checks,
            &self.keys,
        ))
    }
}

/// A check as the API shows it, with how it resolves against `packages`.
pub fn check_view(row: CheckRow, packages: &[PackageRow], keys: &[PublisherKey]) -> CheckView {
    let r = resolve::resolve(
        &row.spec,
        &row.reviewed,
        packages,
        &trust::trusted_ids(keys),
    );
    CheckView {
        spec: row.spec,
        revision: row.revision,
        updated_at: row.updated_at,
        reviewed: row.reviewed,
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
        }
    }
}

impl Changes {
    /// Something desired states depend on changed: wake the long polls.
    pub fn bump(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// Resolves when [`bump`](Self::bump) is next called.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// The server is stopping: long polls answer at once.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.bump();
    }

    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// The shared snapshot: read again after a bump, or when older than
    /// [`RECHECK`] (other replicas' changes). Polls woken together wait
    /// for one read.
    pub async fn snapshot(&self, store: &Store) -> StoreResult<Arc<Snapshot>> {
        let mut cached = self.cached.lock().await;
        let generation = *self.generation.borrow();
        if let Some(c) = cached.as_ref()
            && c.generation == generation
            && c.at.elapsed() < RECHECK
        {
            return Ok(c.snapshot.clone());
        }
        let at = Instant::now();
        let snapshot = Arc::new(Snapshot::load(store).await?);
        *cached = Some(Cached {
            generation,
            at,
            snapshot: snapshot.clone(),
        });
        Ok(snapshot)
    }
}

//! Rollouts and the agents their waves asked to update.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::{RolloutSpec, RolloutState, UpdateStep};

use super::dispatch::store_trait;
use super::types::StoreResult;

/// A rollout as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutRow {
    pub id: Uuid,
    pub spec: RolloutSpec,
    pub state: RolloutState,
    /// The index of the wave out now.
    pub wave: usize,
    /// When every agent of the current wave was healthy.
    pub settled_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// Grows with each change; a change names the one it read.
    pub revision: u64,
    pub created_at: DateTime<Utc>,
    pub created_by: Uuid,
    pub updated_at: DateTime<Utc>,
}

impl RolloutRow {
    /// A new rollout, running its first wave.
    pub fn start(spec: RolloutSpec, created_by: Uuid, now: DateTime<Utc>) -> RolloutRow {
        RolloutRow {
            id: Uuid::now_v7(),
            spec,
            state: RolloutState::Running,
            wave: 0,
            settled_at: None,
            reason: None,
            revision: 1,
            created_at: now,
            created_by,
            updated_at: now,
        }
    }
}

/// An agent a wave asked to update, and what it reported.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutAgentRow {
    pub agent_id: Uuid,
    pub wave: usize,
    pub step: Option<UpdateStep>,
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The name of a step, as stored.
pub(super) fn step_name(step: UpdateStep) -> &'static str {
    match step {
        UpdateStep::Staging => "staging",
        UpdateStep::Trial => "trial",
        UpdateStep::Healthy => "healthy",
        UpdateStep::RolledBack => "rolled_back",
        UpdateStep::Refused => "refused",
        UpdateStep::Deferred => "deferred",
    }
}

/// The step of a stored name.
pub(super) fn step_of(name: &str) -> Option<UpdateStep> {
    [
        UpdateStep::Staging,
        UpdateStep::Trial,
        UpdateStep::Healthy,
        UpdateStep::RolledBack,
        UpdateStep::Refused,
        UpdateStep::Deferred,
    ]
    .into_iter()
    .find(|s| step_name(*s) == name)
}

store_trait! {
    /// Rollouts of agent versions.
    pub trait RolloutStore {
        /// Stores a new rollout; false when another one is active.
        async fn insert_rollout(&self, rollout: &RolloutRow) -> StoreResult<bool>;
        /// Every rollout, newest first.
        async fn rollouts(&self) -> StoreResult<Vec<RolloutRow>>;
        /// Replaces a rollout's state, wave, settled time and reason when
        /// its revision is still `rollout.revision - 1`; true when replaced.
        async fn update_rollout(&self, rollout: &RolloutRow) -> StoreResult<bool>;
        /// Adds agents to a wave (an agent asked already stays in its own).
        async fn assign_agents(
            &self,
            rollout: Uuid,
            wave: usize,
            agents: &[Uuid],
            now: DateTime<Utc>
        ) -> StoreResult<u64>;
        /// The agents a rollout asked, by wave.
        async fn rollout_agents(&self, rollout: Uuid) -> StoreResult<Vec<RolloutAgentRow>>;
        /// Records what an agent reported; false when the rollout did not ask it.
        async fn record_update(
            &self,
            rollout: Uuid,
            agent: Uuid,
            step: UpdateStep,
            reason: Option<&str>,
            now: DateTime<Utc>
        ) -> StoreResult<bool>;
    }
}

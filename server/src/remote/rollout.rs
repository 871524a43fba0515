//! Rollouts on the server: which agents each wave asks, when the next wave
//! starts, when the rollout halts itself, and the offer an asked agent
//! finds in its desired state. [`advance`] runs in the jobs round and after
//! every update report, on any replica: its changes are compare-and-set.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::{
    PublisherKey, RolloutAgent, RolloutState, RolloutView, UpdateOffer, UpdateStep,
};
use vantage_protocol::keys::KeyRole;

use super::trust;
use crate::store::{
    AgentRow, AgentStore as _, ReleaseRow, ReleaseStore as _, RolloutAgentRow, RolloutRow,
    RolloutStore as _, Store, StoreResult,
};

/// The active rollout, what it asked, and what an offer carries.
#[derive(Debug, Clone, Default)]
pub struct Active {
    asked: HashMap<Uuid, RolloutAgentRow>,
    offer: Option<UpdateOffer>,
}

impl Active {
    /// Reads the active rollout, if any.
    pub async fn load(store: &Store, keys: &[PublisherKey]) -> StoreResult<Active> {
        let Some(rollout) = store
            .rollouts()
            .await?
            .into_iter()
            .find(|r| r.state.active())
        else {
            return Ok(Active::default());
        };
        let asked = store
            .rollout_agents(rollout.id)
            .await?
            .into_iter()
            .map(|a| (a.agent_id, a))
            .collect();
        let releases = store.releases().await?;
        let offer = offer(&rollout, &releases, keys);
        Ok(Active { asked, offer })
    }

    /// The offer for `agent`: it was asked and has not failed.
    pub fn offer_for(&self, agent: Uuid) -> Option<&UpdateOffer> {
        let asked = self.asked.get(&agent)?;
        if asked.step.is_some_and(UpdateStep::failed) {
            return None;
        }
        self.offer.as_ref()
    }
}

/// The manifests of the rollout's version, not yanked, and the keys
/// endorsed for releases.
fn offer(
    rollout: &RolloutRow,
    releases: &[ReleaseRow],
    keys: &[PublisherKey],
) -> Option<UpdateOffer> {
    let manifests: Vec<_> = releases
        .iter()
        .filter(|r| r.body.version == rollout.spec.version && r.yanked_at.is_none())
        .map(|r| r.manifest.clone())
        .collect();
    if manifests.is_empty() {
        return None;
    }
    let mut signers: Vec<PublisherKey> = trust::trusted_for(keys, KeyRole::Releases)
        .into_iter()
        .filter(|k| !k.root)
        .cloned()
        .collect();
    signers.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    Some(UpdateOffer {
        version: rollout.spec.version.clone(),
        releases: manifests,
        signers,
    })
}

/// The agents a rollout of `group` covers: online since `since` (see
/// [`AgentRow::online`]), in the group, by name.
pub fn eligible(agents: &[AgentRow], group: Option<&str>, since: DateTime<Utc>) -> Vec<Uuid> {
    let mut chosen: Vec<&AgentRow> = agents
        .iter()
        .filter(|a| a.online(since))
        .filter(|a| group.is_none_or(|g| a.groups.iter().any(|x| x == g)))
        .collect();
    chosen.sort_by(|a, b| a.name.cmp(&b.name));
    chosen.into_iter().map(|a| a.id).collect()
}

/// What the next step of a running rollout is.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing to do yet.
    Wait,
    /// Past the failure budget.
    Halt(String),
    /// Every agent of the wave is healthy: its wait starts now.
    Settle,
    /// Start wave `wave`, asking these agents.
    Next { wave: usize, ask: Vec<Uuid> },
    /// The last wave settled and waited.
    Done,
}

/// What the agents' reports alone decide: a halt past the failure budget,
/// or a wait while an agent asked is still on its way (staging, on trial,
/// deferred). `None` when the fleet's versions are needed to go on.
pub fn by_reports(rollout: &RolloutRow, asked: &[RolloutAgentRow]) -> Option<Decision> {
    let failed: Vec<&RolloutAgentRow> = asked
        .iter()
        .filter(|a| a.step.is_some_and(UpdateStep::failed))
        .collect();
    let allowed = rollout.spec.max_failures_percent / 100.0 * asked.len() as f64;
    if !failed.is_empty() && failed.len() as f64 > allowed {
        let first = failed[0].reason.as_deref().unwrap_or("no reason given");
        return Some(Decision::Halt(format!(
            "{} of {} agents asked failed, more than the {}% allowed; first: {first}",
            failed.len(),
            asked.len(),
            rollout.spec.max_failures_percent
        )));
    }
    let on_its_way = asked.iter().any(|a| {
        a.step
            .is_some_and(|s| s != UpdateStep::Healthy && !s.failed())
    });
    on_its_way.then_some(Decision::Wait)
}

/// Decides a running rollout's next step from what its agents reported
/// and the versions `agents` run.
pub fn decide(
    rollout: &RolloutRow,
    asked: &[RolloutAgentRow],
    agents: &[AgentRow],
    eligible: &[Uuid],
    now: DateTime<Utc>,
) -> Decision {
    if let Some(decision) = by_reports(rollout, asked) {
        return decision;
    }
    let version = rollout.spec.version.to_string();
    let running: HashMap<Uuid, &str> = agents
        .iter()
        .map(|a| (a.id, a.info.version.as_str()))
        .collect();
    // An agent that reported goes by its report; one that never did (it ran
    // the version already) by the version its heartbeats name.
    let healthy = |a: &RolloutAgentRow| match a.step {
        Some(step) => step == UpdateStep::Healthy,
        None => running.get(&a.agent_id) == Some(&version.as_str()),
    };
    let settled = asked
        .iter()
        .all(|a| healthy(a) || a.step.is_some_and(UpdateStep::failed));
    if !settled {
        return Decision::Wait;
    }
    let Some(since) = rollout.settled_at else {
        return Decision::Settle;
    };
    let wait = chrono::Duration::from_std(rollout.spec.wait).unwrap_or_default();
    if now < since + wait {
        return Decision::Wait;
    }
    let next = rollout.wave + 1;
    let Some(wave) = rollout.spec.waves.get(next) else {
        return Decision::Done;
    };
    let reach = wave.reach(eligible.len());
    let already: std::collections::HashSet<Uuid> = asked.iter().map(|a| a.agent_id).collect();
    let ask: Vec<Uuid> = eligible
        .iter()
        .filter(|id| !already.contains(id))
        .take(reach.saturating_sub(already.len()))
        .copied()
        .collect();
    Decision::Next { wave: next, ask }
}

/// Takes the active rollout as far as it goes now (settling a wave, then
/// starting the next when its wait is zero…), if it is running; true when
/// something changed.
pub async fn advance(
    store: &Store,
    online_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut changed = false;
    // Each step settles, starts a wave or ends: a few per wave at most.
    for _ in 0..(2 * vantage_protocol::config::MAX_WAVES + 2) {
        if !step(store, online_since, now).await? {
            break;
        }
        changed = true;
    }
    Ok(changed)
}

/// One step of the running rollout; false when there was none to take.
async fn step(store: &Store, online_since: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool> {
    let Some(rollout) = store
        .rollouts()
        .await?
        .into_iter()
        .find(|r| r.state == RolloutState::Running)
    else {
        return Ok(false);
    };
    let asked = store.rollout_agents(rollout.id).await?;
    // Most reports (staging, trial) decide nothing yet: the fleet is read
    // only when they do not.
    let decision = match by_reports(&rollout, &asked) {
        Some(decision) => decision,
        None => {
            let agents = store.agents(None, u32::MAX).await?;
            let eligible = eligible(&agents, rollout.spec.group.as_deref(), online_since);
            decide(&rollout, &asked, &agents, &eligible, now)
        }
    };
    let mut next = RolloutRow {
        revision: rollout.revision + 1,
        updated_at: now,
        ..rollout.clone()
    };
    match decision {
        Decision::Wait => return Ok(false),
        Decision::Halt(reason) => {
            tracing::warn!(rollout = %rollout.id, version = %rollout.spec.version, reason, "A rollout halted itself.");
            next.state = RolloutState::Halted;
            next.reason = Some(reason);
        }
        Decision::Settle => next.settled_at = Some(now),
        Decision::Done => {
            tracing::info!(rollout = %rollout.id, version = %rollout.spec.version, "A rollout is done.");
            next.state = RolloutState::Done;
        }
        Decision::Next { wave, ask } => {
            if !store
                .update_rollout(&RolloutRow {
                    wave,
                    settled_at: None,
                    ..next
                })
                .await?
            {
                return Ok(false);
            }
            store.assign_agents(rollout.id, wave, &ask, now).await?;
            tracing::info!(rollout = %rollout.id, version = %rollout.spec.version, wave, asked = ask.len(), "A rollout started its next wave.");
            return Ok(true);
        }
    }
    store.update_rollout(&next).await
}

/// A rollout as the API shows it.
pub async fn view(store: &Store, rollout: RolloutRow) -> StoreResult<RolloutView> {
    let asked = store.rollout_agents(rollout.id).await?;
    let agents: HashMap<Uuid, AgentRow> = store
        .agents(None, u32::MAX)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut shown: Vec<RolloutAgent> = asked
        .into_iter()
        .map(|a| {
            let agent = agents.get(&a.agent_id);
            RolloutAgent {
                agent_id: a.agent_id,
                name: agent.map(|x| x.name.clone()).unwrap_or_default(),
                wave: a.wave,
                running: agent.map(|x| x.info.version.clone()).unwrap_or_default(),
                step: a.step,
                reason: a.reason,
            }
        })
        .collect();
    shown.sort_by(|a, b| a.wave.cmp(&b.wave).then_with(|| a.name.cmp(&b.name)));
    Ok(RolloutView {
        id: rollout.id,
        spec: rollout.spec,
        state: rollout.state,
        wave: rollout.wave,
        reason: rollout.reason,
        created_at: rollout.created_at,
        updated_at: rollout.updated_at,
        agents: shown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(max_failures_percent: f64) -> RolloutRow {
        let spec: vantage_protocol::config::RolloutSpec = serde_json::from_value(
            serde_json::json!({"version": "1.1.0", "max_failures_percent": max_failures_percent}),
        )
        .unwrap();
        RolloutRow::start(spec, Uuid::now_v7(), Utc::now())
    }

    fn asked(steps: &[Option<UpdateStep>]) -> Vec<RolloutAgentRow> {
        steps
            .iter()
            .map(|step| RolloutAgentRow {
                agent_id: Uuid::now_v7(),
                wave: 0,
                step: *step,
                reason: step.filter(|s| s.failed()).map(|_| "it crashed".into()),
                updated_at: Utc::now(),
            })
            .collect()
    }

    #[test]
    fn reports_alone_halt_past_the_budget_and_wait_while_an_agent_is_on_its_way() {
        use UpdateStep::*;
        // One of four failed: over 0 %, within 25 %.
        let four = asked(&[Some(RolledBack), Some(Healthy), None, Some(Healthy)]);
        let halt = by_reports(&rollout(0.0), &four).unwrap();
        assert_eq!(
            halt,
            Decision::Halt(
                "1 of 4 agents asked failed, more than the 0% allowed; first: it crashed".into()
            )
        );
        assert_eq!(by_reports(&rollout(25.0), &four), None);
        // A halt comes before a wait.
        let busy = asked(&[Some(Refused), Some(Trial)]);
        assert!(matches!(
            by_reports(&rollout(0.0), &busy),
            Some(Decision::Halt(_))
        ));
        for step in [Staging, Trial, Deferred] {
            let one = asked(&[Some(Healthy), Some(step)]);
            assert_eq!(
                by_reports(&rollout(0.0), &one),
                Some(Decision::Wait),
                "{step:?}"
            );
        }
        // Healthy, or never reported: the fleet's versions decide.
        assert_eq!(
            by_reports(&rollout(0.0), &asked(&[Some(Healthy), None])),
            None
        );
    }
}

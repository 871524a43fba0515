//! Agents' own alerts (`agent_offline`): every replica's notifier sweeps
//! them every few seconds. An agent the rule places that has not been
//! heard from for the server's `offline_after` fires — its step dated
//! when it was last heard from, so what it measured from then on (sent
//! late, after the outage) is judged as measured by an offline agent —
//! and resolves when it is heard from again. Each move is made only if
//! the alert is still where this replica saw it, so replicas sweeping
//! together move it once.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::AlertState;

use super::book::RuleBook;
use crate::store::{AgentStep, AgentStore as _, DependStore as _, Store, StoreResult};

/// Agents read at a time.
const PAGE: u32 = 1000;

/// Judges every agent an `agent_offline` rule places. Returns how many
/// alerts moved.
pub async fn sweep(
    store: &Store,
    book: &RuleBook,
    offline_after: Duration,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let rules = book.rules(store).await?;
    let watching: Vec<_> = rules
        .iter()
        .filter(|r| r.spec.condition.is_agent_offline())
        .collect();
    if watching.is_empty() {
        return Ok(0);
    }
    let names: Vec<String> = watching.iter().map(|r| r.spec.name.clone()).collect();
    let known: HashMap<(String, Uuid), AlertState> = store
        .agent_alerts(&names)
        .await?
        .into_iter()
        .map(|a| ((a.rule, a.agent_id), a.state))
        .collect();
    let cutoff = now - chrono::Duration::from_std(offline_after).unwrap_or_default();
    let mut moved = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store.agents(after.as_deref(), PAGE).await?;
        for agent in &page {
            let seen = agent.last_seen_at.unwrap_or(agent.enrolled_at);
            // A revoked agent is not waited for.
            let silent = agent.revoked_at.is_none() && seen < cutoff;
            for rule in watching
                .iter()
                .filter(|r| r.places(&agent.groups, &agent.labels))
            {
                let from = known.get(&(rule.spec.name.clone(), agent.id)).copied();
                let to = match (from, silent) {
                    (None | Some(AlertState::Ok), true) => AlertState::Firing,
                    (None, false) | (Some(AlertState::Firing), false) => AlertState::Ok,
                    _ => continue,
                };
                let step = AgentStep {
                    rule: &rule.spec.name,
                    agent_id: agent.id,
                    agent: &agent.name,
                    from,
                    to,
                    at: seen,
                };
                if store.step_agent_alert(&step).await? && from.unwrap_or(AlertState::Ok) != to {
                    moved += 1;
                }
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.name.clone()),
            _ => break,
        }
    }
    Ok(moved)
}

//! Reminders (`repeat_interval`, a rule's or a route's): every replica's
//! notifier looks, every few seconds, for firing alerts that told nothing
//! for an interval one of their channels repeats at, and appends a
//! reminder step (firing, told again, for that interval) that goes
//! through the outbox like any other, to the channels of that interval
//! only (`outbox`). The store appends it only if the alert still fires
//! and is still quiet, under its row's lock, so replicas sweeping
//! together remind once.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::book::RuleBook;
use crate::store::{RepeatStore as _, Store, StoreResult};

/// The rules of one interval, by the kind of alert they raise.
#[derive(Default)]
struct Names {
    checks: Vec<String>,
    groups: Vec<String>,
    agents: Vec<String>,
}

/// Appends the reminders due at `now`; how many.
pub async fn sweep(store: &Store, book: &RuleBook, now: DateTime<Utc>) -> StoreResult<usize> {
    let rules = book.rules(store).await?;
    if rules.is_empty() {
        return Ok(0);
    }
    let router = super::outbox::router(store).await?;
    let routes = router.repeat_intervals();
    let mut by_interval: BTreeMap<Duration, Names> = BTreeMap::new();
    let mut own: HashMap<&str, Option<Duration>> = HashMap::new();
    for rule in rules.iter() {
        let spec = &rule.spec;
        own.insert(&spec.name, spec.repeat_interval);
        for every in routes.iter().copied().chain(spec.repeat_interval) {
            let names = by_interval.entry(every).or_default();
            let list = if spec.condition.is_agent_offline() {
                &mut names.agents
            } else if spec.min_agents.is_some() {
                // Under a quorum the group tells, not its agents.
                &mut names.groups
            } else {
                &mut names.checks
            };
            if list.last() != Some(&spec.name) {
                list.push(spec.name.clone());
            }
        }
    }
    let mut reminded = 0;
    for (every, names) in &by_interval {
        let quiet = store
            .quiet_firing(&names.checks, &names.groups, &names.agents, *every, now)
            .await?;
        for due in quiet {
            // Only an alert with a channel that repeats this often.
            let rule_every = own.get(due.rule.as_str()).copied().flatten();
            let heard = router
                .targets(&due.subject, &due.agents)
                .iter()
                .any(|t| t.repeat_every(rule_every) == Some(*every));
            if heard && store.remind(&due, now).await? {
                reminded += 1;
            }
        }
    }
    Ok(reminded)
}

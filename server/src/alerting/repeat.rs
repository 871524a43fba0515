//! Reminders (`repeat_interval`): every replica's notifier looks, every
//! few seconds, for firing alerts of such rules that told nothing for the
//! interval, and appends a reminder step (firing, told again) that goes
//! through the outbox like any other. The store appends it only if the
//! alert still fires and is still quiet, under its row's lock, so
//! replicas sweeping together remind once.

use chrono::{DateTime, Utc};

use super::book::RuleBook;
use crate::store::{RepeatStore as _, Store, StoreResult};

/// Appends the reminders due at `now`; how many.
pub async fn sweep(store: &Store, book: &RuleBook, now: DateTime<Utc>) -> StoreResult<usize> {
    let rules = book.rules(store).await?;
    let mut reminded = 0;
    for rule in rules.iter() {
        let Some(every) = rule.spec.repeat_interval else {
            continue;
        };
        let since = now - chrono::Duration::from_std(every).unwrap_or_default();
        let name = [rule.spec.name.clone()];
        let (checks, groups, agents): (&[String], &[String], &[String]) =
            if rule.spec.condition.is_agent_offline() {
                (&[], &[], &name)
            } else if rule.spec.min_agents.is_some() {
                // Under a quorum the group tells, not its agents.
                (&[], &name, &[])
            } else {
                (&name, &[], &[])
            };
        for due in store.quiet_firing(checks, groups, agents, since).await? {
            if store.remind(&due, since, now).await? {
                reminded += 1;
            }
        }
    }
    Ok(reminded)
}

//! Noticing silence: `no_data` rules cannot wait for a result, so every
//! replica's notifier sweeps their alerts every few seconds and judges an
//! absence for each that heard nothing for `intervals` times the spacing
//! of its last two runs. The judgement re-reads (and on PostgreSQL locks)
//! the state in its own transaction, so replicas sweeping at once, or a
//! result arriving meanwhile, change nothing twice.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::Condition;

use super::book::RuleBook;
use super::evaluate::{Judge, Reading};
use crate::store::{AlertStore as _, Store, StoreResult};

/// Judges an absence for every `no_data` alert that has gone silent.
/// Returns how many alerts it looked at.
pub async fn sweep(store: &Store, rules: &RuleBook, now: DateTime<Utc>) -> StoreResult<usize> {
    let rules = rules.rules(store).await?;
    let watching: Vec<_> = rules
        .iter()
        .filter(|r| matches!(r.spec.condition, Condition::NoData { .. }))
        .collect();
    if watching.is_empty() {
        return Ok(0);
    }
    let names: Vec<String> = watching.iter().map(|r| r.spec.name.clone()).collect();
    let watched = store.watched(&names).await?;
    let absent = Reading::Absent;
    let judges: Vec<Judge<'_>> = watched
        .iter()
        .filter_map(|w| {
            let rule = watching.iter().find(|r| r.spec.name == w.rule)?;
            Some(Judge {
                rule,
                check_id: w.check_id,
                result: Uuid::nil(),
                at: now,
                reading: &absent,
                check: &w.check,
                target: &w.target,
                plugin: &w.plugin,
            })
        })
        .collect();
    // A transaction per thousand: locks held briefly, progress kept.
    for chunk in judges.chunks(1000) {
        store.judge(chunk).await?;
    }
    Ok(watched.len())
}

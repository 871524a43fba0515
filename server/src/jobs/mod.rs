//! Background jobs, run by one replica at a time (the one that leads
//! `jobs`: an advisory lock on PostgreSQL, a lease on SQLite; see
//! `JobStore::lead`): partitions ahead of time, rollups of the ranges
//! that ingest marked dirty ([`rollup`]), and retention (events by their
//! own).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use uuid::Uuid;

use crate::config::ServerConfig;
use crate::store::{
    AgentStore as _, AuditStore as _, EventStore as _, JobStore as _, NativeRetention,
    NotifyStore as _, Rollup, Store, StoreResult,
};
use crate::telemetry::Telemetry;

mod rollup;

pub use rollup::{merge_ranges, rollup, rollup_days, rollup_ranges};

/// Alert steps one round deletes at most: a backlog goes over rounds, and
/// no round holds the (SQLite) writer long.
const ALERT_HISTORY_BATCH: u32 = 5_000;

/// Deletes what is older than each resolution's retention. Returns rows removed.
pub async fn retention(
    store: &Store,
    config: &ServerConfig,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let age = |d: Duration| now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let r = &config.retention;
    Ok(store.delete_raw_before(age(r.raw)).await?
        + store
            .delete_rollups_before(Rollup::Minute, age(r.minute))
            .await?
        + store
            .delete_rollups_before(Rollup::Hour, age(r.hour))
            .await?
        + store
            .delete_rollups_before(Rollup::Day, age(r.hour))
            .await?
        + store.delete_batches_before(age(r.raw)).await?
        + store.delete_expired_sessions(now).await?
        + store.delete_audit_before(age(r.audit)).await?
        + store.delete_events_before(age(r.events)).await?
        + store
            .delete_alert_history_before(age(r.alerts), ALERT_HISTORY_BATCH)
            .await?)
}

/// `[retention]` as the database's own policies take it (day rows are kept
/// as long as hour rows, as [`retention`] does).
fn native_retention(config: &ServerConfig) -> NativeRetention {
    let century = chrono::Duration::days(36_525);
    let d = |d: Duration| chrono::Duration::from_std(d).map_or(century, |d| d.min(century));
    let r = &config.retention;
    NativeRetention {
        raw: d(r.raw),
        minute: d(r.minute),
        hour: d(r.hour),
        day: d(r.hour),
    }
}

/// What every replica keeps up to date for `/metrics`, leader or not.
async fn observe(store: &Store, config: &ServerConfig, telemetry: &Telemetry) -> StoreResult<()> {
    let online_since = config.online_since(Utc::now());
    telemetry.set_agents_online(store.agents_seen_since(online_since).await?);
    let mut dropped = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store.agents(after.as_deref(), 1000).await?;
        dropped += page.iter().map(|a| a.outbox.dropped_results).sum::<u64>();
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.name.clone()),
            _ => break,
        }
    }
    telemetry.set_agents_dropped_results(dropped);
    Ok(())
}

/// One round of the singleton jobs, run by the leader.
pub async fn round(store: &Store, config: &ServerConfig, telemetry: &Telemetry) -> StoreResult<()> {
    let now = Utc::now();
    let online_since = config.online_since(now);
    let raw = chrono::Duration::from_std(config.retention.raw).unwrap_or(chrono::Duration::days(7));
    store
        .ensure_partitions(now - raw, now + chrono::Duration::days(2))
        .await?;
    store
        .keep_native_policies(&native_retention(config))
        .await?;
    telemetry.rollup(rollup(store, now).await?);
    crate::remote::rollout::advance(store, online_since, now).await?;
    telemetry.retention(retention(store, config, now).await?);
    // Reports whose period ended; a failed send is kept for the next round.
    if let Err(e) = crate::reports::deliver::due(store, config, Utc::now()).await {
        tracing::warn!(error = %e, "Reports due could not be sent this round.");
    }
    Ok(())
}

/// How often a replica makes sure it still leads, or tries to.
const LEAD_EVERY: Duration = Duration::from_secs(1);

/// Leads the jobs when no other replica does, and runs a round every
/// `jobs_interval` while it leads (at once when it starts to); every
/// replica observes every `jobs_interval`. Until `stop` turns true, then
/// gives up leading.
pub async fn run(
    store: Store,
    config: Arc<ServerConfig>,
    telemetry: Arc<Telemetry>,
    mut stop: watch::Receiver<bool>,
) {
    let holder = Uuid::now_v7();
    // The lease's time to live (SQLite): renewed every try.
    let ttl = chrono::Duration::from_std(config.jobs_interval * 3)
        .unwrap_or(chrono::Duration::seconds(30));
    let mut tick = tokio::time::interval(LEAD_EVERY.min(config.jobs_interval));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut leading = false;
    let mut unsure = false;
    let mut observed: Option<tokio::time::Instant> = None;
    let mut ran: Option<tokio::time::Instant> = None;
    let due = |last: Option<tokio::time::Instant>| {
        last.is_none_or(|t| t.elapsed() >= config.jobs_interval)
    };
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        if due(observed) {
            observed = Some(tokio::time::Instant::now());
            if let Err(e) = observe(&store, &config, &telemetry).await {
                tracing::warn!(error = %e, "Counting agents for /metrics failed; trying again.");
            }
        }
        let leads = match store.lead("jobs", holder, Utc::now(), ttl).await {
            Ok(leads) => {
                unsure = false;
                leads
            }
            Err(e) => {
                // Once an outage, not every second of it.
                if !std::mem::replace(&mut unsure, true) {
                    tracing::warn!(error = %e, "Cannot tell whether this replica leads the jobs; it does not, for now.");
                }
                false
            }
        };
        if leads != leading {
            leading = leads;
            telemetry.set_jobs_leader(leads);
            if leads {
                tracing::info!("This replica leads the background jobs now.");
                ran = None;
            } else {
                tracing::warn!("This replica no longer leads the background jobs.");
            }
        }
        if !leads || !due(ran) {
            continue;
        }
        ran = Some(tokio::time::Instant::now());
        if let Err(e) = round(&store, &config, &telemetry).await {
            telemetry.job_failed();
            tracing::warn!(error = %e, "A background job round failed; it is retried next round.");
        }
    }
    if leading && let Err(e) = store.resign("jobs", holder).await {
        tracing::warn!(error = %e, "Giving up leading the jobs failed; another replica leads once it can.");
    }
}

//! The notifier: sweeps `no_data` alerts (`alerting::nodata`), offline
//! agents (`alerting::offline`) and reminders (`alerting::repeat`), routes the
//! steps the ingest transaction put in the outbox to their channels
//! (`alerting::outbox`), then sends each delivery, claimed under a lease
//! so that replicas share the work without sending one twice;
//! failures retry with back-off, each attempt logged. A delivery is
//! sent at least once and, unless a replica dies mid-send, at most once.

pub mod email;
pub mod message;
pub mod note;
pub mod send;
pub mod services;
pub mod template;
pub mod webhook;

pub(crate) use send::describe;
pub use send::{SendOutcome, send, timed};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use vantage_protocol::config::{AlertEventView, Notification};

use super::book::RuleBook;
use crate::store::{After, Attempt, ChannelRow, Claimed, NotifyStore as _, Store, StoreResult};

/// How often the outbox is looked at without a wake-up (another replica's
/// ingest, a retry falling due).
const POLL: Duration = Duration::from_millis(250);
/// How often `no_data` alerts are looked at (`alerting::nodata`).
const SWEEP: Duration = Duration::from_secs(2);
/// A send's deadline, whole (connecting, every SMTP command, the answer).
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest claim (`notify_lease`): longer than a send may take.
pub const MIN_LEASE: Duration = Duration::from_secs(15);
/// Deliveries in flight at once, across channels.
const IN_FLIGHT: usize = 32;
/// Groups turned into messages in one pass.
const FLUSH_BATCH: u32 = 500;
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 12;
/// The longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// Wakes the notifier when this replica stored steps to tell.
#[derive(Debug, Default)]
pub struct Notifier {
    wake: Notify,
}

impl Notifier {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// The wait after failed attempt `attempt` (1-based): `first`, doubling,
/// at most 15 minutes.
pub fn backoff(first: Duration, attempt: u32) -> Duration {
    first
        .saturating_mul(1 << attempt.saturating_sub(1).min(20))
        .min(MAX_BACKOFF)
}

/// The server's settings the notifier follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// The wait after a first failed attempt (`notify_retry`).
    pub first_retry: Duration,
    /// An agent not heard from for this long is offline.
    pub offline_after: Duration,
    /// The dashboard's URL, for links (`public_url`).
    pub public_url: Option<Arc<str>>,
    /// How long a claim on a delivery lasts (`notify_lease`).
    pub lease: Duration,
}

impl Timing {
    pub fn of(config: &crate::config::ServerConfig) -> Timing {
        Timing {
            first_retry: config.notify_retry,
            offline_after: config.offline_after,
            public_url: config.public_url.as_deref().map(Arc::from),
            lease: config.notify_lease,
        }
    }
}

/// Runs until `stop`.
pub async fn run(
    store: Store,
    rules: Arc<RuleBook>,
    notifier: Arc<Notifier>,
    timing: Timing,
    live: Arc<crate::live::Live>,
    mut stop: watch::Receiver<bool>,
) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "The notifier cannot make an HTTP client; nothing will be sent.");
            return;
        }
    };
    let mut sending = JoinSet::new();
    let mut swept = std::time::Instant::now();
    loop {
        while sending.try_join_next().is_some() {}
        if swept.elapsed() >= SWEEP {
            swept = std::time::Instant::now();
            if let Err(e) = super::nodata::sweep(&store, &rules, Utc::now()).await {
                tracing::warn!(error = %e, "Looking for silent alerts failed; trying again.");
            }
            if let Err(e) =
                super::offline::sweep(&store, &rules, timing.offline_after, Utc::now()).await
            {
                tracing::warn!(error = %e, "Looking for offline agents failed; trying again.");
            }
            if let Err(e) = super::repeat::sweep(&store, &rules, Utc::now()).await {
                tracing::warn!(error = %e, "Looking for reminders to send failed; trying again.");
            }
        }
        let room = IN_FLIGHT.saturating_sub(sending.len());
        let mut full = false;
        match cycle(&store, &rules, &client, &timing, room, &mut sending).await {
            Ok(pass) => {
                full = pass.claimed == room && room > 0;
                if pass.routed > 0 {
                    live.alerts();
                }
            }
            Err(e) => tracing::warn!(error = %e, "Notifying failed; trying again."),
        }
        // With every slot taken, more is likely due: go on once these sends
        // are done rather than after a poll.
        let drained = async {
            if full {
                while sending.join_next().await.is_some() {}
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = notifier.wake.notified() => {}
            () = drained => {}
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => break,
        }
    }
    // Sends in progress finish (their claims would otherwise run out and
    // another replica send them again).
    while sending.join_next().await.is_some() {}
}

/// An HTTP client for receivers: rustls, no redirects, a deadline.
pub fn client() -> reqwest::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("vantage-server/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// What one pass of the notifier did.
struct Pass {
    /// Steps routed and groups made messages.
    routed: usize,
    /// Deliveries claimed to send.
    claimed: usize,
}

async fn cycle(
    store: &Store,
    rules: &RuleBook,
    client: &reqwest::Client,
    timing: &Timing,
    room: usize,
    sending: &mut JoinSet<()>,
) -> StoreResult<Pass> {
    let routed = super::outbox::route(store, rules, timing.offline_after).await?;
    let flushed = store.flush_groups(Utc::now(), FLUSH_BATCH).await?;
    let mut pass = Pass {
        routed: routed + flushed,
        claimed: 0,
    };
    if room == 0 {
        return Ok(pass);
    }
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(timing.lease).unwrap_or_default();
    let claimed = store.claim(now, until, room as u32).await?;
    pass.claimed = claimed.len();
    if claimed.is_empty() {
        return Ok(pass);
    }
    let ids: Vec<i64> = claimed.iter().flat_map(Claimed::steps).collect();
    let events: HashMap<i64, AlertEventView> = store
        .events(&ids)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let channels: HashMap<String, ChannelRow> = store
        .channels()
        .await?
        .into_iter()
        .map(|c| (c.spec.name.clone(), c))
        .collect();
    let rules = rules.rules(store).await?;
    let link = timing.public_url.as_deref();
    let body = |claim: &Claimed| -> Option<Notification> {
        let steps = claim
            .steps()
            .map(|id| {
                let event = events.get(&id)?;
                let condition = rules
                    .iter()
                    .find(|r| r.spec.name == event.subject.rule)
                    .map(|r| &r.spec.condition);
                Some(message::notification(event, condition, link))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(message::digest(steps))
    };
    for claim in claimed {
        let notification = body(&claim);
        let channel = channels.get(&claim.channel).cloned();
        let (store, client) = (store.clone(), client.clone());
        let first_retry = timing.first_retry;
        sending.spawn(async move {
            let attempt = deliver(&client, &claim, notification, channel).await;
            let after = if attempt.ok {
                After::Sent
            } else if claim.attempt >= MAX_ATTEMPTS {
                After::GaveUp
            } else {
                let wait = backoff(first_retry, claim.attempt);
                After::Retry(Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default())
            };
            if !attempt.ok {
                tracing::warn!(channel = claim.channel, event = claim.event_id, attempt = claim.attempt, status = ?attempt.status, error = ?attempt.error, ?after, "A notification was not delivered.");
            }
            if let Err(e) = store.finish(&attempt, after).await {
                tracing::warn!(error = %e, "A delivery's outcome was not stored; its claim will run out and it will be sent again.");
            }
        });
    }
    Ok(pass)
}

/// One attempt at one delivery: `notification` is `None` when a step it
/// tells of is gone.
async fn deliver(
    client: &reqwest::Client,
    claim: &Claimed,
    notification: Option<Notification>,
    channel: Option<ChannelRow>,
) -> Attempt {
    let outcome = timed(async {
        match (notification, channel) {
            (Some(body), Some(channel)) => {
                let delivery = format!("{}-{}", claim.event_id, claim.channel);
                send(client, &channel, &delivery, &body).await
            }
            (None, _) => Err("the alert history step is gone".to_owned()),
            (_, None) => Err("the channel was deleted".to_owned()),
        }
    })
    .await;
    Attempt {
        event_id: claim.event_id,
        channel: claim.channel.clone(),
        attempt: claim.attempt,
        at: Utc::now(),
        ok: outcome.ok,
        status: outcome.status,
        latency_ms: outcome.latency_ms,
        error: outcome.error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_to_a_ceiling() {
        let first = Duration::from_secs(5);
        let waits: Vec<u64> = (1..=10).map(|n| backoff(first, n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 900, 900]);
        assert_eq!(backoff(first, u32::MAX), MAX_BACKOFF);
    }
}

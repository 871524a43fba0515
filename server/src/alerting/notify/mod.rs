//! The notifier: sweeps `no_data` alerts (`alerting::nodata`), offline
//! agents (`alerting::offline`) and reminders (`alerting::repeat`), routes the
//! steps the ingest transaction put in the outbox to their channels
//! (`alerting::outbox`), then sends each delivery, claimed under a lease
//! so that replicas share the work without sending one twice;
//! failures retry with back-off, each attempt logged. A delivery is
//! sent at least once and, unless a replica dies mid-send, at most once.

pub mod email;
pub mod message;
pub mod services;
pub mod template;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use vantage_protocol::config::{AlertEventView, ChannelKind, Notification};

use super::book::RuleBook;
use crate::store::{After, Attempt, ChannelRow, Claimed, NotifyStore as _, Store, StoreResult};

/// How often the outbox is looked at without a wake-up (another replica's
/// ingest, a retry falling due).
const POLL: Duration = Duration::from_millis(250);
/// How often `no_data` alerts are looked at (`alerting::nodata`).
const SWEEP: Duration = Duration::from_secs(2);
/// How long a claim lasts: longer than a send may take.
const LEASE: Duration = Duration::from_secs(60);
/// A send's deadline.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
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
}

impl Timing {
    pub fn of(config: &crate::config::ServerConfig) -> Timing {
        Timing {
            first_retry: config.notify_retry,
            offline_after: config.offline_after,
            public_url: config.public_url.as_deref().map(Arc::from),
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
        match cycle(&store, &rules, &client, &timing, room, &mut sending).await {
            Ok(0) => {}
            Ok(_) => live.publish(crate::live::LiveEvent::Alerts),
            Err(e) => tracing::warn!(error = %e, "Notifying failed; trying again."),
        }
        tokio::select! {
            () = notifier.wake.notified() => {}
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

async fn cycle(
    store: &Store,
    rules: &RuleBook,
    client: &reqwest::Client,
    timing: &Timing,
    room: usize,
    sending: &mut JoinSet<()>,
) -> StoreResult<usize> {
    let routed = super::outbox::route(store, rules, timing.offline_after).await?;
    let flushed = store.flush_groups(Utc::now(), FLUSH_BATCH).await?;
    let routed = routed + flushed;
    if room == 0 {
        return Ok(routed);
    }
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    let claimed = store.claim(now, until, room as u32).await?;
    if claimed.is_empty() {
        return Ok(routed);
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
    Ok(routed)
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

/// What one send came to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct SendOutcome {
    /// The receiver took it (a 2xx answer; an SMTP relay's 250).
    pub ok: bool,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// From sending to the answer (or the failure).
    pub latency_ms: u32,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// Runs a send and times it; an answer outside 2xx is a failure that
/// names the status.
pub async fn timed(send: impl Future<Output = Result<u16, String>>) -> SendOutcome {
    let started = std::time::Instant::now();
    let result = send.await;
    let latency_ms = started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
    match result {
        Ok(status) if (200..300).contains(&status) => SendOutcome {
            ok: true,
            status: Some(status),
            latency_ms,
            error: None,
        },
        Ok(status) => SendOutcome {
            ok: false,
            status: Some(status),
            latency_ms,
            error: Some(format!("the receiver answered {status}")),
        },
        Err(e) => SendOutcome {
            ok: false,
            status: None,
            latency_ms,
            error: Some(e),
        },
    }
}

/// An error in a line, its causes included (reqwest's and lettre's own
/// text is often only "error sending request").
pub(crate) fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends a notification over a channel: the receiver's status.
pub async fn send(
    client: &reqwest::Client,
    channel: &ChannelRow,
    delivery: &str,
    notification: &vantage_protocol::config::Notification,
) -> Result<u16, String> {
    // The channel's own line, in place of the summary.
    let templated;
    let notification = match &channel.spec.template {
        Some(template) => {
            let mut n = notification.clone();
            if n.group.is_empty() {
                n.summary = template::render(template, notification);
            } else {
                for step in &mut n.group {
                    step.summary = template::render(template, step);
                }
                n.summary = message::digest_summary(&n.group);
            }
            templated = n;
            &templated
        }
        None => notification,
    };
    match &channel.spec.kind {
        ChannelKind::Webhook {
            url,
            secret,
            headers,
        } => {
            let body = serde_json::to_vec(notification).map_err(|e| e.to_string())?;
            let hook = webhook::Hook {
                url,
                secret: secret.as_deref(),
                headers,
            };
            webhook::post(client, &hook, delivery, body).await
        }
        ChannelKind::Email {
            host,
            port,
            security,
            username,
            password,
            from,
            to,
            ca,
        } => {
            let relay = email::Relay {
                host,
                port: port.unwrap_or(security.default_port()),
                security: *security,
                username: username.as_deref(),
                password: password.as_deref(),
                from,
                to,
                ca_pem: ca.as_deref(),
            };
            email::send(&relay, notification).await
        }
        kind => services::post(client, services::outgoing(kind, notification)?).await,
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

//! One send over a channel, whatever its kind, timed: what the notifier
//! and the test button share.

use vantage_protocol::config::ChannelKind;

use super::{email, message, services, template, webhook};
use crate::store::ChannelRow;

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

/// Sends a notification over a channel: the receiver's status. Cut off
/// whole after 10 s (connecting, every SMTP command, the answer), so a
/// delivery's claim outlasts it.
pub async fn send(
    client: &reqwest::Client,
    channel: &ChannelRow,
    delivery: &str,
    notification: &vantage_protocol::config::Notification,
) -> Result<u16, String> {
    tokio::time::timeout(
        super::SEND_TIMEOUT,
        by_kind(client, channel, delivery, notification),
    )
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {:?}", super::SEND_TIMEOUT)))
}

async fn by_kind(
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
        kind @ ChannelKind::Email { .. } => {
            let relay = email::Relay::of(kind).ok_or("not an email channel")?;
            email::send(&relay, notification).await
        }
        kind => services::post(client, services::outgoing(kind, notification)?).await,
    }
}

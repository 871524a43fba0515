//! The uplink: ships the outbox to the server in batches, oldest first with
//! room for fresh results, and sends heartbeats.
//!
//! Each batch gets an id when formed and keeps it across retries, so the
//! server stores it once however often it arrives. What the server answers
//! decides the next step ([`next_step`]): acknowledged records leave the
//! outbox; throttling and outages are retried with full-jitter exponential
//! back-off (never sooner than `Retry-After`); invalid results are set aside
//! in `rejected.jsonl`; a refused credential pauses sending (measuring goes on).

pub mod client;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use uuid::Uuid;
use vantage_protocol::ingest::{HEARTBEAT_PATH, Heartbeat, INGEST_PATH, OutboxStats, Problem};

use crate::config::ServerSection;
use crate::outbox::{Outbox, RecordId, ids};
use client::{Reply, ServerClient};

/// JSON bytes of results per batch, about.
const BATCH_BYTES: usize = 1 << 20;

/// What to do with a batch after the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Stored (or stored before): forget these records.
    Acked,
    /// Try the same batch again after a back-off (at least this long).
    Retry(Option<Duration>),
    /// Too large: send each half on its own.
    Split,
    /// These results (indexes in the batch) will never be accepted: set them
    /// aside, with the server's reason, and send the rest.
    Reject(Vec<(usize, String)>),
    /// The whole batch will never be accepted.
    RejectAll(String),
    /// The credential was refused: pause sending.
    Pause(String),
}

/// Decides from the server's answer.
pub fn next_step(reply: &Reply, batch_len: usize) -> Step {
    match reply.status {
        200..=299 => Step::Acked,
        413 if batch_len > 1 => Step::Split,
        413 => Step::RejectAll("larger than the server accepts".into()),
        422 => {
            let problem: Option<Problem> = serde_json::from_slice(&reply.body).ok();
            let listed: Vec<(usize, String)> = problem
                .iter()
                .flat_map(|p| &p.errors)
                .filter_map(|e| Some((e.index?, format!("{}: {}", e.field, e.reason))))
                .filter(|(i, _)| *i < batch_len)
                .collect();
            if !listed.is_empty() {
                Step::Reject(listed)
            } else if batch_len > 1 {
                // A refusal of the batch as a whole (too many results…): smaller ones may pass.
                Step::Split
            } else {
                Step::RejectAll(reply.problem_text())
            }
        }
        400 | 415 => Step::RejectAll(reply.problem_text()),
        401 | 403 => Step::Pause(reply.problem_text()),
        _ => Step::Retry(reply.retry_after),
    }
}

/// Full jitter: a random wait in `[0, min(max, 1 s · 2^attempt))`, but never
/// less than the server's `Retry-After`.
pub fn backoff(attempt: u32, max: Duration, retry_after: Option<Duration>) -> Duration {
    let cap = Duration::from_secs(1)
        .saturating_mul(1u32 << attempt.min(16))
        .min(max);
    let wait = cap.mul_f64(rand::random::<f64>());
    wait.max(retry_after.unwrap_or_default())
}

/// The body of a batch, built from the records' JSON as stored.
fn batch_body(batch_id: Uuid, records: &[(RecordId, Vec<u8>)], stats: OutboxStats) -> Vec<u8> {
    let mut body =
        Vec::with_capacity(records.iter().map(|(_, j)| j.len() + 1).sum::<usize>() + 256);
    body.extend_from_slice(format!("{{\"batch_id\":\"{batch_id}\",\"results\":[").as_bytes());
    for (i, (_, json)) in records.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(json);
    }
    body.extend_from_slice(b"],\"outbox\":");
    body.extend_from_slice(&serde_json::to_vec(&stats).unwrap_or_else(|_| b"{}".to_vec()));
    body.push(b'}');
    body
}

/// Everything the uplink tasks share.
#[derive(Debug, Clone)]
pub struct Link {
    pub outbox: Arc<Mutex<Outbox>>,
    /// Woken when a result is appended.
    pub appended: Arc<Notify>,
    /// Woken when the server acknowledged a batch.
    pub delivered: Arc<Notify>,
    pub config: ServerSection,
    pub batch_results: usize,
}

impl Link {
    fn with_outbox<T>(&self, f: impl FnOnce(&mut Outbox) -> T) -> T {
        let mut guard = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Sends batches until `stop` turns true.
    pub async fn ship(self, mut client: ServerClient, mut stop: watch::Receiver<bool>) {
        let mut attempt = 0u32;
        loop {
            if *stop.borrow() {
                return;
            }
            let formed = self.with_outbox(|o| o.next_batch(self.batch_results, BATCH_BYTES));
            let records = match formed {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "Reading the outbox failed; retrying in 5 s.");
                    sleep_or_stop(Duration::from_secs(5), &mut stop).await;
                    continue;
                }
            };
            if records.is_empty() {
                tokio::select! {
                    _ = self.appended.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            let mut parts = VecDeque::from([records]);
            while let Some(part) = parts.pop_front() {
                if !self
                    .deliver(&mut client, part, &mut parts, &mut attempt, &mut stop)
                    .await
                {
                    return;
                }
            }
        }
    }

    /// Sends one batch until the server settles it; false when stopping.
    async fn deliver(
        &self,
        client: &mut ServerClient,
        records: Vec<(RecordId, Vec<u8>)>,
        later: &mut VecDeque<Vec<(RecordId, Vec<u8>)>>,
        attempt: &mut u32,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let batch_id = Uuid::now_v7();
        let record_ids = ids(&records);
        loop {
            if *stop.borrow() {
                return false;
            }
            // The size bound may have dropped some while the server was away:
            // form the batch again from what is left.
            if !self.with_outbox(|o| o.holds(&record_ids)) {
                return true;
            }
            let stats = self.with_outbox(|o| o.stats());
            let body = batch_body(batch_id, &records, stats);
            let step = match client.post(INGEST_PATH, &body, true).await {
                Ok(reply) => next_step(&reply, records.len()),
                Err(e) => {
                    if *attempt == 0 {
                        tracing::warn!(
                            error = format!("{e:#}"),
                            backlog = stats.backlog_results,
                            "The server is unreachable; results wait in the outbox."
                        );
                    }
                    Step::Retry(None)
                }
            };
            let outcome = match step {
                Step::Acked => {
                    if *attempt > 0 {
                        tracing::info!(
                            backlog = stats.backlog_results,
                            "The server is reachable again; sending the backlog."
                        );
                    }
                    *attempt = 0;
                    self.delivered.notify_one();
                    self.with_outbox(|o| o.ack(&record_ids))
                }
                Step::Retry(retry_after) => {
                    let wait = backoff(*attempt, self.config.max_backoff, retry_after);
                    *attempt = attempt.saturating_add(1);
                    if !sleep_or_stop(wait, stop).await {
                        return false;
                    }
                    continue;
                }
                Step::Split => {
                    let mut first = records;
                    let second = first.split_off(first.len() / 2);
                    later.push_front(second);
                    later.push_front(first);
                    return true;
                }
                Step::Reject(listed) => {
                    let mut keep = Vec::new();
                    let mut rejected = Vec::new();
                    for (i, record) in records.into_iter().enumerate() {
                        match listed.iter().find(|(j, _)| *j == i) {
                            Some((_, reason)) => rejected.push((record, reason.clone())),
                            None => keep.push(record),
                        }
                    }
                    tracing::warn!(results = rejected.len(), first = %rejected[0].1, "The server refused results as invalid; they are kept in outbox/rejected.jsonl.");
                    let done = rejected
                        .into_iter()
                        .try_for_each(|(r, reason)| self.with_outbox(|o| o.reject(&[r], &reason)));
                    if !keep.is_empty() {
                        later.push_front(keep);
                    }
                    done
                }
                Step::RejectAll(reason) => {
                    tracing::error!(
                        results = records.len(),
                        reason,
                        "The server refused a whole batch; it is kept in outbox/rejected.jsonl."
                    );
                    self.with_outbox(|o| o.reject(&records, &reason))
                }
                Step::Pause(reason) => {
                    tracing::error!(reason, pause = ?self.config.auth_pause, "The server refused this agent's credential; measuring goes on, sending is paused (re-enroll if it was revoked).");
                    if !sleep_or_stop(self.config.auth_pause, stop).await {
                        return false;
                    }
                    continue;
                }
            };
            if let Err(e) = outcome {
                tracing::error!(error = %e, "Updating the outbox failed; the batch may be sent again (the server drops duplicates).");
            }
            return true;
        }
    }

    /// Sends a heartbeat every `config.heartbeat` until `stop` turns true.
    pub async fn heartbeats(
        self,
        mut client: ServerClient,
        started_at: DateTime<Utc>,
        addresses: Vec<String>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let heartbeat = Heartbeat {
                version: crate::VERSION.into(),
                started_at,
                outbox: self.with_outbox(|o| o.stats()),
                addresses: addresses.clone(),
            };
            let body = serde_json::to_vec(&heartbeat).unwrap_or_default();
            match client.post(HEARTBEAT_PATH, &body, false).await {
                Ok(r) if (200..300).contains(&r.status) => {}
                Ok(r) => tracing::debug!(
                    status = r.status,
                    answer = r.problem_text(),
                    "A heartbeat was refused."
                ),
                Err(e) => {
                    tracing::debug!(error = format!("{e:#}"), "A heartbeat did not get through.")
                }
            }
            if !sleep_or_stop(self.config.heartbeat, &mut stop).await {
                return;
            }
        }
    }
}

/// Sleeps; false when `stop` turned true first.
async fn sleep_or_stop(wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::Bytes;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            retry_after: None,
            etag: None,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn answers_decide_the_next_step() {
        assert_eq!(next_step(&reply(200, "{}"), 3), Step::Acked);
        assert_eq!(next_step(&reply(413, ""), 3), Step::Split);
        assert!(matches!(next_step(&reply(413, ""), 1), Step::RejectAll(_)));
        let invalid = r#"{"type":"about:blank","title":"Unprocessable Entity","status":422,
            "errors":[{"index":1,"field":"samples[0].unit","reason":"unknown"},{"index":9,"field":"x","reason":"y"}]}"#;
        assert_eq!(
            next_step(&reply(422, invalid), 3),
            Step::Reject(vec![(1, "samples[0].unit: unknown".into())])
        );
        let whole = r#"{"title":"Unprocessable Entity","status":422,"errors":[{"field":"results","reason":"too many"}]}"#;
        assert_eq!(next_step(&reply(422, whole), 3), Step::Split);
        assert!(matches!(
            next_step(&reply(400, "{}"), 3),
            Step::RejectAll(_)
        ));
        assert!(matches!(next_step(&reply(401, "{}"), 3), Step::Pause(_)));
        assert_eq!(next_step(&reply(503, ""), 3), Step::Retry(None));
        let mut busy = reply(429, "");
        busy.retry_after = Some(Duration::from_secs(3));
        assert_eq!(
            next_step(&busy, 3),
            Step::Retry(Some(Duration::from_secs(3)))
        );
    }

    #[test]
    fn backoff_grows_with_full_jitter_and_honours_retry_after() {
        let max = Duration::from_secs(60);
        for attempt in 0..20 {
            let cap = Duration::from_secs(1 << attempt.min(6)).min(max);
            for _ in 0..50 {
                assert!(backoff(attempt, max, None) <= cap);
            }
        }
        assert!(backoff(0, max, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
        let waits: Vec<Duration> = (0..50).map(|_| backoff(5, max, None)).collect();
        assert!(waits.iter().any(|w| *w != waits[0]), "jittered");
    }

    #[test]
    fn a_batch_body_is_an_ingest_batch() {
        let r = br#"{"id":"0190b0b0-0000-7000-8000-000000000001","agent":"a","check":"c","target":"t","plugin":"p","plugin_version":"0.1.0","status":"ok","started_at":"2026-01-01T00:00:00Z","duration":0.1,"samples":[]}"#;
        let body = batch_body(
            Uuid::now_v7(),
            &[((1, 0), r.to_vec()), ((1, 1), r.to_vec())],
            OutboxStats::default(),
        );
        let parsed: vantage_protocol::ingest::IngestBatch = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed.results.len(), 2);
    }
}

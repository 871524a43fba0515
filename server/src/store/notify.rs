//! Notifications' storage: channels (with their secrets, which only the
//! notifier reads), the routing, and the way from an alert's step to a
//! receiver: the outbox the ingest transaction fills, one delivery per
//! (step, channel) — unique, so no replica sends one twice — claimed
//! under a lease, and every attempt in the delivery log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, ChannelSpec, Routing, SilenceView};

use super::alerts::RuleSaved;
use super::dispatch::store_trait;
use super::types::StoreResult;

/// Why a raised parent kept a step from the channels: in words, and the
/// parent check targets that explain it (none for an agent offline),
/// kept so that a report can list an incident's suppressed children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub why: String,
    pub parents: Vec<CheckTarget>,
}

/// A check and its target, by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CheckTarget {
    pub check: String,
    pub target: String,
}

/// Parents as `alert_events.suppressed_parents` holds them: a JSON array,
/// or NULL for none.
pub(crate) fn parents_column(parents: &[CheckTarget]) -> Option<String> {
    (!parents.is_empty()).then(|| serde_json::to_string(parents).expect("names serialize"))
}

/// Parents read back from `alert_events.suppressed_parents`.
pub(crate) fn parents_from_column(text: Option<&str>) -> StoreResult<Vec<CheckTarget>> {
    text.map_or(Ok(Vec::new()), |t| {
        serde_json::from_str(t)
            .map_err(|e| super::types::StoreError::Corrupt(format!("suppressed_parents: {e}")))
    })
}

/// A channel as saved, secrets included.
pub type ChannelRow = super::windows::Saved<ChannelSpec>;

/// A delivery claimed for sending: its `attempt`, counting from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub event_id: i64,
    pub channel: String,
    pub attempt: u32,
    /// A group's message: its steps, oldest first (`event_id` is the
    /// first); empty for one step's own.
    pub group: Vec<i64>,
}

impl Claimed {
    /// The steps it tells of, oldest first.
    pub fn steps(&self) -> impl Iterator<Item = i64> + '_ {
        let one = self.group.is_empty().then_some(self.event_id);
        one.into_iter().chain(self.group.iter().copied())
    }
}

/// One attempt at a delivery, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Attempt {
    /// The alert history step delivered.
    pub event_id: i64,
    pub channel: String,
    /// 1 for the first try.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// Whether the receiver took it (a 2xx answer).
    pub ok: bool,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// From sending to the answer (or the failure).
    pub latency_ms: u32,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// What a routing pass made of the steps it looked at, stored at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routed {
    /// Steps taken out of the outbox (one waiting on a parent stays).
    pub done: Vec<i64>,
    /// (step, channel) to send.
    pub deliveries: Vec<(i64, String)>,
    /// Steps for a group's message on a channel.
    pub parked: Vec<crate::alerting::group::Parked>,
    /// Steps a silence kept from the channels.
    pub silenced: Vec<(i64, Uuid)>,
    /// Steps a maintenance window kept from the channels, and its name.
    pub windowed: Vec<(i64, String)>,
    /// Steps a raised parent kept from the channels, and why.
    pub suppressed: Vec<(i64, Suppression)>,
    /// Suppressed steps to send later, should their alert still be raised
    /// once their parents are ok.
    pub hold: Vec<i64>,
    /// Held steps sent or given up.
    pub release: Vec<i64>,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Sent,
    /// Try again at this time.
    Retry(DateTime<Utc>),
    /// Too many attempts: given up (kept in the log).
    GaveUp,
}

store_trait! {
    /// Channels, routing, the notification outbox and deliveries.
    pub trait NotifyStore {
        /// Inserts or replaces a channel (the secrets as given: the caller
        /// merges in the stored ones); the revision moves only on change.
        async fn put_channel(&self, spec: &ChannelSpec, now: DateTime<Utc>) -> StoreResult<RuleSaved>;
        /// True when the channel existed.
        async fn delete_channel(&self, name: &str) -> StoreResult<bool>;
        /// Every channel by name, secrets included.
        async fn channels(&self) -> StoreResult<Vec<ChannelRow>>;
        /// The routing and its revision (0 before the first save).
        async fn routing(&self) -> StoreResult<(Routing, i64)>;
        /// Replaces the routing; returns the new revision.
        async fn put_routing(&self, routing: &Routing, now: DateTime<Utc>) -> StoreResult<i64>;
        /// Steps with notices not yet routed, oldest first.
        async fn outbox(&self, limit: u32) -> StoreResult<Vec<AlertEventView>>;
        /// Routes steps: adds their deliveries (each (step, channel) once
        /// however often this runs), marks the silenced and suppressed
        /// ones, holds and lets go, and takes the steps out of the outbox.
        async fn enqueue(&self, routed: &Routed, now: DateTime<Utc>) -> StoreResult<()>;
        async fn add_silence(&self, silence: &SilenceView) -> StoreResult<()>;
        /// Silences ending after `after` (every one when `None`), newest first.
        async fn silences(&self, after: Option<DateTime<Utc>>) -> StoreResult<Vec<SilenceView>>;
        /// Ends a silence now (kept, to show); true when it was still on.
        async fn expire_silence(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
        /// Claims deliveries that are due and not claimed (or whose claim
        /// ran out: a replica died sending), until `until`.
        async fn claim(
            &self,
            now: DateTime<Utc>,
            until: DateTime<Utc>,
            limit: u32
        ) -> StoreResult<Vec<Claimed>>;
        /// Turns groups due by `now` into one delivery each (at most
        /// `limit`): the steps one transaction takes out of a group go in its
        /// message, and the group's next is due `group_interval` later. How
        /// many messages it made.
        async fn flush_groups(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<usize>;
        /// Logs an attempt and settles its delivery.
        async fn finish(&self, attempt: &Attempt, after: After) -> StoreResult<()>;
        /// A channel's delivery log, newest first.
        async fn attempts(&self, channel: &str, limit: u32) -> StoreResult<Vec<Attempt>>;
        /// Steps of the alert history by id.
        async fn events(&self, ids: &[i64]) -> StoreResult<Vec<AlertEventView>>;
        /// Retention of the alert history (at most `limit` steps a call):
        /// deletes the steps from before `before`, except each alert's
        /// newest one from before then (its state at `before`, which
        /// dependencies and reminders read) and the steps that work still
        /// waits on (the outbox, held, parked, a pending delivery, alone or
        /// grouped); and the delivery log and finished deliveries from
        /// before `before`. Returns the rows deleted.
        async fn delete_alert_history_before(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64>;
    }
}

/// A delivery's status and next time after an attempt at `at`.
pub(crate) fn settled(after: After, at: DateTime<Utc>) -> (&'static str, DateTime<Utc>) {
    match after {
        After::Sent => ("sent", at),
        After::Retry(next) => ("pending", next),
        After::GaveUp => ("failed", at),
    }
}

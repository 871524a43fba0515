//! Live events for the dashboard: every stored result, every agent
//! heartbeat and word that alerts moved, fanned out in process to the
//! WebSockets of `/api/v1/live`, and to the other replicas' through
//! [`crate::fanout`] when it is connected (PostgreSQL).
//!
//! Publishing costs nothing when nobody watches. A socket that falls behind
//! by more than the channel holds is told to resynchronise (re-read what it
//! shows) instead of slowing ingest down.

use std::sync::{Arc, OnceLock};

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::fanout::{Fanout, Notice};
use crate::query::Point;
use crate::store::{LatestRow, ResultRow};

/// Events a watcher may lag behind before it must resynchronise.
const CAPACITY: usize = 8192;

/// One message of the live stream (JSON text frames).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A result was stored.
    Result {
        result: Box<LatestRow>,
        /// Its samples, by series (`check_up` included).
        samples: Vec<LiveSample>,
        /// Each distribution of the run as one point, as history serves it
        /// at raw resolution.
        distributions: Vec<LiveDistribution>,
    },
    /// An agent sent a heartbeat.
    Agent {
        agent_id: Uuid,
        name: String,
        last_seen_at: DateTime<Utc>,
    },
    /// Alerts moved (this replica routed a step that tells something): read
    /// them again.
    Alerts,
    /// Events were dropped for this watcher: read the current state again.
    Resync,
}

impl LiveEvent {
    pub fn to_text(&self) -> Utf8Bytes {
        serde_json::to_string(self)
            .expect("live events serialise")
            .into()
    }
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct LiveSample {
    pub series_id: i64,
    pub value: f64,
}

/// The names of a result, which stored rows hold only as ids.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LiveDistribution {
    pub series_id: i64,
    pub point: Point,
}

#[derive(Debug, Clone)]
pub struct ResultNames {
    pub check: String,
    pub target: String,
    pub plugin: String,
}

/// A notice queued for the other replicas: await [`Told::sent`] before
/// acknowledging what it tells.
#[derive(Debug)]
pub struct Told {
    fanout: Arc<Fanout>,
    number: u64,
}

impl Told {
    /// Returns once the notice was sent (or given up, or after
    /// [`crate::fanout::ACK_WAIT`]).
    pub async fn sent(self) {
        self.fanout.sent(self.number).await
    }
}

/// The in-process fan-out of live events, each serialised once for every
/// watcher.
#[derive(Debug)]
pub struct Live {
    tx: broadcast::Sender<Utf8Bytes>,
    /// The other replicas, once connected.
    outward: OnceLock<Arc<Fanout>>,
}

impl Default for Live {
    fn default() -> Live {
        Live {
            tx: broadcast::Sender::new(CAPACITY),
            outward: OnceLock::new(),
        }
    }
}

impl Live {
    /// Whether any socket watches: publishers skip building events otherwise.
    pub fn watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.tx.subscribe()
    }

    /// Tells the other replicas too, from now on.
    pub fn fan_out(&self, fanout: Arc<Fanout>) {
        let _ = self.outward.set(fanout);
    }

    fn tell(&self, notice: Notice) -> Option<Told> {
        let fanout = self.outward.get()?;
        let number = fanout.send(notice);
        Some(Told {
            fanout: fanout.clone(),
            number,
        })
    }

    /// Publishes to this replica's sockets only.
    pub fn here(&self, event: LiveEvent) {
        // No receiver is not an error: nobody is watching.
        let _ = self.tx.send(event.to_text());
    }

    /// An agent sent a heartbeat.
    pub fn agent(&self, agent_id: Uuid, name: &str, at: DateTime<Utc>) {
        if self.watched() {
            self.here(LiveEvent::Agent {
                agent_id,
                name: name.to_owned(),
                last_seen_at: at,
            });
        }
        self.tell(Notice::Agent {
            agent_id,
            at,
            name: name.to_owned(),
        });
    }

    /// Alerts moved.
    pub fn alerts(&self) {
        self.here(LiveEvent::Alerts);
        self.tell(Notice::Alerts);
    }

    /// Publishes the results of a stored batch: here when `names` were
    /// taken (a socket watched), and to the other replicas by id; what
    /// tells when they were told.
    pub fn results(
        &self,
        agent_id: Uuid,
        agent: &str,
        names: Option<Vec<ResultNames>>,
        rows: &[ResultRow],
    ) -> Option<Told> {
        let told = match (
            rows.iter().map(|r| r.started_at).min(),
            rows.iter().map(|r| r.started_at).max(),
        ) {
            (Some(first), Some(last)) => self.tell(Notice::Results {
                agent_id,
                from: first,
                to: last,
                ids: rows.iter().map(|r| r.id).collect(),
            }),
            _ => None,
        };
        let Some(names) = names else {
            return told;
        };
        for (names, row) in names.into_iter().zip(rows) {
            self.here(LiveEvent::Result {
                result: Box::new(LatestRow {
                    check_id: row.check_id,
                    agent_id,
                    agent: agent.to_owned(),
                    check: names.check,
                    target: names.target,
                    plugin: names.plugin,
                    plugin_version: row.plugin_version.clone(),
                    result_id: row.id,
                    status: row.status,
                    started_at: row.started_at,
                    duration: row.duration,
                    message: row.message.clone(),
                }),
                samples: row
                    .samples
                    .iter()
                    .map(|s| LiveSample {
                        series_id: s.series_id,
                        value: s.value,
                    })
                    .collect(),
                distributions: row
                    .distributions
                    .iter()
                    .filter_map(|d| {
                        Some(LiveDistribution {
                            series_id: d.series_id,
                            point: Point::exact(row.started_at, &d.values)?,
                        })
                    })
                    .collect(),
            });
        }
        told
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_watcher_that_falls_behind_learns_it_lagged() {
        let live = Live::default();
        assert!(!live.watched());
        let mut rx = live.subscribe();
        assert!(live.watched());
        for _ in 0..CAPACITY + 5 {
            live.here(LiveEvent::Resync);
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(5))
        ));
        assert!(rx.recv().await.is_ok(), "it carries on after the gap");
    }
}

//! What the other replicas told, passed on to this replica's pages and
//! long polls. Notices wait in [`Heard`] while rows are read; everything
//! that came meanwhile is passed on in one round, the results of all its
//! results notices read together.

use std::sync::Mutex;

use tokio::sync::{Notify, watch};

use super::Notice;
use crate::AppState;
use crate::live::LiveEvent;
use crate::store::Store;
use crate::store::postgres::Named;

/// Notices waiting at most: past it they are replaced by one `resync`
/// (pages read again rather than this replica falling further behind).
const MAX_WAITING: usize = 10_000;

/// Notices heard and not yet passed on.
#[derive(Debug, Default)]
pub(super) struct Heard {
    waiting: Mutex<Vec<Notice>>,
    wake: Notify,
}

impl Heard {
    pub(super) fn push(&self, notices: Vec<Notice>) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if waiting.len() + notices.len() > MAX_WAITING {
            tracing::warn!("This replica fell behind the others' notices; its pages resync.");
            waiting.clear();
            waiting.push(Notice::Resync);
        } else {
            waiting.extend(notices);
        }
        drop(waiting);
        self.wake.notify_one();
    }

    fn take(&self) -> Vec<Notice> {
        std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Passes on what is heard until `stop` turns true.
pub(super) async fn pass_on(state: &AppState, heard: &Heard, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = heard.wake.notified() => {}
            _ = stop.changed() => return,
        }
        hear(state, heard.take()).await;
    }
}

/// Passes notices on, in order; the results of consecutive results
/// notices are read together.
async fn hear(state: &AppState, notices: Vec<Notice>) {
    let mut named = Vec::new();
    for notice in notices {
        let notice = match notice {
            Notice::Results {
                agent_id,
                from,
                to,
                ids,
            } => {
                named.push(Named {
                    agent_id,
                    from,
                    to,
                    ids,
                });
                continue;
            }
            other => other,
        };
        read_results(state, std::mem::take(&mut named)).await;
        match notice {
            Notice::Results { .. } => {}
            Notice::Agent { agent_id, at, name } => {
                if state.live.watched() {
                    state.live.here(LiveEvent::Agent {
                        agent_id,
                        name,
                        last_seen_at: at,
                    });
                }
            }
            Notice::Alerts => state.live.here(LiveEvent::Alerts),
            Notice::Changes => state.changes.bump_here(),
            Notice::Resync => state.live.here(LiveEvent::Resync),
        }
    }
    read_results(state, named).await;
}

/// Reads the results other replicas named, when a page here watches.
async fn read_results(state: &AppState, named: Vec<Named>) {
    if named.is_empty() || !state.live.watched() {
        return;
    }
    let Store::Postgres(pg) = &state.store else {
        return;
    };
    match pg.live_results(&named).await {
        Ok(events) => events.into_iter().for_each(|e| state.live.here(e)),
        Err(e) => {
            tracing::warn!(error = %e, "Reading another replica's results failed; pages resync.");
            state.live.here(LiveEvent::Resync);
        }
    }
}

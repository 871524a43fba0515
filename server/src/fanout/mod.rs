//! Live events and long-poll wake-ups across replicas (PostgreSQL only):
//! what one replica publishes, the others hear through `LISTEN`/`NOTIFY`.
//!
//! - **Sending.** [`Fanout::send`] queues a [`Notice`]; a task sends what
//!   is queued as one `SELECT pg_notify(…)` statement, outside any ingest
//!   transaction, in payloads under 8000 bytes: at once when it is idle,
//!   and what came meanwhile as the next statement when it is not (a
//!   notifying commit takes a global lock: one a round, not one a batch).
//! - **Listening.** A task `LISTEN`s on a connection of its own, outside
//!   the pool (`application_name` `vantage-server listener`), and skips
//!   what this replica sent. A results notice names the rows: they
//!   are read back only when a page on this replica watches. A heartbeat,
//!   alerts and changes notice carries all there is.
//! - **Acknowledging.** Ingest answers an agent only once the notice of
//!   its batch was sent ([`Fanout::sent`], at most [`ACK_WAIT`]), and a
//!   replayed batch is announced again: a replica killed between storing
//!   and telling leaves no acknowledged batch untold.
//! - **Losing.** A listener whose connection dropped cannot know what it
//!   missed: once it listens again, its pages get `resync` (they read what
//!   they show again) and its long polls are woken. A sender that could
//!   not send tells the others `resync` once it can.

mod hear;
mod notice;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

pub use notice::{MAX_PAYLOAD, Notice, pack, unpack};

use crate::AppState;
use crate::live::LiveEvent;
use crate::store::Store;
use hear::Heard;

/// The channel every replica of one database listens on.
const CHANNEL: &str = "vantage_live";
/// Notices queued at most: past it, the queue is replaced by one `resync`.
const MAX_QUEUED: usize = 10_000;
/// How long to wait after the listener or sender failed.
const RETRY: Duration = Duration::from_secs(1);
/// How long ingest waits for its notice to be sent before it answers
/// anyway (the others are then told to resync).
pub const ACK_WAIT: Duration = Duration::from_secs(1);

/// This replica's outgoing notices.
#[derive(Debug)]
pub struct Fanout {
    /// Who sent a payload: a listener skips its own.
    origin: String,
    queue: Mutex<Queue>,
    wake: Notify,
    /// The number of notices queued so far.
    queued: AtomicU64,
    /// The number of the last notice sent (or given up as lost).
    sent: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Queue {
    notices: Vec<Notice>,
    /// Notices were dropped (the queue overflowed, a send failed).
    lost: bool,
}

impl Fanout {
    fn new() -> Fanout {
        Fanout {
            origin: Uuid::now_v7().simple().to_string(),
            queue: Mutex::default(),
            wake: Notify::new(),
            queued: AtomicU64::new(0),
            sent: watch::Sender::new(0),
        }
    }

    /// Queues a notice for the other replicas; its number, for [`sent`](Self::sent).
    pub fn send(&self, notice: Notice) -> u64 {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.notices.len() >= MAX_QUEUED {
            queue.notices.clear();
            queue.lost = true;
        }
        queue.notices.push(notice);
        let number = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
        drop(queue);
        self.wake.notify_one();
        number
    }

    /// Returns once notice `number` was sent, or given up as lost (the
    /// others then told to resync), or after [`ACK_WAIT`].
    pub async fn sent(&self, number: u64) {
        let mut sent = self.sent.subscribe();
        let _ = tokio::time::timeout(ACK_WAIT, sent.wait_for(|n| *n >= number)).await;
    }

    /// Everything queued, led by `resync` when notices were lost, and the
    /// number of the last.
    fn take(&self) -> (Vec<Notice>, u64) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let mut notices = std::mem::take(&mut queue.notices);
        if std::mem::take(&mut queue.lost) {
            notices.insert(0, Notice::Resync);
        }
        (notices, self.queued.load(Ordering::Relaxed))
    }

    fn lost(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).lost = true;
    }
}

/// Connects this replica's live stream and long polls to the other
/// replicas', until `stop` turns true. Does nothing on SQLite, which
/// serves one process.
pub async fn run(state: AppState, stop: watch::Receiver<bool>) {
    let Store::Postgres(pg) = &state.store else {
        return;
    };
    let pool = pg.pool().clone();
    let fanout = Arc::new(Fanout::new());
    state.live.fan_out(fanout.clone());
    state.changes.fan_out(fanout.clone());
    tokio::join!(
        send(pool.clone(), fanout.clone(), stop.clone()),
        listen(pool, state, fanout.origin.clone(), stop),
    );
}

async fn send(pool: PgPool, fanout: Arc<Fanout>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = fanout.wake.notified() => {}
            _ = stop.changed() => return,
        }
        let (notices, last) = fanout.take();
        let payloads = pack(&fanout.origin, &notices);
        if !payloads.is_empty() {
            let sent = sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
                .bind(CHANNEL)
                .bind(&payloads)
                .execute(&pool)
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "Telling the other replicas failed; they will be told to resync.");
                fanout.lost();
                fanout.sent.send_replace(last);
                tokio::time::sleep(RETRY).await;
                fanout.wake.notify_one();
                continue;
            }
        }
        fanout.sent.send_replace(last);
    }
}

/// Listens to the other replicas, and passes what they tell on: two
/// tasks, so that notifications are taken off the connection while rows
/// are read (PostgreSQL holds back what a listener does not read).
async fn listen(pool: PgPool, state: AppState, origin: String, stop: watch::Receiver<bool>) {
    let heard = Arc::new(Heard::default());
    tokio::join!(
        receive(pool, &state, &origin, &heard, stop.clone()),
        hear::pass_on(&state, &heard, stop),
    );
}

async fn receive(
    pool: PgPool,
    state: &AppState,
    origin: &str,
    heard: &Heard,
    mut stop: watch::Receiver<bool>,
) {
    // A pool of one beside the server's: the listener holds its connection
    // for good, which would leave the ingest gate one short.
    let options = pool
        .connect_options()
        .as_ref()
        .clone()
        .application_name("vantage-server listener");
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options);
    let mut lost = false;
    loop {
        let Some(mut listener) = connect(&pool, &mut stop).await else {
            return;
        };
        if lost {
            // Listening again: what came while it was not is unknown, so
            // pages read again now, and long polls look again.
            tracing::info!("Listening to the other replicas again; pages resync.");
            state.live.here(LiveEvent::Resync);
            state.changes.bump_here();
        }
        lost = true;
        loop {
            let notification = tokio::select! {
                notification = listener.try_recv() => notification,
                _ = stop.changed() => return,
            };
            match notification {
                Ok(Some(notification)) => {
                    let (from, notices) = unpack(notification.payload());
                    if from != origin {
                        heard.push(notices);
                    }
                }
                Ok(None) => {
                    tracing::warn!("The connection listening to the other replicas dropped.");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Listening to the other replicas failed.");
                    break;
                }
            }
        }
    }
}

/// A listener on [`CHANNEL`], retried every [`RETRY`] (a warning for the
/// first failure only); `None` once `stop` turns true.
async fn connect(pool: &PgPool, stop: &mut watch::Receiver<bool>) -> Option<PgListener> {
    let mut warned = false;
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(pool).await?;
            // Reconnected by `connect` after a loss, so that the resync
            // comes once it listens again.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        tokio::select! {
            connected = connected => match connected {
                Ok(listener) => return Some(listener),
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!(error = %e, "Cannot listen to the other replicas yet; retrying every second.");
                }
                Err(_) => {}
            },
            _ = stop.changed() => return None,
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => {}
            _ = stop.changed() => return None,
        }
    }
}

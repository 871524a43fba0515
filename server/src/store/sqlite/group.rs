//! Group commit: ingest batches that arrive while the writer is busy share
//! its next transaction.
//!
//! SQLite has one writer, and with `synchronous=FULL` each commit syncs the
//! WAL; a batch alone also writes every index page it touched, though the
//! next batch touches most of them again. So one task owns ingest's writes:
//! for the first waiting batch it begins a `BEGIN IMMEDIATE` transaction,
//! then takes whatever queued meanwhile (up to [`GROUP_BATCHES`] batches or
//! [`GROUP_RESULTS`] results), stores them together ([`super::batches`]),
//! commits once, and only then answers each batch. If storing them fails,
//! the task rolls back and stores them again, each in its own savepoint: the
//! batch that fails rolls back to its savepoint and gets its error, the
//! others go on. A failed commit (or a panic) fails every batch in it, none
//! of which is acknowledged, and the task goes on. It lives as long as the
//! store: it ends when the last handle is dropped.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use futures_util::FutureExt as _;
use sqlx::{Acquire as _, Sqlite, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::{batches, begin_immediate};
use crate::store::*;

/// Batches one transaction carries at most.
const GROUP_BATCHES: usize = 64;
/// Results one transaction carries at most (a batch may bring more alone).
const GROUP_RESULTS: usize = 20_000;
/// Batches waiting for the writer; the ingest gate admits far fewer at once.
const QUEUE: usize = 1024;

/// A batch id whose storing panics, so that a test sees the task survive.
#[cfg(test)]
pub(super) const PANICS: uuid::Uuid = uuid::Uuid::from_u128(0xdead);

struct Job {
    batch: StoreBatch,
    now: DateTime<Utc>,
    reply: oneshot::Sender<StoreResult<Ingested>>,
}

/// The handle to the writer task.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
    /// Transactions committed so far (the task counts them; tests read).
    #[cfg(test)]
    commits: Arc<AtomicU64>,
    /// Groups stored again a batch at a time.
    #[cfg(test)]
    retries: Arc<AtomicU64>,
}

fn stopped() -> StoreError {
    StoreError::Writer("the SQLite writer task has stopped".into())
}

impl Writer {
    /// Starts the task on the current runtime.
    pub(super) fn start(write: SqlitePool) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let (commits, retries) = (Arc::default(), Arc::default());
        tokio::spawn(run(
            write,
            queue,
            Arc::clone(&commits),
            Arc::clone(&retries),
        ));
        Writer {
            jobs,
            #[cfg(test)]
            commits,
            #[cfg(test)]
            retries,
        }
    }

    /// Transactions committed so far.
    #[cfg(test)]
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Groups stored again a batch at a time so far.
    #[cfg(test)]
    pub(super) fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Batches waiting in the queue (not the one being stored).
    #[cfg(test)]
    pub(super) fn queued(&self) -> usize {
        QUEUE - self.jobs.capacity()
    }

    /// Stores `batch` with the batches around it; answers after the commit.
    pub(super) async fn ingest(
        &self,
        batch: StoreBatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Ingested> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { batch, now, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(
    write: SqlitePool,
    mut queue: mpsc::Receiver<Job>,
    commits: Arc<AtomicU64>,
    retries: Arc<AtomicU64>,
) {
    let mut group: Vec<Job> = Vec::with_capacity(GROUP_BATCHES);
    while let Some(first) = queue.recv().await {
        // The group forms once the transaction has begun: batches that came
        // while it waited for the connection (held by a job, say) join it.
        let tx = begin_immediate(&write).await;
        let mut results = first.batch.results.len();
        group.push(first);
        while group.len() < GROUP_BATCHES && results < GROUP_RESULTS {
            let Ok(job) = queue.try_recv() else { break };
            results += job.batch.results.len();
            group.push(job);
        }
        // A panic must not end the task, or every later batch would fail.
        let answers = match AssertUnwindSafe(store_group(&write, tx, &group, &retries))
            .catch_unwind()
            .await
        {
            Ok(answers) => answers,
            Err(_) => {
                tracing::error!(
                    batches = group.len(),
                    "Storing a group of ingest batches panicked; none of them is acknowledged."
                );
                group
                    .iter()
                    .map(|_| Err(StoreError::Writer("storing the batch panicked".into())))
                    .collect()
            }
        };
        commits.fetch_add(1, Ordering::Relaxed);
        for (job, answer) in group.drain(..).zip(answers) {
            // A caller that went away learns nothing; its agent replays.
            let _ = job.reply.send(answer);
        }
    }
}

/// `group` together in `tx`, or if that fails, a batch at a time in a
/// second transaction: an answer for each job, in order.
async fn store_group(
    write: &SqlitePool,
    tx: Result<Transaction<'static, Sqlite>, sqlx::Error>,
    group: &[Job],
    retries: &AtomicU64,
) -> Vec<StoreResult<Ingested>> {
    let mut tx = match tx {
        Ok(tx) => tx,
        Err(e) => return failed(group, "could not begin", &e),
    };
    #[cfg(test)]
    if group.iter().any(|job| job.batch.batch_id == PANICS) {
        panic!("a test's batch that panics");
    }
    let batches: Vec<(&StoreBatch, DateTime<Utc>)> =
        group.iter().map(|job| (&job.batch, job.now)).collect();
    let error = match batches::store(&mut tx, &batches).await {
        Ok(ingested) => {
            return match tx.commit().await {
                Ok(()) => ingested.into_iter().map(Ok).collect(),
                Err(e) => failed(group, "could not commit", &e),
            };
        }
        Err(error) => error,
    };
    if let Err(e) = tx.rollback().await {
        return failed(group, "could not roll back", &e);
    }
    if group.len() == 1 {
        return vec![Err(error)];
    }
    // Some batch of them is bad: find it.
    retries.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(batches = group.len(), %error, "Storing a group of ingest batches failed; storing them one at a time.");
    one_at_a_time(begin_immediate(write).await, group, &batches).await
}

/// A savepoint for each of `batches`, in one transaction.
async fn one_at_a_time(
    tx: Result<Transaction<'static, Sqlite>, sqlx::Error>,
    group: &[Job],
    batches: &[(&StoreBatch, DateTime<Utc>)],
) -> Vec<StoreResult<Ingested>> {
    let mut tx = match tx {
        Ok(tx) => tx,
        Err(e) => return failed(group, "could not begin", &e),
    };
    let mut answers = Vec::with_capacity(group.len());
    for batch in batches {
        let mut savepoint = match tx.begin().await {
            Ok(savepoint) => savepoint,
            Err(e) => return failed(group, "could not take a savepoint", &e),
        };
        match batches::store(&mut savepoint, std::slice::from_ref(batch)).await {
            Ok(mut ingested) => {
                if let Err(e) = savepoint.commit().await {
                    return failed(group, "could not release a savepoint", &e);
                }
                answers.push(
                    ingested
                        .pop()
                        .ok_or_else(|| StoreError::Writer("a stored batch got no answer".into())),
                );
            }
            Err(error) => {
                // Gone with its savepoint; if that fails, the transaction
                // is in an unknown state and nothing of it may be acknowledged.
                if let Err(e) = savepoint.rollback().await {
                    return failed(group, "could not roll back a savepoint", &e);
                }
                answers.push(Err(error));
            }
        }
    }
    if let Err(e) = tx.commit().await {
        return failed(group, "could not commit", &e);
    }
    answers
}

/// The same error for every job of `group`: none is acknowledged.
fn failed(group: &[Job], why: &str, e: &dyn std::fmt::Display) -> Vec<StoreResult<Ingested>> {
    tracing::warn!(batches = group.len(), error = %e, "A group of ingest batches {why}.");
    let e = format!("{why}: {e}");
    group
        .iter()
        .map(|_| Err(StoreError::Writer(e.clone())))
        .collect()
}

//! Group commit: ingest batches that arrive while the writer is busy share
//! its next transaction.
//!
//! SQLite has one writer, and with `synchronous=FULL` each commit syncs the
//! WAL; a batch alone also writes every index page it touched, though the
//! next batch touches most of them again. So one task owns ingest's writes:
//! for the first waiting batch it begins a `BEGIN IMMEDIATE` transaction,
//! then takes whatever queued meanwhile (up to [`GROUP_BATCHES`] batches or
//! [`GROUP_RESULTS`] results), stores each in its own savepoint, commits
//! once, and only then answers each batch. A batch that fails rolls back to
//! its savepoint and gets its error, the others go on; a failed commit (or
//! a panic) fails every batch in it, none of which is acknowledged, and the
//! task goes on. It lives as long as the store: it ends when the last handle
//! is dropped.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use futures_util::FutureExt as _;
use sqlx::{Acquire as _, Sqlite, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::begin_immediate;
use super::ingest::store_batch;
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
}

fn stopped() -> StoreError {
    StoreError::Writer("the SQLite writer task has stopped".into())
}

impl Writer {
    /// Starts the task on the current runtime.
    pub(super) fn start(write: SqlitePool) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let commits = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(write, queue, commits.clone()));
        Writer {
            jobs,
            #[cfg(test)]
            commits,
        }
    }

    /// Transactions committed so far.
    #[cfg(test)]
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
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

async fn run(write: SqlitePool, mut queue: mpsc::Receiver<Job>, commits: Arc<AtomicU64>) {
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
        let answers = match AssertUnwindSafe(store_group(tx, &group))
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

/// One transaction for `group`: an answer for each job, in order.
async fn store_group(
    tx: Result<Transaction<'static, Sqlite>, sqlx::Error>,
    group: &[Job],
) -> Vec<StoreResult<Ingested>> {
    let failed = |why: &str, e: &dyn std::fmt::Display| -> Vec<StoreResult<Ingested>> {
        tracing::warn!(batches = group.len(), error = %e, "A group of ingest batches {why}.");
        let e = format!("{why}: {e}");
        group
            .iter()
            .map(|_| Err(StoreError::Writer(e.clone())))
            .collect()
    };
    let mut tx = match tx {
        Ok(tx) => tx,
        Err(e) => return failed("could not begin", &e),
    };
    let mut answers = Vec::with_capacity(group.len());
    for job in group {
        #[cfg(test)]
        if job.batch.batch_id == PANICS {
            panic!("a test's batch that panics");
        }
        let mut savepoint = match tx.begin().await {
            Ok(savepoint) => savepoint,
            Err(e) => return failed("could not take a savepoint", &e),
        };
        match store_batch(&mut savepoint, &job.batch, job.now).await {
            Ok(ingested) => {
                if let Err(e) = savepoint.commit().await {
                    return failed("could not release a savepoint", &e);
                }
                answers.push(Ok(ingested));
            }
            Err(error) => {
                // Gone with its savepoint; if that fails, the transaction
                // is in an unknown state and nothing of it may be acknowledged.
                if let Err(e) = savepoint.rollback().await {
                    return failed("could not roll back a savepoint", &e);
                }
                answers.push(Err(error));
            }
        }
    }
    if let Err(e) = tx.commit().await {
        return failed("could not commit", &e);
    }
    answers
}

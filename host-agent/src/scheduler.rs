//! The scheduler: every job runs on its own anchored timetable (slot k starts
//! at `t0 + k·interval`, plus up to `jitter`), so lateness never accumulates
//! into drift; a semaphore bounds the runs in flight across all jobs; a slot
//! missed entirely (the previous run or the queue overran it) is skipped and
//! counted, never run twice. A run that panics (an agent bug) becomes an
//! `error` result for its own check, is logged and counted, and the job goes
//! on at its next slot.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng as _;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;
use vantage_protocol::result::CheckResult;

use crate::host::PluginHost;
use crate::plugin::CompiledPlugin;
use crate::run::RunRequest;
use guard::{PanicMeta, guarded};

mod guard;

/// One check against one target.
#[derive(Debug, Clone)]
pub struct Job {
    pub plugin: Arc<CompiledPlugin>,
    pub request: RunRequest,
    pub interval: Duration,
    pub jitter: Duration,
}

/// Runs jobs with bounded concurrency.
#[derive(Debug, Clone)]
pub struct Scheduler {
    host: Arc<PluginHost>,
    agent: Arc<str>,
    permits: Arc<Semaphore>,
    stats: Arc<SchedulerStats>,
}

/// What the scheduler counts since the agent started.
#[derive(Debug, Default)]
pub struct SchedulerStats {
    /// Runs that panicked in the agent (each became an `error` result).
    pub panicked: AtomicU64,
    /// Slots skipped because the previous run or the queue overran them.
    pub missed: AtomicU64,
}

impl Scheduler {
    pub fn new(host: Arc<PluginHost>, agent: &str, max_concurrent_runs: usize) -> Self {
        Scheduler {
            host,
            agent: agent.into(),
            permits: Arc::new(Semaphore::new(max_concurrent_runs)),
            stats: Arc::default(),
        }
    }

    /// The counters of this scheduler (shared by its clones).
    pub fn stats(&self) -> &SchedulerStats {
        &self.stats
    }

    /// Opens the shared engines the jobs need before the first run, so
    /// the agent says at start how it will probe (e.g. which ICMP sockets).
    pub fn start_services(&self, jobs: &[Job]) {
        if jobs.iter().any(|j| {
            j.request
                .grants
                .contains(&vantage_protocol::manifest::Capability::Icmp)
        }) {
            self.host.icmp().start();
        }
    }

    async fn run_job(&self, job: &Job) -> CheckResult {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let manifest = job.plugin.manifest();
        let meta = PanicMeta {
            agent: &self.agent,
            check: &job.request.check,
            target: &job.request.target,
            plugin: &manifest.name,
            version: manifest.version.to_string(),
        };
        guarded(
            &meta,
            &self.stats,
            job.plugin.run(&self.host, &self.agent, &job.request),
        )
        .await
    }

    /// Runs every job once, all at once within the concurrency bound, and
    /// returns the results in job order.
    pub async fn run_once(&self, jobs: &[Job]) -> Vec<CheckResult> {
        futures_util::future::join_all(jobs.iter().map(|job| self.run_job(job))).await
    }

    /// Runs every job on its interval until `stop` turns true or the
    /// receiver of `results` is dropped.
    pub async fn run_forever(
        &self,
        jobs: Vec<Job>,
        results: mpsc::Sender<CheckResult>,
        stop: watch::Receiver<bool>,
    ) {
        let (_keep, jobs) = watch::channel(Arc::new(jobs));
        self.run_swappable(jobs, results, stop).await;
    }

    /// Runs the job set that `jobs` holds, and every set it changes to,
    /// until `stop` turns true or the receiver of `results` is dropped.
    ///
    /// On a change, a job whose plugin and request are the same keeps its
    /// timetable; a changed job's old task finishes the run in progress (a
    /// swap happens between runs, never during one), then the new one starts;
    /// a removed job stops after its run in progress.
    pub async fn run_swappable(
        &self,
        mut jobs: watch::Receiver<Arc<Vec<Job>>>,
        results: mpsc::Sender<CheckResult>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut running: HashMap<(Arc<str>, String), Running> = HashMap::new();
        let mut set = jobs.borrow_and_update().clone();
        let mut first = true;
        loop {
            self.start_services(&set);
            let mut next: HashMap<(Arc<str>, String), Running> = HashMap::new();
            for job in set.iter() {
                let key = (job.request.check.clone(), job.request.target.clone());
                if next.contains_key(&key) {
                    tracing::warn!(check = %key.0, target = key.1, "Duplicate job ignored.");
                    continue;
                }
                let previous = running.remove(&key);
                let entry = match previous {
                    Some(old) if old.job.same_as(job) => old,
                    old => {
                        let after = old.map(|old| {
                            tracing::info!(
                                check = %key.0,
                                target = key.1,
                                from = old.job.plugin.manifest().id(),
                                to = job.plugin.manifest().id(),
                                "Job changed: swapping after its run in progress."
                            );
                            old.retire()
                        });
                        self.spawn(job.clone(), after, results.clone(), stop.clone())
                    }
                };
                next.insert(key, entry);
            }
            for (key, old) in running.drain() {
                tracing::info!(check = %key.0, target = key.1, "Job removed.");
                drop(old.retire());
            }
            // The state and log positions of a removed check go with it. Not from the first
            // set: a managed agent starts with its local checks alone, and
            // the checks it last had from the server follow at once.
            if !first {
                let current = |slot: &crate::caps::state::SlotKey| {
                    next.get(&(slot.check.clone(), slot.target.clone()))
                        .is_some_and(|r| r.job.plugin.manifest().name == slot.plugin)
                };
                let services = self.host.services();
                services.state.retain(current);
                services.logs.positions.retain(current);
            }
            first = false;
            running = next;
            tokio::select! {
                changed = jobs.changed() => {
                    if changed.is_err() {
                        // The sender is gone: the set is final.
                        break;
                    }
                    set = jobs.borrow_and_update().clone();
                }
                _ = stop.wait_for(|s| *s) => break,
                _ = results.closed() => break,
            }
        }
        drop(results);
        for (_, job) in running {
            let _ = job.task.await;
        }
    }

    fn spawn(
        &self,
        job: Job,
        after: Option<tokio::task::JoinHandle<()>>,
        results: mpsc::Sender<CheckResult>,
        mut stop: watch::Receiver<bool>,
    ) -> Running {
        let (retire, mut retired) = watch::channel(false);
        let this = self.clone();
        let task_job = job.clone();
        let task = tokio::spawn(async move {
            let job = task_job;
            if let Some(previous) = after {
                let _ = previous.await;
            }
            let mut slot = Instant::now();
            loop {
                let offset = jittered(job.jitter);
                tokio::select! {
                    _ = tokio::time::sleep_until(slot + offset) => {}
                    _ = stop.wait_for(|s| *s) => return,
                    _ = retired.wait_for(|r| *r) => return,
                }
                let result = this.run_job(&job).await;
                if results.send(result).await.is_err() {
                    return;
                }
                slot = next_slot(
                    slot,
                    job.interval,
                    Instant::now(),
                    &job.request.check,
                    &this.stats,
                );
            }
        });
        Running { job, retire, task }
    }
}

/// A job's task and the switch that retires it.
struct Running {
    job: Job,
    retire: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Tells the task to stop after its run in progress; its handle says when it has.
    fn retire(self) -> tokio::task::JoinHandle<()> {
        let _ = self.retire.send(true);
        self.task
    }
}

impl Job {
    /// Whether `other` runs the same package with the same request and timetable.
    pub fn same_as(&self, other: &Job) -> bool {
        self.plugin.digest() == other.plugin.digest()
            && self.request == other.request
            && self.interval == other.interval
            && self.jitter == other.jitter
    }
}

fn jittered(jitter: Duration) -> Duration {
    if jitter.is_zero() {
        Duration::ZERO
    } else {
        rand::rng().random_range(Duration::ZERO..jitter)
    }
}

/// The next slot after `slot` that has not already passed.
fn next_slot(
    slot: Instant,
    interval: Duration,
    now: Instant,
    check: &str,
    stats: &SchedulerStats,
) -> Instant {
    let next = slot + interval;
    if next >= now {
        return next;
    }
    let behind = now - next;
    let missed = behind.as_nanos() / interval.as_nanos() + 1;
    stats
        .missed
        .fetch_add(u64::try_from(missed).unwrap_or(u64::MAX), Ordering::Relaxed);
    tracing::warn!(
        check,
        missed = missed as u64,
        "Check overran its interval; skipping missed slots."
    );
    next + interval * u32::try_from(missed).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_stay_anchored_and_missed_slots_are_skipped() {
        let stats = SchedulerStats::default();
        let next_slot = |slot, i, now, c| next_slot(slot, i, now, c, &stats);
        let t0 = Instant::now();
        let i = Duration::from_secs(1);
        // On time, or a little late: the next slot is still t0 + k·interval.
        assert_eq!(
            next_slot(t0, i, t0 + Duration::from_millis(300), "c"),
            t0 + i
        );
        let mut slot = t0;
        for k in 1..=1000u32 {
            slot = next_slot(slot, i, slot + Duration::from_millis(999), "c");
            assert_eq!(slot, t0 + i * k);
        }
        // 2.5 intervals late: slots 1 and 2 are skipped, slot 3 is next.
        assert_eq!(
            next_slot(t0, i, t0 + Duration::from_millis(2500), "c"),
            t0 + i * 3
        );
        assert!(jittered(Duration::from_millis(5)) < Duration::from_millis(5));
        assert_eq!(jittered(Duration::ZERO), Duration::ZERO);
        assert_eq!(stats.missed.load(Ordering::Relaxed), 2);
    }
}

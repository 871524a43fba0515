//! The scheduler holds every job's timetable over many cycles while the
//! machine is busy: runs queue for a small concurrency bound and CPU-bound
//! plugins spin until their deadline, yet no job's runs drift off its grid.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use support::{compile, host, request};
use tokio::sync::{mpsc, watch};
use vantage_agent::scheduler::{Job, Scheduler};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timetables_do_not_drift_under_load() {
    let host = host();
    let plugin = compile(&host, "misbehave");
    let interval = Duration::from_millis(200);
    let mut jobs = Vec::new();
    for i in 0..60 {
        let mut request = request(&plugin, "127.0.0.1:9", json!({"mode": "ok"}));
        request.check = format!("ok-{i}").into();
        jobs.push(Job {
            plugin: plugin.clone(),
            request,
            interval,
            jitter: Duration::ZERO,
        });
    }
    // Four jobs that burn CPU for most of their interval.
    for i in 0..4 {
        let mut request = request(&plugin, "127.0.0.1:9", json!({"mode": "loop"}));
        request.check = format!("busy-{i}").into();
        request.timeout = Duration::from_millis(150);
        jobs.push(Job {
            plugin: plugin.clone(),
            request,
            interval,
            jitter: Duration::ZERO,
        });
    }
    let scheduler = Scheduler::new(host.clone(), "test-agent", 8);
    let (tx, mut rx) = mpsc::channel(16_384);
    let (stop_tx, stop) = watch::channel(false);
    let cycles = 25u32;
    let running = tokio::spawn(async move { scheduler.run_forever(jobs, tx, stop).await });
    tokio::time::sleep(interval * cycles - Duration::from_millis(100)).await;
    stop_tx.send(true).unwrap();
    running.await.unwrap();

    let mut starts: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    while let Ok(r) = rx.try_recv() {
        starts
            .entry(r.check.clone())
            .or_default()
            .push(r.started_at);
    }
    // All jobs share one start instant; the earliest run of all estimates it
    // (a little late, so a run can seem a little early).
    let t0 = starts.values().flatten().min().copied().unwrap();
    let step = interval.as_secs_f64();
    let mut worst = 0f64;
    for i in 0..60 {
        let runs = &starts[&format!("ok-{i}")];
        // A skipped slot is allowed under load; a lost timetable is not.
        assert!(
            runs.len() as u32 >= cycles * 8 / 10,
            "ok-{i}: {} runs of {cycles}",
            runs.len()
        );
        for start in runs {
            let since = (*start - t0).to_std().unwrap().as_secs_f64();
            // Signed distance to the nearest slot of the timetable.
            let off = since - (since / step).round() * step;
            worst = worst.max(off.abs());
        }
    }
    let worst = Duration::from_secs_f64(worst);
    eprintln!("farthest run from its slot: {worst:?}");
    // Every run starts near its slot, in cycle 25 as in cycle 1: lateness
    // does not accumulate (a scheduler that sleeps an interval after each run
    // would be a run's duration later every cycle).
    assert!(
        worst < interval / 3,
        "a run started {worst:?} away from its slot"
    );
}

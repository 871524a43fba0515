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
    // Per run: its slot number and its signed distance to that slot.
    let mut offsets: Vec<(u32, f64)> = Vec::new();
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
            let slot = (since / step).round();
            offsets.push((slot as u32, since - slot * step));
        }
    }
    let mut distances: Vec<f64> = offsets.iter().map(|(_, off)| off.abs()).collect();
    distances.sort_by(f64::total_cmp);
    let p95 = Duration::from_secs_f64(distances[distances.len() * 95 / 100]);
    let worst = Duration::from_secs_f64(distances[distances.len() - 1]);
    let mean_in = |slots: std::ops::Range<u32>| {
        let picked: Vec<f64> = offsets
            .iter()
            .filter(|(slot, _)| slots.contains(slot))
            .map(|(_, off)| *off)
            .collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let early = mean_in(0..5);
    let late = mean_in(cycles - 6..cycles - 1);
    eprintln!(
        "runs from their slots: p95 {p95:?}, farthest {worst:?}; mean offset {:.1} ms in the first 5 cycles, {:.1} ms in the last 5",
        early * 1e3,
        late * 1e3
    );
    // Runs start near their slots, in cycle 25 as in cycle 1: lateness does
    // not accumulate (a scheduler that sleeps an interval after each run
    // would be a run's duration later every cycle, 25 runs' worth by the
    // end). A single run delayed by a busy machine is tolerated; a drifting
    // timetable is not.
    assert!(
        p95 < interval / 4,
        "5 % of runs started {p95:?} or more away from their slots"
    );
    assert!(
        late - early < 0.015,
        "runs drift: {:.1} ms later on average after {cycles} cycles",
        (late - early) * 1e3
    );
}

/// A new job set takes effect between runs: a changed job's old version
/// finishes its run in progress before the new one starts, a removed job
/// stops, an added job starts, and an unchanged job keeps its timetable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_sets_swap_between_runs() {
    let host = host();
    let misbehave = compile(&host, "misbehave");
    let tcp = compile(&host, "tcp");
    let interval = Duration::from_millis(100);
    let job = |plugin: &std::sync::Arc<vantage_agent::plugin::CompiledPlugin>,
               check: &str,
               config: serde_json::Value| {
        let mut request = request(plugin, "127.0.0.1:9", config);
        request.check = check.into();
        request.timeout = Duration::from_millis(500);
        Job {
            plugin: plugin.clone(),
            request,
            interval,
            jitter: Duration::ZERO,
        }
    };
    // `swapped` sleeps 250 ms per run: a swap always finds one in progress.
    let slow = json!({"mode": "sleep", "sleep_ms": 250});
    let first = vec![
        job(&misbehave, "steady", json!({"mode": "ok"})),
        job(&misbehave, "swapped", slow.clone()),
        job(&misbehave, "removed", json!({"mode": "ok"})),
    ];
    let second = vec![
        job(&misbehave, "steady", json!({"mode": "ok"})),
        job(&tcp, "swapped", json!({})),
        job(&misbehave, "added", json!({"mode": "ok"})),
    ];
    let scheduler = Scheduler::new(host.clone(), "test-agent", 8);
    let (tx, mut rx) = mpsc::channel(16_384);
    let (stop_tx, stop) = watch::channel(false);
    let (set_tx, set) = watch::channel(std::sync::Arc::new(first));
    let running = tokio::spawn(async move { scheduler.run_swappable(set, tx, stop).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let swapped_at = Utc::now();
    set_tx.send(std::sync::Arc::new(second)).unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    stop_tx.send(true).unwrap();
    running.await.unwrap();

    let mut results: HashMap<String, Vec<vantage_protocol::result::CheckResult>> = HashMap::new();
    while let Ok(r) = rx.try_recv() {
        results.entry(r.check.clone()).or_default().push(r);
    }
    // The swapped job: misbehave until the swap, tcp after, never both at once.
    let swapped = &results["swapped"];
    let first_tcp = swapped
        .iter()
        .position(|r| r.plugin == "tcp")
        .expect("the new version ran");
    assert!(first_tcp > 0, "the old version ran first");
    assert!(
        swapped[first_tcp..].iter().all(|r| r.plugin == "tcp"),
        "no old run after the new version started"
    );
    let last_old = &swapped[first_tcp - 1];
    let old_end = last_old.started_at
        + chrono::Duration::from_std(Duration::from_secs_f64(last_old.duration)).unwrap();
    assert!(
        swapped[first_tcp].started_at >= old_end,
        "the new version started at {} while the old run went on until {old_end}",
        swapped[first_tcp].started_at
    );
    // The old run in progress at the swap was finished, not cut short.
    assert!(
        swapped[..first_tcp]
            .iter()
            .all(|r| r.status == vantage_protocol::result::Status::Ok),
        "{:?}",
        swapped[..first_tcp]
            .iter()
            .map(|r| (&r.status, &r.message))
            .collect::<Vec<_>>()
    );
    // Removed: nothing started once the scheduler took the new set (at the
    // latest one interval after the send: a run already due as the set was
    // sent may still start). Added: runs after it.
    let grace = chrono::Duration::from_std(interval).unwrap();
    assert!(
        results["removed"]
            .iter()
            .all(|r| r.started_at < swapped_at + grace),
        "a removed job kept running: {:?}",
        results["removed"]
            .iter()
            .map(|r| r.started_at)
            .collect::<Vec<_>>()
    );
    assert!(results["added"].len() >= 5, "{}", results["added"].len());
    assert!(results["added"].iter().all(|r| r.started_at >= swapped_at));
    // Unchanged: one timetable across the swap, no extra run at the swap.
    let steady: Vec<_> = results["steady"].iter().map(|r| r.started_at).collect();
    let t0 = steady[0];
    for s in &steady {
        let since = (*s - t0).to_std().unwrap().as_secs_f64();
        let off = since - (since / 0.1).round() * 0.1;
        assert!(off.abs() < 0.04, "a steady run {off:.3}s off its slot");
    }
    assert!(
        steady.len() >= 13 && steady.len() <= 17,
        "{} runs in 1.6 s at 100 ms",
        steady.len()
    );
}

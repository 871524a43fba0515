//! Batches: exactly once, statement sizes, group commit, and a timing.

use std::time::Instant;

use chrono::Duration;

use super::*;

#[tokio::test]
async fn ingest_stores_new_results_once_and_replays_acks() {
    let (store, _dir) = open().await;
    let (agent, check, series) = fixture(&store, 2).await;
    let m = |n| t0() + Duration::minutes(n);
    let (r1, r2) = (
        run(check, m(0), &series, 1.0),
        run(check, m(1), &series, 2.0),
    );
    let first = batch(agent, vec![r1.clone(), r2]);
    let ack = store.ingest(&first, t0()).await.unwrap().ack;
    assert_eq!(
        (ack.accepted, ack.duplicates, ack.replayed, ack.samples),
        (2, 0, false, 4)
    );
    assert_eq!(
        (rows(&store, "results").await, rows(&store, "samples").await),
        (2, 4)
    );

    let again = store.ingest(&first, t0()).await.unwrap().ack;
    assert_eq!(
        again,
        IngestAck {
            replayed: true,
            samples: 0,
            ..ack
        }
    );
    assert_eq!(rows(&store, "samples").await, 4, "a replay stores nothing");

    // r1 again in a new batch, with other values: a duplicate, its samples not stored.
    let mut r1_again = r1.clone();
    r1_again.samples[0].value = 99.0;
    let second = batch(agent, vec![r1_again, run(check, m(5), &series[..1], 3.0)]);
    let ack = store.ingest(&second, t0()).await.unwrap().ack;
    assert_eq!((ack.accepted, ack.duplicates), (1, 1));
    assert_eq!(
        (rows(&store, "results").await, rows(&store, "samples").await),
        (3, 5)
    );
    let values: Vec<f64> = store
        .raw_samples(&series[..1], m(0), m(10), usize::MAX)
        .await
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(values, [1.0, 2.0, 3.0]);
    let dirty = store.read_dirty().await.unwrap().ranges;
    let micro = Duration::microseconds(1);
    assert_eq!(
        dirty,
        [
            DirtyRange {
                from: m(0),
                to: m(1) + micro
            },
            DirtyRange {
                from: m(5),
                to: m(5) + micro
            }
        ]
    );
}

#[tokio::test]
async fn a_full_batch_goes_in_as_several_statements() {
    let (store, _dir) = open().await;
    let (agent, check, series) = fixture(&store, 20).await;
    let results: Vec<ResultRow> = (0..5_000)
        .map(|i| run(check, t0() + Duration::seconds(i), &series, i as f64))
        .collect();
    let full = batch(agent, results.clone());
    let ack = store.ingest(&full, t0()).await.unwrap().ack;
    assert_eq!((ack.accepted, ack.duplicates), (5_000, 0));
    assert_eq!(
        (rows(&store, "results").await, rows(&store, "samples").await),
        (5_000, 100_000)
    );

    // The same results re-formed into a new batch, plus one new: 5 000 duplicates.
    let mut again = results;
    again.push(run(check, t0() - Duration::seconds(1), &series, -1.0));
    let ack = store.ingest(&batch(agent, again), t0()).await.unwrap().ack;
    assert_eq!((ack.accepted, ack.duplicates), (1, 5_000));
    assert_eq!(rows(&store, "samples").await, 100_020);
}

/// `cargo test -p vantage-server --lib ingest_rate -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a timing, not a check"]
async fn ingest_rate() {
    let (store, _dir) = open().await;
    let (agent, check, series) = fixture(&store, 10).await;
    let batches: Vec<StoreBatch> = (0..50)
        .map(|b| {
            let results = (0..50)
                .map(|i| {
                    run(
                        check,
                        t0() + Duration::milliseconds(b * 1_000 + i),
                        &series,
                        i as f64,
                    )
                })
                .collect();
            batch(agent, results)
        })
        .collect();
    let start = Instant::now();
    for b in &batches {
        store.ingest(b, t0()).await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for _ in 0..50 {
        store.ingest(&batch(agent, vec![]), t0()).await.unwrap();
    }
    eprintln!(
        "empty batch: {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3 / 50.0
    );
    let samples = rows(&store, "samples").await;
    eprintln!(
        "sqlite ingest: {samples} samples in 50 batches in {secs:.3} s: {:.0} samples/s, {:.1} ms a batch",
        samples as f64 / secs,
        secs * 1e3 / 50.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_queued_behind_a_busy_writer_share_one_commit_and_a_bad_one_fails_alone() {
    let (store, _dir) = open().await;
    let (agent, check, series) = fixture(&store, 2).await;
    let batches: Vec<StoreBatch> = (0..16)
        .map(|i| {
            let mut r = run(check, t0() + Duration::seconds(i), &series, i as f64);
            if i == 5 {
                // SQLite binds NaN as NULL: the NOT NULL constraint refuses it.
                r.duration = f64::NAN;
            }
            batch(agent, vec![r])
        })
        .collect();
    let commits = store.writer.commits();

    // Hold the one write connection, so that every batch queues.
    let held = store.write.acquire().await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, b) in batches.iter().cloned().enumerate() {
        let store = store.clone();
        tasks.spawn(async move { (i, store.ingest(&b, t0()).await) });
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while store.writer.queued() < 15 {
        assert!(Instant::now() < deadline, "the batches never queued");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    drop(held);

    let mut answers: Vec<_> = tasks.join_all().await;
    answers.sort_by_key(|(i, _)| *i);
    for (i, answer) in &answers {
        match answer {
            Ok(ingested) if *i != 5 => assert_eq!(ingested.ack.accepted, 1, "batch {i}"),
            Err(e) if *i == 5 => assert!(e.to_string().contains("NOT NULL"), "{e}"),
            other => panic!("batch {i}: {other:?}"),
        }
    }
    assert_eq!(
        store.writer.commits() - commits,
        1,
        "the 16 batches went in one transaction"
    );
    assert_eq!(
        (rows(&store, "results").await, rows(&store, "samples").await),
        (15, 30),
        "the bad batch left nothing behind"
    );
    // Nothing of it was acknowledged: sent again, mended, it is stored.
    let mut mended = batches[5].clone();
    mended.results[0].duration = 0.5;
    let ack = store.ingest(&mended, t0()).await.unwrap().ack;
    assert_eq!((ack.accepted, ack.replayed), (1, false));
}

#[tokio::test]
async fn a_batch_that_panics_in_the_writer_fails_alone_and_the_writer_goes_on() {
    let (store, _dir) = open().await;
    let (agent, check, series) = fixture(&store, 1).await;
    let mut bad = batch(agent, vec![run(check, t0(), &series, 1.0)]);
    bad.batch_id = super::super::group::PANICS;
    let e = store.ingest(&bad, t0()).await.unwrap_err();
    assert!(e.to_string().contains("panicked"), "{e}");
    assert_eq!(rows(&store, "results").await, 0, "nothing of it stored");

    let good = batch(agent, vec![run(check, t0(), &series, 2.0)]);
    let ack = store.ingest(&good, t0()).await.unwrap().ack;
    assert_eq!((ack.accepted, ack.samples), (1, 1));
}

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

/// Stores `batches` as one group, in order: they queue while the test holds
/// the one write connection. Their answers, in order.
async fn in_one_group(store: &SqliteStore, batches: &[StoreBatch]) -> Vec<StoreResult<Ingested>> {
    let commits = store.writer.commits();
    let held = store.write.acquire().await.unwrap();
    // `join_all` polls each in turn, so each queues before the next.
    let stored = futures_util::future::join_all(batches.iter().map(|b| store.ingest(b, t0())));
    let release = async {
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        // The writer task holds the first while it waits for the connection.
        while store.writer.queued() + 1 < batches.len() {
            assert!(Instant::now() < deadline, "the batches never queued");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        drop(held);
    };
    let (answers, ()) = tokio::join!(stored, release);
    assert_eq!(
        store.writer.commits() - commits,
        1,
        "the {} batches went in one transaction",
        batches.len()
    );
    answers
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
    let retries = store.writer.retries();

    let answers = in_one_group(&store, &batches).await;
    for (i, answer) in answers.iter().enumerate() {
        match answer {
            Ok(ingested) if i != 5 => assert_eq!(ingested.ack.accepted, 1, "batch {i}"),
            Err(e) if i == 5 => assert!(e.to_string().contains("NOT NULL"), "{e}"),
            other => panic!("batch {i}: {other:?}"),
        }
    }
    assert_eq!(
        store.writer.retries() - retries,
        1,
        "the group was stored again, a batch at a time"
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_stores_each_batch_as_if_it_came_alone() {
    let (store, _dir) = open().await;
    let (agent, check, series) = fixture(&store, 3).await;
    let s = |n| t0() + Duration::seconds(n);
    let outbox = |backlog_results| OutboxStats {
        backlog_results,
        ..OutboxStats::default()
    };
    // Stored before the group: in it, a replay.
    let earlier = batch(agent, vec![run(check, s(0), &series, 0.0)]);
    let earlier_ack = store.ingest(&earlier, t0()).await.unwrap().ack;

    let shared = run(check, s(20), &series, 2.0);
    let mut first = batch(agent, vec![run(check, s(10), &series, 1.0), shared.clone()]);
    first.outbox = outbox(7);
    let twin = first.clone();
    // `shared` again, in another batch of the group: a duplicate there.
    let mut second = batch(agent, vec![shared, run(check, s(15), &series[..1], 3.0)]);
    second.outbox = outbox(3);
    second.expired = 2;
    // Far from the others: a dirty range of its own.
    let late = batch(agent, vec![run(check, s(-3_600), &series[..2], 4.0)]);
    let empty = batch(agent, vec![]);
    let retries = store.writer.retries();

    let answers: Vec<IngestAck> =
        in_one_group(&store, &[first, earlier, twin, second, late, empty])
            .await
            .into_iter()
            .map(|a| a.unwrap().ack)
            .collect();
    assert_eq!(
        store.writer.retries(),
        retries,
        "stored together, not retried"
    );
    let counts: Vec<_> = answers
        .iter()
        .map(|a| (a.accepted, a.duplicates, a.expired, a.replayed, a.samples))
        .collect();
    assert_eq!(
        counts,
        [
            (2, 0, 0, false, 6),
            (1, 0, 0, true, 0),
            (2, 0, 0, true, 0),
            (1, 1, 2, false, 1),
            (1, 0, 0, false, 2),
            (0, 0, 0, false, 0),
        ]
    );
    assert_eq!(
        answers[1],
        IngestAck {
            replayed: true,
            samples: 0,
            ..earlier_ack
        }
    );
    assert_eq!(
        (
            rows(&store, "results").await,
            rows(&store, "samples").await,
            rows(&store, "ingest_batches").await
        ),
        (5, 3 + 6 + 1 + 2, 5)
    );
    let values: Vec<f64> = store
        .raw_samples(&series[..1], s(-7_200), s(60), usize::MAX)
        .await
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(
        values,
        [4.0, 0.0, 1.0, 3.0, 2.0],
        "the first to come keeps `shared`"
    );

    let micro = Duration::microseconds(1);
    let dirty = store.read_dirty().await.unwrap().ranges;
    assert_eq!(
        dirty,
        [
            DirtyRange {
                from: s(-3_600),
                to: s(-3_600) + micro
            },
            DirtyRange {
                from: s(0),
                to: s(0) + micro
            },
            DirtyRange {
                from: s(10),
                to: s(20) + micro
            },
        ],
        "the group's overlapping ranges are one"
    );
    let agent = store.agent(agent).await.unwrap().unwrap();
    assert_eq!(agent.outbox, outbox(0), "the last batch's outbox");
    assert_eq!(agent.last_seen_at, Some(t0()));
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

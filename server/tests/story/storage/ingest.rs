//! Ingest (exactly once) and the queries over what it stored.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use vantage_protocol::ingest::{IngestAck, OutboxStats};
use vantage_protocol::manifest::BaseUnit;
use vantage_protocol::result::Status;
use vantage_server::store::*;

use super::{agent, open, t0};
use crate::both;
use crate::support::server::Backend;

/// An agent with two ping targets; series `rtt` and `loss` on the first, `rtt` on the second.
pub(super) struct Fixture {
    pub(super) agent: Uuid,
    pub(super) check1: i64,
    pub(super) check2: i64,
    pub(super) rtt1: i64,
    pub(super) loss1: i64,
    pub(super) rtt2: i64,
    /// `rtt` with a label, on the first target.
    pub(super) rtt1_seq: i64,
}

pub(super) async fn fixture(store: &Store) -> Fixture {
    let agent = agent(store, "edge-1", 1).await;
    let check = |target: &str| CheckKey {
        agent_id: agent,
        check: "ping".into(),
        target: target.into(),
        plugin: "ping".into(),
    };
    let series = |check_id, metric: &str, unit| SeriesKey {
        check_id,
        metric: metric.into(),
        unit,
        labels: "{}".into(),
    };
    let check1 = store.check_id(&check("10.0.0.1")).await.unwrap();
    let check2 = store.check_id(&check("10.0.0.2")).await.unwrap();
    assert_ne!(check1, check2);
    assert_eq!(
        store.check_id(&check("10.0.0.1")).await.unwrap(),
        check1,
        "ids are stable"
    );
    let rtt1 = store
        .series_id(&series(check1, "rtt", BaseUnit::Seconds))
        .await
        .unwrap();
    let loss1 = store
        .series_id(&series(check1, "loss", BaseUnit::Ratio))
        .await
        .unwrap();
    let rtt2 = store
        .series_id(&series(check2, "rtt", BaseUnit::Seconds))
        .await
        .unwrap();
    assert_eq!(
        store
            .series_id(&series(check1, "rtt", BaseUnit::Seconds))
            .await
            .unwrap(),
        rtt1
    );
    let labelled = SeriesKey {
        labels: r#"{"seq":"1"}"#.into(),
        ..series(check1, "rtt", BaseUnit::Seconds)
    };
    let rtt1_seq = store.series_id(&labelled).await.unwrap();
    assert_ne!(rtt1_seq, rtt1, "labels make another series");
    Fixture {
        agent,
        check1,
        check2,
        rtt1,
        loss1,
        rtt2,
        rtt1_seq,
    }
}

pub(super) fn run(
    check_id: i64,
    started_at: DateTime<Utc>,
    status: Status,
    samples: &[(i64, f64)],
) -> ResultRow {
    ResultRow {
        id: Uuid::now_v7(),
        check_id,
        started_at,
        status,
        duration: 0.25,
        plugin_version: "0.1.0".into(),
        message: (status != Status::Ok).then(|| format!("{} at {started_at}", status.as_str())),
        samples: samples
            .iter()
            .map(|&(series_id, value)| SampleRow { series_id, value })
            .collect(),
        distributions: Vec::new(),
        events: Vec::new(),
    }
}

pub(super) fn batch(agent_id: Uuid, results: Vec<ResultRow>, expired: u32) -> StoreBatch {
    StoreBatch {
        agent_id,
        batch_id: Uuid::now_v7(),
        results,
        outbox: OutboxStats {
            backlog_results: 7,
            ..OutboxStats::default()
        },
        expired,
        alerts: Vec::new(),
    }
}

pub(super) fn minutes(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}

async fn stored(store: &Store, series: &[i64]) -> Vec<(i64, DateTime<Utc>, f64)> {
    let points = store
        .raw_samples(series, minutes(-10_000), minutes(10_000), usize::MAX)
        .await
        .unwrap();
    points
        .into_iter()
        .map(|p| (p.series_id, p.ts, p.value))
        .collect()
}

both!(ingest_stores_each_result_once);
async fn ingest_stores_each_result_once(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let (store, f) = (&db.store, fixture(&db.store).await);
    let at = |m| t0() + Duration::seconds(m);

    let r1 = run(
        f.check1,
        minutes(0),
        Status::Ok,
        &[(f.rtt1, 0.010), (f.loss1, 0.0)],
    );
    let r2 = run(
        f.check1,
        minutes(1),
        Status::Ok,
        &[(f.rtt1, 0.011), (f.loss1, 0.0)],
    );
    let r3 = run(f.check1, minutes(2), Status::Timeout, &[(f.loss1, 1.0)]);
    let first = batch(f.agent, vec![r1.clone(), r2.clone(), r3.clone()], 2);
    let ack = store.ingest(&first, at(5)).await.unwrap().ack;
    assert_eq!(
        (
            ack.batch_id,
            ack.accepted,
            ack.duplicates,
            ack.expired,
            ack.replayed
        ),
        (first.batch_id, 3, 0, 2, false)
    );
    let after_first = stored(store, &[f.rtt1, f.loss1]).await;
    assert_eq!(after_first.len(), 5);

    // The same batch id again stores nothing, whatever it carries, and answers the first ack.
    let mut replay = first.clone();
    replay
        .results
        .push(run(f.check1, minutes(3), Status::Ok, &[(f.rtt1, 0.5)]));
    let again = store.ingest(&replay, at(6)).await.unwrap().ack;
    assert_eq!(
        again,
        IngestAck {
            replayed: true,
            samples: 0,
            ..ack
        }
    );
    assert_eq!(stored(store, &[f.rtt1, f.loss1]).await, after_first);

    // A new batch repeating r3 (an agent restart re-formed it): r3 is a
    // duplicate and its samples are not stored twice, even if they differ.
    let mut r3_again = r3.clone();
    r3_again.samples[0].value = 99.0;
    let r4 = run(f.check1, minutes(30), Status::Ok, &[(f.rtt1, 0.012)]);
    let second = batch(f.agent, vec![r3_again, r4], 0);
    let ack2 = store.ingest(&second, at(7)).await.unwrap().ack;
    assert_eq!(
        (
            ack2.accepted,
            ack2.duplicates,
            ack2.expired,
            ack2.replayed,
            ack2.samples
        ),
        (1, 1, 0, false, 1),
        "only the new result's sample is stored and counted"
    );
    let mut want = after_first.clone();
    want.push((f.rtt1, minutes(30), 0.012));
    want.sort_by_key(|a| (a.0, a.1));
    assert_eq!(stored(store, &[f.rtt1, f.loss1]).await, want);

    // Only duplicates: acknowledged, nothing new, no dirty range.
    let third = batch(f.agent, vec![r1.clone(), r2.clone()], 0);
    let ack3 = store.ingest(&third, at(8)).await.unwrap().ack;
    assert_eq!((ack3.accepted, ack3.duplicates), (0, 2));
    let empty = batch(f.agent, vec![], 0);
    assert_eq!(store.ingest(&empty, at(9)).await.unwrap().ack.accepted, 0);

    // One dirty range per batch that stored something: [min, max + 1 µs).
    let read = store.read_dirty().await.unwrap();
    let mut dirty = read.ranges.clone();
    dirty.sort_by_key(|r| r.from);
    let micro = Duration::microseconds(1);
    assert_eq!(
        dirty,
        [
            DirtyRange {
                from: minutes(0),
                to: minutes(2) + micro
            },
            DirtyRange {
                from: minutes(30),
                to: minutes(30) + micro
            },
        ]
    );
    store.clear_dirty(&read.ids, &[]).await.unwrap();
    assert_eq!(store.read_dirty().await.unwrap(), DirtyRead::default());

    // The agent's outbox stats and last_seen_at come with each batch.
    let row = store.agent(f.agent).await.unwrap().unwrap();
    assert_eq!(
        (row.outbox.backlog_results, row.last_seen_at),
        (7, Some(at(9)))
    );
}

both!(series_ids_find_known_ones_and_make_new_ones_in_order);
async fn series_ids_find_known_ones_and_make_new_ones_in_order(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    let f = fixture(store).await;
    let key = |check_id, metric: &str, unit, labels: &str| SeriesKey {
        check_id,
        metric: metric.into(),
        unit,
        labels: labels.into(),
    };
    let jitter = key(f.check2, "jitter", BaseUnit::Seconds, "{}");
    // Known ones found, a repeated new one made once, in the keys' order.
    let many = store
        .series_ids(&[
            key(f.check1, "loss", BaseUnit::Ratio, "{}"),
            jitter.clone(),
            key(f.check1, "rtt", BaseUnit::Seconds, r#"{"seq":"1"}"#),
            jitter.clone(),
            key(f.check1, "rtt", BaseUnit::Seconds, "{}"),
        ])
        .await
        .unwrap();
    let jitter2 = store.series_id(&jitter).await.unwrap();
    assert_eq!(many, [f.loss1, jitter2, f.rtt1_seq, jitter2, f.rtt1]);
    assert!(store.series_ids(&[]).await.unwrap().is_empty());
    // Nothing else was made: the fixture's four series and the new one.
    let all = store.series(&SeriesFilter::default()).await.unwrap();
    assert_eq!(all.len(), 5);
}

both!(check_ids_find_known_ones_make_new_ones_and_follow_a_plugin_change);
async fn check_ids_find_known_ones_make_new_ones_and_follow_a_plugin_change(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    let f = fixture(store).await;
    let key = |target: &str, plugin: &str| CheckKey {
        agent_id: f.agent,
        check: "ping".into(),
        target: target.into(),
        plugin: plugin.into(),
    };
    let new = key("10.0.0.3", "ping");
    // Known ones found, a repeated new one made once, in the keys' order.
    let ids = store
        .check_ids(&[
            key("10.0.0.2", "ping"),
            new.clone(),
            key("10.0.0.1", "ping"),
            new.clone(),
        ])
        .await
        .unwrap();
    let made = store.check_id(&new).await.unwrap();
    assert_eq!(ids, [f.check2, made, f.check1, made]);
    assert!(![f.check1, f.check2].contains(&made));
    assert!(store.check_ids(&[]).await.unwrap().is_empty());
    // A target whose check now runs another plugin keeps its row, and the
    // row says the new plugin.
    let moved = store.check_ids(&[key("10.0.0.1", "tcp")]).await.unwrap();
    assert_eq!(moved, [f.check1]);
    let series = store
        .series(&SeriesFilter {
            target: Some("10.0.0.1".into()),
            ..SeriesFilter::default()
        })
        .await
        .unwrap();
    assert!(series.iter().all(|s| s.plugin == "tcp"), "{series:?}");
}

both!(concurrent_twins_store_once);
async fn concurrent_twins_store_once(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let f = fixture(&db.store).await;
    let results: Vec<ResultRow> = (0..200)
        .map(|i| {
            run(
                f.check1,
                minutes(i),
                Status::Ok,
                &[(f.rtt1, i as f64), (f.loss1, 0.0)],
            )
        })
        .collect();
    let twin = batch(f.agent, results, 0);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (store, twin) = (db.store.clone(), twin.clone());
        tasks.spawn(async move { store.ingest(&twin, t0()).await.unwrap().ack });
    }
    let acks = tasks.join_all().await;
    assert_eq!(acks.iter().filter(|a| !a.replayed).count(), 1, "{acks:?}");
    assert!(
        acks.iter().all(|a| (a.accepted, a.duplicates) == (200, 0)),
        "{acks:?}"
    );
    assert_eq!(stored(&db.store, &[f.rtt1, f.loss1]).await.len(), 400);
}

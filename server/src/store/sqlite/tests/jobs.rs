//! Leases, rollup rows and chunked retention.

use chrono::Duration;
use uuid::Uuid;

use super::*;

#[tokio::test]
async fn a_lease_passes_on_when_it_expires() {
    let (store, _dir) = open().await;
    let (a, b, ttl) = (Uuid::now_v7(), Uuid::now_v7(), Duration::seconds(30));
    let at = |s| t0() + Duration::seconds(s);
    assert!(store.try_lease("jobs", a, at(0), ttl).await.unwrap());
    assert!(!store.try_lease("jobs", b, at(29), ttl).await.unwrap());
    assert!(
        store.try_lease("jobs", a, at(29), ttl).await.unwrap(),
        "renewed to 59 s"
    );
    assert!(!store.try_lease("jobs", b, at(58), ttl).await.unwrap());
    assert!(
        store.try_lease("jobs", b, at(59), ttl).await.unwrap(),
        "expired: handed over"
    );
    assert!(!store.try_lease("jobs", a, at(60), ttl).await.unwrap());
}

fn rollup(series_id: i64, bucket: DateTime<Utc>, value: f64) -> RollupRow {
    let mut sketch = Sketch::new();
    sketch.add(value);
    RollupRow {
        series_id,
        bucket,
        count: 1,
        sum: value,
        min: value,
        max: value,
        sketch,
    }
}

#[tokio::test]
async fn replacing_rollups_twice_is_replacing_them_once() {
    let (store, _dir) = open().await;
    let m = |n| t0() + Duration::minutes(n);
    // More rows than one statement takes.
    let rows: Vec<RollupRow> = (0..3_000)
        .map(|i| rollup(i % 3, m(i / 3), i as f64))
        .collect();
    for _ in 0..2 {
        store
            .replace_rollups(Rollup::Minute, m(0), m(1_000), &rows)
            .await
            .unwrap();
    }
    let read = store
        .rollups(Rollup::Minute, &[0, 1, 2], m(0), m(1_000), usize::MAX)
        .await
        .unwrap();
    assert_eq!(read.len(), 3_000);
    let mut want = rows.clone();
    want.sort_by_key(|r| (r.series_id, r.bucket));
    assert_eq!(read, want);
    store
        .replace_rollups(Rollup::Minute, m(10), m(1_000), &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .rollups(Rollup::Minute, &[0, 1, 2], m(0), m(1_000), usize::MAX)
            .await
            .unwrap()
            .len(),
        30
    );
    assert_eq!(
        store
            .delete_rollups_before(Rollup::Minute, m(5))
            .await
            .unwrap(),
        15
    );
}

#[tokio::test]
async fn retention_deletes_in_chunks() {
    let (store, _dir) = open().await;
    let (agent, check, series) = fixture(&store, 3).await;
    let old = t0() - Duration::days(10);
    // 8 000 old results and 24 000 samples: three chunks of samples.
    let results: Vec<ResultRow> = (0..8_000)
        .map(|i| run(check, old + Duration::seconds(i), &series, 1.0))
        .collect();
    store.ingest(&batch(agent, results), old).await.unwrap();
    let recent = run(check, t0(), &series, 2.0);
    store
        .ingest(&batch(agent, vec![recent.clone()]), t0())
        .await
        .unwrap();

    assert_eq!(
        store
            .delete_raw_before(t0() - Duration::days(1))
            .await
            .unwrap(),
        32_000
    );
    assert_eq!(
        (rows(&store, "results").await, rows(&store, "samples").await),
        (1, 3)
    );
    assert_eq!(store.latest(None).await.unwrap()[0].result_id, recent.id);
    assert_eq!(
        store
            .delete_raw_before(t0() - Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_batches_before(t0() - Duration::days(7))
            .await
            .unwrap(),
        1
    );
    assert_eq!(rows(&store, "ingest_batches").await, 1);
}

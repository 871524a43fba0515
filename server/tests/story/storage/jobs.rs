//! Job primitives: leases and leading, dirty ranges, rollups, retention.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use vantage_protocol::result::Status;
use vantage_server::store::*;

use super::ingest::{batch, fixture, run};
use super::{all_raw_samples, open, t0};
use crate::both;
use crate::support::server::Backend;

both!(a_lease_has_one_holder_at_a_time);
async fn a_lease_has_one_holder_at_a_time(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    let (a, b, ttl) = (Uuid::now_v7(), Uuid::now_v7(), Duration::seconds(30));
    let at = |s| t0() + Duration::seconds(s);
    assert!(store.try_lease("jobs", a, at(0), ttl).await.unwrap());
    assert!(
        !store.try_lease("jobs", b, at(10), ttl).await.unwrap(),
        "held by a"
    );
    assert!(
        store.try_lease("jobs", a, at(10), ttl).await.unwrap(),
        "a renews until 40 s"
    );
    assert!(
        !store.try_lease("jobs", b, at(35), ttl).await.unwrap(),
        "renewed, so still a's"
    );
    assert!(
        store.try_lease("other", b, at(35), ttl).await.unwrap(),
        "leases are per name"
    );
    assert!(
        store.try_lease("jobs", b, at(41), ttl).await.unwrap(),
        "expired: b takes it"
    );
    assert!(
        !store.try_lease("jobs", a, at(42), ttl).await.unwrap(),
        "now b's"
    );
}

both!(one_replica_leads_at_a_time_and_hands_over_when_it_resigns);
async fn one_replica_leads_at_a_time_and_hands_over_when_it_resigns(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    // Two replicas: two stores on one database.
    let (one, two) = (&db.store, &Store::open(&db.url, 4).await.unwrap());
    let (a, b, ttl) = (Uuid::now_v7(), Uuid::now_v7(), Duration::seconds(30));
    let now = Utc::now();
    assert!(one.lead("jobs", a, now, ttl).await.unwrap());
    assert!(!two.lead("jobs", b, now, ttl).await.unwrap(), "a leads");
    assert!(
        one.lead("jobs", a, now, ttl).await.unwrap(),
        "a still leads"
    );
    assert!(
        two.lead("reports", b, now, ttl).await.unwrap(),
        "each name has its leader"
    );
    one.resign("jobs", a).await.unwrap();
    assert!(
        two.lead("jobs", b, now, ttl).await.unwrap(),
        "a resigned: b leads at once, no lease to run out"
    );
    assert!(!one.lead("jobs", a, now, ttl).await.unwrap(), "now b's");
}

both!(dirty_ranges_stay_until_cleared_and_only_those_read_are_cleared);
async fn dirty_ranges_stay_until_cleared_and_only_those_read_are_cleared(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    assert_eq!(store.read_dirty().await.unwrap(), DirtyRead::default());
    let range = |from: i64, to: i64| DirtyRange {
        from: t0() + Duration::minutes(from),
        to: t0() + Duration::minutes(to),
    };
    let ranges = [range(0, 5), range(-180, -120)];
    store.put_dirty(&ranges).await.unwrap();
    store.put_dirty(&[]).await.unwrap();
    let read = store.read_dirty().await.unwrap();
    assert_eq!(read.ranges, [ranges[1], ranges[0]], "ordered");
    assert_eq!(read.ids.len(), 2);
    // A round that died after reading them left them for the next one.
    assert_eq!(store.read_dirty().await.unwrap(), read);

    // Ingest marks another while the round works; the round clears what
    // it read and puts back what it left for later.
    let meanwhile = range(10, 11);
    store.put_dirty(&[meanwhile]).await.unwrap();
    let not_closed = range(4, 5);
    store.clear_dirty(&read.ids, &[not_closed]).await.unwrap();
    let left = store.read_dirty().await.unwrap();
    assert_eq!(left.ranges, [not_closed, meanwhile]);
    store.clear_dirty(&left.ids, &[]).await.unwrap();
    assert_eq!(store.read_dirty().await.unwrap(), DirtyRead::default());
}

fn rollup(series_id: i64, bucket: DateTime<Utc>, values: &[f64]) -> RollupRow {
    let mut sketch = Sketch::new();
    values.iter().for_each(|v| sketch.add(*v));
    RollupRow {
        series_id,
        bucket,
        count: values.len() as i64,
        sum: values.iter().sum(),
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        sketch,
    }
}

both!(replacing_rollups_is_idempotent);
async fn replacing_rollups_is_idempotent(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    let m = |n| t0() + Duration::minutes(n);
    let rows = vec![
        rollup(1, m(0), &[0.010, 0.012]),
        rollup(1, m(1), &[0.011]),
        rollup(2, m(0), &[-1.0, 0.0, 250.0]),
    ];
    // The second time, both series had rows there: they are named.
    let mut had = Vec::new();
    for _ in 0..2 {
        had.push(
            store
                .replace_rollups(Rollup::Minute, m(0), m(2), &rows)
                .await
                .unwrap(),
        );
    }
    assert_eq!(had, [vec![], vec![1, 2]]);
    assert_eq!(
        store
            .rollups(Rollup::Minute, &[1, 2], m(0), m(2), usize::MAX)
            .await
            .unwrap(),
        rows
    );
    assert_eq!(
        store
            .rollups(Rollup::Minute, &[2], m(0), m(2), usize::MAX)
            .await
            .unwrap(),
        [rows[2].clone()]
    );
    assert_eq!(
        store
            .rollups(Rollup::Minute, &[1], m(1), m(2), usize::MAX)
            .await
            .unwrap(),
        [rows[1].clone()]
    );
    assert!(
        store
            .rollups(Rollup::Hour, &[1, 2], m(0), m(2), usize::MAX)
            .await
            .unwrap()
            .is_empty(),
        "another table"
    );

    // Replacing [1 min, 2 min) drops what was there and keeps the rest.
    let newer = rollup(2, m(1), &[3.0]);
    store
        .replace_rollups(Rollup::Minute, m(1), m(2), std::slice::from_ref(&newer))
        .await
        .unwrap();
    let want = vec![rows[0].clone(), rows[2].clone(), newer];
    assert_eq!(
        store
            .rollups(Rollup::Minute, &[1, 2], m(0), m(2), usize::MAX)
            .await
            .unwrap(),
        want
    );

    // One series' rows replaced, the other's kept.
    let only = rollup(1, m(1), &[5.0]);
    store
        .replace_series_rollups(
            Rollup::Minute,
            m(0),
            m(2),
            &[1],
            std::slice::from_ref(&only),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .rollups(Rollup::Minute, &[1, 2], m(0), m(2), usize::MAX)
            .await
            .unwrap(),
        vec![only, rows[2].clone(), want[2].clone()]
    );
    store
        .replace_series_rollups(Rollup::Minute, m(0), m(2), &[1], &want[..1])
        .await
        .unwrap();
    assert_eq!(
        store
            .replace_rollups(Rollup::Minute, m(1), m(2), &[])
            .await
            .unwrap(),
        [2],
        "only series 2 had a row in [1 min, 2 min)"
    );
    store
        .replace_rollups(Rollup::Minute, m(1), m(2), &want[2..])
        .await
        .unwrap();

    let hour = rollup(1, m(0), &[1.0]);
    store
        .replace_rollups(Rollup::Hour, m(0), m(60), std::slice::from_ref(&hour))
        .await
        .unwrap();
    assert_eq!(
        store
            .rollups(Rollup::Hour, &[1], m(0), m(60), usize::MAX)
            .await
            .unwrap(),
        [hour]
    );
    assert_eq!(
        store
            .delete_rollups_before(Rollup::Minute, m(1))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .rollups(Rollup::Minute, &[1, 2], m(0), m(2), usize::MAX)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .rollups(Rollup::Hour, &[1], m(0), m(60), usize::MAX)
            .await
            .unwrap()
            .len(),
        1,
        "untouched"
    );
}

/// Midnight UTC, `days` after t0's day.
fn midnight(days: i64) -> DateTime<Utc> {
    (t0().date_naive() + Duration::days(days))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
}

both!(retention_deletes_old_raw_rows_and_batches);
async fn retention_deletes_old_raw_rows_and_batches(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let (store, f) = (&db.store, fixture(&db.store).await);
    let old = t0() - Duration::days(10);
    let old_runs = vec![
        run(f.check1, old, Status::Ok, &[(f.rtt1, 0.1), (f.loss1, 0.0)]),
        run(
            f.check1,
            old + Duration::minutes(1),
            Status::Ok,
            &[(f.rtt1, 0.2), (f.loss1, 0.0)],
        ),
    ];
    store
        .ingest(&batch(f.agent, old_runs, 0), old)
        .await
        .unwrap();
    let recent = run(f.check1, t0(), Status::Ok, &[(f.rtt1, 0.3), (f.loss1, 0.0)]);
    store
        .ingest(&batch(f.agent, vec![recent.clone()], 0), t0())
        .await
        .unwrap();

    // Cut at a midnight, where partitioned and row-by-row retention agree:
    // 2 results and 4 samples go.
    assert_eq!(store.delete_raw_before(midnight(-5)).await.unwrap(), 6);
    assert!(
        all_raw_samples(store, old - Duration::days(1), midnight(-5))
            .await
            .is_empty()
    );
    assert_eq!(
        all_raw_samples(store, midnight(-5), midnight(1))
            .await
            .len(),
        2
    );
    let counts = store
        .status_counts(&[f.check1], old - Duration::days(1), midnight(1))
        .await
        .unwrap();
    assert_eq!(counts.total(), 1);
    assert_eq!(store.latest(None).await.unwrap()[0].result_id, recent.id);
    assert_eq!(
        store.delete_raw_before(midnight(-5)).await.unwrap(),
        0,
        "nothing left to delete"
    );

    // The old day can be written again (a partitioned store recreates it).
    let late = run(f.check1, old, Status::Ok, &[(f.rtt1, 0.4)]);
    assert_eq!(
        store
            .ingest(&batch(f.agent, vec![late], 0), t0())
            .await
            .unwrap()
            .ack
            .accepted,
        1
    );

    assert_eq!(
        store
            .delete_batches_before(t0() - Duration::days(7))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .delete_batches_before(t0() - Duration::days(7))
            .await
            .unwrap(),
        0
    );
}

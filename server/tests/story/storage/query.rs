//! Queries over stored results: latest, series, raw samples, status counts.

use uuid::Uuid;
use vantage_protocol::manifest::BaseUnit;
use vantage_protocol::result::Status;
use vantage_server::store::*;

use super::ingest::{batch, fixture, minutes, run};
use super::{all_raw_samples, open, t0};
use crate::both;
use crate::support::server::Backend;

both!(queries_over_stored_results);
async fn queries_over_stored_results(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let (store, f) = (&db.store, fixture(&db.store).await);
    let results = vec![
        run(
            f.check1,
            minutes(0),
            Status::Ok,
            &[(f.rtt1, 0.010), (f.loss1, 0.0)],
        ),
        run(f.check1, minutes(1), Status::Timeout, &[(f.loss1, 1.0)]),
        run(f.check2, minutes(0), Status::Unreachable, &[(f.rtt2, 0.5)]),
        run(f.check2, minutes(1), Status::Refused, &[(f.rtt2, 0.6)]),
        run(f.check2, minutes(2), Status::Error, &[(f.rtt2, 0.7)]),
        run(f.check2, minutes(3), Status::Ok, &[(f.rtt2, 0.8)]),
    ];
    store
        .ingest(&batch(f.agent, results.clone(), 0), t0())
        .await
        .unwrap();

    // Latest: one row per check target, its newest result.
    let latest = store.latest(None).await.unwrap();
    assert_eq!(latest.len(), 2);
    let one = latest.iter().find(|r| r.check_id == f.check1).unwrap();
    assert_eq!(
        (one.result_id, one.status, one.started_at),
        (results[1].id, Status::Timeout, minutes(1))
    );
    assert_eq!(
        (one.agent.as_str(), one.check.as_str(), one.target.as_str()),
        ("edge-1", "ping", "10.0.0.1")
    );
    assert_eq!(
        (
            one.plugin.as_str(),
            one.plugin_version.as_str(),
            one.duration
        ),
        ("ping", "0.1.0", 0.25)
    );
    assert_eq!(
        (one.agent_id, one.message.as_deref()),
        (f.agent, results[1].message.as_deref())
    );
    let two = latest.iter().find(|r| r.check_id == f.check2).unwrap();
    assert_eq!(
        (two.result_id, two.message.as_deref()),
        (results[5].id, None)
    );
    assert_eq!(store.latest(Some(f.agent)).await.unwrap().len(), 2);
    assert!(store.latest(Some(Uuid::now_v7())).await.unwrap().is_empty());

    // Series by filter.
    let ids = |rows: Vec<SeriesRow>| {
        let mut ids: Vec<i64> = rows.into_iter().map(|r| r.series_id).collect();
        ids.sort();
        ids
    };
    let filter = |metric: Option<&str>, target: Option<&str>| SeriesFilter {
        agent_id: Some(f.agent),
        check: Some("ping".into()),
        target: target.map(String::from),
        metric: metric.map(String::from),
    };
    let mut rtts = vec![f.rtt1, f.rtt2, f.rtt1_seq];
    rtts.sort();
    assert_eq!(
        ids(store.series(&filter(Some("rtt"), None)).await.unwrap()),
        rtts
    );
    assert_eq!(
        ids(store.series(&filter(None, Some("10.0.0.2"))).await.unwrap()),
        [f.rtt2]
    );
    assert_eq!(
        store.series(&SeriesFilter::default()).await.unwrap().len(),
        4,
        "with the labelled one"
    );
    let loss = store
        .series(&filter(Some("loss"), None))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (
            loss.series_id,
            loss.check_id,
            loss.unit,
            loss.labels.as_str()
        ),
        (f.loss1, f.check1, BaseUnit::Ratio, "{}")
    );
    assert_eq!(
        (
            loss.agent.as_str(),
            loss.target.as_str(),
            loss.metric.as_str()
        ),
        ("edge-1", "10.0.0.1", "loss")
    );
    assert!(
        store
            .series(&SeriesFilter {
                metric: Some("nope".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );

    // Raw samples in [from, to), by series then time.
    let raw = store
        .raw_samples(&[f.rtt2, f.loss1], minutes(0), minutes(3), usize::MAX)
        .await
        .unwrap();
    let mut want = vec![(f.loss1, minutes(0), 0.0), (f.loss1, minutes(1), 1.0)];
    want.extend([
        (f.rtt2, minutes(0), 0.5),
        (f.rtt2, minutes(1), 0.6),
        (f.rtt2, minutes(2), 0.7),
    ]);
    want.sort_by_key(|a| (a.0, a.1));
    assert_eq!(
        raw.iter()
            .map(|p| (p.series_id, p.ts, p.value))
            .collect::<Vec<_>>(),
        want
    );
    assert_eq!(
        all_raw_samples(store, minutes(0), minutes(4)).await.len(),
        7
    );
    assert_eq!(
        all_raw_samples(store, minutes(1), minutes(2)).await.len(),
        2
    );
    assert!(
        store
            .raw_samples(&[], minutes(0), minutes(4), usize::MAX)
            .await
            .unwrap()
            .is_empty()
    );

    // Status counts over check targets and a range.
    let counts = store
        .status_counts(&[f.check1, f.check2], minutes(0), minutes(3))
        .await
        .unwrap();
    let want = StatusCounts {
        ok: 1,
        timeout: 1,
        unreachable: 1,
        refused: 1,
        error: 1,
    };
    assert_eq!(counts, want);
    let counts = store
        .status_counts(&[f.check2], minutes(1), minutes(10))
        .await
        .unwrap();
    assert_eq!((counts.total(), counts.ok), (3, 1));
    assert_eq!(
        store
            .status_counts(&[], minutes(0), minutes(10))
            .await
            .unwrap()
            .total(),
        0
    );
}

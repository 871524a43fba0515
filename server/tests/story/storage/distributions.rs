//! Distributions: one row per series and run, values in the order measured,
//! stored exactly once and dropped with the raw data.

use chrono::Duration;
use vantage_protocol::result::Status;
use vantage_server::store::*;

use super::ingest::{batch, fixture, run};
use super::{open, t0};
use crate::both;
use crate::support::server::Backend;

both!(a_distribution_is_one_row_read_back_in_order_and_dropped_with_raw_data);
async fn a_distribution_is_one_row_read_back_in_order_and_dropped_with_raw_data(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let (store, f) = (&db.store, fixture(&db.store).await);
    // A thousand echo replies in the order they came, not sorted.
    let values: Vec<f64> = (0..1000)
        .map(|i| f64::from((i * 7919) % 1000) * 1e-5)
        .collect();
    let mut r = run(f.check1, t0(), Status::Ok, &[(f.loss1, 0.0)]);
    r.distributions = vec![DistributionRow {
        series_id: f.rtt1,
        values: values.clone(),
    }];
    let ack = store
        .ingest(&batch(f.agent, vec![r.clone()], 0), t0())
        .await
        .unwrap()
        .ack;
    assert_eq!(
        (ack.accepted, ack.samples),
        (1, 1001),
        "values count as samples"
    );
    let again = store
        .ingest(&batch(f.agent, vec![r], 0), t0())
        .await
        .unwrap()
        .ack;
    assert_eq!((again.accepted, again.duplicates, again.samples), (0, 1, 0));

    let range = (t0(), t0() + Duration::minutes(1));
    let read = store
        .raw_distributions(&[f.rtt1, f.rtt2], range.0, range.1, usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        read,
        [RawDistribution {
            series_id: f.rtt1,
            ts: t0(),
            values
        }]
    );
    assert_eq!(
        store.all_raw_distributions(range.0, range.1).await.unwrap(),
        read
    );
    assert!(
        store
            .raw_distributions(
                &[f.rtt1],
                range.1,
                range.1 + Duration::minutes(1),
                usize::MAX
            )
            .await
            .unwrap()
            .is_empty(),
        "the range's end is exclusive"
    );

    // Retention drops old distributions with their results.
    let old = t0() - Duration::days(10);
    let mut o = run(f.check1, old, Status::Ok, &[]);
    o.distributions = vec![DistributionRow {
        series_id: f.rtt1,
        values: vec![0.5; 3],
    }];
    store
        .ingest(&batch(f.agent, vec![o], 0), t0())
        .await
        .unwrap();
    let midnight = (t0() - Duration::days(5))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    assert_eq!(
        store.delete_raw_before(midnight).await.unwrap(),
        2,
        "one result and one distribution"
    );
    assert!(
        store
            .all_raw_distributions(old - Duration::days(1), midnight)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .all_raw_distributions(midnight, range.1)
            .await
            .unwrap()
            .len(),
        1
    );
}

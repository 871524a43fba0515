//! Rollups answer the same on every backend: SQLite and plain PostgreSQL,
//! where the server's job computes them, and TimescaleDB, where continuous
//! aggregates do (`meta.rollups = native`, migration 0025). One dataset,
//! late data included, goes into each; the rollup job runs; the readers'
//! answers are compared (invariant 42).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use vantage_protocol::result::Status;
use vantage_server::jobs;
use vantage_server::store::*;

use super::ingest::{batch, fixture, run};
use super::{open, t0};
use crate::all_three;
use crate::support::server::Backend;

/// The dataset's first run: an hour before a UTC midnight, so that its
/// minutes, hours and days all have something to roll up.
fn start() -> DateTime<Utc> {
    t0() - Duration::hours(13)
}

/// Runs every 20 s for two hours; each run of check 1 has a loss ratio
/// (zeros among them), an offset (negative, zero and positive) and five
/// RTTs as a distribution; check 2's runs an RTT over five decades.
fn dataset(f: &super::ingest::Fixture) -> Vec<ResultRow> {
    let mut out = Vec::new();
    for i in 0..360_i32 {
        let at = start() + Duration::seconds(20 * i64::from(i));
        let x = f64::from(i);
        let mut one = run(
            f.check1,
            at,
            Status::Ok,
            &[
                (f.loss1, f64::from(i % 7) / 10.0),
                (f.rtt1_seq, (x * 0.37).sin() * 1e-3),
            ],
        );
        one.distributions = vec![DistributionRow {
            series_id: f.rtt1,
            values: (0..5)
                .map(|k| 0.010 + 1e-4 * f64::from((i * 31 + k * 17) % 97))
                .collect(),
        }];
        out.push(one);
        out.push(run(
            f.check2,
            at,
            Status::Ok,
            &[(f.rtt2, 50e-6 * 10f64.powf((x * 0.618_034).fract() * 5.0))],
        ));
    }
    out
}

/// What readers get back, per resolution: the rollup rows, and the merged
/// rows a report reads (count, sum, sketch) for each whole hour or day.
#[derive(Debug)]
struct Answers {
    rows: BTreeMap<&'static str, Vec<RollupRow>>,
    merged: BTreeMap<&'static str, Vec<Merged>>,
    native: bool,
}

async fn answers(backend: Backend) -> Option<Answers> {
    let db = open(backend).await?;
    let (store, f) = (&db.store, fixture(&db.store).await);
    let all = dataset(&f);
    // The last run of every tenth minute is held back, and comes late:
    // after its minute, hour and day were rolled up once.
    let (mut late, mut on_time) = (Vec::new(), Vec::new());
    for (i, r) in all.into_iter().enumerate() {
        if i % 60 == 59 {
            late.push(r);
        } else {
            on_time.push(r);
        }
    }
    let now = t0() + Duration::days(2);
    for chunk in on_time.chunks(60) {
        store
            .ingest(&batch(f.agent, chunk.to_vec(), 0), now)
            .await
            .unwrap();
    }
    jobs::rollup(store, now).await.unwrap();
    store.ingest(&batch(f.agent, late, 0), now).await.unwrap();
    jobs::rollup(store, now).await.unwrap();

    let ids = [f.loss1, f.rtt1, f.rtt1_seq, f.rtt2];
    let (from, to) = (start() - Duration::days(1), start() + Duration::days(2));
    let mut rows = BTreeMap::new();
    let mut merged = BTreeMap::new();
    for (name, resolution) in [
        ("minutes", Rollup::Minute),
        ("hours", Rollup::Hour),
        ("days", Rollup::Day),
    ] {
        let mut got = store
            .rollups(resolution, &ids, from, to, usize::MAX)
            .await
            .unwrap();
        got.sort_by_key(|r| (r.series_id, r.bucket));
        if resolution != Rollup::Minute {
            let mut whole: Vec<DateTime<Utc>> = got.iter().map(|r| r.bucket).collect();
            whole.sort();
            whole.dedup();
            let mut m = store
                .merged_rollups(resolution, &ids, from, to, &whole, true)
                .await
                .unwrap();
            m.sort_by_key(|m| m.series_id);
            merged.insert(name, m);
        }
        rows.insert(name, got);
    }
    Some(Answers {
        rows,
        merged,
        native: store.native_rollups(),
    })
}

/// Sums are added in another order by each database: equal to the last
/// few bits.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

fn same(name: &str, want: &Answers, got: &Answers, backend: Backend) {
    for (resolution, rows) in &want.rows {
        let other = &got.rows[resolution];
        assert_eq!(
            rows.len(),
            other.len(),
            "{name}: {backend:?} has as many {resolution}"
        );
        for (a, b) in rows.iter().zip(other) {
            let what = format!(
                "{name}: {backend:?}, {resolution} of series {} at {}",
                a.series_id, a.bucket
            );
            assert_eq!(
                (a.series_id, a.bucket, a.count, a.min, a.max),
                (b.series_id, b.bucket, b.count, b.min, b.max),
                "{what}"
            );
            assert!(
                close(a.sum, b.sum),
                "{what}: sum {} against {}",
                a.sum,
                b.sum
            );
            assert_eq!(a.sketch, b.sketch, "{what}: the sketches");
        }
    }
    for (resolution, merged) in &want.merged {
        let other = &got.merged[resolution];
        assert_eq!(merged.len(), other.len(), "{name}: merged {resolution}");
        for (a, b) in merged.iter().zip(other) {
            assert_eq!(
                (a.series_id, a.count, &a.sketch),
                (b.series_id, b.count, &b.sketch),
                "{name}: {backend:?}, merged {resolution}"
            );
            assert!(close(a.sum, b.sum), "{name}: merged {resolution} sum");
        }
    }
}

all_three!(rollups_answer_as_every_other_backend_does);
/// Each leg computes its backend's answers and compares them with
/// SQLite's, the reference: SQLite has no optional parts.
async fn rollups_answer_as_every_other_backend_does(backend: Backend) {
    let Some(got) = answers(backend).await else {
        return;
    };
    // The dataset is what it says: every resolution has rows, late data
    // is in them, and the sketches are not empty.
    let per_series = |name: &str| {
        let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
        for r in &got.rows[name] {
            *counts.entry(r.series_id).or_default() += r.count;
        }
        counts
    };
    let by_minute = per_series("minutes");
    assert_eq!(by_minute.len(), 4, "four series");
    // 360 runs; the distribution has five values a run.
    let mut counts: Vec<i64> = by_minute.values().copied().collect();
    counts.sort();
    assert_eq!(counts, [360, 360, 360, 1800], "late runs included");
    assert_eq!(per_series("hours"), by_minute, "hours hold every minute");
    assert_eq!(per_series("days"), by_minute, "days hold every hour");
    assert_eq!(got.rows["days"].len(), 8, "two UTC days of four series");
    match backend {
        Backend::Timescale => assert!(got.native, "TimescaleDB rolls samples up itself"),
        Backend::Sqlite => assert!(!got.native),
        // Plain, unless VANTAGE_TEST_PG_PRELOAD made it TimescaleDB.
        Backend::Postgres => {}
    }
    if backend == Backend::Sqlite {
        return;
    }
    let want = answers(Backend::Sqlite)
        .await
        .expect("SQLite is always there");
    same("against SQLite", &want, &got, backend);
    eprintln!(
        "{backend:?}: {} minute, {} hour and {} day rows equal SQLite's (native rollups: {}).",
        got.rows["minutes"].len(),
        got.rows["hours"].len(),
        got.rows["days"].len(),
        got.native
    );
}

//! Points of a series: raw samples, runs' distributions and rollup rows,
//! each as it is or merged into buckets of a query's `step` (exact from raw
//! values, merged sketches from rollups).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::Resolution;
use crate::store::{RawDistribution, RawPoint, Rollup, RollupRow, Sketch};

/// One point of a series.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Point {
    pub t: DateTime<Utc>,
    /// Values in the point: 1 for a raw sample, a distribution's length,
    /// or every value of a bucket.
    pub count: i64,
    pub min: f64,
    pub avg: f64,
    pub max: f64,
    /// Quantiles of the point's values, for distribution ("smoke") charts:
    /// exact from raw values, within 1 % from rollups. Absent for a single
    /// raw sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantiles: Option<Quantiles>,
    /// A distribution's values in the order measured (raw points, when the
    /// query asks for `values`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Quantiles {
    pub p05: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

/// The value of rank `q·(n−1)` (rounded down) of sorted values.
pub(super) fn exact_quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    (n > 0).then(|| sorted[(q * (n - 1) as f64).floor() as usize])
}

impl Quantiles {
    fn of(s: &Sketch) -> Option<Quantiles> {
        Some(Quantiles {
            p05: s.quantile(0.05)?,
            p25: s.quantile(0.25)?,
            p50: s.quantile(0.50)?,
            p75: s.quantile(0.75)?,
            p95: s.quantile(0.95)?,
        })
    }

    fn exact(sorted: &[f64]) -> Option<Quantiles> {
        Some(Quantiles {
            p05: exact_quantile(sorted, 0.05)?,
            p25: exact_quantile(sorted, 0.25)?,
            p50: exact_quantile(sorted, 0.50)?,
            p75: exact_quantile(sorted, 0.75)?,
            p95: exact_quantile(sorted, 0.95)?,
        })
    }
}

impl Point {
    /// The exact point of some raw values at `t`; `None` without values.
    pub fn exact(t: DateTime<Utc>, values: &[f64]) -> Option<Point> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Point {
            t,
            count: sorted.len() as i64,
            min: *sorted.first()?,
            avg: sorted.iter().sum::<f64>() / sorted.len() as f64,
            max: *sorted.last()?,
            quantiles: Quantiles::exact(&sorted),
            values: None,
        })
    }

    /// One run's distribution, with its values in order when `with_values`.
    pub fn of_distribution(d: &RawDistribution, with_values: bool) -> Option<Point> {
        let mut point = Point::exact(d.ts, &d.values)?;
        point.values = with_values.then(|| d.values.clone());
        Some(point)
    }

    fn of_rollup(r: &RollupRow) -> Point {
        Point {
            t: r.bucket,
            count: r.count,
            min: r.min,
            avg: if r.count > 0 {
                r.sum / r.count as f64
            } else {
                0.0
            },
            max: r.max,
            quantiles: Quantiles::of(&r.sketch),
            values: None,
        }
    }
}

/// The start of the `step`-wide bucket holding `t` (buckets are aligned to
/// the Unix epoch, so rollup buckets nest in them).
fn bucket_of(t: DateTime<Utc>, step: chrono::Duration) -> DateTime<Utc> {
    use chrono::DurationRound as _;
    t.duration_trunc(step).unwrap_or(t)
}

/// Points from raw samples and distributions. Without a step, one point per
/// sample and one per run's distribution; with one, one exact point per
/// series and bucket holding every value in it.
pub fn raw_points(
    samples: &[RawPoint],
    distributions: &[RawDistribution],
    step: Option<chrono::Duration>,
    with_values: bool,
) -> BTreeMap<i64, Vec<Point>> {
    let mut out: BTreeMap<i64, Vec<Point>> = BTreeMap::new();
    if let Some(step) = step {
        let mut buckets: BTreeMap<(i64, DateTime<Utc>), Vec<f64>> = BTreeMap::new();
        let all = samples
            .iter()
            .copied()
            .chain(distributions.iter().flat_map(RawDistribution::points));
        for p in all {
            buckets
                .entry((p.series_id, bucket_of(p.ts, step)))
                .or_default()
                .push(p.value);
        }
        for ((series, t), values) in buckets {
            out.entry(series)
                .or_default()
                .extend(Point::exact(t, &values));
        }
        return out;
    }
    for p in samples {
        out.entry(p.series_id).or_default().push(Point {
            t: p.ts,
            count: 1,
            min: p.value,
            avg: p.value,
            max: p.value,
            quantiles: None,
            values: None,
        });
    }
    for d in distributions {
        out.entry(d.series_id)
            .or_default()
            .extend(Point::of_distribution(d, with_values));
    }
    for points in out.values_mut() {
        points.sort_by_key(|p| p.t);
    }
    out
}

/// Points from rollup rows: one per row, or with a step (a multiple of the
/// rollup's bucket) one per series and step, from the rows' sketches merged.
pub fn rollup_points(
    rows: &[RollupRow],
    step: Option<chrono::Duration>,
) -> BTreeMap<i64, Vec<Point>> {
    let mut out: BTreeMap<i64, Vec<Point>> = BTreeMap::new();
    let Some(step) = step else {
        for r in rows {
            out.entry(r.series_id)
                .or_default()
                .push(Point::of_rollup(r));
        }
        return out;
    };
    let mut merged: BTreeMap<(i64, DateTime<Utc>), RollupRow> = BTreeMap::new();
    for r in rows {
        let bucket = bucket_of(r.bucket, step);
        merged
            .entry((r.series_id, bucket))
            .or_insert_with(|| RollupRow::empty(r.series_id, bucket))
            .absorb(r);
    }
    for ((series, _), row) in merged {
        out.entry(series).or_default().push(Point::of_rollup(&row));
    }
    out
}

/// The step a query gets: at least one second, and for rollups a whole
/// number of their buckets (rounded up).
pub fn effective_step(res: Resolution, seconds: u32) -> chrono::Duration {
    let bucket = res.rollup().map_or(1, Rollup::seconds);
    let seconds = i64::from(seconds.max(1));
    chrono::Duration::seconds((seconds + bucket - 1) / bucket * bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn run(ts: &str, values: Vec<f64>) -> RawDistribution {
        RawDistribution {
            series_id: 1,
            ts: t(ts),
            values,
        }
    }

    #[test]
    fn a_run_of_a_thousand_values_is_one_exact_point_with_its_order_on_request() {
        let values: Vec<f64> = (0..1000).rev().map(|i| f64::from(i) * 1e-4).collect();
        let d = run("2026-01-01T10:00:00Z", values.clone());
        let points = raw_points(&[], std::slice::from_ref(&d), None, false);
        let p = &points[&1][0];
        assert_eq!((p.count, p.min, p.max), (1000, 0.0, 999e-4));
        let q = p.quantiles.unwrap();
        // Ranks 49, 249, 499, 749, 949 of 0, 1e-4, …
        assert_eq!(
            [q.p05, q.p25, q.p50, q.p75, q.p95].map(|v| (v * 1e4).round()),
            [49.0, 249.0, 499.0, 749.0, 949.0]
        );
        assert!(p.values.is_none());
        let with = raw_points(&[], &[d], None, true);
        assert_eq!(with[&1][0].values.as_deref(), Some(&values[..]));
    }

    #[test]
    fn a_step_merges_samples_and_distributions_of_a_bucket_exactly() {
        let samples = [RawPoint {
            series_id: 1,
            ts: t("2026-01-01T10:04:59Z"),
            value: 10.0,
        }];
        let runs = [
            run("2026-01-01T10:00:00Z", vec![1.0, 2.0]),
            run("2026-01-01T10:02:00Z", vec![3.0]),
            run("2026-01-01T10:05:00Z", vec![7.0]),
        ];
        let points = raw_points(&samples, &runs, Some(chrono::Duration::minutes(5)), false);
        let got: Vec<_> = points[&1]
            .iter()
            .map(|p| (p.t, p.count, p.min, p.max))
            .collect();
        assert_eq!(
            got,
            [
                (t("2026-01-01T10:00:00Z"), 4, 1.0, 10.0),
                (t("2026-01-01T10:05:00Z"), 1, 7.0, 7.0)
            ]
        );
        assert_eq!(points[&1][0].quantiles.unwrap().p50, 2.0);
    }

    #[test]
    fn a_step_over_rollups_merges_their_sketches() {
        let row = |minute: u32, values: &[f64]| {
            let mut sketch = Sketch::new();
            values.iter().for_each(|v| sketch.add(*v));
            RollupRow {
                series_id: 1,
                bucket: t(&format!("2026-01-01T10:{minute:02}:00Z")),
                count: values.len() as i64,
                sum: values.iter().sum(),
                min: values.iter().copied().fold(f64::INFINITY, f64::min),
                max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                sketch,
            }
        };
        let low: Vec<f64> = vec![0.010; 900];
        let high: Vec<f64> = vec![0.050; 100];
        let rows = [row(0, &low), row(1, &high), row(15, &[0.020])];
        let points = rollup_points(&rows, Some(effective_step(Resolution::Minute, 600)));
        let p = &points[&1];
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].count, 1000);
        let q = p[0].quantiles.unwrap();
        assert!((q.p50 - 0.010).abs() <= 0.010 * 0.01, "{q:?}");
        assert!((q.p95 - 0.050).abs() <= 0.050 * 0.01, "{q:?}");
        assert_eq!(p[1].t, t("2026-01-01T10:10:00Z"));
    }

    #[test]
    fn steps_are_whole_rollup_buckets() {
        let secs = |r, s| effective_step(r, s).num_seconds();
        assert_eq!(secs(Resolution::Raw, 0), 1);
        assert_eq!(secs(Resolution::Raw, 90), 90);
        assert_eq!(secs(Resolution::Minute, 90), 120);
        assert_eq!(secs(Resolution::Hour, 60), 3600);
        assert_eq!(secs(Resolution::Hour, 7201), 10_800);
    }
}

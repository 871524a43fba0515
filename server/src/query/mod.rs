//! Reading series back: the resolution a range gets, points per bucket
//! (`points.rs`), and statistics (exact from raw samples, within 1 % from
//! rollup sketches).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Retention;
use crate::store::{Rollup, RollupRow, Sketch};

mod points;

use points::exact_quantile;
pub use points::{Point, Quantiles, effective_step, raw_points, rollup_points};

/// Ranges up to this long are served from raw samples.
const RAW_MAX: chrono::Duration = chrono::Duration::hours(3);
/// Ranges up to this long are served from 1-minute rollups (≤ 2,000 points).
const MINUTE_MAX: chrono::Duration = chrono::Duration::hours(33);

/// The resolution of a query's points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, serde::Deserialize)]
pub enum Resolution {
    #[serde(rename = "raw")]
    Raw,
    #[serde(rename = "1m")]
    Minute,
    #[serde(rename = "1h")]
    Hour,
}

impl Resolution {
    pub fn rollup(self) -> Option<Rollup> {
        match self {
            Resolution::Raw => None,
            Resolution::Minute => Some(Rollup::Minute),
            Resolution::Hour => Some(Rollup::Hour),
        }
    }

    fn retained(self, r: &Retention) -> chrono::Duration {
        let d = match self {
            Resolution::Raw => r.raw,
            Resolution::Minute => r.minute,
            Resolution::Hour => r.hour,
        };
        chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
    }
}

/// The finest resolution that is kept over the whole range and gives at
/// most ~2,000 points per series.
pub fn choose(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    retention: &Retention,
) -> Resolution {
    let span = to - from;
    for (res, max) in [(Resolution::Raw, RAW_MAX), (Resolution::Minute, MINUTE_MAX)] {
        if span <= max && from >= now - res.retained(retention) {
            return res;
        }
    }
    Resolution::Hour
}

/// The range a query at `res` covers: rollups answer whole buckets, so the
/// range widens to bucket boundaries (the bucket holding `from` counts).
pub fn align(
    res: Resolution,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    use chrono::DurationRound as _;
    let Some(step) = res.rollup().map(|r| chrono::Duration::seconds(r.seconds())) else {
        return (from, to);
    };
    let floor = |t: DateTime<Utc>| t.duration_trunc(step).unwrap_or(t);
    let end = if floor(to) == to {
        to
    } else {
        floor(to) + step
    };
    (floor(from), end)
}

/// Whether `res` still holds data for all of a range starting at `from`.
pub fn covers(
    res: Resolution,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
    retention: &Retention,
) -> bool {
    from >= now - res.retained(retention)
}

/// Summary statistics of one series over a range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Stats {
    pub count: u64,
    pub min: Option<f64>,
    pub avg: Option<f64>,
    pub max: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

impl Stats {
    /// Exact, from raw values (sorted in place).
    pub fn exact(values: &mut [f64]) -> Stats {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let q = |q: f64| exact_quantile(values, q);
        Stats {
            count: n as u64,
            min: values.first().copied(),
            avg: (n > 0).then(|| values.iter().sum::<f64>() / n as f64),
            max: values.last().copied(),
            p50: q(0.50),
            p95: q(0.95),
            p99: q(0.99),
        }
    }

    /// From rollup rows of one series: min/avg/max exact, percentiles within 1 %.
    pub fn merged(rows: &[&RollupRow]) -> Stats {
        let mut sketch = Sketch::new();
        let (mut count, mut sum) = (0i64, 0.0);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for r in rows {
            sketch.merge(&r.sketch);
            count += r.count;
            sum += r.sum;
            min = min.min(r.min);
            max = max.max(r.max);
        }
        let some = count > 0;
        Stats {
            count: count.max(0) as u64,
            min: some.then_some(min),
            avg: some.then(|| sum / count as f64),
            max: some.then_some(max),
            p50: sketch.quantile(0.50),
            p95: sketch.quantile(0.95),
            p99: sketch.quantile(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_follows_the_range_and_retention() {
        let now = Utc::now();
        let r = Retention::default();
        let h = chrono::Duration::hours;
        assert_eq!(choose(now - h(1), now, now, &r), Resolution::Raw);
        assert_eq!(choose(now - h(24), now, now, &r), Resolution::Minute);
        assert_eq!(choose(now - h(24 * 30), now, now, &r), Resolution::Hour);
        // A short range beyond raw retention comes from the 1-minute rollup.
        assert_eq!(
            choose(now - h(24 * 10), now - h(24 * 10 - 1), now, &r),
            Resolution::Minute
        );
        assert_eq!(
            choose(now - h(24 * 200), now - h(24 * 199), now, &r),
            Resolution::Hour
        );
    }

    #[test]
    fn rollup_ranges_widen_to_whole_buckets() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let (from, to) = (t("2026-01-01T10:20:30Z"), t("2026-01-01T11:00:00Z"));
        assert_eq!(align(Resolution::Raw, from, to), (from, to));
        assert_eq!(
            align(Resolution::Hour, from, to),
            (t("2026-01-01T10:00:00Z"), to)
        );
        assert_eq!(
            align(Resolution::Minute, from, t("2026-01-01T10:25:01Z")),
            (t("2026-01-01T10:20:00Z"), t("2026-01-01T10:26:00Z"))
        );
    }

    #[test]
    fn exact_stats() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = Stats::exact(&mut v);
        assert_eq!(
            (s.count, s.min, s.max, s.avg),
            (100, Some(1.0), Some(100.0), Some(50.5))
        );
        assert_eq!((s.p50, s.p95, s.p99), (Some(50.0), Some(95.0), Some(99.0)));
        assert_eq!(Stats::exact(&mut []).min, None);
    }
}

//! Latency and loss over a report's counted minutes: each check target's
//! first latency metric it has (the rollups' sketches merged, so within
//! the sketch's 1 %: an hour's when all of it counts, else its counted
//! minutes'), and the mean of its `loss`.

use std::collections::{BTreeSet, HashMap};

use vantage_protocol::report::Latency;

use super::days::{self, Tiles};
use super::hours::{Counted, Hourly, floor_hour, runs_of_hours};
use super::period::Period;
use crate::store::{Merged, Rollup, SeriesFilter, SeriesStore as _, Sketch, Store, StoreResult};

/// The most minute rows one metric's read of a report's partly counted
/// hours takes.
const MAX_ROWS: usize = 50_000_000;

/// A check target's (or a summary's) latency values and loss.
#[derive(Debug, Clone, Default)]
pub struct Spread {
    sketch: Option<Sketch>,
    metrics: BTreeSet<String>,
    loss_sum: f64,
    loss_n: i64,
}

impl Spread {
    pub fn merge(&mut self, other: &Spread) {
        if let Some(theirs) = &other.sketch {
            self.sketch.get_or_insert_with(Sketch::new).merge(theirs);
        }
        self.metrics.extend(other.metrics.iter().cloned());
        self.loss_sum += other.loss_sum;
        self.loss_n += other.loss_n;
    }

    pub fn latency(&self) -> Option<Latency> {
        let sketch = self.sketch.as_ref().filter(|s| s.count() > 0)?;
        Some(Latency {
            metrics: self.metrics.iter().cloned().collect(),
            values: sketch.count(),
            p50: sketch.quantile(0.5)?,
            p95: sketch.quantile(0.95)?,
            p99: sketch.quantile(0.99)?,
        })
    }

    pub fn loss(&self) -> Option<f64> {
        (self.loss_n > 0).then(|| self.loss_sum / self.loss_n as f64)
    }
}

/// Each covered check target's latency and loss over the counted minutes
/// of `period` (`hourly`: `counted`'s hours); `target(check, target,
/// agent)` gives a series' target's place when it is covered.
pub async fn spreads(
    store: &Store,
    metrics: &[&str],
    targets: usize,
    target: impl Fn(&str, &str, uuid::Uuid) -> Option<usize>,
    counted: &Counted,
    hourly: &Hourly,
    period: &Period,
) -> StoreResult<Vec<Spread>> {
    let mut spreads = vec![Spread::default(); targets];
    // Each target's latency metric: the first in `metrics` it has.
    let mut chosen: Vec<Option<usize>> = vec![None; targets];
    let mut by_metric: Vec<Vec<(i64, usize)>> = vec![Vec::new(); metrics.len()];
    for (m, metric) in metrics.iter().enumerate() {
        for s in plain_series(store, metric).await? {
            if let Some(t) = target(&s.check, &s.target, s.agent_id)
                && chosen[t].is_none_or(|c| c == m)
            {
                chosen[t] = Some(m);
                by_metric[m].push((s.series_id, t));
            }
        }
    }
    let hours = Hours {
        counted,
        hourly,
        period,
    };
    for (m, series) in by_metric.iter().enumerate() {
        let place: HashMap<i64, usize> = series.iter().copied().collect();
        for merged in hours.merged(store, &place, true).await? {
            let spread = &mut spreads[place[&merged.series_id]];
            if let Some(sketch) = &merged.sketch {
                spread.sketch.get_or_insert_with(Sketch::new).merge(sketch);
                spread.metrics.insert(metrics[m].to_owned());
            }
        }
    }
    let mut place = HashMap::new();
    for s in plain_series(store, "loss").await? {
        if let Some(t) = target(&s.check, &s.target, s.agent_id) {
            place.insert(s.series_id, t);
        }
    }
    for merged in hours.merged(store, &place, false).await? {
        let t = place[&merged.series_id];
        spreads[t].loss_sum += merged.sum;
        spreads[t].loss_n += merged.count;
    }
    Ok(spreads)
}

/// Which rollups count: an hour's when all of it counts, the counted
/// minutes' of an hour that counts in part.
struct Hours<'a> {
    counted: &'a Counted,
    hourly: &'a Hourly,
    period: &'a Period,
}

impl Hours<'_> {
    /// The counted rollup rows of the series in `place`, merged per
    /// series (the hours' by the database as they stream; the few minutes
    /// of hours counted in part here).
    async fn merged(
        &self,
        store: &Store,
        place: &HashMap<i64, usize>,
        sketches: bool,
    ) -> StoreResult<Vec<Merged>> {
        let ids: Vec<i64> = place.keys().copied().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let from = floor_hour(self.period.from);
        let tiles = Tiles::of(store, from, self.period.to, &self.hourly.whole).await?;
        let mut merged = days::merged(store, &tiles, &ids, &self.hourly.whole, sketches).await?;
        for (from, to) in runs_of_hours(&self.hourly.partial) {
            let (from, to) = (from.max(self.period.from), to.min(self.period.to));
            let minutes = store
                .rollups(Rollup::Minute, &ids, from, to, MAX_ROWS)
                .await?;
            for r in minutes.iter().filter(|r| self.counted.counts(r.bucket)) {
                merged.add_row(r, sketches);
            }
        }
        Ok(merged.done())
    }
}

/// The series of a metric without labels (a ping's `rtt`, not a
/// traceroute's per-hop ones).
async fn plain_series(store: &Store, metric: &str) -> StoreResult<Vec<crate::store::SeriesRow>> {
    let all = store
        .series(&SeriesFilter {
            metric: Some(metric.to_owned()),
            ..SeriesFilter::default()
        })
        .await?;
    Ok(all.into_iter().filter(|s| s.labels == "{}").collect())
}

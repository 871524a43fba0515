//! What a scan reads of the `check_up` rollups: every series' hour rows
//! (day rows for the days that count whole: [`days`]) summed in one pass
//! by the database (with the hours in which a run failed), then one by one only the hours that need more than a sum: the
//! failing ones and the hour after each, hours counted in part, a
//! silenced target's hours, and after a failure followed by no runs the
//! next hour with runs (where the incident ends); and the minute rows of
//! the hours counted minute by minute. The sums are left less the hours
//! read one by one, so that nothing counts twice.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::days::{self, Tiles};
use super::hours::{Hourly, floor_hour, runs_of_hours};
use super::period::Period;
use super::scan::Targets;
use super::silenced::Silenced;
use crate::store::{ReportStore as _, Rollup, Store, StoreResult, UpRow, UpSum};

/// The rows of a period.
#[derive(Debug, Default)]
pub struct Rows {
    /// Per series, its hours not read one by one, summed.
    pub sums: Vec<UpSum>,
    /// Hour rows read one by one, by bucket then series.
    pub hours: Vec<UpRow>,
    /// Minute rows of the hours counted minute by minute, by bucket then
    /// series.
    pub minutes: Vec<UpRow>,
    /// The (hour, target)s counted minute by minute (where minutes are).
    pub detail: BTreeSet<(DateTime<Utc>, usize)>,
}

pub async fn read(
    store: &Store,
    targets: &Targets<'_>,
    hourly: &Hourly,
    silenced: &Silenced,
    period: &Period,
) -> StoreResult<Rows> {
    let from = floor_hour(period.from);
    let hour = Duration::hours(1);
    // A silenced target's series are read hour by hour; the rest summed.
    let (mut summed, mut each): (Vec<i64>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut of_target: HashMap<usize, Vec<i64>> = HashMap::new();
    for (id, (t, _)) in targets.series {
        of_target.entry(*t).or_default().push(*id);
        if silenced.touches(*t) {
            each.push(*id);
        } else {
            summed.push(*id);
        }
    }
    let tiles = Tiles::of(store, from, period.to, &hourly.whole).await?;
    let mut rows = Rows {
        sums: days::up_sums(store, &tiles, &summed, &hourly.whole).await?,
        ..Rows::default()
    };
    let place = |id: &i64| targets.series.get(id).map(|(t, _)| *t);
    // Each target's hours with a failure, and the hour after each.
    let mut failing: BTreeSet<(DateTime<Utc>, usize)> = BTreeSet::new();
    for s in &rows.sums {
        if let Some(t) = place(&s.series_id) {
            failing.extend(s.failing.iter().map(|h| (*h, t)));
        }
    }
    let with_next = |set: &BTreeSet<(DateTime<Utc>, usize)>| -> BTreeSet<_> {
        set.iter()
            .flat_map(|(h, t)| [(*h, *t), (*h + hour, *t)])
            .filter(|(h, _)| *h >= from && *h < period.to)
            .collect()
    };
    let mut pairs = with_next(&failing);
    rows.hours = store
        .ups_in(
            Rollup::Hour,
            &series_pairs(&pairs, &of_target),
            Rollup::Hour,
        )
        .await?;
    // After a failing hour with no runs of the target in the next, its
    // next hour with runs ends the incident: read it too, by minutes.
    let present: HashSet<(DateTime<Utc>, usize)> = rows
        .hours
        .iter()
        .filter_map(|r| Some((r.bucket, place(&r.series_id)?)))
        .collect();
    let mut closing = BTreeSet::new();
    for (h, t) in &failing {
        let after = *h + hour;
        if present.contains(&(after, *t)) || after + hour >= period.to {
            continue;
        }
        let later = store
            .ups(Rollup::Hour, &of_target[t], after + hour, period.to)
            .await?;
        if let Some(first) = later.first().map(|r| r.bucket)
            && pairs.insert((first, *t))
        {
            closing.insert((first, *t));
            rows.hours
                .extend(later.into_iter().filter(|r| r.bucket == first));
        }
    }
    // Hours counted in part, of every summed series; a silenced target's
    // every hour.
    for (a, b) in runs_of_hours(&hourly.partial) {
        rows.hours
            .extend(store.ups(Rollup::Hour, &summed, a, b).await?);
    }
    if !each.is_empty() {
        rows.hours
            .extend(store.ups(Rollup::Hour, &each, from, period.to).await?);
    }
    for r in &rows.hours {
        if r.failed() > 0
            && let Some(t) = place(&r.series_id)
        {
            failing.insert((r.bucket, t));
        }
    }
    rows.hours.sort_by_key(|r| (r.bucket, r.series_id));
    rows.hours.dedup_by_key(|r| (r.bucket, r.series_id));
    subtract(&mut rows.sums, &rows.hours, hourly);

    // Minutes: of the targets' hours counted by minutes, and of every
    // series in the hours counted in part.
    rows.detail = with_next(&failing);
    rows.detail.extend(silenced.partial_hours());
    rows.detail.extend(closing);
    let detail: BTreeSet<(DateTime<Utc>, usize)> = rows
        .detail
        .iter()
        .filter(|(h, _)| !hourly.partial.contains(h))
        .copied()
        .collect();
    rows.minutes = store
        .ups_in(
            Rollup::Minute,
            &series_pairs(&detail, &of_target),
            Rollup::Hour,
        )
        .await?;
    let ids: Vec<i64> = targets.series.keys().copied().collect();
    for (a, b) in runs_of_hours(&hourly.partial) {
        let (a, b) = (a.max(period.from), b.min(period.to));
        if a < b {
            rows.minutes
                .extend(store.ups(Rollup::Minute, &ids, a, b).await?);
        }
    }
    rows.minutes
        .retain(|r| r.bucket >= period.from && r.bucket < period.to);
    rows.minutes.sort_by_key(|r| (r.bucket, r.series_id));
    Ok(rows)
}

/// Each (hour, target) as its series' (series, hour) pairs.
fn series_pairs(
    pairs: &BTreeSet<(DateTime<Utc>, usize)>,
    of_target: &HashMap<usize, Vec<i64>>,
) -> Vec<(i64, DateTime<Utc>)> {
    pairs
        .iter()
        .flat_map(|(h, t)| {
            of_target
                .get(t)
                .into_iter()
                .flatten()
                .map(move |id| (*id, *h))
        })
        .collect()
}

/// Takes the hours read one by one out of the sums.
fn subtract(sums: &mut [UpSum], hours: &[UpRow], hourly: &Hourly) {
    let index: HashMap<i64, usize> = sums
        .iter()
        .enumerate()
        .map(|(i, s)| (s.series_id, i))
        .collect();
    for r in hours {
        if let Some(&i) = index.get(&r.series_id) {
            if hourly.whole.contains(&r.bucket) {
                sums[i].counted_runs -= r.runs;
            } else {
                sums[i].other_runs -= r.runs;
            }
        }
    }
}

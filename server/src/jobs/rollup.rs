//! Rollups of the ranges that ingest marked dirty: their minutes from the
//! raw samples, the hours of those minutes, and the days of those hours
//! once each has ended.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, DurationRound as _, Utc};

use crate::store::{
    DirtyRange, JobStore as _, RawPoint, Rollup, RollupRow, SeriesStore as _, Store, StoreResult,
};

/// Raw data is rolled up once its minute is this far in the past.
const CLOSE_AFTER: chrono::Duration = chrono::Duration::seconds(5);
/// Raw samples read at once by a rollup.
const CHUNK: chrono::Duration = chrono::Duration::minutes(10);
/// Series whose hours a day rollup reads at once.
const DAY_SERIES: usize = 2_000;
/// Days one round rolls up at most: a backlog (after an upgrade, or a
/// restore) goes over rounds.
const DAYS_PER_ROUND: usize = 8;

fn floor(t: DateTime<Utc>, step: chrono::Duration) -> DateTime<Utc> {
    t.duration_trunc(step).unwrap_or(t)
}

fn ceil(t: DateTime<Utc>, step: chrono::Duration) -> DateTime<Utc> {
    let f = floor(t, step);
    if f == t { t } else { f + step }
}

fn step(r: Rollup) -> chrono::Duration {
    chrono::Duration::seconds(r.seconds())
}

/// Sorts ranges, widens them to whole minutes and merges those that touch.
pub fn merge_ranges(mut ranges: Vec<DirtyRange>) -> Vec<DirtyRange> {
    let minute = step(Rollup::Minute);
    for r in &mut ranges {
        r.from = floor(r.from, minute);
        r.to = ceil(r.to, minute).max(r.from + minute);
    }
    DirtyRange::merged(ranges)
}

/// Rollup rows of one resolution, filled one raw value at a time.
struct Buckets {
    step: chrono::Duration,
    rows: BTreeMap<(i64, DateTime<Utc>), RollupRow>,
}

impl Buckets {
    fn new(res: Rollup) -> Buckets {
        Buckets {
            step: step(res),
            rows: BTreeMap::new(),
        }
    }

    fn add(&mut self, p: &RawPoint) {
        let bucket = floor(p.ts, self.step);
        self.rows
            .entry((p.series_id, bucket))
            .or_insert_with(|| RollupRow::empty(p.series_id, bucket))
            .add(p.value);
    }

    fn into_rows(self) -> Vec<RollupRow> {
        self.rows.into_values().collect()
    }
}

/// Buckets `(series, bucket)` of raw values into rollup rows.
#[cfg(test)]
fn bucket_raw(points: &[RawPoint], res: Rollup) -> Vec<RollupRow> {
    let mut buckets = Buckets::new(res);
    points.iter().for_each(|p| buckets.add(p));
    buckets.into_rows()
}

/// Merges finer rollup rows into coarser buckets.
fn bucket_rollups(rows: &[RollupRow], res: Rollup) -> Vec<RollupRow> {
    let mut out: BTreeMap<(i64, DateTime<Utc>), RollupRow> = BTreeMap::new();
    for r in rows {
        let bucket = floor(r.bucket, step(res));
        out.entry((r.series_id, bucket))
            .or_insert_with(|| RollupRow::empty(r.series_id, bucket))
            .absorb(r);
    }
    out.into_values().collect()
}

/// Recomputes the rollups of every closed minute that ingest marked dirty,
/// and their hours; then the days that have ended of the hours written.
/// Ranges not closed yet go back for a later round. Returns the rollup
/// rows written.
pub async fn rollup(store: &Store, now: DateTime<Utc>) -> StoreResult<u64> {
    let ranges = rollup_ranges(store, now).await?;
    Ok(ranges + rollup_days(store, now).await?)
}

/// The minutes and hours of [`rollup`], which mark the days of the hours
/// they write.
pub async fn rollup_ranges(store: &Store, now: DateTime<Utc>) -> StoreResult<u64> {
    let read = store.read_dirty().await?;
    if read.ranges.is_empty() {
        return Ok(0);
    }
    let closed = floor(now - CLOSE_AFTER, step(Rollup::Minute));
    let mut later = Vec::new();
    let mut todo = Vec::new();
    for r in merge_ranges(read.ranges) {
        if r.to > closed {
            later.push(DirtyRange {
                from: r.from.max(closed),
                to: r.to,
            });
        }
        if r.from < closed {
            todo.push(DirtyRange {
                from: r.from,
                to: r.to.min(closed),
            });
        }
    }
    let mut written = 0;
    for r in &todo {
        // On an error, or if this process dies, the rows read stay for the
        // next round (or leader), which rolls them up again: nothing is
        // lost, and replacing rollups twice changes nothing.
        written += rollup_range(store, *r).await?;
    }
    store.clear_dirty(&read.ids, &later).await?;
    Ok(written)
}

/// Rolls up the minutes of `r` from the raw samples, then their hours.
///
/// An hour row is kept equal to the merge of its minute rows. A series
/// whose minutes in `r` had no rows before gets its new minutes merged
/// into its hour rows (one row read per hour); a series whose minutes there
/// are rolled up again (late data, a range put back) gets its hours
/// recomputed from all their minutes. Series with nothing in `r` are not
/// read at all: a round costs what changed, not the number of series
/// times the minutes of the hour so far.
async fn rollup_range(store: &Store, r: DirtyRange) -> StoreResult<u64> {
    let mut written = 0;
    let mut minutes = Vec::new();
    let mut again = BTreeSet::new();
    let native = store.native_rollups();
    if native {
        store.refresh_native(Rollup::Minute, r.from, r.to).await?;
    }
    let mut from = r.from;
    while from < r.to {
        let to = (from + CHUNK).min(r.to);
        // Samples go into their minutes as they are read. The database
        // rolls its samples up itself where it can.
        let mut buckets = Buckets::new(Rollup::Minute);
        if !native {
            store
                .each_raw_sample(from, to, &mut |p| buckets.add(&p))
                .await?;
        }
        // Every value of a distribution feeds its bucket, as a sample would.
        for d in store.all_raw_distributions(from, to).await? {
            d.points().for_each(|p| buckets.add(&p));
        }
        let rows = buckets.into_rows();
        again.extend(
            store
                .replace_rollups(Rollup::Minute, from, to, &rows)
                .await?,
        );
        written += rows.len() as u64;
        minutes.extend(rows);
        from = to;
    }
    let hour = step(Rollup::Hour);
    let (hf, ht) = (floor(r.from, hour), ceil(r.to, hour));
    store.refresh_native(Rollup::Hour, hf, ht).await?;
    let again: Vec<i64> = again.into_iter().collect();
    let fresh: Vec<i64> = minutes
        .iter()
        .map(|m| m.series_id)
        .filter(|id| again.binary_search(id).is_err())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Recomputed: every minute of their hours (bounded by the window).
    let mut parts = store
        .rollups(Rollup::Minute, &again, hf, ht, usize::MAX)
        .await?;
    // Merged: their hour rows so far, and the new minutes.
    parts.extend(
        store
            .rollups(Rollup::Hour, &fresh, hf, ht, usize::MAX)
            .await?,
    );
    parts.extend(
        minutes
            .into_iter()
            .filter(|m| again.binary_search(&m.series_id).is_err()),
    );
    let hours = bucket_rollups(&parts, Rollup::Hour);
    let touched: Vec<i64> = again
        .iter()
        .chain(&fresh)
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    store
        .replace_series_rollups(Rollup::Hour, hf, ht, &touched, &hours)
        .await?;
    let day = step(Rollup::Day);
    let days: Vec<DateTime<Utc>> = std::iter::successors(Some(floor(hf, day)), |d| Some(*d + day))
        .take_while(|d| *d < ht)
        .collect();
    store.mark_days(&days).await?;
    Ok(written + hours.len() as u64)
}

/// The days of [`rollup`]: writes the day rows of the marked UTC days
/// that have ended (whose hours are all rolled up by the time this runs
/// after [`rollup_ranges`]) from their hours, and unmarks them; at most
/// [`DAYS_PER_ROUND`], oldest first. A day its late data changes again is
/// marked again, and written again.
pub async fn rollup_days(store: &Store, now: DateTime<Utc>) -> StoreResult<u64> {
    let closed = floor(now - CLOSE_AFTER, step(Rollup::Minute));
    let day = step(Rollup::Day);
    let due: Vec<DateTime<Utc>> = store
        .dirty_days()
        .await?
        .into_iter()
        .filter(|d| *d + day <= closed)
        .take(DAYS_PER_ROUND)
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let mut written = 0;
    for d in due {
        store.refresh_native(Rollup::Day, d, d + day).await?;
        let ids = store.rolled_series(Rollup::Hour, d, d + day).await?;
        let mut rows = Vec::new();
        for chunk in ids.chunks(DAY_SERIES) {
            let hours = store
                .rollups(Rollup::Hour, chunk, d, d + day, usize::MAX)
                .await?;
            rows.extend(bucket_rollups(&hours, Rollup::Day));
        }
        store
            .replace_rollups(Rollup::Day, d, d + day, &rows)
            .await?;
        store.clear_day(d).await?;
        written += rows.len() as u64;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RawPoint;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_widen_to_minutes_and_merge() {
        let merged = merge_ranges(vec![
            DirtyRange {
                from: t("2026-01-01T10:02:10Z"),
                to: t("2026-01-01T10:02:11Z"),
            },
            DirtyRange {
                from: t("2026-01-01T10:00:05Z"),
                to: t("2026-01-01T10:01:30Z"),
            },
            DirtyRange {
                from: t("2026-01-01T11:00:00Z"),
                to: t("2026-01-01T11:00:00.000001Z"),
            },
        ]);
        assert_eq!(
            merged,
            vec![
                DirtyRange {
                    from: t("2026-01-01T10:00:00Z"),
                    to: t("2026-01-01T10:03:00Z")
                },
                DirtyRange {
                    from: t("2026-01-01T11:00:00Z"),
                    to: t("2026-01-01T11:01:00Z")
                },
            ]
        );
    }

    #[test]
    fn minutes_then_hours_keep_counts_sums_and_extremes() {
        let points: Vec<RawPoint> = (0..180)
            .map(|i| RawPoint {
                series_id: 7,
                ts: t("2026-01-01T10:00:00Z") + chrono::Duration::seconds(i * 40),
                value: i as f64,
            })
            .collect();
        let minutes = bucket_raw(&points, Rollup::Minute);
        assert_eq!(minutes.iter().map(|r| r.count).sum::<i64>(), 180);
        let hours = bucket_rollups(&minutes, Rollup::Hour);
        assert_eq!(hours.len(), 2);
        assert_eq!(hours[0].count, 90);
        assert_eq!((hours[0].min, hours[0].max), (0.0, 89.0));
        assert_eq!(hours[1].sum, (90..180).sum::<i64>() as f64);
        assert_eq!(hours[1].sketch.count(), 90);
    }
}

//! Which rollups a report sums: the day rows of the UTC days that count
//! whole and whose day rows are written (the day has ended and no hour of
//! it changed since: it is not marked), the hour rows of the rest. A
//! month counted around the clock reads 30 rows a series, not 720.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, DurationRound as _, Utc};

use crate::store::{
    JobStore as _, Merged, MergedBySeries, ReportStore as _, Rollup, Store, StoreResult, UpSum,
};

type Span = (DateTime<Utc>, DateTime<Utc>);

/// `[from, to)` cut into spans of days and spans of hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiles {
    /// Runs of consecutive days read as day rows.
    pub days: Vec<Span>,
    /// The rest, read as hour rows.
    pub hours: Vec<Span>,
}

impl Tiles {
    /// The tiles of `[from, to)` (`from` on an hour) whose hours `whole`
    /// count whole, as the store has them now.
    pub async fn of(
        store: &Store,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        whole: &HashSet<DateTime<Utc>>,
    ) -> StoreResult<Tiles> {
        let marked: HashSet<DateTime<Utc>> = store.dirty_days().await?.into_iter().collect();
        Ok(Tiles::cut(from, to, whole, &marked, Utc::now()))
    }

    /// A day is read as a day row when each of its hours counts whole, it
    /// ended by `now` and it is not `marked`.
    pub fn cut(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        whole: &HashSet<DateTime<Utc>>,
        marked: &HashSet<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Tiles {
        let (day, hour) = (Duration::days(1), Duration::hours(1));
        let first = from.duration_trunc(day).unwrap_or(from);
        let mut d = if first < from { first + day } else { first };
        let mut days: Vec<Span> = Vec::new();
        while d + day <= to {
            let end = d + day;
            let usable = end <= now
                && !marked.contains(&d)
                && std::iter::successors(Some(d), |h| Some(*h + hour))
                    .take(24)
                    .all(|h| whole.contains(&h));
            if usable {
                match days.last_mut() {
                    Some((_, last)) if *last == d => *last = end,
                    _ => days.push((d, end)),
                }
            }
            d = end;
        }
        let mut hours = Vec::new();
        let mut start = from;
        for (a, b) in &days {
            if start < *a {
                hours.push((start, *a));
            }
            start = *b;
        }
        if start < to {
            hours.push((start, to));
        }
        Tiles { days, hours }
    }

    /// The buckets of `whole` in `span`, sorted.
    fn whole_in(whole: &HashSet<DateTime<Utc>>, (a, b): Span) -> Vec<DateTime<Utc>> {
        let mut inside: Vec<_> = whole
            .iter()
            .filter(|h| **h >= a && **h < b)
            .copied()
            .collect();
        inside.sort_unstable();
        inside
    }

    /// The days of a span of days.
    fn days_in((a, b): Span) -> Vec<DateTime<Utc>> {
        std::iter::successors(Some(a), |d| Some(*d + Duration::days(1)))
            .take_while(|d| *d < b)
            .collect()
    }
}

/// [`ReportStore::up_sums`](crate::store::ReportStore::up_sums) over the
/// tiles: per series, its runs in whole hours and the rest, and its hours
/// in which a run failed (a failing day's, read from its hours).
pub async fn up_sums(
    store: &Store,
    tiles: &Tiles,
    series: &[i64],
    whole: &HashSet<DateTime<Utc>>,
) -> StoreResult<Vec<UpSum>> {
    let mut sums: HashMap<i64, UpSum> = HashMap::new();
    let mut add = |s: UpSum| {
        let sum = sums.entry(s.series_id).or_insert_with(|| UpSum {
            series_id: s.series_id,
            ..UpSum::default()
        });
        sum.counted_runs += s.counted_runs;
        sum.other_runs += s.other_runs;
        sum.failing.extend(s.failing);
    };
    for span in &tiles.hours {
        let whole = Tiles::whole_in(whole, *span);
        for s in store
            .up_sums(Rollup::Hour, series, span.0, span.1, &whole)
            .await?
        {
            add(s);
        }
    }
    // A day's sum names the days with a failure: their hours are read.
    let mut failing_days = Vec::new();
    for span in &tiles.days {
        for mut s in store
            .up_sums(Rollup::Day, series, span.0, span.1, &Tiles::days_in(*span))
            .await?
        {
            failing_days.extend(s.failing.drain(..).map(|d| (s.series_id, d)));
            add(s);
        }
    }
    for row in store
        .ups_in(Rollup::Hour, &failing_days, Rollup::Day)
        .await?
    {
        if row.failed() > 0
            && let Some(sum) = sums.get_mut(&row.series_id)
        {
            sum.failing.push(row.bucket);
        }
    }
    Ok(sums
        .into_values()
        .map(|mut s| {
            s.failing.sort_unstable();
            s
        })
        .collect())
}

/// [`ReportStore::merged_rollups`](crate::store::ReportStore::merged_rollups)
/// over the tiles: the rows of the whole hours (or days), merged.
pub async fn merged(
    store: &Store,
    tiles: &Tiles,
    series: &[i64],
    whole: &HashSet<DateTime<Utc>>,
    sketches: bool,
) -> StoreResult<MergedBySeries> {
    let mut merged = MergedBySeries::default();
    let mut absorb = |rows: Vec<Merged>| rows.into_iter().for_each(|m| merged.absorb(m));
    for span in &tiles.hours {
        let whole = Tiles::whole_in(whole, *span);
        if !whole.is_empty() {
            absorb(
                store
                    .merged_rollups(Rollup::Hour, series, span.0, span.1, &whole, sketches)
                    .await?,
            );
        }
    }
    for span in &tiles.days {
        absorb(
            store
                .merged_rollups(
                    Rollup::Day,
                    series,
                    span.0,
                    span.1,
                    &Tiles::days_in(*span),
                    sketches,
                )
                .await?,
        );
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use chrono::Timelike as _;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn hours(from: &str, to: &str) -> HashSet<DateTime<Utc>> {
        std::iter::successors(Some(t(from)), |h| Some(*h + Duration::hours(1)))
            .take_while(|h| *h < t(to))
            .collect()
    }

    #[test]
    fn a_month_in_another_time_zone_reads_its_whole_days_and_hours_at_both_edges() {
        // November in Berlin: 23:00 UTC the day before to 23:00 UTC.
        let (from, to) = (t("2026-10-31T23:00:00Z"), t("2026-11-30T23:00:00Z"));
        let tiles = Tiles::cut(
            from,
            to,
            &hours("2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z"),
            &HashSet::new(),
            t("2026-12-05T00:00:00Z"),
        );
        assert_eq!(
            tiles.days,
            vec![(t("2026-11-01T00:00:00Z"), t("2026-11-30T00:00:00Z"))]
        );
        assert_eq!(
            tiles.hours,
            vec![
                (from, t("2026-11-01T00:00:00Z")),
                (t("2026-11-30T00:00:00Z"), to)
            ]
        );
    }

    #[test]
    fn marked_days_days_not_ended_and_days_not_whole_are_read_by_hours() {
        let (from, to) = (t("2026-11-01T00:00:00Z"), t("2026-11-06T00:00:00Z"));
        let mut whole = hours("2026-11-01T00:00:00Z", "2026-11-06T00:00:00Z");
        // One hour of the 2nd does not count whole (a window).
        whole.remove(&t("2026-11-02T13:00:00Z"));
        let marked = HashSet::from([t("2026-11-04T00:00:00Z")]);
        // The 5th has not ended.
        let tiles = Tiles::cut(from, to, &whole, &marked, t("2026-11-05T12:00:00Z"));
        assert_eq!(
            tiles.days,
            vec![
                (t("2026-11-01T00:00:00Z"), t("2026-11-02T00:00:00Z")),
                (t("2026-11-03T00:00:00Z"), t("2026-11-04T00:00:00Z")),
            ]
        );
        assert_eq!(
            tiles.hours,
            vec![
                (t("2026-11-02T00:00:00Z"), t("2026-11-03T00:00:00Z")),
                (t("2026-11-04T00:00:00Z"), to),
            ]
        );
    }

    #[test]
    fn business_hours_leave_no_day_whole() {
        let (from, to) = (t("2026-11-01T00:00:00Z"), t("2026-11-08T00:00:00Z"));
        let whole: HashSet<_> = hours("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z")
            .into_iter()
            .filter(|h| (9..17).contains(&h.hour()))
            .collect();
        let tiles = Tiles::cut(from, to, &whole, &HashSet::new(), t("2026-12-01T00:00:00Z"));
        assert!(tiles.days.is_empty());
        assert_eq!(tiles.hours, vec![(from, to)]);
    }
}

//! Counting a period by hours, and minute by minute only where it
//! matters. A check target's hour that counts whole and in which none of
//! its runs failed adds its runs at once (the hour rollups); its hours
//! with a failure, the hour after each (where an incident ends), and the
//! hours only partly counted (business hours, windows, the period's
//! edges) are counted minute by minute (the minute rollups), as the
//! quorum and incidents need. An hour whose minutes are gone (older than
//! their retention) counts as one minute: its failures against the quorum
//! of the agents that failed in it, whole if its first minute counts.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use vantage_protocol::config::Quorum;
use vantage_protocol::report::Incident;

use super::count::Tally;
use super::hours::{Counted, Coverage};
use super::incidents::Tracker;
use super::period::Period;
use crate::store::{ReportStore as _, Rollup, Store, StoreResult, UpRow};

/// What is counted of each check target.
pub struct Scanned {
    pub tallies: Vec<Tally>,
    pub incidents: Vec<Vec<Incident>>,
    /// The agents (by name) that ran it.
    pub agents: Vec<u32>,
}

/// The check targets: their names, and their `check_up` series (id →
/// target's place, agent's name).
pub struct Targets<'a> {
    pub names: &'a [(String, String)],
    pub series: &'a HashMap<i64, (usize, String)>,
}

/// The hours that meet `period`, by their start.
pub fn hours_of(period: &Period) -> impl Iterator<Item = DateTime<Utc>> + use<> {
    let first = floor_hour(period.from);
    let to = period.to;
    (0..)
        .map(move |h| first + Duration::hours(h))
        .take_while(move |h| *h < to)
}

pub fn floor_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::hours(1)).unwrap_or(t)
}

/// Counts `period` for every target.
pub async fn scan(
    store: &Store,
    targets: &Targets<'_>,
    counted: &Counted,
    quorum: Option<Quorum>,
    period: &Period,
) -> StoreResult<Scanned> {
    let n = targets.names.len();
    let ids: Vec<i64> = targets.series.keys().copied().collect();
    let first = floor_hour(period.from);
    let hour_rows = store.ups(Rollup::Hour, &ids, first, period.to).await?;
    let by_hour = group(&hour_rows, |r| r.bucket);
    // The (hour, target)s to count minute by minute.
    let mut detail: BTreeSet<(DateTime<Utc>, usize)> = BTreeSet::new();
    let mut partial: Vec<DateTime<Utc>> = Vec::new();
    for hour in hours_of(period) {
        let rows = by_hour.get(&hour).map_or(&[][..], Vec::as_slice);
        if counted.coverage(hour, hour + Duration::hours(1)) == Coverage::Part {
            partial.push(hour);
        }
        for row in rows {
            if let Some((t, _)) = targets.series.get(&row.series_id)
                && row.failed() > 0
            {
                detail.insert((hour, *t));
                detail.insert((hour + Duration::hours(1), *t));
            }
        }
    }
    // Minute rows of the hours any target counts minute by minute.
    let mut wanted: BTreeSet<DateTime<Utc>> = detail.iter().map(|(h, _)| *h).collect();
    wanted.extend(partial.iter().copied());
    let mut minute_rows = Vec::new();
    for (from, to) in runs_of_hours(&wanted) {
        let (from, to) = (from.max(period.from), to.min(period.to));
        minute_rows.extend(store.ups(Rollup::Minute, &ids, from, to).await?);
    }
    let by_minute_hour = group(&minute_rows, |r| floor_hour(r.bucket));

    let mut tallies = vec![Tally::default(); n];
    let mut trackers: Vec<Tracker> = (0..n).map(|_| Tracker::default()).collect();
    let mut agents: Vec<HashSet<&str>> = vec![HashSet::new(); n];
    let partial: HashSet<DateTime<Utc>> = partial.into_iter().collect();
    for hour in hours_of(period) {
        let coverage = counted.coverage(hour, hour + Duration::hours(1));
        let hour_rows = by_hour.get(&hour).map_or(&[][..], Vec::as_slice);
        let minutes = by_minute_hour.get(&hour).map_or(&[][..], Vec::as_slice);
        let minute_targets: HashSet<usize> = minutes
            .iter()
            .filter_map(|r| targets.series.get(&r.series_id).map(|(t, _)| *t))
            .collect();
        // Per target: its hour, or its minutes when it has them here.
        let mut whole: BTreeMap<usize, Vec<(&UpRow, &str)>> = BTreeMap::new();
        for row in hour_rows {
            let Some((t, agent)) = targets.series.get(&row.series_id) else {
                continue;
            };
            agents[*t].insert(agent);
            let by_minutes = (partial.contains(&hour) || detail.contains(&(hour, *t)))
                && minute_targets.contains(t);
            if !by_minutes {
                whole.entry(*t).or_default().push((row, agent));
            }
        }
        for (t, rows) in whole {
            // Minutes gone: the hour as one minute, counted by its first.
            let counts = match coverage {
                Coverage::All => true,
                Coverage::None => false,
                Coverage::Part => counted.counts(hour),
            };
            step(
                &mut tallies[t],
                &mut trackers[t],
                hour,
                &rows,
                quorum,
                counts,
                targets,
                t,
            );
        }
        let mut minute: BTreeMap<usize, Vec<(&UpRow, &str)>> = BTreeMap::new();
        for (i, row) in minutes.iter().enumerate() {
            if let Some((t, agent)) = targets.series.get(&row.series_id)
                && (partial.contains(&hour) || detail.contains(&(hour, *t)))
            {
                minute.entry(*t).or_default().push((row, agent));
                agents[*t].insert(agent);
            }
            if minutes
                .get(i + 1)
                .is_none_or(|next| next.bucket != row.bucket)
            {
                let counts = counted.counts(row.bucket);
                for (t, rows) in std::mem::take(&mut minute) {
                    step(
                        &mut tallies[t],
                        &mut trackers[t],
                        row.bucket,
                        &rows,
                        quorum,
                        counts,
                        targets,
                        t,
                    );
                }
            }
        }
    }
    Ok(Scanned {
        tallies,
        incidents: trackers.into_iter().map(|t| t.finish(period.to)).collect(),
        agents: agents.iter().map(|a| a.len() as u32).collect(),
    })
}

/// One step of a target: its agents' rows of a minute (or of an hour
/// counted at once) at `at`.
#[allow(clippy::too_many_arguments)]
fn step(
    tally: &mut Tally,
    tracker: &mut Tracker,
    at: DateTime<Utc>,
    rows: &[(&UpRow, &str)],
    quorum: Option<Quorum>,
    counts: bool,
    targets: &Targets<'_>,
    t: usize,
) {
    let runs: Vec<(i64, f64)> = rows.iter().map(|(r, _)| (r.runs, r.up)).collect();
    let (how, failed) = tally.minute(&runs, quorum, counts);
    let failing = || {
        let mut names: Vec<String> = rows
            .iter()
            .filter(|(r, _)| r.failed() > 0)
            .map(|(_, a)| (*a).to_owned())
            .collect();
        names.sort();
        names
    };
    tracker.step(at, &how, failed, failing, || targets.names[t].clone());
}

/// Rows grouped by a key, in order.
fn group<K: Ord>(rows: &[UpRow], key: impl Fn(&UpRow) -> K) -> BTreeMap<K, Vec<UpRow>> {
    let mut out: BTreeMap<K, Vec<UpRow>> = BTreeMap::new();
    for r in rows {
        out.entry(key(r)).or_default().push(*r);
    }
    out
}

/// Consecutive hours as `[from, to)` spans.
pub fn runs_of_hours(hours: &BTreeSet<DateTime<Utc>>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for h in hours {
        match spans.last_mut() {
            Some((_, to)) if to == h => *to = *h + Duration::hours(1),
            _ => spans.push((*h, *h + Duration::hours(1))),
        }
    }
    spans
}

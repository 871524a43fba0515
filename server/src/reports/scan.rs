//! Counting a period by hours, and minute by minute only where it
//! matters. A check target's hours that count whole and in which none of
//! its runs failed add their runs at once (summed by the database, see
//! [`super::rows`]); its hours with a failure, the hour after each (where
//! an incident ends), and the hours only partly counted (business hours,
//! windows, silences, the period's edges) are counted minute by minute
//! (the minute rollups), as the quorum and incidents need. An hour whose
//! minutes are gone (older than their retention) counts as one minute:
//! its failures against the quorum of the agents that failed in it, whole
//! if its first minute counts.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use vantage_protocol::config::Quorum;
use vantage_protocol::report::Incident;

use super::count::Tally;
use super::hours::{Counted, Hourly, floor_hour};
use super::incidents::Tracker;
use super::period::Period;
use super::rows::read;
use super::silenced::Silenced;
use crate::store::{Store, StoreResult, UpRow};

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

/// One target's count so far.
#[derive(Default)]
struct Count<'a> {
    tally: Tally,
    tracker: Tracker,
    agents: HashSet<&'a str>,
}

impl Count<'_> {
    /// Its agents' rows of a minute (or of an hour counted at once) at
    /// `at`; `name` is the target's (check, target).
    fn step(
        &mut self,
        at: DateTime<Utc>,
        rows: &[(&UpRow, &str)],
        quorum: Option<Quorum>,
        counts: bool,
        name: &(String, String),
    ) {
        let runs: Vec<(i64, f64)> = rows.iter().map(|(r, _)| (r.runs, r.up)).collect();
        let (how, failed) = self.tally.minute(&runs, quorum, counts);
        let failing = || {
            let mut names: Vec<String> = rows
                .iter()
                .filter(|(r, _)| r.failed() > 0)
                .map(|(_, a)| (*a).to_owned())
                .collect();
            names.sort();
            names
        };
        self.tracker
            .step(at, &how, failed, failing, || name.clone());
    }
}

/// Counts `period` for every target; `hourly` is `counted`'s hours.
pub async fn scan(
    store: &Store,
    targets: &Targets<'_>,
    counted: &Counted,
    hourly: &Hourly,
    silenced: &Silenced,
    quorum: Option<Quorum>,
    period: &Period,
) -> StoreResult<Scanned> {
    let rows = read(store, targets, hourly, silenced, period).await?;
    let by_hour = group(&rows.hours, |r| r.bucket);
    let by_minutes = |hour: DateTime<Utc>, t: usize| {
        hourly.partial.contains(&hour) || rows.detail.contains(&(hour, t))
    };
    let by_minute_hour = group(&rows.minutes, |r| floor_hour(r.bucket));

    let mut counts: Vec<Count> = (0..targets.names.len()).map(|_| Count::default()).collect();
    for s in &rows.sums {
        if let Some((t, agent)) = targets.series.get(&s.series_id) {
            let c = &mut counts[*t];
            c.agents.insert(agent);
            c.tally.add_runs(s.counted_runs.max(0) as u64, true);
            c.tally.add_runs(s.other_runs.max(0) as u64, false);
        }
    }
    for (hour, hour_rows) in &by_hour {
        let hour = *hour;
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
            counts[*t].agents.insert(agent);
            if !(by_minutes(hour, *t) && minute_targets.contains(t)) {
                whole.entry(*t).or_default().push((row, agent));
            }
        }
        // Minutes gone: the hour as one minute, counted by its first.
        let counts_whole = hourly.counts(hour, counted);
        for (t, rows) in whole {
            let counts_here = counts_whole && !silenced.excludes(t, hour);
            counts[t].step(hour, &rows, quorum, counts_here, &targets.names[t]);
        }
        let mut minute: BTreeMap<usize, Vec<(&UpRow, &str)>> = BTreeMap::new();
        for (i, row) in minutes.iter().enumerate() {
            if let Some((t, agent)) = targets.series.get(&row.series_id)
                && by_minutes(hour, *t)
            {
                minute.entry(*t).or_default().push((row, agent));
                counts[*t].agents.insert(agent);
            }
            if minutes
                .get(i + 1)
                .is_none_or(|next| next.bucket != row.bucket)
            {
                let minute_counts = counted.counts(row.bucket);
                for (t, rows) in std::mem::take(&mut minute) {
                    let counts_here = minute_counts && !silenced.excludes(t, row.bucket);
                    counts[t].step(row.bucket, &rows, quorum, counts_here, &targets.names[t]);
                }
            }
        }
    }
    Ok(Scanned {
        agents: counts.iter().map(|c| c.agents.len() as u32).collect(),
        tallies: counts.iter().map(|c| c.tally).collect(),
        incidents: counts
            .into_iter()
            .map(|c| c.tracker.finish(period.to))
            .collect(),
    })
}

/// Rows grouped by a key, in order.
fn group<K: Ord>(rows: &[UpRow], key: impl Fn(&UpRow) -> K) -> BTreeMap<K, Vec<UpRow>> {
    let mut out: BTreeMap<K, Vec<UpRow>> = BTreeMap::new();
    for r in rows {
        out.entry(key(r)).or_default().push(*r);
    }
    out
}

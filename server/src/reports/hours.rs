//! Which minutes of a period count: within business hours (in the SLA's
//! time zone) and outside every excluded maintenance window; and which of
//! its hours count whole, in part, or not at all.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Datelike as _, DurationRound as _, Timelike as _, Utc};
use chrono_tz::Tz;
use vantage_protocol::config::BusinessHours;
use vantage_protocol::ingest::FieldError;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Business hours, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    /// Monday first.
    days: [bool; 7],
    /// Minutes of the day, `[start, end)`.
    start: u32,
    end: u32,
}

impl Hours {
    /// Checks `spec`, naming every bad field in `errors`.
    pub fn compile(spec: &BusinessHours, errors: &mut Vec<FieldError>) -> Option<Hours> {
        let before = errors.len();
        let mut bad = |field: String, reason: String| {
            errors.push(FieldError {
                index: None,
                field: format!("business_hours.{field}"),
                reason,
            })
        };
        let mut days = [false; 7];
        if spec.days.is_empty() {
            bad(
                "days".into(),
                "needs at least one day (`mon` … `sun`)".into(),
            );
        }
        for (i, day) in spec.days.iter().enumerate() {
            match DAYS.iter().position(|d| d == day) {
                Some(n) if days[n] => bad(format!("days[{i}]"), format!("`{day}` is given twice")),
                Some(n) => days[n] = true,
                None => bad(
                    format!("days[{i}]"),
                    format!("`{day}` is not one of mon … sun"),
                ),
            }
        }
        let mut time = |field: &str, text: &str| {
            let minutes = text.split_once(':').and_then(|(h, m)| {
                let two = |s: &str| (s.len() == 2).then(|| s.parse::<u32>().ok()).flatten();
                let (h, m) = (two(h)?, two(m)?);
                (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
            });
            if minutes.is_none() {
                bad(
                    field.into(),
                    format!("`{text}` is not a time `HH:MM` (00:00 … 24:00)"),
                );
            }
            minutes
        };
        let (start, end) = (time("start", &spec.start), time("end", &spec.end));
        if let (Some(s), Some(e)) = (start, end)
            && s >= e
        {
            bad(
                "end".into(),
                format!("must be after start ({})", spec.start),
            );
        }
        (errors.len() == before).then(|| Hours {
            days,
            start: start.unwrap_or(0),
            end: end.unwrap_or(0),
        })
    }

    /// Whether a local time is within the hours.
    fn contains(&self, local: &DateTime<Tz>) -> bool {
        let minute = local.hour() * 60 + local.minute();
        self.days[local.weekday().num_days_from_monday() as usize]
            && (self.start..self.end).contains(&minute)
    }
}

/// How much of a span counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every minute.
    All,
    /// No minute.
    None,
    /// Some: it must be counted minute by minute.
    Part,
}

/// The hours of a period that count whole, and those that count in part
/// (to be counted minute by minute); the rest count not at all.
#[derive(Debug, Clone, Default)]
pub struct Hourly {
    pub whole: HashSet<DateTime<Utc>>,
    pub partial: BTreeSet<DateTime<Utc>>,
}

impl Hourly {
    /// Whether an hour counted at once counts: a whole one does, one
    /// counted in part (its minutes gone) by its first minute.
    pub fn counts(&self, hour: DateTime<Utc>, counted: &Counted) -> bool {
        self.whole.contains(&hour) || (self.partial.contains(&hour) && counted.counts(hour))
    }
}

/// The start of the hour `t` is in.
pub fn floor_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(chrono::Duration::hours(1)).unwrap_or(t)
}

/// Consecutive hours as `[from, to)` spans.
pub fn runs_of_hours(hours: &BTreeSet<DateTime<Utc>>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for h in hours {
        match spans.last_mut() {
            Some((_, to)) if to == h => *to = *h + chrono::Duration::hours(1),
            _ => spans.push((*h, *h + chrono::Duration::hours(1))),
        }
    }
    spans
}

/// The minutes of `[from, to)` that count.
#[derive(Debug, Clone)]
pub struct Counted {
    from: DateTime<Utc>,
    minutes: Vec<bool>,
}

impl Counted {
    /// Minutes count within `hours` (every one without) and outside each
    /// of `excluded`, spans `[start, end)`; a minute is judged by its start.
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
        hours: Option<&Hours>,
        excluded: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Counted {
        let count = usize::try_from((to - from).num_minutes()).unwrap_or(0);
        let mut minutes: Vec<bool> = match hours {
            None => vec![true; count],
            Some(h) => (0..count)
                .map(|m| {
                    h.contains(&(from + chrono::Duration::minutes(m as i64)).with_timezone(&tz))
                })
                .collect(),
        };
        let index = |t: DateTime<Utc>| {
            // The first minute starting at or after t.
            let secs = (t - from).num_seconds().clamp(0, count as i64 * 60);
            usize::try_from((secs + 59) / 60).unwrap_or(0).min(count)
        };
        for (start, end) in excluded {
            minutes[index(*start)..index(*end)].fill(false);
        }
        Counted { from, minutes }
    }

    /// The counted time, in seconds.
    pub fn seconds(&self) -> i64 {
        self.minutes.iter().filter(|m| **m).count() as i64 * 60
    }

    /// How much of `[from, to)` (whole minutes) counts; a span reaching
    /// outside the period counts in part at most.
    pub fn coverage(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Coverage {
        let len = self.minutes.len() as i64;
        let (a, b) = (
            (from - self.from).num_minutes(),
            (to - self.from).num_minutes(),
        );
        let inside = &self.minutes[a.clamp(0, len) as usize..b.clamp(0, len) as usize];
        let some = inside.iter().any(|m| *m);
        let all = inside.iter().all(|m| *m);
        match (some, all && a >= 0 && b <= len && !inside.is_empty()) {
            (false, _) => Coverage::None,
            (true, true) => Coverage::All,
            (true, false) => Coverage::Part,
        }
    }

    /// The hours that meet the period, sorted by how much of them counts.
    pub fn hourly(&self) -> Hourly {
        let to = self.from + chrono::Duration::minutes(self.minutes.len() as i64);
        let mut hourly = Hourly::default();
        let mut hour = floor_hour(self.from);
        while hour < to {
            match self.coverage(hour, hour + chrono::Duration::hours(1)) {
                Coverage::All => {
                    hourly.whole.insert(hour);
                }
                Coverage::Part => {
                    hourly.partial.insert(hour);
                }
                Coverage::None => {}
            }
            hour += chrono::Duration::hours(1);
        }
        hourly
    }

    /// The counted seconds of `[from, to)` in the minutes `keep` keeps
    /// (by their start).
    pub fn seconds_where(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        keep: impl Fn(DateTime<Utc>) -> bool,
    ) -> i64 {
        let end = self.from + chrono::Duration::minutes(self.minutes.len() as i64);
        let (from, to) = (from.max(self.from), to.min(end));
        let mut total = 0;
        let mut minute = self.from + chrono::Duration::minutes((from - self.from).num_minutes());
        while minute < to {
            let next = minute + chrono::Duration::minutes(1);
            if self.counts(minute) && keep(minute) {
                total += (next.min(to) - minute.max(from)).num_seconds().max(0);
            }
            minute = next;
        }
        total
    }

    /// Whether the minute starting at `bucket` counts.
    pub fn counts(&self, bucket: DateTime<Utc>) -> bool {
        usize::try_from((bucket - self.from).num_minutes())
            .ok()
            .and_then(|m| self.minutes.get(m).copied())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn hours(days: &[&str], start: &str, end: &str) -> Result<Hours, Vec<String>> {
        let spec = BusinessHours {
            days: days.iter().map(|d| (*d).to_owned()).collect(),
            start: start.into(),
            end: end.into(),
        };
        let mut errors = Vec::new();
        Hours::compile(&spec, &mut errors)
            .ok_or_else(|| errors.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn business_hours_count_only_their_days_and_minutes_in_their_time_zone() {
        let h = hours(&["mon", "tue", "wed", "thu", "fri"], "08:30", "18:00").unwrap();
        let ny: Tz = "America/New_York".parse().unwrap();
        // Monday 2026-11-02: 08:30 in New York is 13:30 UTC.
        let from = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
        let to = from + chrono::Duration::days(7);
        let c = Counted::new(from, to, ny, Some(&h), &[]);
        let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        assert!(!c.counts(at(2, 13, 29)));
        assert!(c.counts(at(2, 13, 30)));
        assert!(c.counts(at(2, 22, 59)));
        assert!(!c.counts(at(2, 23, 0)));
        // Saturday does not count; nothing outside the range does.
        assert!(!c.counts(at(7, 15, 0)));
        assert!(!c.counts(from - chrono::Duration::minutes(1)));
        assert!(!c.counts(to));
        let counted = (0..7 * 1440)
            .filter(|m| c.counts(from + chrono::Duration::minutes(*m)))
            .count();
        assert_eq!(counted, 5 * (9 * 60 + 30));
        assert_eq!(c.seconds(), counted as i64 * 60);
    }

    #[test]
    fn an_hour_counts_whole_only_when_every_minute_of_it_counts_in_the_period() {
        let h = hours(&["mon"], "08:30", "18:00").unwrap();
        // Monday 2026-11-02, a day in UTC.
        let from = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
        let c = Counted::new(
            from,
            from + chrono::Duration::days(1),
            Tz::UTC,
            Some(&h),
            &[],
        );
        let hour = |h: i64| {
            let start = from + chrono::Duration::hours(h);
            c.coverage(start, start + chrono::Duration::hours(1))
        };
        assert_eq!(hour(7), Coverage::None);
        assert_eq!(hour(8), Coverage::Part);
        assert_eq!(hour(9), Coverage::All);
        assert_eq!(hour(17), Coverage::All);
        assert_eq!(hour(18), Coverage::None);
        // Half before the period: in part; wholly after it: none.
        let all = Counted::new(from, from + chrono::Duration::hours(2), Tz::UTC, None, &[]);
        let half = from - chrono::Duration::minutes(30);
        assert_eq!(
            all.coverage(half, half + chrono::Duration::hours(1)),
            Coverage::Part
        );
        let after = from + chrono::Duration::hours(2);
        assert_eq!(
            all.coverage(after, after + chrono::Duration::hours(1)),
            Coverage::None
        );
        // The day's hours, sorted: 9 … 17 whole, 8 in part, the rest none.
        let hourly = c.hourly();
        let at = |h: i64| from + chrono::Duration::hours(h);
        assert_eq!(hourly.whole, (9..18).map(at).collect());
        assert_eq!(hourly.partial, [at(8)].into_iter().collect());
        assert!(hourly.counts(at(9), &c));
        assert!(!hourly.counts(at(8), &c) && !hourly.counts(at(7), &c));
    }

    #[test]
    fn an_excluded_span_takes_out_the_minutes_that_start_in_it() {
        let from = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
        let to = from + chrono::Duration::hours(1);
        let span = (
            from + chrono::Duration::seconds(90),
            from + chrono::Duration::minutes(10),
        );
        let c = Counted::new(from, to, Tz::UTC, None, &[span]);
        let counted: Vec<i64> = (0..60)
            .filter(|m| c.counts(from + chrono::Duration::minutes(*m)))
            .collect();
        assert_eq!(
            counted,
            [0, 1].into_iter().chain(10..60).collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_bad_business_hours_field_is_named() {
        assert_eq!(
            hours(&["mon", "mon", "funday"], "8:00", "25:00").unwrap_err(),
            [
                "business_hours.days[1]",
                "business_hours.days[2]",
                "business_hours.start",
                "business_hours.end"
            ]
        );
        assert_eq!(
            hours(&[], "09:00", "09:00").unwrap_err(),
            ["business_hours.days", "business_hours.end"]
        );
        assert!(hours(&["sun"], "00:00", "24:00").is_ok());
    }
}

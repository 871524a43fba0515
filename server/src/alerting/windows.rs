//! Maintenance windows: a spec checked whole (every bad field named) and
//! compiled — its cron schedule read in its time zone, its matcher — and
//! whether it is open at a given time: a start of the schedule lies within
//! the last `duration`.

use std::str::FromStr as _;

use chrono::{DateTime, SubsecRound as _, Utc};
use chrono_tz::Tz;
use croner::Cron;
use vantage_protocol::config::{AlertMatch, MAX_WINDOW_DAYS, WindowSpec};
use vantage_protocol::ingest::FieldError;

use super::matcher::Matcher;
use crate::remote::validate::is_name;

/// A checked window, ready to say whether it is open.
#[derive(Debug, Clone)]
pub struct Window {
    pub spec: WindowSpec,
    cron: Cron,
    tz: Tz,
    duration: chrono::Duration,
    pub matcher: Matcher,
}

impl Window {
    pub fn compile(spec: WindowSpec) -> Result<Window, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, reason: String| {
            errors.push(FieldError {
                index: None,
                field: field.into(),
                reason,
            })
        };
        if !is_name(&spec.name) {
            bad(
                "name",
                "must be 1–64 letters, digits, `-`, `_` or `.`".into(),
            );
        }
        if spec.matches == AlertMatch::default() {
            bad(
                "match",
                "needs at least one of rule, check, target, agent: a window over everything hides every alert"
                    .into(),
            );
        }
        let fields = spec.schedule.split_whitespace().count();
        let cron = if fields == 5 {
            Cron::from_str(&spec.schedule)
                .map_err(|e| bad("schedule", format!("is not a cron schedule: {e}")))
                .ok()
        } else {
            bad(
                "schedule",
                format!(
                    "needs five fields (minute hour day-of-month month day-of-week), not {fields}"
                ),
            );
            None
        };
        let tz = Tz::from_str(&spec.timezone)
            .map_err(|_| {
                bad(
                    "timezone",
                    format!(
                        "`{}` is not an IANA time zone (`Europe/Paris`, `UTC`)",
                        spec.timezone
                    ),
                )
            })
            .ok();
        let max = std::time::Duration::from_secs(MAX_WINDOW_DAYS * 86_400);
        if spec.duration.as_secs() < 60 || spec.duration > max {
            bad(
                "duration",
                format!("must be between 1 minute and {MAX_WINDOW_DAYS} days"),
            );
        }
        if spec.comment.trim().is_empty() || spec.comment.chars().count() > 1024 {
            bad("comment", "must be 1–1024 characters: say why".into());
        }
        let matcher = Matcher::compile(&spec.matches, "match", &mut errors);
        match (cron, tz) {
            (Some(cron), Some(tz)) if errors.is_empty() => Ok(Window {
                duration: chrono::Duration::from_std(spec.duration).unwrap_or_default(),
                spec,
                cron,
                tz,
                matcher,
            }),
            _ => Err(errors),
        }
    }

    /// When the window opened, if it is open at `now`: the first start of
    /// the schedule at or after `now - duration`, if it is not after `now`.
    pub fn open_since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = (now - self.duration)
            .trunc_subsecs(0)
            .with_timezone(&self.tz);
        let start = self.cron.find_next_occurrence(&from, true).ok()?;
        let start = start.with_timezone(&Utc);
        (start <= now).then_some(start)
    }

    /// The spans `[start, end)` the window is open in that meet
    /// `[from, to)`, in order (overlapping openings are left overlapping).
    pub fn open_spans(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut spans = Vec::new();
        let mut after = (from - self.duration)
            .trunc_subsecs(0)
            .with_timezone(&self.tz);
        let mut inclusive = true;
        // A schedule starts at most once a minute.
        let most = (to - from).num_minutes().max(0) + self.duration.num_minutes() + 2;
        for _ in 0..most {
            let Ok(start) = self.cron.find_next_occurrence(&after, inclusive) else {
                break;
            };
            let utc = start.with_timezone(&Utc);
            if utc >= to {
                break;
            }
            if utc + self.duration > from {
                spans.push((utc, utc + self.duration));
            }
            after = start;
            inclusive = false;
        }
        spans
    }

    /// When the window next opens after `now`.
    pub fn next_start(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = now.trunc_subsecs(0).with_timezone(&self.tz);
        let next = self.cron.find_next_occurrence(&from, false).ok()?;
        Some(next.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn window(schedule: &str, duration: &str, timezone: &str) -> Result<Window, Vec<String>> {
        let spec: WindowSpec = serde_json::from_value(serde_json::json!({
            "name": "patch-tuesday", "match": {"check": "web-*"}, "schedule": schedule,
            "duration": duration, "timezone": timezone, "comment": "monthly patching"
        }))
        .unwrap();
        Window::compile(spec).map_err(|e| e.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn a_window_is_open_for_its_duration_after_each_start_in_its_time_zone() {
        // Sundays at 02:30 in Paris, for two hours.
        let w = window("30 2 * * SUN", "2h", "Europe/Paris").unwrap();
        // Sunday 2026-12-06 02:30 CET is 01:30 UTC.
        let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 12, 6, h, m, 0).unwrap();
        assert_eq!(w.open_since(at(1, 29)), None);
        assert_eq!(w.open_since(at(1, 30)), Some(at(1, 30)));
        assert_eq!(w.open_since(at(3, 29)), Some(at(1, 30)));
        assert_eq!(w.open_since(at(3, 30)), Some(at(1, 30)));
        assert_eq!(w.open_since(at(3, 31)), None);
        assert_eq!(
            w.next_start(at(3, 31)),
            Some(at(1, 30) + chrono::Duration::days(7))
        );
        // In summer, Paris is UTC+2: the same schedule opens an hour earlier in UTC.
        let july = Utc.with_ymd_and_hms(2026, 7, 5, 0, 30, 0).unwrap();
        assert_eq!(w.open_since(july), Some(july));
    }

    #[test]
    fn open_spans_are_every_opening_that_meets_the_range() {
        let w = window("30 2 * * SUN", "2h", "Europe/Paris").unwrap();
        let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap();
        // One opening begun before the range (Sunday the 6th) still counts.
        let spans = w.open_spans(at(6, 2, 0), at(20, 2, 0));
        assert_eq!(
            spans,
            [
                (at(6, 1, 30), at(6, 3, 30)),
                (at(13, 1, 30), at(13, 3, 30)),
                (at(20, 1, 30), at(20, 3, 30))
            ]
        );
        // Ended at the range's start: out; starting at its end: out.
        assert!(w.open_spans(at(6, 3, 30), at(13, 1, 30)).is_empty());
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(
            window("61 2 * * *", "0s", "Mars/Olympus").unwrap_err(),
            ["schedule", "timezone", "duration"]
        );
        assert_eq!(window("0 2 * *", "1h", "UTC").unwrap_err(), ["schedule"]);
        assert_eq!(window("0 2 * * *", "32d", "UTC").unwrap_err(), ["duration"]);
        assert!(window("0 2 * * *", "1h", "UTC").is_ok());
    }
}

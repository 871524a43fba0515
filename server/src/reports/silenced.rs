//! Silences as maintenance (`exclude_silences`): a silence whose match
//! names only a check and a target (either or both globs; no rule, no
//! agent) takes, while it is on, the check targets it matches out of the
//! counted time, as a window takes every target out. A silence on a rule
//! or an agent quiets noise, not a target, and excludes nothing. A minute
//! is judged by its start, as with windows.

use chrono::{DateTime, Duration, Utc};
use vantage_protocol::config::{AlertSubject, SilenceView};

use super::hours::{Counted, floor_hour};
use super::period::Period;
use crate::alerting::matcher::Matcher;

type Span = (DateTime<Utc>, DateTime<Utc>);

/// Each check target's silenced spans within the period.
#[derive(Debug, Clone, Default)]
pub struct Silenced {
    spans: Vec<Vec<Span>>,
}

impl Silenced {
    /// Nothing silenced, for `targets` check targets.
    pub fn none(targets: usize) -> Silenced {
        Silenced {
            spans: vec![Vec::new(); targets],
        }
    }

    /// The spans of `silences` over `period` for each of `names`.
    pub fn of(silences: &[SilenceView], names: &[(String, String)], period: &Period) -> Silenced {
        let mut out = Silenced::none(names.len());
        for s in silences {
            let m = &s.matches;
            let (from, to) = (s.starts_at.max(period.from), s.ends_at.min(period.to));
            if m.rule.is_some()
                || m.agent.is_some()
                || (m.check.is_none() && m.target.is_none())
                || from >= to
            {
                continue;
            }
            // Saved silences were checked when made; a bad one is skipped.
            let mut errors = Vec::new();
            let matcher = Matcher::compile(m, "match", &mut errors);
            if !errors.is_empty() {
                continue;
            }
            for (t, (check, target)) in names.iter().enumerate() {
                let subject = AlertSubject {
                    rule: String::new(),
                    agent_id: None,
                    agent: None,
                    check: check.clone(),
                    target: target.clone(),
                    plugin: String::new(),
                };
                if matcher.matches(&subject, &[]) {
                    out.spans[t].push((from, to));
                }
            }
        }
        out
    }

    /// Whether target `t` has a silence in the period.
    pub fn touches(&self, t: usize) -> bool {
        !self.spans[t].is_empty()
    }

    /// Whether the minute (or hour) starting at `at` of target `t` is
    /// silenced.
    pub fn excludes(&self, t: usize, at: DateTime<Utc>) -> bool {
        self.spans[t].iter().any(|(s, e)| *s <= at && at < *e)
    }

    /// The (hour, target)s silenced in part, to count minute by minute.
    pub fn partial_hours(&self) -> Vec<(DateTime<Utc>, usize)> {
        let mut out = Vec::new();
        for (t, spans) in self.spans.iter().enumerate() {
            for (s, e) in spans {
                let mut hour = floor_hour(*s);
                while hour < *e {
                    let next = hour + Duration::hours(1);
                    let whole = spans.iter().any(|(a, b)| *a <= hour && next <= *b);
                    if !whole {
                        out.push((hour, t));
                    }
                    hour = next;
                }
            }
        }
        out
    }

    /// Target `t`'s counted seconds: `counted`'s, less its silenced
    /// minutes.
    pub fn counted_seconds(&self, t: usize, counted: &Counted) -> i64 {
        if self.spans[t].is_empty() {
            return counted.seconds();
        }
        counted.seconds_where(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC, |m| {
            !self.excludes(t, m)
        })
    }

    /// The counted and not silenced seconds of `[from, to)` for target `t`.
    pub fn seconds_in(
        &self,
        t: usize,
        counted: &Counted,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> i64 {
        counted.seconds_where(from, to, |m| !self.excludes(t, m))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use vantage_protocol::config::AlertMatch;

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, h, m, 0).unwrap()
    }

    fn silence(
        check: Option<&str>,
        rule: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> SilenceView {
        SilenceView {
            id: uuid::Uuid::nil(),
            matches: AlertMatch {
                rule: rule.map(str::to_owned),
                check: check.map(str::to_owned),
                target: None,
                agent: None,
            },
            starts_at: from,
            ends_at: to,
            comment: "maintenance".into(),
            author: "ops".into(),
            created_at: from,
        }
    }

    #[test]
    fn a_silence_on_checks_alone_takes_their_minutes_out_and_one_on_a_rule_does_not() {
        let period = Period {
            label: "2026-11-02".into(),
            from: at(0, 0),
            to: at(0, 0) + Duration::days(1),
        };
        let counted = Counted::new(period.from, period.to, chrono_tz::UTC, None, &[]);
        let names = [
            ("web-a".to_owned(), "10.0.0.1".to_owned()),
            ("dns".to_owned(), "10.0.0.2".to_owned()),
        ];
        let silences = [
            silence(Some("web-*"), None, at(10, 30), at(12, 0)),
            silence(Some("dns"), Some("dns-down"), at(1, 0), at(5, 0)),
        ];
        let s = Silenced::of(&silences, &names, &period);
        assert!(s.excludes(0, at(10, 30)) && s.excludes(0, at(11, 59)));
        assert!(!s.excludes(0, at(10, 29)) && !s.excludes(0, at(12, 0)));
        assert!(!s.excludes(1, at(2, 0)));
        assert_eq!(s.counted_seconds(0, &counted), 86_400 - 90 * 60);
        assert_eq!(s.counted_seconds(1, &counted), 86_400);
        // 10:00 is silenced in part, 11:00 whole.
        assert_eq!(s.partial_hours(), [(at(10, 0), 0)]);
        assert_eq!(s.seconds_in(0, &counted, at(10, 0), at(11, 0)), 30 * 60);
    }
}

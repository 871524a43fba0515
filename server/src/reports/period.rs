//! Calendar periods in a time zone: a label (`2026-11`, `2026-W45`,
//! `2026-Q4`…) read as `[from, to)`, the period containing an instant, and
//! the period before.

use chrono::{DateTime, Datelike as _, Months, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;
use vantage_protocol::config::SlaPeriod;

/// A period: its label and its instants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The period of `kind` a label names, in `tz`.
pub fn parse(kind: SlaPeriod, label: &str, tz: Tz) -> Result<Period, String> {
    let first = first_day_of(kind, label)
        .ok_or_else(|| format!("`{label}` is not a {} (`{}`)", name(kind), example(kind)))?;
    Ok(period(kind, first, tz))
}

/// The period of `kind` that contains `t`, in `tz`.
pub fn containing(kind: SlaPeriod, t: DateTime<Utc>, tz: Tz) -> Period {
    period(kind, start(kind, t.with_timezone(&tz).date_naive()), tz)
}

/// The period of `kind` just before `p`.
pub fn previous(kind: SlaPeriod, p: &Period, tz: Tz) -> Period {
    let day_before = p.from.with_timezone(&tz).date_naive().pred_opt();
    period(kind, start(kind, day_before.unwrap_or(NaiveDate::MIN)), tz)
}

/// A range that is no calendar period: as long again, just before it.
pub fn previous_range(p: &Period) -> Period {
    let from = p.from - (p.to - p.from);
    Period {
        label: format!("{}/{}", from.to_rfc3339(), p.from.to_rfc3339()),
        from,
        to: p.from,
    }
}

fn name(kind: SlaPeriod) -> &'static str {
    match kind {
        SlaPeriod::Day => "day",
        SlaPeriod::Week => "week",
        SlaPeriod::Month => "month",
        SlaPeriod::Quarter => "quarter",
        SlaPeriod::Year => "year",
    }
}

fn example(kind: SlaPeriod) -> &'static str {
    match kind {
        SlaPeriod::Day => "2026-11-05",
        SlaPeriod::Week => "2026-W45",
        SlaPeriod::Month => "2026-11",
        SlaPeriod::Quarter => "2026-Q4",
        SlaPeriod::Year => "2026",
    }
}

fn period(kind: SlaPeriod, first: NaiveDate, tz: Tz) -> Period {
    Period {
        label: label(kind, first),
        from: midnight(first, tz),
        to: midnight(next(kind, first), tz),
    }
}

/// The first instant of a local day (after a gap, should midnight fall in
/// one).
fn midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut local = day.and_time(chrono::NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += chrono::Duration::minutes(30);
    }
    Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN))
}

/// The first day of the period of `kind` that contains `day`.
fn start(kind: SlaPeriod, day: NaiveDate) -> NaiveDate {
    let (y, m) = (day.year(), day.month());
    let ymd = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(day);
    match kind {
        SlaPeriod::Day => day,
        SlaPeriod::Week => {
            day - chrono::Duration::days(day.weekday().num_days_from_monday().into())
        }
        SlaPeriod::Month => ymd(y, m),
        SlaPeriod::Quarter => ymd(y, (m - 1) / 3 * 3 + 1),
        SlaPeriod::Year => ymd(y, 1),
    }
}

/// The first day of the period after the one that starts on `first`.
fn next(kind: SlaPeriod, first: NaiveDate) -> NaiveDate {
    let months = |n| {
        first
            .checked_add_months(Months::new(n))
            .unwrap_or(NaiveDate::MAX)
    };
    match kind {
        SlaPeriod::Day => first.succ_opt().unwrap_or(NaiveDate::MAX),
        SlaPeriod::Week => first + chrono::Duration::days(7),
        SlaPeriod::Month => months(1),
        SlaPeriod::Quarter => months(3),
        SlaPeriod::Year => months(12),
    }
}

fn label(kind: SlaPeriod, first: NaiveDate) -> String {
    match kind {
        SlaPeriod::Day => first.format("%Y-%m-%d").to_string(),
        SlaPeriod::Week => first.format("%G-W%V").to_string(),
        SlaPeriod::Month => first.format("%Y-%m").to_string(),
        SlaPeriod::Quarter => format!("{}-Q{}", first.year(), (first.month() - 1) / 3 + 1),
        SlaPeriod::Year => first.year().to_string(),
    }
}

/// The first day of the period a label names; `None` when it names none
/// of `kind`. Years 1970–9999.
fn first_day_of(kind: SlaPeriod, label: &str) -> Option<NaiveDate> {
    let number = |s: &str, digits: usize| -> Option<u32> {
        (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let parts: Vec<&str> = label.split('-').collect();
    let year = number(parts.first()?, 4).filter(|y| *y >= 1970)? as i32;
    match (kind, &parts[1..]) {
        (SlaPeriod::Year, []) => NaiveDate::from_ymd_opt(year, 1, 1),
        (SlaPeriod::Month, [m]) => NaiveDate::from_ymd_opt(year, number(m, 2)?, 1),
        (SlaPeriod::Day, [m, d]) => NaiveDate::from_ymd_opt(year, number(m, 2)?, number(d, 2)?),
        (SlaPeriod::Quarter, [q]) => {
            let q = number(q.strip_prefix('Q')?, 1).filter(|q| (1..=4).contains(q))?;
            NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1)
        }
        (SlaPeriod::Week, [w]) => {
            let w = number(w.strip_prefix('W')?, 2)?;
            NaiveDate::from_isoywd_opt(year, w, chrono::Weekday::Mon)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn a_month_in_a_time_zone_starts_at_its_local_midnight() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let nov = parse(SlaPeriod::Month, "2026-11", paris).unwrap();
        assert_eq!(
            (nov.from, nov.to),
            (utc(2026, 10, 31, 23), utc(2026, 11, 30, 23))
        );
        // October has the switch from summer time: 31 days and an hour.
        let oct = previous(SlaPeriod::Month, &nov, paris);
        assert_eq!(oct.label, "2026-10");
        assert_eq!(oct.from, utc(2026, 9, 30, 22));
        assert_eq!(oct.to, nov.from);
        assert_eq!(
            containing(SlaPeriod::Month, utc(2026, 10, 31, 23), paris),
            nov
        );
        assert_eq!(
            containing(SlaPeriod::Month, utc(2026, 10, 31, 22), paris),
            oct
        );
    }

    #[test]
    fn every_kind_reads_its_label_and_writes_it_back() {
        for (kind, label, from, to) in [
            (
                SlaPeriod::Day,
                "2026-11-05",
                utc(2026, 11, 5, 0),
                utc(2026, 11, 6, 0),
            ),
            (
                SlaPeriod::Week,
                "2026-W45",
                utc(2026, 11, 2, 0),
                utc(2026, 11, 9, 0),
            ),
            (
                SlaPeriod::Week,
                "2026-W53",
                utc(2026, 12, 28, 0),
                utc(2027, 1, 4, 0),
            ),
            (
                SlaPeriod::Quarter,
                "2026-Q4",
                utc(2026, 10, 1, 0),
                utc(2027, 1, 1, 0),
            ),
            (
                SlaPeriod::Year,
                "2026",
                utc(2026, 1, 1, 0),
                utc(2027, 1, 1, 0),
            ),
        ] {
            let p = parse(kind, label, Tz::UTC).unwrap();
            assert_eq!((p.label.as_str(), p.from, p.to), (label, from, to));
            assert_eq!(
                containing(kind, to - chrono::Duration::seconds(1), Tz::UTC),
                p
            );
        }
        let w1 = parse(SlaPeriod::Week, "2027-W01", Tz::UTC).unwrap();
        assert_eq!(previous(SlaPeriod::Week, &w1, Tz::UTC).label, "2026-W53");
    }

    #[test]
    fn a_label_of_another_kind_or_no_date_is_refused_with_an_example() {
        for (kind, label) in [
            (SlaPeriod::Month, "2026-W45"),
            (SlaPeriod::Month, "2026-13"),
            (SlaPeriod::Week, "2026-W54"),
            (SlaPeriod::Day, "2026-02-30"),
            (SlaPeriod::Quarter, "2026-Q5"),
            (SlaPeriod::Year, "26"),
            (SlaPeriod::Month, "november"),
        ] {
            let e = parse(kind, label, Tz::UTC).unwrap_err();
            assert!(e.contains(example(kind)), "{label}: {e}");
        }
    }
}

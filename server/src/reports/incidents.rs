//! Incidents: a check target's runs of down minutes. One opens at a down
//! minute and ends at the next minute whose runs counted and did not fail
//! (or that does not count: a window or the end of business hours);
//! minutes without runs change nothing. The period's end ends one still
//! open, marked ongoing.

use chrono::{DateTime, Utc};
use vantage_protocol::report::Incident;

use super::count::Minute;

/// One check target's incidents, as its minutes come in order.
#[derive(Debug, Default)]
pub struct Tracker {
    open: Option<Incident>,
    pub done: Vec<Incident>,
}

impl Tracker {
    /// Takes the target's next minute with runs: how it counted, its
    /// failed runs, and the agents (by name) that failed in it.
    pub fn step(
        &mut self,
        bucket: DateTime<Utc>,
        minute: &Minute,
        failed: u64,
        agents: impl FnOnce() -> Vec<String>,
        what: impl FnOnce() -> (String, String),
    ) {
        match (minute, &mut self.open) {
            (Minute::Down, Some(open)) => open.failed_runs += failed,
            (Minute::Down, None) => {
                let (check, target) = what();
                self.open = Some(Incident {
                    check,
                    target,
                    start: bucket,
                    end: bucket,
                    duration_seconds: 0,
                    ongoing: false,
                    failed_runs: failed,
                    first_agents: agents(),
                    rules: Vec::new(),
                    suppressed: Vec::new(),
                });
            }
            (Minute::Up | Minute::Excluded, _) => self.close(bucket, false),
        }
    }

    /// Ends what is still open at the period's end.
    pub fn finish(mut self, end: DateTime<Utc>) -> Vec<Incident> {
        self.close(end, true);
        self.done
    }

    fn close(&mut self, at: DateTime<Utc>, ongoing: bool) {
        if let Some(mut open) = self.open.take() {
            open.end = at;
            open.duration_seconds = (at - open.start).num_seconds();
            open.ongoing = ongoing;
            self.done.push(open);
        }
    }
}

/// `(incidents, mean time to recover, mean time between failures)` of
/// some incidents over `counted_seconds` of counted time.
pub fn means(incidents: &[Incident], counted_seconds: i64) -> (u64, Option<f64>, Option<f64>) {
    let n = incidents.len();
    if n == 0 {
        return (0, None, None);
    }
    let down: i64 = incidents.iter().map(|i| i.duration_seconds).sum();
    let mttr = down as f64 / n as f64;
    let mtbf = (counted_seconds - down).max(0) as f64 / n as f64;
    (n as u64, Some(mttr), Some(mtbf))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn an_incident_runs_from_its_first_down_minute_to_the_next_up_one() {
        let at = |m: i64| {
            Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap() + chrono::Duration::minutes(m)
        };
        let what = || ("web".to_owned(), "10.0.0.1".to_owned());
        let mut t = Tracker::default();
        t.step(at(0), &Minute::Up, 0, Vec::new, what);
        t.step(
            at(10),
            &Minute::Down,
            3,
            || vec!["a1".into(), "a2".into()],
            what,
        );
        t.step(at(20), &Minute::Down, 2, || vec!["a3".into()], what);
        t.step(at(30), &Minute::Up, 0, Vec::new, what);
        // One more, cut by a window, and one the period's end finds open.
        t.step(at(40), &Minute::Down, 1, || vec!["a1".into()], what);
        t.step(at(50), &Minute::Excluded, 0, Vec::new, what);
        t.step(at(60), &Minute::Down, 1, || vec!["a2".into()], what);
        let done = t.finish(at(65));
        let got: Vec<_> = done
            .iter()
            .map(|i| {
                (
                    i.start,
                    i.duration_seconds,
                    i.failed_runs,
                    i.ongoing,
                    i.first_agents.len(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (at(10), 1200, 5, false, 2),
                (at(40), 600, 1, false, 1),
                (at(60), 300, 1, true, 1)
            ]
        );
        let (n, mttr, mtbf) = means(&done, 3600);
        assert_eq!((n, mttr, mtbf), (3, Some(700.0), Some(500.0)));
        assert_eq!(means(&[], 3600), (0, None, None));
    }
}

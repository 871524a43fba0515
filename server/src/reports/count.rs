//! Counting by runs: a check target's minute (its agents' runs and ups)
//! tallied against the SLA's quorum, and tallies turned into figures.

use vantage_protocol::config::Quorum;
use vantage_protocol::report::{ErrorBudget, Figures, Incident};

use super::incidents::means;

/// How a check target's minute counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Minute {
    /// Outside business hours, or in an excluded window.
    Excluded,
    /// No failure counted (none, or outvoted).
    Up,
    /// The quorum of its agents failed.
    Down,
}

/// Runs counted over some minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub runs: u64,
    pub failed: u64,
    pub outvoted: u64,
    pub excluded: u64,
    pub down_minutes: u64,
}

impl Tally {
    /// Adds one check target's minute: each agent's (runs, up). Its
    /// failures count when at least `quorum` of the agents that ran it
    /// failed a run; else they are outvoted. Returns how it counted and
    /// its failed runs.
    pub fn minute(
        &mut self,
        agents: &[(i64, f64)],
        quorum: Option<Quorum>,
        counts: bool,
    ) -> (Minute, u64) {
        let runs: u64 = agents.iter().map(|(n, _)| *n.max(&0) as u64).sum();
        if !counts {
            self.excluded += runs;
            return (Minute::Excluded, 0);
        }
        let failing = agents.iter().filter(|a| failed_runs(a) > 0).count();
        let failed: u64 = agents.iter().map(failed_runs).sum();
        self.runs += runs;
        if failing == 0 {
            (Minute::Up, 0)
        } else if failing >= needed(quorum, agents.len()) {
            self.failed += failed;
            self.down_minutes += 1;
            (Minute::Down, failed)
        } else {
            self.outvoted += failed;
            (Minute::Up, 0)
        }
    }

    /// Adds runs none of which failed: counted, or excluded.
    pub fn add_runs(&mut self, runs: u64, counts: bool) {
        if counts {
            self.runs += runs;
        } else {
            self.excluded += runs;
        }
    }

    pub fn add(&mut self, other: &Tally) {
        self.runs += other.runs;
        self.failed += other.failed;
        self.outvoted += other.outvoted;
        self.excluded += other.excluded;
        self.down_minutes += other.down_minutes;
    }

    /// The tally as a report shows it, against `objective` (percent),
    /// with its incidents over `counted_seconds` of counted time; counting
    /// by alerts, `firing` is the counted time down (latency and loss are
    /// filled in after).
    pub fn figures(
        &self,
        objective: f64,
        incidents: &[Incident],
        counted_seconds: i64,
        firing: Option<i64>,
    ) -> Figures {
        let counted = self.runs > 0;
        let allowed_share = 1.0 - objective / 100.0;
        let (down_seconds, down_share) = match firing {
            None => (
                incidents.iter().map(|i| i.duration_seconds).sum(),
                self.failed as f64 / self.runs.max(1) as f64,
            ),
            Some(s) => (s, s as f64 / counted_seconds.max(1) as f64),
        };
        let (incidents, mttr_seconds, mtbf_seconds) = means(incidents, counted_seconds);
        Figures {
            availability: counted.then_some(100.0 * (1.0 - down_share)),
            counted_seconds,
            down_seconds,
            runs: self.runs,
            failed_runs: self.failed,
            outvoted_runs: self.outvoted,
            excluded_runs: self.excluded,
            down_minutes: self.down_minutes,
            error_budget: counted.then(|| ErrorBudget {
                allowed_failed_runs: allowed_share * self.runs as f64,
                allowed_down_seconds: allowed_share * counted_seconds as f64,
                remaining: 1.0 - down_share / allowed_share,
                burn_rate: down_share / allowed_share,
            }),
            incidents,
            mttr_seconds,
            mtbf_seconds,
            latency: None,
            loss: None,
        }
    }
}

/// An agent's failed runs in a minute, of its (runs, up).
pub fn failed_runs((n, up): &(i64, f64)) -> u64 {
    (*n as f64 - up).round().max(0.0) as u64
}

/// How many failing agents make a minute count, of `agents` that ran.
pub fn needed(quorum: Option<Quorum>, agents: usize) -> usize {
    match quorum {
        None => 1,
        Some(Quorum::Agents(k)) => (k as usize).max(1),
        // A little under, so that 60 % of 5 is 3, not 4 by rounding.
        Some(Quorum::Share(s)) => ((s * agents as f64 - 1e-9).ceil() as usize).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_only_when_the_quorum_of_agents_failed() {
        let mut t = Tally::default();
        // 3 agents, 6 runs each: one fails 2 runs, below a quorum of 2.
        let two = Some(Quorum::Agents(2));
        let minute = t.minute(&[(6, 4.0), (6, 6.0), (6, 6.0)], two, true);
        assert_eq!(minute, (Minute::Up, 0));
        assert_eq!(
            (t.runs, t.failed, t.outvoted, t.down_minutes),
            (18, 0, 2, 0)
        );
        // Two fail: both agents' failures count.
        let minute = t.minute(&[(6, 4.0), (6, 5.0), (6, 6.0)], two, true);
        assert_eq!(minute, (Minute::Down, 3));
        assert_eq!(
            (t.runs, t.failed, t.outvoted, t.down_minutes),
            (36, 3, 2, 1)
        );
        // Excluded: counted nowhere else.
        assert_eq!(t.minute(&[(6, 0.0)], None, false), (Minute::Excluded, 0));
        assert_eq!((t.runs, t.excluded), (36, 6));
        // 60 % of 5 agents is 3.
        let mut s = Tally::default();
        s.minute(
            &[(1, 0.0), (1, 0.0), (1, 1.0), (1, 1.0), (1, 1.0)],
            Some(Quorum::Share(0.6)),
            true,
        );
        assert_eq!(s.failed, 0);
        s.minute(
            &[(1, 0.0), (1, 0.0), (1, 0.0), (1, 1.0), (1, 1.0)],
            Some(Quorum::Share(0.6)),
            true,
        );
        assert_eq!(s.failed, 3);
    }

    #[test]
    fn the_error_budget_is_the_failures_the_objective_allows() {
        let t = Tally {
            runs: 100_000,
            failed: 25,
            ..Tally::default()
        };
        let f = t.figures(99.95, &[], 0, None);
        assert!((f.availability.unwrap() - 99.975).abs() < 1e-9);
        let b = f.error_budget.unwrap();
        assert!((b.allowed_failed_runs - 50.0).abs() < 1e-6);
        assert!((b.remaining - 0.5).abs() < 1e-9);
        assert!((b.burn_rate - 0.5).abs() < 1e-9);
        let none = Tally::default().figures(99.9, &[], 0, None);
        assert_eq!((none.availability, none.error_budget), (None, None));
    }

    #[test]
    fn counting_by_alerts_spends_the_budget_by_time_firing() {
        let t = Tally {
            runs: 1000,
            failed: 500,
            ..Tally::default()
        };
        // 30 days counted, 43.2 min firing: 0.1 % down.
        let month = 30 * 86_400;
        let f = t.figures(99.9, &[], month, Some(2592));
        assert!((f.availability.unwrap() - 99.9).abs() < 1e-9);
        assert_eq!((f.counted_seconds, f.down_seconds), (month, 2592));
        let b = f.error_budget.unwrap();
        assert!((b.allowed_down_seconds - 2592.0).abs() < 1e-6);
        assert!(b.remaining.abs() < 1e-9);
        assert!((b.burn_rate - 1.0).abs() < 1e-9);
    }
}

//! Reports (`GET /api/v1/reports?sla=NAME&period=2026-11`): an SLA's
//! availability over a calendar period, its error budget, incidents,
//! latency and loss, and its worst check targets, beside the period
//! before.
//!
//! Availability is counted by runs (the default): the share of the runs
//! in the counted minutes that did not fail. A failed run counts only in a
//! minute in which at least the SLA's `min_agents` of its check target's
//! agents failed. Or by alerts: the share of the counted time in which
//! none of the SLA's alert rules was firing for the check target (a
//! group's alert, or `min_agents` of its agents' at once). Either way,
//! minutes outside business hours, or in an excluded maintenance window,
//! are not counted at all.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// The SLA reported on.
    pub sla: String,
    /// Its objective, in percent.
    pub objective: f64,
    /// How availability was counted.
    pub count_by: crate::config::CountBy,
    /// The period reported on.
    pub period: ReportPeriod,
    /// The period's figures.
    pub summary: Figures,
    /// The period before's figures, for comparison (without latency and
    /// loss).
    pub previous: Figures,
    /// Every check target covered, the least available first.
    pub targets: Vec<TargetFigures>,
    /// The period's incidents, in the order they began.
    pub incidents: Vec<Incident>,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
}

/// A calendar period in the SLA's time zone, as `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportPeriod {
    /// `2026-11`, `2026-W45`, `2026-Q4`…
    pub label: String,
    /// Its first instant.
    pub from: DateTime<Utc>,
    /// The instant after its last.
    pub to: DateTime<Utc>,
    /// The time zone it reads in.
    pub timezone: String,
}

/// Availability, incidents, latency and loss over a set of check targets
/// and a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    /// In percent; absent when no run was counted.
    pub availability: Option<f64>,
    /// The time counted (per check target, summed), in seconds.
    pub counted_seconds: i64,
    /// Of it, the time down, in seconds: in incidents (counting by runs)
    /// or firing (by alerts).
    pub down_seconds: i64,
    /// Runs in the counted minutes.
    pub runs: u64,
    /// Of those, the failed runs that count (in minutes where the quorum
    /// of agents failed).
    pub failed_runs: u64,
    /// Failed runs left out because too few agents failed with them.
    pub outvoted_runs: u64,
    /// Runs left out: outside business hours or in an excluded window.
    pub excluded_runs: u64,
    /// Minutes (per check target) in which failures counted.
    pub down_minutes: u64,
    /// The error budget, when runs were counted.
    pub error_budget: Option<ErrorBudget>,
    /// Incidents: runs of down minutes, each ended by a minute whose runs
    /// counted and did not fail.
    pub incidents: u64,
    /// Mean time to recover: the incidents' mean length, in seconds.
    pub mttr_seconds: Option<f64>,
    /// Mean time between failures: the counted time not in an incident,
    /// per incident, in seconds.
    pub mtbf_seconds: Option<f64>,
    /// Latency over the counted minutes, from the rollups' sketches
    /// (within 1 %).
    pub latency: Option<Latency>,
    /// The mean `loss` ratio over the counted minutes (0 … 1).
    pub loss: Option<f64>,
}

/// Latency quantiles, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Latency {
    /// The metrics read (each check target's first of `latency_metrics`).
    pub metrics: Vec<String>,
    /// How many values.
    pub values: u64,
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
}

/// An incident: a check target down, from its first down minute to the
/// first minute after whose runs counted and did not fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    /// The check's name.
    pub check: String,
    /// Its target.
    pub target: String,
    /// The start of its first down minute (or of the period).
    pub start: DateTime<Utc>,
    /// The start of the minute it ended in (or of the period's end).
    pub end: DateTime<Utc>,
    /// `end - start`, in seconds.
    pub duration_seconds: i64,
    /// Still down when the period ended.
    pub ongoing: bool,
    /// The failed runs it counted.
    pub failed_runs: u64,
    /// The agents that failed in its first minute (counting by alerts:
    /// whose alerts were firing when it began).
    pub first_agents: Vec<String>,
    /// The alert rules that fired for the check target during it.
    pub rules: Vec<String>,
    /// The alerts of the checks that depend on it (`depends_on`) which
    /// its raised alert kept from the channels during it (from 5 minutes
    /// before it began until 5 minutes after it ended).
    #[serde(default)]
    pub suppressed: Vec<SuppressedAlert>,
}

/// An alert a raised parent check target kept from the channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuppressedAlert {
    /// Its rule.
    pub rule: String,
    /// Its check's name.
    pub check: String,
    /// Its check's target.
    pub target: String,
    /// The agents whose steps were suppressed, by name.
    pub agents: Vec<String>,
    /// Its first step suppressed.
    pub first_at: DateTime<Utc>,
}

impl SuppressedAlert {
    /// In words, as the CSV and HTML forms show it:
    /// `web-01 → 10.0.0.9 (web-down on edge-1, edge-2)`.
    pub fn label(&self) -> String {
        let on = if self.agents.is_empty() {
            String::new()
        } else {
            format!(" on {}", self.agents.join(", "))
        };
        format!("{} → {} ({}{on})", self.check, self.target, self.rule)
    }
}

/// How much of the failures the objective allows were spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBudget {
    /// Failed runs the objective allows over the runs counted.
    pub allowed_failed_runs: f64,
    /// Down time the objective allows over the time counted, in seconds.
    pub allowed_down_seconds: f64,
    /// Share of the budget left (negative: overspent).
    pub remaining: f64,
    /// Failures against the rate the objective allows: 1 spends the budget
    /// exactly, 2 spends it in half the period.
    pub burn_rate: f64,
}

/// One check target's figures (every agent that runs it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetFigures {
    /// The check's name.
    pub check: String,
    /// Its target.
    pub target: String,
    /// Agents that ran it in the period.
    pub agents: u32,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

impl Figures {
    /// What was down, in a few words: `12 failed of 1296 runs` (counting
    /// by runs) or `60 min firing` (by alerts).
    pub fn down_phrase(&self, by: crate::config::CountBy) -> String {
        match by {
            crate::config::CountBy::Runs => {
                format!("{} failed of {} runs", self.failed_runs, self.runs)
            }
            crate::config::CountBy::Alerts => {
                format!("{} min firing", (self.down_seconds + 59) / 60)
            }
        }
    }
}

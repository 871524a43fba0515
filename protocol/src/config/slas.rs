//! Service level agreements (`PUT /api/v1/slas/{name}`) and the reports
//! made of them (`GET /api/v1/reports?sla=NAME&period=2026-11`).
//!
//! ```toml
//! [[sla]]
//! name = "edge-web"
//! objective = 99.95
//! select = { check = "web-*", groups = ["edge"] }
//! period = "month"
//! timezone = "Europe/Paris"
//! business_hours = { days = ["mon", "tue", "wed", "thu", "fri"], start = "08:00", end = "18:00" }
//! exclude_windows = ["sunday-upgrades"]
//! min_agents = 2
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Quorum, ResultSelector};

/// The most decimals an objective may have (`99.9995` has four).
pub const OBJECTIVE_DECIMALS: u32 = 4;

/// The metrics a report reads latency from when an SLA names none, in
/// order of preference: each check target's first one it has (ping and
/// UDP, HTTP, DNS, TCP, traceroute).
pub const DEFAULT_LATENCY_METRICS: [&str; 5] = [
    "rtt",
    "total_time",
    "lookup_time",
    "connect_time",
    "destination_rtt",
];

/// The most latency metrics an SLA may name.
pub const MAX_LATENCY_METRICS: usize = 16;

/// An SLA as an operator saves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlaSpec {
    /// Letters, digits, `-`, `_` and `.`; at most 64 characters.
    pub name: String,
    /// The availability promised, in percent: above 0, at most 100, with
    /// at most 4 decimals.
    #[cfg_attr(feature = "openapi", schema(example = 99.95))]
    pub objective: f64,
    /// Which check targets it covers (check and target globs, plugin,
    /// agents' groups and labels); empty covers every one.
    #[serde(default)]
    pub select: ResultSelector,
    /// The calendar period a report covers.
    pub period: SlaPeriod,
    /// The IANA time zone the periods and business hours read in
    /// (default `UTC`).
    #[serde(default = "utc")]
    #[cfg_attr(feature = "openapi", schema(example = "Europe/Paris"))]
    pub timezone: String,
    /// When set, only these hours count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    /// Maintenance windows (by name) whose open time does not count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_windows: Vec<String>,
    /// Take silences out of the counted time, as maintenance of what they
    /// match: a silence whose match names only a check and a target
    /// (either or both; no rule, no agent) excludes those check targets'
    /// time while it is on. A silence on a rule or an agent quiets noise
    /// and excludes nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclude_silences: bool,
    /// A minute counts against the objective only when at least this many
    /// of a check target's agents (or this share of those that ran it in
    /// the minute, `"60%"`) failed a run in it (default 1): one broken
    /// agent does not burn the budget of a site the others reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_agents: Option<Quorum>,
    /// The metrics (in seconds) latency is read from, in order of
    /// preference: each check target's first one it has. Default:
    /// `rtt`, `total_time`, `lookup_time`, `connect_time`,
    /// `destination_rtt`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_metrics: Vec<String>,
    /// When set, each period's report is sent once the period has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver: Option<ReportDelivery>,
    /// How availability is counted: `runs` (the default: each agent's
    /// `check_up`, minute by minute against `min_agents`) or `alerts`
    /// (the time the alerts of `rules` spent firing).
    #[serde(default, skip_serializing_if = "CountBy::is_runs")]
    pub count_by: CountBy,
    /// With `count_by = "alerts"`, the alert rules (by name) whose firing
    /// counts as down time: a check target's group alert (a rule's own
    /// `min_agents`), or `min_agents` of its agents' alerts at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

/// How a report counts availability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CountBy {
    /// The share of runs that did not fail, in minutes where the quorum
    /// of agents failed.
    #[default]
    Runs,
    /// The share of the counted time the SLA's alert rules were not firing.
    Alerts,
}

impl CountBy {
    /// Counting by runs, the default (left out when saved).
    pub fn is_runs(&self) -> bool {
        *self == CountBy::Runs
    }

    /// Its name, as JSON and TOML spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            CountBy::Runs => "runs",
            CountBy::Alerts => "alerts",
        }
    }
}

/// Where each period's report goes once the period has ended: once a
/// period, a channel, across replicas; a failed send is tried again at
/// the next jobs round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportDelivery {
    /// Alerting channels, by name: an email channel mails a summary with
    /// the report attached, a webhook channel posts the JSON report.
    pub channels: Vec<String>,
    /// What an email attaches (default `pdf`).
    #[serde(default)]
    pub attach: ReportFormat,
}

/// A report's forms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// The `Report` as JSON.
    Json,
    /// A table per section.
    Csv,
    /// A printable page.
    Html,
    /// That page printed.
    #[default]
    Pdf,
}

impl ReportFormat {
    /// Its file extension and media type.
    pub fn file(self) -> (&'static str, &'static str) {
        match self {
            ReportFormat::Json => ("json", "application/json"),
            ReportFormat::Csv => ("csv", "text/csv; charset=utf-8"),
            ReportFormat::Html => ("html", "text/html; charset=utf-8"),
            ReportFormat::Pdf => ("pdf", "application/pdf"),
        }
    }
}

/// A report sent, or tried: one per (SLA, period, channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportDeliveryView {
    /// The period's label.
    pub period: String,
    /// The channel.
    pub channel: String,
    /// Sent (the receiver accepted it), or not yet.
    pub sent: bool,
    /// Tries so far.
    pub attempts: i32,
    /// The receiver's answer (`250`, `200`) or why it failed.
    pub detail: String,
    /// When it was last tried.
    pub at: DateTime<Utc>,
}

impl SlaSpec {
    /// The latency metrics it reads, in order of preference.
    pub fn latency_metrics(&self) -> Vec<&str> {
        if self.latency_metrics.is_empty() {
            DEFAULT_LATENCY_METRICS.to_vec()
        } else {
            self.latency_metrics.iter().map(String::as_str).collect()
        }
    }
}

fn utc() -> String {
    "UTC".to_owned()
}

/// The calendar period of an SLA. Weeks start on Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SlaPeriod {
    /// `2026-11-05`
    Day,
    /// `2026-W45` (ISO weeks)
    Week,
    /// `2026-11`
    Month,
    /// `2026-Q4`
    Quarter,
    /// `2026`
    Year,
}

/// The hours that count, on the days that count, in the SLA's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// `mon` … `sun`.
    #[cfg_attr(feature = "openapi", schema(example = json!(["mon", "tue", "wed", "thu", "fri"])))]
    pub days: Vec<String>,
    /// From `HH:MM`.
    #[cfg_attr(feature = "openapi", schema(example = "08:00"))]
    pub start: String,
    /// Until `HH:MM` (after `start`; `24:00` for the day's end).
    #[cfg_attr(feature = "openapi", schema(example = "18:00"))]
    pub end: String,
}

/// An SLA as the server shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaView {
    /// The SLA as it was last saved.
    pub spec: SlaSpec,
    /// Bumped by every change.
    pub revision: i64,
    /// When the spec last changed.
    pub updated_at: DateTime<Utc>,
}

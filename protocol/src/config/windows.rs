//! Maintenance windows (`PUT /api/v1/alerts/windows/{name}`): silences that
//! recur. Each start time of a cron schedule, in a named time zone, opens
//! the window for its duration; while it is open, the steps of the alerts
//! it matches are kept in the history but sent nowhere.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AlertMatch;

/// The longest a window may stay open.
pub const MAX_WINDOW_DAYS: u64 = 31;

/// A maintenance window as an operator saves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Letters, digits, `-`, `_` and `.`; at most 64 characters.
    pub name: String,
    /// Which alerts (globs on rule, check, target, agent); at least one.
    #[serde(rename = "match")]
    pub matches: AlertMatch,
    /// When it opens: a cron schedule of five fields (minute, hour, day of
    /// month, month, day of week), `30 2 * * SUN` for Sundays at 02:30.
    #[cfg_attr(feature = "openapi", schema(example = "30 2 * * SUN"))]
    pub schedule: String,
    /// How long it stays open each time (at most 31 days).
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2h"))]
    pub duration: Duration,
    /// The IANA time zone the schedule reads in (default `UTC`).
    #[serde(default = "utc")]
    #[cfg_attr(feature = "openapi", schema(example = "Europe/Paris"))]
    pub timezone: String,
    /// Why: shown with it (1–1024 characters).
    pub comment: String,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// A maintenance window as the server shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowView {
    /// The window as it was last saved.
    pub spec: WindowSpec,
    /// Bumped by every change.
    pub revision: i64,
    /// When the spec last changed.
    pub updated_at: DateTime<Utc>,
    /// Open now: since when.
    pub open_since: Option<DateTime<Utc>>,
    /// When it next opens.
    pub next_start: Option<DateTime<Utc>>,
}

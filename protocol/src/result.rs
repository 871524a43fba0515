//! The normalised result of one check run, as the agent emits and ships it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::manifest::BaseUnit;

/// How a check run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The target answered as expected.
    Ok,
    /// The target did not answer in time, or the run overran its deadline
    /// and the host stopped it.
    Timeout,
    /// No route to the target (host or network unreachable).
    Unreachable,
    /// The target actively refused (a TCP reset, an ICMP port unreachable).
    Refused,
    /// Anything else: a bad answer or configuration, a plugin that trapped
    /// or broke a limit, or output the host rejected.
    Error,
}

impl Status {
    /// The name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Timeout => "timeout",
            Status::Unreachable => "unreachable",
            Status::Refused => "refused",
            Status::Error => "error",
        }
    }
}

/// One value, in its metric's base unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// The metric's name, as the plugin's manifest declares it.
    pub metric: String,
    /// The metric's base unit, from the manifest: the unit of `value`.
    pub unit: BaseUnit,
    /// The measured value, converted to `unit` by the agent; always finite.
    pub value: f64,
    /// Dimensions that tell a run's samples of one metric apart (`hop` →
    /// `7`, `core` → `3`); each distinct set is its own series on the
    /// server. Omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The values one run measured of a `distribution` metric with one set of
/// labels (every echo reply's round-trip time, say): one series on the
/// server however many values a run reports, stored with its order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    /// The metric's name, as the plugin's manifest declares it.
    pub metric: String,
    /// The metric's base unit, from the manifest: the unit of every value.
    pub unit: BaseUnit,
    /// The values in the order the plugin reported them (packet order for
    /// ping); each finite, at least one, at most
    /// [`MAX_DISTRIBUTION_VALUES`](crate::rules::MAX_DISTRIBUTION_VALUES).
    pub values: Vec<f64>,
    /// Dimensions, as for a [`Sample`]; omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Something a run saw, as text: a matched log line, say. Stored beside the
/// run's samples for the server's events retention and searchable by text;
/// a run carries at most [`MAX_EVENTS`](crate::rules::MAX_EVENTS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// When it happened (a journal entry's time) or was read, by the
    /// agent's clock.
    pub at: DateTime<Utc>,
    /// The text, at most [`MAX_EVENT_TEXT`](crate::rules::MAX_EVENT_TEXT)
    /// bytes: the agent cuts a longer one at a character boundary and ends
    /// it with `…`.
    pub text: String,
    /// What tells events apart besides their text (`source` → the file,
    /// `pattern` → which pattern matched); omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The normalised result of one run of one check against one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckResult {
    /// Unique per run (UUID v7, time-ordered): the key of exactly-once delivery.
    pub id: uuid::Uuid,
    /// The name of the agent that ran the check; the server accepts only
    /// the name the sending credential was enrolled under.
    pub agent: String,
    /// The check's name, as the operator configured it (on the server or in
    /// the agent's own configuration).
    pub check: String,
    /// What the run probed: a host, `host:port` or URL as the check lists it,
    /// or a peer's address for a mesh check.
    pub target: String,
    /// The plugin's name, from its manifest.
    pub plugin: String,
    /// The plugin's semantic version, from its manifest.
    pub plugin_version: String,
    /// How the run ended.
    pub status: Status,
    /// When the run started, by the agent's clock: the time of every sample
    /// of the run.
    pub started_at: DateTime<Utc>,
    /// Wall time of the run, in seconds.
    pub duration: f64,
    /// A sentence explaining the status, from the plugin, or from the host
    /// when the run failed or its output was rejected; absent when there is
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The values the run measured, each checked against the manifest;
    /// empty when the run failed or its output was discarded.
    pub samples: Vec<Sample>,
    /// The run's distributions: the samples of its `distribution` metrics,
    /// one per metric and set of labels. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distributions: Vec<Distribution>,
    /// What the run saw as text, in the order reported. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
}

impl CheckResult {
    /// The run's distributions of `metric`, one per set of labels.
    pub fn distributions_of<'a>(
        &'a self,
        metric: &'a str,
    ) -> impl Iterator<Item = &'a Distribution> + 'a {
        self.distributions
            .iter()
            .filter(move |d| d.metric == metric)
    }
}

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
    Ok,
    Timeout,
    Unreachable,
    Refused,
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
    pub metric: String,
    pub unit: BaseUnit,
    pub value: f64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The normalised result of one run of one check against one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckResult {
    /// Unique per run (UUID v7, time-ordered): the key of exactly-once delivery.
    pub id: uuid::Uuid,
    pub agent: String,
    pub check: String,
    pub target: String,
    pub plugin: String,
    pub plugin_version: String,
    pub status: Status,
    pub started_at: DateTime<Utc>,
    /// Wall time of the run, in seconds.
    pub duration: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub samples: Vec<Sample>,
}

//! Rollouts: an agent version brought to a fleet in waves, advanced by the
//! server while each wave stays healthy, halted by itself past its failure
//! budget.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::UpdateStep;

/// The most waves a rollout has.
pub const MAX_WAVES: usize = 20;

/// One wave: how many agents have been asked to update once it started,
/// counting the waves before it. `"canary=1"`, `"5"`, `"10%"`, `"100%"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Wave {
    /// A name, for people (`canary`).
    pub name: Option<String>,
    /// How many agents, in all, up to and with this wave.
    pub size: WaveSize,
}

/// A wave's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WaveSize {
    /// A number of agents.
    Count(u32),
    /// A share of the agents the rollout covers, in percent (0, 100].
    Percent(f64),
}

impl Wave {
    /// How many of `total` agents the waves up to this one cover.
    pub fn reach(&self, total: usize) -> usize {
        match self.size {
            WaveSize::Count(n) => (n as usize).min(total),
            WaveSize::Percent(p) => ((p / 100.0 * total as f64).ceil() as usize).min(total),
        }
    }
}

impl TryFrom<String> for Wave {
    type Error = String;

    fn try_from(text: String) -> Result<Wave, String> {
        let (name, size) = match text.split_once('=') {
            Some((name, size)) => (Some(name.trim().to_owned()), size.trim()),
            None => (None, text.trim()),
        };
        if name.as_ref().is_some_and(|n| {
            n.is_empty()
                || n.len() > 32
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            return Err(format!(
                "wave `{text}`: a name is 1 to 32 letters, digits, `-` or `_`"
            ));
        }
        let size = match size.strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(p) if p > 0.0 && p <= 100.0 => WaveSize::Percent(p),
                _ => {
                    return Err(format!(
                        "wave `{text}`: a share is more than 0% and at most 100%"
                    ));
                }
            },
            None => match size.parse::<u32>() {
                Ok(n) if n > 0 => WaveSize::Count(n),
                _ => {
                    return Err(format!(
                        "wave `{text}`: not a number of agents (`5`) or a share (`10%`)"
                    ));
                }
            },
        };
        Ok(Wave { name, size })
    }
}

impl fmt::Display for Wave {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            write!(f, "{name}=")?;
        }
        match self.size {
            WaveSize::Count(n) => write!(f, "{n}"),
            WaveSize::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl From<Wave> for String {
    fn from(wave: Wave) -> String {
        wave.to_string()
    }
}

/// `POST /api/v1/rollouts`: what to roll out, to whom, how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RolloutSpec {
    /// A published agent version.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "1.4.0"))]
    pub version: semver::Version,
    /// Only the agents of this group; every agent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The waves, each reaching at least as far as the one before.
    #[serde(default = "default_waves")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, example = json!(["canary=1", "10%", "50%", "100%"])))]
    pub waves: Vec<Wave>,
    /// How long a wave stays healthy before the next one starts.
    #[serde(default = "default_wait", with = "humantime_serde")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "10m"))]
    pub wait: Duration,
    /// The share of the agents asked so far, in percent, that may fail or
    /// roll back before the rollout halts itself.
    #[serde(default)]
    pub max_failures_percent: f64,
}

fn default_waves() -> Vec<Wave> {
    ["canary=1", "10%", "50%", "100%"]
        .into_iter()
        .map(|w| Wave::try_from(w.to_owned()).expect("the default waves parse"))
        .collect()
}

fn default_wait() -> Duration {
    Duration::from_secs(600)
}

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    /// Advancing wave by wave.
    Running,
    /// Held by a person: no new wave starts; the agents asked go on.
    Paused,
    /// Stopped by itself past its failure budget: no agent is asked any more.
    Halted,
    /// Stopped by a person.
    Aborted,
    /// Every wave went out and came up healthy.
    Done,
}

impl RolloutState {
    /// Whether agents of its waves are offered the version.
    pub fn active(self) -> bool {
        matches!(self, RolloutState::Running | RolloutState::Paused)
    }

    /// The state's name, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::Running => "running",
            RolloutState::Paused => "paused",
            RolloutState::Halted => "halted",
            RolloutState::Aborted => "aborted",
            RolloutState::Done => "done",
        }
    }

    /// The state of a name.
    pub fn parse(text: &str) -> Option<RolloutState> {
        [
            RolloutState::Running,
            RolloutState::Paused,
            RolloutState::Halted,
            RolloutState::Aborted,
            RolloutState::Done,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One agent of a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RolloutAgent {
    /// The agent's id.
    pub agent_id: Uuid,
    /// The agent's name.
    pub name: String,
    /// The index of the wave that asked it.
    pub wave: usize,
    /// The version it reports running.
    pub running: String,
    /// What it reported of this update; absent until it reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<UpdateStep>,
    /// Why, for a step that is not `healthy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A rollout as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RolloutView {
    /// The rollout's id.
    pub id: Uuid,
    /// What it rolls out, to whom, how.
    pub spec: RolloutSpec,
    /// Where it stands.
    pub state: RolloutState,
    /// The index of the wave out now.
    pub wave: usize,
    /// Why it halted, or who paused or aborted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The agents asked so far, by wave and name.
    pub agents: Vec<RolloutAgent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_read_counts_and_shares_and_reach_cumulatively() {
        let waves: Vec<Wave> = ["canary=1", "10%", "50%", "100%"]
            .into_iter()
            .map(|w| Wave::try_from(w.to_owned()).unwrap())
            .collect();
        let reach: Vec<usize> = waves.iter().map(|w| w.reach(10)).collect();
        assert_eq!(reach, [1, 1, 5, 10]);
        assert_eq!(waves[0].to_string(), "canary=1");
        assert_eq!(Wave::try_from("3".to_owned()).unwrap().reach(2), 2);
        for bad in ["0", "0%", "101%", "x", "=5", "bad name=5", "-1"] {
            assert!(Wave::try_from(bad.to_owned()).is_err(), "{bad}");
        }
        let spec: RolloutSpec = serde_json::from_str(r#"{"version": "1.4.0"}"#).unwrap();
        assert_eq!(spec.waves, waves);
        assert_eq!(spec.wait, Duration::from_secs(600));
    }
}

//! `update.json`: the highest release seq installed, the trial under way,
//! the versions that failed here (never tried again on their own), and
//! the report still owed to the server. Written whole by whichever process
//! owns the step: the agent that stages, the launcher that starts a trial
//! or rolls it back (with no agent running), the new version that proves
//! itself healthy.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vantage_protocol::config::{UpdateReport, UpdateStep};

use super::Layout;

/// A switch to a new version, awaiting proof of health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// The new version.
    pub version: String,
    /// What ran before: a version folder, or `None` for the installed binary.
    pub previous: Option<String>,
    /// When the launcher first started it: a second start is a crash.
    pub started_at: Option<DateTime<Utc>>,
    /// When it must have delivered a result by.
    pub deadline: Option<DateTime<Utc>>,
    /// It reconnected and delivered a result.
    pub healthy: bool,
}

/// The update state of one agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateState {
    /// The highest release seq installed: older manifests are replays.
    pub seq: u64,
    pub trial: Option<Trial>,
    /// Versions that failed here, and why.
    pub failed: BTreeMap<String, String>,
    /// What the server has yet to hear.
    pub report: Option<UpdateReport>,
    /// The last deferral reported (version and reason): an offer looked at
    /// again each round is reported again only when that changes.
    pub deferred: Option<(String, String)>,
}

impl UpdateState {
    /// The state on disk; a damaged file is logged and read as empty (the
    /// launcher then runs what `current` names).
    pub fn load(layout: &Layout) -> UpdateState {
        match crate::files::read_json(&layout.state_file()) {
            Ok(state) => state.unwrap_or_default(),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "The update state is damaged; starting from none.");
                UpdateState::default()
            }
        }
    }

    pub fn save(&self, layout: &Layout) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("the update state serialises");
        crate::files::write_private(&layout.state_file(), &json)
    }

    /// Whether a trial is under way (switched, not yet healthy).
    pub fn in_trial(&self) -> bool {
        self.trial.as_ref().is_some_and(|t| !t.healthy)
    }

    /// Notes `report` for the server.
    pub fn owe(&mut self, step: UpdateStep, running: &str, target: &str, reason: Option<String>) {
        let (Ok(running), Ok(target)) = (running.parse(), target.parse()) else {
            return;
        };
        self.report = Some(UpdateReport {
            running,
            target,
            step,
            reason,
        });
    }
}

/// Called by a new version once it delivered a result: ends its trial.
/// True when this call ended one.
pub fn mark_healthy(layout: &Layout) -> anyhow::Result<bool> {
    let mut state = UpdateState::load(layout);
    let Some(trial) = state.trial.as_mut() else {
        return Ok(false);
    };
    if trial.healthy || trial.version != crate::VERSION {
        return Ok(false);
    }
    trial.healthy = true;
    let keep = [Some(trial.version.clone()), trial.previous.clone()];
    state.owe(UpdateStep::Healthy, crate::VERSION, crate::VERSION, None);
    state.save(layout)?;
    layout.prune(&keep);
    Ok(true)
}

//! The desired state's update offer, handed to the stager with this
//! agent's own trust, and the update reports owed to the server.

use std::path::PathBuf;

use tokio::sync::watch;
use vantage_protocol::config::{DesiredState, UPDATE_STATUS_PATH};

use super::Remote;
use crate::config::UpdateSection;
use crate::update::{Layout, Outcome, Stager, UpdateState};
use crate::uplink::client::ServerClient;

/// What managed mode needs to update the agent.
#[derive(Debug)]
pub struct Updates {
    /// The configuration the agent runs with (a new build's self-test loads it).
    pub config_path: PathBuf,
    pub settings: UpdateSection,
    /// Set when a new version is installed: the agent stops and restarts into it.
    pub restart: watch::Sender<bool>,
    /// Whether the offer of an unchanged desired state is looked at again:
    /// at start (it may be from before a restart), and after a deferral
    /// (a freeze window ends). A refusal waits for a new desired state.
    pub again: bool,
}

impl Remote {
    /// Acts on the offer of `state`, if any; true when the agent must
    /// restart into a new version.
    pub(super) async fn consider_update(
        &mut self,
        state: &DesiredState,
        client: &mut ServerClient,
    ) -> bool {
        let Some(offer) = &state.update else {
            return false;
        };
        // `apply` ran first and recorded what the state and the held
        // statement revoke into `self.revoked`.
        let mut roots = self.roots.clone();
        roots.extend(self.local_trust.keys().cloned());
        let stager = Stager {
            layout: Layout::new(&self.data_dir),
            config_path: self.updates.config_path.clone(),
            settings: &self.updates.settings,
            roots,
            revoked: &self.revoked,
            statement: self.statement.body(),
        };
        let outcome = stager.consider(offer, client).await;
        self.updates.again = matches!(outcome, Outcome::Deferred(_));
        self.send_update_report(client).await;
        if outcome == Outcome::Restart {
            let _ = self.updates.restart.send(true);
            return true;
        }
        false
    }

    /// Sends the update report the state owes, and forgets it once taken.
    pub(super) async fn send_update_report(&self, client: &mut ServerClient) {
        let layout = Layout::new(&self.data_dir);
        let mut state = UpdateState::load(&layout);
        let Some(report) = state.report.clone() else {
            return;
        };
        let body = serde_json::to_vec(&report).expect("a report serialises");
        match client.post(UPDATE_STATUS_PATH, &body, false).await {
            Ok(r) if (200..300).contains(&r.status) => {
                // Unless a newer report replaced it meanwhile.
                state = UpdateState::load(&layout);
                if state.report.as_ref() == Some(&report) {
                    state.report = None;
                    if let Err(e) = state.save(&layout) {
                        tracing::warn!(error = %format!("{e:#}"), "Saving the update state failed.");
                    }
                }
            }
            Ok(r) => tracing::warn!(
                status = r.status,
                problem = r.problem_text(),
                "The server did not take the update report."
            ),
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "Sending the update report failed.")
            }
        }
    }
}

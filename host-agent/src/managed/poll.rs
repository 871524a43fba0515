//! Following the server: the desired state long-polled, applied when it
//! changes and re-applied with growing pauses while some check is not
//! running; what the agent made of it reported back.

use std::time::Duration;

use tokio::sync::watch;
use vantage_protocol::config::{
    CONFIG_STATUS_PATH, CheckState, ConfigSource, ConfigStatus, DESIRED_PATH, DesiredState,
};

use super::{MAX_DESIRED_BYTES, Remote, load_last_known_good};
use crate::uplink::backoff;
use crate::uplink::client::ServerClient;

impl Remote {
    /// Long-polls the desired state and applies every new one. While some
    /// check of the current state is not running (a download failed, a
    /// package was refused), the state is applied again now and then, with
    /// growing pauses: what was transient heals, what was refused stays so.
    pub(super) async fn follow(
        &mut self,
        mut client: ServerClient,
        mut current: Option<String>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut attempt: u32 = 0;
        let mut last: Option<(DesiredState, ConfigStatus)> = None;
        let mut retries: u32 = 0;
        let mut retry_at: Option<tokio::time::Instant> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            if let (Some(at), Some((state, reported))) = (retry_at, &last)
                && tokio::time::Instant::now() >= at
            {
                let state = state.clone();
                let status = self
                    .apply(&state, ConfigSource::Server, Some(&mut client))
                    .await;
                if status.checks != reported.checks {
                    log_status(&status);
                    self.report(&mut client, &status).await;
                }
                retries += 1;
                retry_at = incomplete(&status).then(|| retry_after(retries));
                last = Some((state, status));
            }
            // The held registry statement expires between states: say so.
            if let Some((_, reported)) = last.as_mut() {
                let trust = self.statement.metadata(chrono::Utc::now());
                if trust != reported.trust {
                    if trust.as_ref().is_some_and(|t| t.stale) {
                        tracing::warn!(
                            "The registry statement expired and no newer one came: trust metadata is stale (the server may be withholding updates)."
                        );
                    }
                    reported.trust = trust;
                    let status = reported.clone();
                    self.report(&mut client, &status).await;
                }
            }
            // Wait on the server no longer than until the next retry.
            let mut wait = self.server.config_wait;
            if let Some(at) = retry_at {
                wait = wait.min(at.saturating_duration_since(tokio::time::Instant::now()));
            }
            let path = format!("{DESIRED_PATH}?wait={}", wait.as_secs());
            let asked = tokio::select! {
                r = client.get(&path, current.as_deref(), MAX_DESIRED_BYTES, wait) => r,
                _ = stop.wait_for(|s| *s) => return,
            };
            let pause = match asked {
                Ok(reply) if reply.status == 200 => {
                    match serde_json::from_slice::<DesiredState>(&reply.body) {
                        Ok(state) => {
                            attempt = 0;
                            let status = self
                                .apply(&state, ConfigSource::Server, Some(&mut client))
                                .await;
                            log_status(&status);
                            self.report(&mut client, &status).await;
                            self.send_update_report(&mut client).await;
                            if self.consider_update(&state, &mut client).await {
                                return;
                            }
                            current = Some(state.version.clone());
                            retries = 0;
                            retry_at = incomplete(&status).then(|| retry_after(retries));
                            last = Some((state, status));
                            None
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "The server's desired state is not valid; keeping the current one.");
                            Some(backoff(attempt, self.server.max_backoff, None))
                        }
                    }
                }
                Ok(reply) if reply.status == 304 => {
                    attempt = 0;
                    self.send_update_report(&mut client).await;
                    if last.is_none() && current.is_some() {
                        // Started from last-known-good and the server agrees:
                        // apply it once more with the server at hand, so
                        // what the cache lacked is downloaded.
                        if let Ok(Some(state)) = load_last_known_good(&self.data_dir) {
                            let status = self
                                .apply(&state, ConfigSource::Server, Some(&mut client))
                                .await;
                            self.report(&mut client, &status).await;
                            retry_at = incomplete(&status).then(|| retry_after(retries));
                            last = Some((state, status));
                        }
                    }
                    // An offer not taken yet (deferred, or from before a
                    // restart) is looked at again each round.
                    if let Some((state, _)) = last.as_ref().filter(|_| self.updates.again) {
                        let state = state.clone();
                        if self.consider_update(&state, &mut client).await {
                            return;
                        }
                    }
                    None
                }
                Ok(reply) if reply.status == 401 || reply.status == 403 => {
                    tracing::error!(
                        status = reply.status,
                        problem = reply.problem_text(),
                        "The server refused this agent's credential; configuration is paused."
                    );
                    Some(self.server.auth_pause)
                }
                Ok(reply) => {
                    tracing::warn!(
                        status = reply.status,
                        problem = reply.problem_text(),
                        "Fetching the desired state failed."
                    );
                    Some(backoff(attempt, self.server.max_backoff, reply.retry_after))
                }
                Err(e) => {
                    tracing::debug!(error = %format!("{e:#}"), "The server is unreachable for configuration.");
                    Some(backoff(attempt, self.server.max_backoff, None))
                }
            };
            if let Some(pause) = pause {
                attempt = attempt.saturating_add(1);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    }

    async fn report(&self, client: &mut ServerClient, status: &ConfigStatus) {
        let body = serde_json::to_vec(status).expect("a status serialises");
        match client.post(CONFIG_STATUS_PATH, &body, false).await {
            Ok(r) if (200..300).contains(&r.status) => {}
            Ok(r) => tracing::warn!(
                status = r.status,
                problem = r.problem_text(),
                "The server did not take the configuration status."
            ),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "Reporting the configuration status failed.")
            }
        }
    }
}

/// Whether some check of the state is not running as asked.
fn incomplete(status: &ConfigStatus) -> bool {
    status.checks.iter().any(|c| c.state != CheckState::Running)
}

/// When to apply an incomplete state again: 5 s, 10 s, 20 s… at most 5 min.
fn retry_after(retries: u32) -> tokio::time::Instant {
    let wait = Duration::from_secs(5) * 2u32.saturating_pow(retries.min(6));
    tokio::time::Instant::now() + wait.min(Duration::from_secs(300))
}

pub(super) fn log_status(status: &ConfigStatus) {
    let running = status
        .checks
        .iter()
        .filter(|c| c.state == CheckState::Running)
        .count();
    tracing::info!(
        version = status.version,
        source = ?status.source,
        running,
        not_running = status.checks.len() - running,
        "Configuration applied."
    );
}

//! Applying a desired state: each check whose package verifies and
//! compiles replaces its running version; one that fails keeps its running
//! version. The scheduler then gets the new job set.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use vantage_protocol::config::{
    CheckState, CheckStatus, ConfigSource, ConfigStatus, DesiredCheck, DesiredState, DesiredTarget,
};
use vantage_protocol::package::TrustStore;

use super::last_known_good::save_last_known_good;
use super::{Refusal, Remote};
use crate::jobs::{self, CheckProblem, JobSpec};
use crate::plugin::VerifiedPlugin;
use crate::scheduler::Job;
use crate::uplink::client::ServerClient;

impl Remote {
    /// Applies `state`: every check whose package verifies and compiles
    /// replaces its running version; one that fails keeps its running
    /// version, if any. Then the scheduler gets the new job set and the
    /// effective state is saved as last-known-good.
    pub async fn apply(
        &mut self,
        state: &DesiredState,
        source: ConfigSource,
        mut client: Option<&mut ServerClient>,
    ) -> ConfigStatus {
        if let Some(offered) = &state.statement {
            self.consider_statement(offered);
        }
        let trust = self.trust(state);
        // A plugin whose signer is no longer trusted is let go at once: its
        // checks stop before their next run, unless a package still
        // trusted replaces it below.
        let untrusted: Vec<String> = self
            .compiled
            .iter()
            .filter(|(_, p)| !trust.trusts(&p.signer().id()))
            .map(|(digest, _)| digest.clone())
            .collect();
        for digest in &untrusted {
            if let Some(plugin) = self.compiled.remove(digest) {
                tracing::warn!(plugin = %plugin.manifest().name, version = %plugin.manifest().version, signer = %plugin.signer().id(), "The plugin's signer is no longer trusted: unloaded.");
            }
        }
        let mut applied = BTreeMap::new();
        let mut statuses = Vec::new();
        for check in &state.checks {
            let plugin_id = format!("{}@{}", check.plugin.name, check.plugin.version);
            let unchanged = self
                .applied
                .get(&check.name)
                .filter(|(running, _)| running == check)
                .filter(|(running, _)| self.compiled.contains_key(&running.plugin.digest))
                .cloned();
            let floor = self.floors.permits(
                &check.plugin.name,
                &check.plugin.version,
                self.statement.body(),
            );
            let outcome = match (floor, unchanged) {
                (Err(why), _) => Err((CheckState::Refused, why)),
                (Ok(()), Some(entry)) => Ok(entry),
                (Ok(()), None) => self
                    .prepare(check, &trust, client.as_deref_mut())
                    .await
                    .map(|jobs| (check.clone(), jobs)),
            };
            match outcome {
                Ok(entry) => {
                    if let Err(e) = self
                        .floors
                        .record(&check.plugin.name, &check.plugin.version)
                    {
                        tracing::error!(error = %format!("{e:#}"), "Storing the version floors failed; they hold until the agent stops.");
                    }
                    if let Some(plugin) = self.compiled.get(&check.plugin.digest) {
                        let signer = plugin.signer().id();
                        let anchor = self.is_anchor(&signer);
                        let stated = self.statement.body();
                        if let Err(e) =
                            self.owners
                                .record(&check.plugin.name, &signer, anchor, stated)
                        {
                            tracing::error!(error = %format!("{e:#}"), "Storing the name owners failed; they hold until the agent stops.");
                        }
                    }
                    statuses.push(CheckStatus {
                        name: check.name.clone(),
                        plugin: plugin_id,
                        state: CheckState::Running,
                        problem: None,
                    });
                    applied.insert(check.name.clone(), entry);
                }
                Err((state, problem)) => {
                    // The running version stays, unless its signer was revoked.
                    let running = self.applied.get(&check.name);
                    let kept = running
                        .filter(|(old, _)| self.compiled.contains_key(&old.plugin.digest))
                        .cloned();
                    let problem = match (&kept, running) {
                        (Some((old, _)), _) => format!(
                            "{problem}; still running {}@{}",
                            old.plugin.name, old.plugin.version
                        ),
                        (None, Some((old, _))) => format!(
                            "{problem}; stopped {}@{}: its signer is no longer trusted",
                            old.plugin.name, old.plugin.version
                        ),
                        (None, None) => problem,
                    };
                    tracing::warn!(
                        check = check.name,
                        plugin = plugin_id,
                        problem,
                        "Check not applied."
                    );
                    statuses.push(CheckStatus {
                        name: check.name.clone(),
                        plugin: plugin_id,
                        state,
                        problem: Some(problem),
                    });
                    if let Some(kept) = kept {
                        applied.insert(check.name.clone(), kept);
                    }
                }
            }
        }
        self.applied = applied;
        let _ = self.jobs.send(Arc::new(self.job_set()));
        // Compiled plugins nothing uses any more are let go.
        let in_use: std::collections::HashSet<&str> = self
            .applied
            .values()
            .map(|(c, _)| c.plugin.digest.as_str())
            .collect();
        self.compiled
            .retain(|digest, _| in_use.contains(digest.as_str()));
        let effective = DesiredState {
            version: state.version.clone(),
            checks: self.applied.values().map(|(c, _)| c.clone()).collect(),
            keys: state.keys.clone(),
            revoked_keys: self.revoked.iter().cloned().collect(),
            statement: state.statement.clone(),
            // Kept, so that an offer deferred (a freeze window, a restart)
            // is looked at again while the server's state is unchanged; the
            // agent checks it whole each time.
            update: state.update.clone(),
        };
        if let Err(e) = save_last_known_good(&self.data_dir, &effective) {
            tracing::warn!(error = %format!("{e:#}"), "Saving the last-known-good configuration failed.");
        }
        ConfigStatus {
            version: state.version.clone(),
            applied_at: Utc::now(),
            source,
            checks: statuses,
            trust: self.statement.metadata(Utc::now()),
        }
    }

    /// Whether `key` is one of this agent's own anchors: a pinned root or a
    /// local `[trust]` key, which may sign any plugin name.
    fn is_anchor(&self, key: &vantage_protocol::keys::KeyId) -> bool {
        self.local_trust.trusts(key) || self.roots.iter().any(|r| &r.id() == key)
    }

    /// Takes a registry statement the server offers if a pinned root (not
    /// revoked) signed it and it is newer than the one held.
    fn consider_statement(&mut self, offered: &vantage_protocol::statement::RegistryStatement) {
        let roots: Vec<_> = self
            .roots
            .iter()
            .filter(|r| !self.revoked.contains(&r.id()))
            .cloned()
            .collect();
        match self.statement.consider(offered, &roots) {
            Ok(true) => {
                let body = self.statement.body().expect("just taken");
                tracing::info!(sequence = body.sequence, expires_at = %body.expires_at, yanked = body.yanked.len(), revoked = body.revoked_keys.len(), "Registry statement taken.");
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(problem = %e, "The server offered a registry statement this agent does not take; it holds to the one it has.");
            }
        }
    }

    /// Local jobs (unless a server check has the same name) and the server's.
    fn job_set(&self) -> Vec<Job> {
        let mut jobs: Vec<Job> = self
            .local_jobs
            .iter()
            // Revocations from the server hold for local plugins too.
            .filter(|j| !self.revoked.contains(&j.plugin.signer().id()))
            .filter(|j| {
                let shadowed = self.applied.contains_key(&*j.request.check);
                if shadowed {
                    tracing::warn!(check = %j.request.check, "A server check has the name of a local check: the server's runs.");
                }
                !shadowed
            })
            .cloned()
            .collect();
        jobs.extend(self.applied.values().flat_map(|(_, j)| j.iter().cloned()));
        jobs
    }

    /// Fetches and verifies the check's package, plans its jobs (see
    /// [`crate::jobs`]), and compiles the plugin unless it is compiled.
    async fn prepare(
        &mut self,
        check: &DesiredCheck,
        trust: &TrustStore,
        client: Option<&mut ServerClient>,
    ) -> Result<Vec<Job>, Refusal> {
        let spec = JobSpec {
            name: &check.name,
            targets: probed_targets(&check.name, &check.targets, &check.allow),
            config: &check.config,
            grants: Some(&check.grants),
            allow: &check.allow,
            interval: Duration::from_millis(check.interval_ms),
            timeout: Duration::from_millis(check.timeout_ms.max(1)),
            jitter: None,
            limits: jobs::limits(&self.limits, None),
        };
        let failed = |problem| {
            let text = match problem {
                CheckProblem::Field(field, problem) => format!("{field}: {problem}"),
                CheckProblem::Config(_, problems) => format!("config: {}", problems.join("; ")),
            };
            (CheckState::Failed, text)
        };
        if let Some(plugin) = self.compiled.get(&check.plugin.digest) {
            return Ok(spec.plan(plugin.manifest()).map_err(failed)?.jobs(plugin));
        }
        let package = self.package(&check.plugin, client).await?;
        let verified = VerifiedPlugin::verify(package, trust)
            .map_err(|e| (CheckState::Refused, format!("package refused: {e}")))?;
        let signer = verified.signer().id();
        self.owners
            .permits(
                &verified.manifest().name,
                &signer,
                self.is_anchor(&signer),
                self.statement.body(),
            )
            .map_err(|why| (CheckState::Refused, why))?;
        let plan = spec.plan(verified.manifest()).map_err(failed)?;
        let host = self.host.clone();
        let plugin = tokio::task::spawn_blocking(move || verified.compile(&host))
            .await
            .map_err(|e| (CheckState::Failed, format!("compiling: {e}")))?
            .map_err(|e| (CheckState::Failed, format!("compiling: {e:#}")))?;
        let plugin = Arc::new(plugin);
        self.compiled
            .insert(check.plugin.digest.clone(), plugin.clone());
        Ok(plan.jobs(&plugin))
    }
}

/// The check's targets, less mesh peers at a special address (loopback,
/// link-local, …) that the check's `allow` does not list: a peer's address
/// comes from what another agent reported, not from the operator, so it
/// points the probe there only when the operator said so.
fn probed_targets(check: &str, targets: &[DesiredTarget], allow: &[String]) -> Vec<String> {
    let listed = crate::caps::Scope::new("", allow).ok();
    targets
        .iter()
        .filter(|t| {
            let Some(peer) = &t.peer else { return true };
            let Ok(ip) = t.target.parse::<std::net::IpAddr>() else {
                return true;
            };
            let Some(why) = vantage_protocol::net::special(ip) else {
                return true;
            };
            let kept = listed.as_ref().is_some_and(|s| s.permits_address(ip));
            if !kept {
                tracing::warn!(check, peer, address = %t.target, "A mesh peer's address is {why} and the check does not list it: not probed.");
            }
            kept
        })
        .map(|t| t.target.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(address: &str, peer: Option<&str>) -> DesiredTarget {
        DesiredTarget {
            target: address.into(),
            peer: peer.map(Into::into),
        }
    }

    #[test]
    fn mesh_peers_at_loopback_or_metadata_addresses_are_not_probed() {
        let targets = [
            target("127.0.0.1:22", None),
            target("10.0.0.2", Some("b")),
            target("127.0.0.1", Some("rogue")),
            target("169.254.169.254", Some("rogue-2")),
            target("::ffff:127.0.0.1", Some("rogue-3")),
        ];
        assert_eq!(
            probed_targets("mesh", &targets, &[]),
            ["127.0.0.1:22", "10.0.0.2"],
            "a target the operator listed stays; special peer addresses go"
        );
        // A lab on one host lists loopback in the check's `allow`.
        assert_eq!(
            probed_targets("mesh", &targets, &["127.0.0.0/8".into()]),
            ["127.0.0.1:22", "10.0.0.2", "127.0.0.1", "::ffff:127.0.0.1"],
        );
    }
}

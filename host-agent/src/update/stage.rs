//! Acting on an offer, in the agent that runs: every check first, then the
//! archive (downloaded, checked against the manifest, unpacked into a
//! staging folder), the new binary's version and self-test, and only then
//! the install (a rename) and the switch of `current` (another). Until the
//! switch nothing the running agent or the launcher reads has changed, so
//! a `kill -9`, a corrupt download or a full disk at any step leaves the
//! running version as it was.
//!
//! The data folder also holds the outbox, so an update never takes the
//! last of its disk: before the download and again before writing, the
//! stager wants room for the new build plus [`KEEP_FREE`], and defers the
//! update until there is. A write that fails all the same (the disk
//! filled meanwhile) defers it too, and the staging folder goes at once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::Utc;
use sha2::{Digest as _, Sha256};
use vantage_protocol::config::{RELEASE_BLOB_PATH, UpdateOffer, UpdateStep};
use vantage_protocol::keys::{KeyId, PublicKey};
use vantage_protocol::statement::StatementBody;
use vantage_protocol::update::{AGENT_PRODUCT, ReleaseBody};

use super::archive::{files_of, write_files};
use super::{BINARY, Layout, Trial, UpdateState};
use crate::config::{UpdateMode, UpdateSection};
use crate::uplink::client::ServerClient;

/// The longest a new binary's self-test may take.
const SELF_TEST_TIMEOUT: Duration = Duration::from_secs(120);
/// What an update leaves free on the data folder's disk, for measurements.
pub(super) const KEEP_FREE: u64 = 64 << 20;

/// What came of an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It names the version that runs, or one that failed here before.
    Nothing,
    /// Not now (mode, freeze window, no room on the disk, the download
    /// failed): reported, tried again each round.
    Deferred(String),
    /// Refused: reported; the running version goes on.
    Refused(String),
    /// Installed and switched to: the agent must restart into it.
    Restart,
}

/// What the stager checks an offer against.
#[derive(Debug)]
pub struct Stager<'a> {
    pub layout: Layout,
    /// The configuration the new binary's self-test loads.
    pub config_path: PathBuf,
    pub settings: &'a UpdateSection,
    /// The roots this agent pinned (and its local trust keys), none revoked.
    pub roots: Vec<PublicKey>,
    /// Every key this agent knows revoked.
    pub revoked: &'a BTreeSet<KeyId>,
    /// The newest registry statement it holds: a yank of the running
    /// version allows going below it.
    pub statement: Option<&'a StatementBody>,
}

impl Stager<'_> {
    /// Acts on `offer`; a report of the outcome is left in the update state.
    pub async fn consider(&self, offer: &UpdateOffer, client: &mut ServerClient) -> Outcome {
        let target = offer.version.to_string();
        let mut state = UpdateState::load(&self.layout);
        if target == crate::VERSION || state.failed.contains_key(&target) {
            return Outcome::Nothing;
        }
        let outcome = match self.checked(offer, &state) {
            Err(outcome) => outcome,
            Ok(body) => match self.install(&body, client).await {
                Ok(()) => Outcome::Restart,
                Err(outcome) => outcome,
            },
        };
        let step = match &outcome {
            Outcome::Nothing => return outcome,
            Outcome::Deferred(_) => UpdateStep::Deferred,
            Outcome::Refused(_) => UpdateStep::Refused,
            Outcome::Restart => UpdateStep::Trial,
        };
        let reason = match &outcome {
            Outcome::Deferred(r) | Outcome::Refused(r) => Some(r.clone()),
            _ => None,
        };
        // The install saved its own state; read it back before adding the report.
        state = UpdateState::load(&self.layout);
        if let Outcome::Deferred(why) = &outcome {
            let deferral = Some((target.clone(), why.clone()));
            if state.deferred == deferral {
                return outcome;
            }
            state.deferred = deferral;
        } else {
            state.deferred = None;
        }
        state.owe(step, crate::VERSION, &target, reason.clone());
        if let Err(e) = state.save(&self.layout) {
            tracing::error!(error = %format!("{e:#}"), "Saving the update state failed.");
        }
        match &outcome {
            Outcome::Restart => tracing::info!(
                version = target,
                "An update is installed; restarting into it."
            ),
            _ => {
                tracing::warn!(version = target, step = ?step, reason = reason.as_deref().unwrap_or(""), "An update was not installed.")
            }
        }
        outcome
    }

    /// Everything that needs no download; the manifest's body when it passes.
    fn checked(&self, offer: &UpdateOffer, state: &UpdateState) -> Result<ReleaseBody, Outcome> {
        match self.settings.mode {
            UpdateMode::Auto => {}
            UpdateMode::Notify => return Err(Outcome::Deferred("[update] mode is notify".into())),
            UpdateMode::Off => return Err(Outcome::Deferred("[update] mode is off".into())),
        }
        let now = Utc::now();
        if let Some(window) = self.settings.frozen(now) {
            return Err(Outcome::Deferred(format!(
                "inside the freeze window {window:?}"
            )));
        }
        if state.in_trial() {
            return Err(Outcome::Deferred("another update is in its trial".into()));
        }
        let refused = |m: String| Outcome::Refused(m);
        let release = offer
            .releases
            .iter()
            .find(|r| r.parsed().is_ok_and(|b| b.platform == crate::PLATFORM))
            .ok_or_else(|| {
                refused(format!(
                    "no release of {} for {}",
                    offer.version,
                    crate::PLATFORM
                ))
            })?;
        let roots: Vec<PublicKey> = self
            .roots
            .iter()
            .filter(|r| !self.revoked.contains(&r.id()))
            .cloned()
            .collect();
        let signers: Vec<_> = offer
            .signers
            .iter()
            .filter(|k| k.revoked_at.is_none() && !self.revoked.contains(&k.key_id))
            .cloned()
            .collect();
        let (body, signer) = release
            .verify(&roots, &signers)
            .map_err(|e| refused(e.to_string()))?;
        if body.product != AGENT_PRODUCT || body.version != offer.version {
            return Err(refused(format!(
                "the manifest is of {} {}, the offer of {}",
                body.product, body.version, offer.version
            )));
        }
        let running: semver::Version = crate::VERSION
            .parse()
            .map_err(|e| refused(format!("this build's version: {e}")))?;
        let yanked = self
            .statement
            .is_some_and(|s| s.yanks(AGENT_PRODUCT, &running));
        body.admits(&running, crate::PLATFORM, state.seq, yanked, now)
            .map_err(|e| refused(e.to_string()))?;
        tracing::info!(version = %body.version, signer = %signer, "An agent release verified.");
        Ok(body)
    }

    /// Downloads, checks, unpacks and self-tests the release, installs it
    /// and switches `current` to it. What the disk or the network lacks
    /// now defers it; what is wrong with the release refuses it.
    async fn install(&self, body: &ReleaseBody, client: &mut ServerClient) -> Result<(), Outcome> {
        let later = |e: anyhow::Error| Outcome::Deferred(format!("{e:#}"));
        let refused = |e: anyhow::Error| Outcome::Refused(format!("{e:#}"));
        let versions = &self.layout.versions();
        crate::files::private_dir(versions).map_err(later)?;
        // Left by a run that died mid-way.
        for entry in std::fs::read_dir(versions)
            .map_err(|e| later(e.into()))?
            .flatten()
        {
            if entry.file_name().to_string_lossy().starts_with(".staging-") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        // The unpacked build is at least as big as its archive.
        room(versions, body.size).map_err(later)?;
        let size = usize::try_from(body.size)
            .context("the archive's size")
            .map_err(refused)?;
        let reply = client
            .get(
                &format!("{RELEASE_BLOB_PATH}{}", body.sha256),
                None,
                size.saturating_add(1),
                Duration::from_secs(600),
            )
            .await
            .context("downloading the archive")
            .map_err(later)?;
        if reply.status != 200 {
            let e = anyhow::anyhow!("downloading the archive: {}", reply.problem_text());
            return Err(if reply.status >= 500 || reply.status == 429 {
                later(e)
            } else {
                refused(e)
            });
        }
        let got = hex::encode(Sha256::digest(&reply.body));
        if reply.body.len() as u64 != body.size || got != body.sha256 {
            return Err(refused(anyhow::anyhow!(
                "the archive does not match the manifest: {} bytes with sha256 {got}, signed for {} bytes with sha256 {}",
                reply.body.len(),
                body.size,
                body.sha256
            )));
        }
        let files = files_of(&reply.body).map_err(refused)?;
        let need = files.iter().map(|(_, bytes)| bytes.len() as u64).sum();
        room(versions, need).map_err(later)?;
        let version = body.version.to_string();
        let staging = versions.join(format!(".staging-{version}-{}", std::process::id()));
        let staged = async {
            write_files(&files, &staging).map_err(later)?;
            check_binary(&staging.join(BINARY), &version, &self.config_path)
                .await
                .map_err(refused)?;
            self.switch(body, &staging).map_err(later)
        }
        .await;
        if staged.is_err() {
            // Whatever it holds, the disk wants it back.
            let _ = std::fs::remove_dir_all(&staging);
        }
        staged
    }

    /// Installs the staged build as its version and switches to it, its
    /// trial noted first.
    fn switch(&self, body: &ReleaseBody, staging: &Path) -> anyhow::Result<()> {
        let version = body.version.to_string();
        let dir = self.layout.version_dir(&version);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        std::fs::rename(staging, &dir).with_context(|| format!("installing {}", dir.display()))?;
        crate::platform::sync_dir(&self.layout.versions())?;
        let mut state = UpdateState::load(&self.layout);
        state.seq = body.seq;
        state.trial = Some(Trial {
            version: version.clone(),
            previous: self.layout.current(),
            started_at: None,
            deadline: None,
            healthy: false,
        });
        state.save(&self.layout)?;
        self.layout.switch(Some(&version))
    }
}

/// Whether the disk of `dir` has room for `need` more bytes and still
/// [`KEEP_FREE`] after them.
fn room(dir: &Path, need: u64) -> anyhow::Result<()> {
    let free = crate::platform::free_space(dir)
        .with_context(|| format!("reading the free space of {}", dir.display()))?;
    if free < need.saturating_add(KEEP_FREE) {
        bail!(
            "not enough free space: {} holds {} MiB free; the update needs {} MiB and leaves {} MiB for measurements",
            dir.display(),
            free >> 20,
            need.div_ceil(1 << 20),
            KEEP_FREE >> 20
        );
    }
    Ok(())
}

/// The new binary must say it is `version` and pass its self-test.
async fn check_binary(binary: &Path, version: &str, config: &Path) -> anyhow::Result<()> {
    let run = |args: Vec<std::ffi::OsString>| {
        let mut command = tokio::process::Command::new(binary);
        command
            .args(args)
            .env_remove(super::SUPERVISED_ENV)
            .kill_on_drop(true);
        async move {
            tokio::time::timeout(SELF_TEST_TIMEOUT, command.output())
                .await
                .map_err(|_| anyhow::anyhow!("it ran longer than {SELF_TEST_TIMEOUT:?}"))?
                .with_context(|| format!("running {}", binary.display()))
        }
    };
    let out = run(vec!["--version".into()]).await?;
    let said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || said != format!("{BINARY} {version}") {
        bail!("the archive's binary says it is `{said}`, not {BINARY} {version}");
    }
    let out = run(vec!["self-test".into(), "--config".into(), config.into()]).await?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
        bail!("its self-test failed ({}): {tail}", out.status);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_refused_past_what_the_disk_holds_and_keeps_free() {
        let dir = tempfile::tempdir().unwrap();
        room(dir.path(), 1).unwrap();
        let err = room(dir.path(), u64::MAX / 2).unwrap_err().to_string();
        assert!(err.starts_with("not enough free space:"), "{err}");
        assert!(err.contains("leaves 64 MiB for measurements"), "{err}");
        let gone = dir.path().join("missing");
        assert!(room(&gone, 1).is_err());
    }
}

//! Self-update (docs/updates.md): the agent runs a new build of itself
//! only after it checked the release against its own pinned roots, the
//! archive against the manifest, and the new binary's self-test; it keeps
//! every version it installs and falls back when the new one does not come
//! up healthy.
//!
//! Layout in `<data_dir>/agent/`: `versions/<version>/vantage-agent`, a
//! `current` link to the version that runs (none: the installed binary
//! itself), and `update.json` ([`state`]). The installed binary is never
//! touched: it is the launcher ([`launch`]), and the version that always
//! starts. The outbox and everything else in the data folder are shared by
//! every version.
//!
//! The parts: `stage` acts on an offer (verify, room on the disk,
//! download, extract with `archive`, self-test, install, switch),
//! `launch` starts what `current` names and supervises a trial until the
//! new version delivered a result, rolling back when it crashes or stays
//! silent past the health window; `fault` holds the faults a test build
//! injects.

mod archive;
mod fault;
mod launch;
mod stage;
mod state;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

pub use fault::Fault;
pub use launch::{Launch, launch};
pub use stage::{Outcome, Stager};
pub use state::{Trial, UpdateState, mark_healthy};

/// The exit status with which a supervised agent asks its launcher to
/// start what `current` names now.
pub const EXIT_RESTART: i32 = 75;
/// Set in the environment of an agent its launcher started.
pub const SUPERVISED_ENV: &str = "VANTAGE_AGENT_SUPERVISED";
/// The binary's name in archives and version folders.
pub const BINARY: &str = "vantage-agent";

/// Where the versions, the `current` link and the update state live.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout in an agent's data folder.
    pub fn new(data_dir: &Path) -> Layout {
        Layout {
            root: data_dir.join("agent"),
        }
    }

    /// The folder of the installed versions (and staging folders).
    pub fn versions(&self) -> PathBuf {
        self.root.join("versions")
    }

    /// The folder of an installed version.
    pub fn version_dir(&self, version: &str) -> PathBuf {
        self.versions().join(version)
    }

    /// The binary of an installed version.
    pub fn binary(&self, version: &str) -> PathBuf {
        self.version_dir(version).join(BINARY)
    }

    fn current_link(&self) -> PathBuf {
        self.root.join("current")
    }

    fn state_file(&self) -> PathBuf {
        self.root.join("update.json")
    }

    /// The version `current` names, when its binary is there.
    pub fn current(&self) -> Option<String> {
        let target = crate::platform::pointed(&self.current_link())?;
        let version = target.file_name()?.to_str()?.to_owned();
        self.binary(&version).is_file().then_some(version)
    }

    /// Removes every installed version but those named (a healthy new one
    /// and the one before it, the way back); failures are only logged.
    pub fn prune(&self, keep: &[Option<String>]) {
        let Ok(entries) = std::fs::read_dir(self.versions()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || keep.iter().flatten().any(|k| *k == name) {
                continue;
            }
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                tracing::warn!(error = %e, version = name, "Removing an old version failed.");
            }
        }
    }

    /// Points `current` at `version` (`None`: the installed binary) in one
    /// rename, so a crash leaves the old link or the new one.
    pub fn switch(&self, version: Option<&str>) -> anyhow::Result<()> {
        crate::files::private_dir(&self.root)?;
        let link = self.current_link();
        match version {
            Some(v) => {
                let tmp = self
                    .root
                    .join(format!("current.{}.tmp", std::process::id()));
                crate::platform::point(&tmp, &link, &Path::new("versions").join(v))
                    .with_context(|| format!("pointing {} at {v}", link.display()))?;
            }
            None => match std::fs::remove_file(&link) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", link.display())),
            },
        }
        crate::platform::sync_dir(&self.root)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_names_an_installed_version_and_switches_whole() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        assert_eq!(layout.current(), None);
        std::fs::create_dir_all(layout.version_dir("1.1.0")).unwrap();
        std::fs::write(layout.binary("1.1.0"), b"#!").unwrap();
        layout.switch(Some("1.1.0")).unwrap();
        assert_eq!(layout.current().as_deref(), Some("1.1.0"));
        // A link to a version whose binary is gone names nothing.
        layout.switch(Some("9.9.9")).unwrap();
        assert_eq!(layout.current(), None);
        layout.switch(None).unwrap();
        layout.switch(None).unwrap();
        assert_eq!(layout.current(), None);
        let left: Vec<_> = std::fs::read_dir(dir.path().join("agent"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, ["versions"], "no temporary link is left behind");
        // Pruning keeps the versions named, and staging folders.
        for v in ["1.0.0", "1.2.0", ".staging-1.3.0-1"] {
            std::fs::create_dir_all(layout.version_dir(v)).unwrap();
        }
        layout.prune(&[Some("1.1.0".into()), Some("1.2.0".into())]);
        let mut kept: Vec<_> = std::fs::read_dir(dir.path().join("agent/versions"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        kept.sort();
        assert_eq!(kept, [".staging-1.3.0-1", "1.1.0", "1.2.0"]);
    }
}

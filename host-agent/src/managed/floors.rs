//! Version floors: per plugin, the versions this agent has run, kept in
//! `<data_dir>/floors.json` (0600). A desired state that names a version
//! below the highest of them that no registry statement yanked is refused:
//! a server cannot send the agent back to an old, signed but vulnerable
//! version on its own. An honest rollback is a root-signed statement that
//! yanks the versions above it (`vantage keys statement --yank`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use semver::Version;
use vantage_protocol::statement::StatementBody;

/// The file of version floors in the data folder.
pub(super) const FLOORS_FILE: &str = "floors.json";

/// Versions kept per plugin: the highest ones.
const KEPT: usize = 64;

#[derive(Debug, Default)]
pub(super) struct Floors {
    path: PathBuf,
    run: BTreeMap<String, BTreeSet<Version>>,
}

impl Floors {
    /// No floors yet, stored in `data_dir` from the first run on.
    pub(super) fn empty(data_dir: &Path) -> Floors {
        Floors {
            path: data_dir.join(FLOORS_FILE),
            run: BTreeMap::new(),
        }
    }

    /// The floors stored in `data_dir` (none when there is no file).
    pub(super) fn load(data_dir: &Path) -> anyhow::Result<Floors> {
        let path = data_dir.join(FLOORS_FILE);
        let run = crate::files::read_json(&path)?.unwrap_or_default();
        Ok(Floors { path, run })
    }

    /// The highest version of `plugin` this agent ran that `statement`
    /// does not yank.
    pub(super) fn floor(
        &self,
        plugin: &str,
        statement: Option<&StatementBody>,
    ) -> Option<&Version> {
        self.run
            .get(plugin)?
            .iter()
            .rev()
            .find(|v| !statement.is_some_and(|s| s.yanks(plugin, v)))
    }

    /// Whether `plugin@version` may run; why not, when it may not.
    pub(super) fn permits(
        &self,
        plugin: &str,
        version: &Version,
        statement: Option<&StatementBody>,
    ) -> Result<(), String> {
        match self.floor(plugin, statement) {
            Some(floor) if version < floor => Err(format!(
                "refused a downgrade of {plugin} to {version}: this agent ran {floor}, and no registry statement a pinned root signed yanks it (sign one with `vantage keys statement --yank {plugin}@{floor}`)"
            )),
            _ => Ok(()),
        }
    }

    /// Records that `plugin@version` runs; stores the floors when that is new.
    pub(super) fn record(&mut self, plugin: &str, version: &Version) -> anyhow::Result<()> {
        let versions = self.run.entry(plugin.to_owned()).or_default();
        if !versions.insert(version.clone()) {
            return Ok(());
        }
        while versions.len() > KEPT {
            let lowest = versions.iter().next().cloned().expect("not empty");
            versions.remove(&lowest);
        }
        let bytes = serde_json::to_vec_pretty(&self.run)?;
        crate::files::write_private(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use vantage_protocol::statement::Yanked;

    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn yanking(list: &[(&str, &str)]) -> StatementBody {
        StatementBody {
            sequence: 1,
            issued_at: Utc::now(),
            expires_at: Utc::now() + chrono::Duration::days(1),
            yanked: list
                .iter()
                .map(|(p, ver)| Yanked {
                    plugin: (*p).into(),
                    version: v(ver),
                })
                .collect(),
            revoked_keys: vec![],
            owners: vec![],
        }
    }

    #[test]
    fn a_version_below_what_ran_is_refused_unless_a_statement_yanks_the_higher_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut floors = Floors::load(dir.path()).unwrap();
        assert!(
            floors.permits("http", &v("0.1.0"), None).is_ok(),
            "nothing ran yet"
        );
        floors.record("http", &v("1.0.0")).unwrap();
        floors.record("http", &v("1.1.0")).unwrap();
        assert!(floors.permits("http", &v("1.1.0"), None).is_ok());
        assert!(floors.permits("http", &v("1.2.0"), None).is_ok());
        let why = floors.permits("http", &v("1.0.0"), None).unwrap_err();
        assert!(
            why.contains("ran 1.1.0") && why.contains("--yank http@1.1.0"),
            "{why}"
        );
        assert!(
            floors.permits("tcp", &v("0.1.0"), None).is_ok(),
            "per plugin"
        );

        let yank = yanking(&[("http", "1.1.0")]);
        assert!(floors.permits("http", &v("1.0.0"), Some(&yank)).is_ok());
        assert!(
            floors.permits("http", &v("0.9.0"), Some(&yank)).is_err(),
            "1.0.0 still ran"
        );
        let other = yanking(&[("tcp", "1.1.0")]);
        assert!(floors.permits("http", &v("1.0.0"), Some(&other)).is_err());

        // Kept across restarts, mode 0600.
        let again = Floors::load(dir.path()).unwrap();
        assert!(again.permits("http", &v("1.0.0"), None).is_err());
        let meta = std::fs::metadata(dir.path().join(FLOORS_FILE)).unwrap();
        assert!(crate::platform::private_to_owner(&meta));
    }
}

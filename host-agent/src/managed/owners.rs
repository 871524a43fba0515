//! Plugin names bound to publishers on the agent: a name belongs to the
//! keys a root-signed registry statement gives it to, or else to the key
//! that signed the first version this agent ran (`<data_dir>/owners.json`,
//! 0600). Another trusted publisher's package under that name is refused:
//! a server cannot hand `http` to a second publisher, whatever its own
//! registry says. Pinned roots and local `[trust]` keys sign any name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use vantage_protocol::keys::KeyId;
use vantage_protocol::statement::StatementBody;

/// The file of name owners in the data folder.
pub(super) const OWNERS_FILE: &str = "owners.json";

#[derive(Debug, Default)]
pub(super) struct Owners {
    path: PathBuf,
    by_name: BTreeMap<String, BTreeSet<KeyId>>,
}

impl Owners {
    /// No owners yet, stored in `data_dir` from the first run on.
    pub(super) fn empty(data_dir: &Path) -> Owners {
        Owners {
            path: data_dir.join(OWNERS_FILE),
            by_name: BTreeMap::new(),
        }
    }

    /// The owners stored in `data_dir` (none when there is no file).
    pub(super) fn load(data_dir: &Path) -> anyhow::Result<Owners> {
        let path = data_dir.join(OWNERS_FILE);
        let by_name = crate::files::read_json(&path)?.unwrap_or_default();
        Ok(Owners { path, by_name })
    }

    /// Who may sign `plugin`: the statement's owners, else those recorded.
    fn owners<'a>(
        &'a self,
        plugin: &str,
        statement: Option<&'a StatementBody>,
    ) -> Option<BTreeSet<&'a KeyId>> {
        let stated: BTreeSet<&KeyId> = statement
            .into_iter()
            .flat_map(|s| s.owners.iter())
            .filter(|o| o.plugin == plugin)
            .map(|o| &o.key_id)
            .collect();
        if !stated.is_empty() {
            return Some(stated);
        }
        self.by_name.get(plugin).map(|keys| keys.iter().collect())
    }

    /// Whether `signer` may sign `plugin`; why not, when it may not.
    /// `anchor`: the signer is a pinned root or a local key.
    pub(super) fn permits(
        &self,
        plugin: &str,
        signer: &KeyId,
        anchor: bool,
        statement: Option<&StatementBody>,
    ) -> Result<(), String> {
        if anchor {
            return Ok(());
        }
        match self.owners(plugin, statement) {
            Some(owners) if !owners.contains(signer) => {
                let names: Vec<&str> = owners.iter().map(|k| k.0.as_str()).collect();
                Err(format!(
                    "refused {plugin} signed by {signer}: on this agent the name belongs to {}, and no registry statement a pinned root signed gives it to {signer}",
                    names.join(", ")
                ))
            }
            _ => Ok(()),
        }
    }

    /// Records that `signer` signed a version of `plugin` that runs: the
    /// first signer of a name owns it (unless a statement says who does).
    pub(super) fn record(
        &mut self,
        plugin: &str,
        signer: &KeyId,
        anchor: bool,
        statement: Option<&StatementBody>,
    ) -> anyhow::Result<()> {
        if anchor || self.by_name.contains_key(plugin) {
            return Ok(());
        }
        if statement.is_some_and(|s| s.owners.iter().any(|o| o.plugin == plugin)) {
            return Ok(());
        }
        self.by_name
            .insert(plugin.to_owned(), BTreeSet::from([signer.clone()]));
        let bytes = serde_json::to_vec_pretty(&self.by_name)?;
        crate::files::write_private(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use vantage_protocol::statement::Owner;

    use super::*;

    fn key(s: &str) -> KeyId {
        KeyId(s.into())
    }

    fn giving(plugin: &str, to: &str) -> StatementBody {
        StatementBody {
            sequence: 1,
            issued_at: Utc::now(),
            expires_at: Utc::now() + chrono::Duration::days(1),
            yanked: vec![],
            revoked_keys: vec![],
            owners: vec![Owner {
                plugin: plugin.into(),
                key_id: key(to),
            }],
        }
    }

    #[test]
    fn the_first_signer_owns_a_name_and_only_a_statement_or_an_anchor_gets_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut owners = Owners::load(dir.path()).unwrap();
        assert!(
            owners.permits("http", &key("a"), false, None).is_ok(),
            "nothing ran yet"
        );
        owners.record("http", &key("a"), false, None).unwrap();
        assert!(owners.permits("http", &key("a"), false, None).is_ok());
        let why = owners.permits("http", &key("b"), false, None).unwrap_err();
        assert!(why.contains("belongs to a"), "{why}");
        assert!(
            owners.permits("http", &key("root"), true, None).is_ok(),
            "roots sign anything"
        );
        assert!(
            owners.permits("tcp", &key("b"), false, None).is_ok(),
            "per name"
        );
        // A root-signed statement gives the name to b (and only b).
        let statement = giving("http", "b");
        assert!(
            owners
                .permits("http", &key("b"), false, Some(&statement))
                .is_ok()
        );
        assert!(
            owners
                .permits("http", &key("a"), false, Some(&statement))
                .is_err()
        );
        // A second signer recorded later does not join the owners.
        owners.record("http", &key("b"), false, None).unwrap();
        let again = Owners::load(dir.path()).unwrap();
        assert!(again.permits("http", &key("b"), false, None).is_err());
    }
}

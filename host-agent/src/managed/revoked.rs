//! Revocations that stick: every key the agent has seen revoked (by the
//! server's desired state) is kept in `<data_dir>/revoked.json`, and the
//! set only grows. A later state that leaves a key out does not take its
//! revocation back, across restarts too.

use std::collections::BTreeSet;
use std::path::Path;

use vantage_protocol::config::DesiredState;
use vantage_protocol::keys::KeyId;

/// The file of revoked key ids in the data folder.
pub(super) const REVOKED_FILE: &str = "revoked.json";

/// The revoked key ids stored in `data_dir` (none when there is no file).
pub(super) fn load(data_dir: &Path) -> anyhow::Result<BTreeSet<KeyId>> {
    Ok(crate::files::read_json(&data_dir.join(REVOKED_FILE))?.unwrap_or_default())
}

/// Every key `state` revokes: listed in `revoked_keys`, or marked revoked.
pub(super) fn in_state(state: &DesiredState) -> impl Iterator<Item = &KeyId> {
    state.revoked_keys.iter().chain(
        state
            .keys
            .iter()
            .filter(|k| k.revoked_at.is_some())
            .map(|k| &k.key_id),
    )
}

/// Adds `revoked` (what a state or a registry statement revokes) to
/// `known`, and stores the set when it grew; the ids added.
pub(super) fn record<'a>(
    data_dir: &Path,
    known: &mut BTreeSet<KeyId>,
    revoked: impl Iterator<Item = &'a KeyId>,
) -> anyhow::Result<Vec<KeyId>> {
    let added: Vec<KeyId> = revoked
        .filter(|id| !known.contains(*id))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if added.is_empty() {
        return Ok(added);
    }
    known.extend(added.iter().cloned());
    let bytes = serde_json::to_vec_pretty(known)?;
    crate::files::write_private(&data_dir.join(REVOKED_FILE), &bytes)?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(revoked: &[&str]) -> DesiredState {
        DesiredState {
            version: "v".into(),
            checks: vec![],
            keys: vec![],
            revoked_keys: revoked.iter().map(|k| KeyId((*k).into())).collect(),
            statement: None,
            update: None,
        }
    }

    #[test]
    fn revocations_only_grow_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut known = load(dir.path()).unwrap();
        assert!(known.is_empty());
        let added = record(dir.path(), &mut known, in_state(&state(&["aa", "bb"]))).unwrap();
        assert_eq!(added.len(), 2);
        // A later state that leaves "aa" out does not take it back.
        let added = record(dir.path(), &mut known, in_state(&state(&["bb", "cc"]))).unwrap();
        assert_eq!(added, [KeyId("cc".into())]);
        let reloaded = load(dir.path()).unwrap();
        let ids: Vec<&str> = reloaded.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(ids, ["aa", "bb", "cc"]);
        let meta = std::fs::metadata(dir.path().join(REVOKED_FILE)).unwrap();
        assert!(
            crate::platform::private_to_owner(&meta),
            "readable by the agent only"
        );
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_set() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(REVOKED_FILE), b"{not json").unwrap();
        assert!(load(dir.path()).is_err());
    }
}

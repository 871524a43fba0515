//! The agent's own files: written whole or not at all, readable by the
//! agent's user only (0600, in folders created 0700).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Reads the JSON file at `path`: `None` when there is no file; an error
/// that names a damaged one.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is damaged", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Creates `dir` (and its parents) 0700 if it is missing.
pub(crate) fn private_dir(dir: &Path) -> anyhow::Result<()> {
    crate::platform::create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))
}

/// A new temporary file (0600) beside `path` holding `bytes`, fsynced; its
/// name is random, so processes sharing a folder do not collide.
pub(crate) fn private_tmp(path: &Path, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let tmp = path.with_extension(format!("{}.tmp", hex::encode(nonce)));
    let mut file = crate::platform::private_options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(tmp)
}

/// Writes `path` (0600) through a temporary file, renamed into place, and
/// syncs its folder: a crash leaves the old file or the new one.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    let tmp = private_tmp(path, bytes)?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    crate::platform::sync_dir(dir).with_context(|| format!("syncing {}", dir.display()))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_private_file_is_0600_in_a_0700_folder_and_replaced_whole() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("state/nested/file.json");
        write_private(&path, b"one").unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&root.path().join("state/nested")), 0o700);
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
    }
}

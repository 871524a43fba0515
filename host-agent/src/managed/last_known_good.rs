//! The last-known-good desired state, `<data_dir>/desired.json`: saved after
//! every apply, applied at the next start before the server is reached.

use std::path::Path;

use vantage_protocol::config::DesiredState;

use super::DESIRED_FILE;

/// The persisted last-known-good state, if there is one.
pub fn load_last_known_good(data_dir: &Path) -> anyhow::Result<Option<DesiredState>> {
    crate::files::read_json(&data_dir.join(DESIRED_FILE))
}

pub(super) fn save_last_known_good(data_dir: &Path, state: &DesiredState) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec_pretty(state)?;
    crate::files::write_private(&data_dir.join(DESIRED_FILE), &bytes)
}

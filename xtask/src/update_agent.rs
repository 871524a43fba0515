//! The second agent build the update stories run (`server/tests/story/
//! remote/update.rs`): version [`VERSION`] with the test faults built in
//! (`host-agent/build.rs`), at `target/update-agent/vantage-agent`. Built
//! with the workspace's features before the workspace itself, so that the
//! dependencies are compiled once and only the agent crate twice.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::{cargo, run};

/// The version the update build reports.
pub(crate) const VERSION: &str = "9.0.0";

pub(crate) fn build(root: &Path) -> anyhow::Result<PathBuf> {
    run(cargo()
        .current_dir(root)
        .env("VANTAGE_BUILD_VERSION", VERSION)
        .env("VANTAGE_BUILD_FAULTS", "1")
        .args(["build", "--workspace", "--bin", "vantage-agent"]))?;
    let dir = root.join("target/update-agent");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let to = dir.join("vantage-agent");
    let from = root.join("target/debug/vantage-agent");
    // Copied whole, then renamed: a story never sees half a binary.
    let tmp = dir.join("vantage-agent.tmp");
    std::fs::copy(&from, &tmp).with_context(|| format!("copying {}", from.display()))?;
    std::fs::rename(&tmp, &to).with_context(|| format!("renaming to {}", to.display()))?;
    Ok(to)
}

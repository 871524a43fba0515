//! `cargo xtask deploy-check`: the deployment files of `deploy/` checked
//! with the tools their platforms use, so that what an operator installs is
//! what CI checked.
//!
//! - `deploy/systemd/*.service`: `systemd-analyze security --offline=yes`
//!   scores each unit's exposure at most [`MAX_EXPOSURE`] ("OK").

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

use crate::run;

/// The highest exposure a unit may score, in tenths (systemd's scale: 2.0).
const MAX_EXPOSURE: &str = "20";

pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    systemd_units(root)
}

fn systemd_units(root: &Path) -> anyhow::Result<()> {
    let dir = root.join("deploy/systemd");
    let mut units: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    units.retain(|p| p.extension().is_some_and(|e| e == "service"));
    units.sort();
    anyhow::ensure!(!units.is_empty(), "no units in {}", dir.display());
    for unit in units {
        run(Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(format!("--threshold={MAX_EXPOSURE}"))
            .arg(&unit))
        .with_context(|| format!("{} scores above 2.0", unit.display()))?;
    }
    Ok(())
}

//! `cargo xtask deploy-check`: the files of `deploy/` and `.github/`, and the
//! licences of every dependency, checked with the tools their platforms use
//! (pinned, from PyPI: `prepare::DEPLOY_TOOLS`, `prepare::CHECKOV`), so that
//! what an operator installs is what CI checked:
//!
//! - `deploy/systemd/*.service`: `systemd-analyze security --offline=yes`
//!   scores each unit's exposure at most 2.0 ("OK");
//! - `deploy/docker/*.Dockerfile`: hadolint, and checkov's Dockerfile checks;
//!   [`image_sources`] holds each image's copies to the tree `dist` stages;
//! - `deploy/compose/compose.yaml`: the Compose specification's schema;
//! - `deploy/haproxy/haproxy.cfg`: `haproxy -c` (the scale story also runs
//!   it, `server/tests/story/scale.rs`);
//! - `deploy/helm/vantage`: rendered by Helm's own SDK with the default
//!   values and `ci/production-values.yaml` into `target/deploy/`, each
//!   checked against the Kubernetes schemas (strict: no unknown field), the
//!   production one with checkov (every check passes or is skipped in the
//!   chart with its reason);
//! - `.github/workflows`: actionlint;
//! - `cargo deny check licenses bans sources` over both workspaces.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::{prepare, run};

/// The highest exposure a unit may score, in tenths (systemd's scale: 2.0).
const MAX_EXPOSURE: &str = "20";
/// The oldest and a recent Kubernetes the chart is checked against.
const KUBERNETES: &[&str] = &["1.25.0", "1.33.0"];
const RENDER: &str = include_str!("render_chart.py");

pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    let tools = prepare::venv(root, "deploy", prepare::DEPLOY_TOOLS)?;
    let checkov = prepare::venv(root, "checkov", prepare::CHECKOV)?;
    systemd_units(root)?;
    dockerfiles(root, &tools, &checkov)?;
    run(Command::new(tools.join("check-jsonschema"))
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(root.join("deploy/compose/compose.yaml")))?;
    run(Command::new("haproxy")
        .args(["-c", "-f"])
        .arg(root.join("deploy/haproxy/haproxy.cfg")))?;
    chart(root, &tools, &checkov)?;
    run(Command::new(tools.join("actionlint"))
        .current_dir(root)
        .args(["-no-color"])
        .args(files(&root.join(".github/workflows"), "yml")?))?;
    for workspace in [root.to_owned(), root.join("plugins")] {
        run(Command::new(tools.join("cargo-deny"))
            .current_dir(&workspace)
            .args(["--locked", "check", "licenses", "bans", "sources"]))?;
    }
    Ok(())
}

/// The files of `dir` whose names end in `.ext`, sorted.
fn files(dir: &Path, ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    found.retain(|p| p.extension().is_some_and(|e| e == ext));
    found.sort();
    anyhow::ensure!(!found.is_empty(), "no .{ext} files in {}", dir.display());
    Ok(found)
}

fn systemd_units(root: &Path) -> anyhow::Result<()> {
    for unit in files(&root.join("deploy/systemd"), "service")? {
        run(Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(format!("--threshold={MAX_EXPOSURE}"))
            .arg(&unit))
        .with_context(|| format!("{} scores above 2.0", unit.display()))?;
    }
    Ok(())
}

fn dockerfiles(root: &Path, tools: &Path, checkov: &Path) -> anyhow::Result<()> {
    let docker = root.join("deploy/docker");
    run(Command::new(tools.join("hadolint")).args(files(&docker, "Dockerfile")?))?;
    run(checkov_cmd(checkov)
        .args(["--framework", "dockerfile", "-d"])
        .arg(&docker))
}

fn chart(root: &Path, tools: &Path, checkov: &Path) -> anyhow::Result<()> {
    let chart = root.join("deploy/helm/vantage");
    let out = root.join("target/deploy");
    let production = out.join("production");
    std::fs::create_dir_all(&production)?;
    let default = out.join("default.yaml");
    let rendered = production.join("manifests.yaml");
    let script = out.join("render_chart.py");
    std::fs::write(&script, RENDER)?;
    let render = |to: &Path, values: Option<&Path>| {
        let mut cmd = Command::new(tools.join("python3"));
        cmd.arg(&script).arg(&chart).arg("vantage").arg(to);
        cmd.args(values);
        cmd
    };
    run(&mut render(&default, None))?;
    run(&mut render(
        &rendered,
        Some(&chart.join("ci/production-values.yaml")),
    ))?;
    // The schema holds: values it forbids stop the render.
    let bad = out.join("bad-values.yaml");
    std::fs::write(&bad, "server:\n  replicas: 0\n  nonsense: true\n")?;
    let refused = render(&out.join("bad.yaml"), Some(&bad)).output()?;
    anyhow::ensure!(
        !refused.status.success(),
        "the chart rendered values its schema forbids"
    );
    for version in KUBERNETES {
        run(Command::new(tools.join("kubernetes-validate"))
            .args(["--strict", "--quiet", "-k", version])
            .arg(&default)
            .arg(&rendered))?;
    }
    run(checkov_cmd(checkov)
        .args(["--framework", "kubernetes", "-d"])
        .arg(&production))
}

/// checkov, offline: no guideline download, no version check.
fn checkov_cmd(bin: &Path) -> Command {
    let mut cmd = Command::new(bin.join("checkov"));
    cmd.env("BC_SKIP_MAPPING", "TRUE")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .args(["--quiet", "--compact", "--skip-download"]);
    cmd
}

/// Fails unless every file the images copy from their build stage is in
/// the tree `dist` staged (`target/dist/staging`).
pub(crate) fn image_sources(root: &Path, staging: &Path) -> anyhow::Result<()> {
    const PREFIX: &str = "/src/target/dist/staging/";
    let mut checked = 0;
    for dockerfile in files(&root.join("deploy/docker"), "Dockerfile")? {
        let text = std::fs::read_to_string(&dockerfile)?;
        for line in text.lines().filter(|l| l.starts_with("COPY --from=build ")) {
            let source = line
                .split_whitespace()
                .nth(2)
                .with_context(|| format!("{}: {line}", dockerfile.display()))?;
            let relative = source.strip_prefix(PREFIX).with_context(|| {
                format!(
                    "{}: the build stage's files come from {PREFIX}: {line}",
                    dockerfile.display()
                )
            })?;
            anyhow::ensure!(
                staging.join(relative).is_file(),
                "{} copies {relative}, which `cargo xtask dist` does not stage",
                dockerfile.display()
            );
            checked += 1;
        }
    }
    anyhow::ensure!(checked > 0, "no image copies from the build stage");
    eprintln!(
        "deploy: the images' {checked} copies are all in {}",
        staging.display()
    );
    Ok(())
}

//! The dashboard (`web/`): its npm packages (from `package-lock.json`), the
//! TypeScript types generated from the server's OpenAPI document, its unit
//! tests and its build into `web/dist` (which the server embeds). The
//! browser tests are `e2e.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::run;

/// The committed types, generated from the server's OpenAPI document.
const SCHEMA: &str = "src/api/schema.d.ts";

pub(crate) fn npm(web: &Path) -> Command {
    let mut cmd = Command::new("npm");
    cmd.current_dir(web);
    cmd
}

fn bin(web: &Path, name: &str) -> PathBuf {
    web.join("node_modules/.bin").join(name)
}

/// `npm ci`, unless `node_modules` already holds what the lock file names.
pub(crate) fn install(root: &Path) -> anyhow::Result<()> {
    let web = root.join("web");
    let lock = std::fs::metadata(web.join("package-lock.json"))?.modified()?;
    let installed = std::fs::metadata(web.join("node_modules/.package-lock.json"))
        .and_then(|m| m.modified())
        .ok();
    if installed.is_some_and(|t| t >= lock) {
        return Ok(());
    }
    run(npm(&web).args(["ci", "--no-audit", "--no-fund"]))
}

/// Generates the API types from `server openapi`; with `check`, fails when
/// the committed ones differ instead of writing them.
pub(crate) fn types(root: &Path, server: &Path, check: bool) -> anyhow::Result<()> {
    let web = root.join("web");
    let out = root.join("target/web");
    std::fs::create_dir_all(&out)?;
    let doc = Command::new(server)
        .arg("openapi")
        .output()
        .with_context(|| format!("running {} openapi", server.display()))?;
    if !doc.status.success() {
        bail!(
            "{} openapi failed: {}",
            server.display(),
            String::from_utf8_lossy(&doc.stderr)
        );
    }
    std::fs::write(out.join("openapi.json"), &doc.stdout)?;
    let generated = out.join("schema.d.ts");
    run(Command::new(bin(&web, "openapi-typescript"))
        .current_dir(&web)
        .arg(out.join("openapi.json"))
        .arg("--output")
        .arg(&generated))?;
    let fresh = std::fs::read_to_string(&generated)?;
    let committed = std::fs::read_to_string(web.join(SCHEMA)).unwrap_or_default();
    if fresh == committed {
        return Ok(());
    }
    if check {
        bail!(
            "web/{SCHEMA} is out of date with the server's API: run `cargo xtask web --update-types` and commit it"
        );
    }
    std::fs::write(web.join(SCHEMA), fresh)?;
    eprintln!("wrote web/{SCHEMA}");
    Ok(())
}

/// Type-checks and builds the page into `web/dist`.
pub(crate) fn build(root: &Path) -> anyhow::Result<()> {
    run(npm(&root.join("web")).args(["run", "build"]))
}

pub(crate) fn unit_tests(root: &Path) -> anyhow::Result<()> {
    run(npm(&root.join("web")).args(["test"]))
}

/// `cargo xtask web [--update-types]`: installs, (re)generates the types
/// from the debug server, and builds.
pub(crate) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    install(root)?;
    if args.iter().any(|a| a == "--update-types") {
        run(crate::cargo()
            .current_dir(root)
            .args(["build", "-p", "vantage-server"]))?;
        types(root, &root.join("target/debug/vantage-server"), false)?;
    }
    build(root)
}

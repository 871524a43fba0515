//! The dashboard's browser tests: a fresh demo (server, two agents, local
//! services) and Playwright driving Debian's Chromium against it.
//! Screenshots and traces land in `target/e2e`.

use std::path::Path;

use anyhow::bail;

use crate::demo::Demo;
use crate::{run, web};

pub(crate) fn start(root: &Path, plugins: &Path) -> anyhow::Result<()> {
    for needed in ["target/debug/vantage-server", "target/debug/vantage-agent"] {
        if !root.join(needed).is_file() {
            bail!("no {needed}: build it first (`cargo xtask test` or `cargo xtask demo` do)");
        }
    }
    if !plugins.join("dev.pub").is_file() {
        bail!(
            "no plugin packages in {}: run `cargo xtask build-plugins --rust`",
            plugins.display()
        );
    }
    let out = root.join("target/e2e");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let demo = Demo::fresh(&root.join("target/debug"), &out.join("demo"), plugins, "")?;
    eprintln!("browser tests against {}", demo.url);
    run(web::npm(&root.join("web"))
        .args(["run", "e2e"])
        .env("VANTAGE_URL", &demo.url)
        .env("VANTAGE_PASSWORD", &demo.password)
        // The updates test signs a release with the development root.
        .env("VANTAGE_PLUGIN_DIR", plugins)
        .env("VANTAGE_E2E_OUT", &out))
}

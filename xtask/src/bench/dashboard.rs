//! `cargo xtask bench dashboard`: the release server with two release agents
//! on loopback (as the browser tests set them up), then
//! `web/bench/dashboard.mjs` in Debian's Chromium: how long a probe result
//! takes to reach the overview (against its arrival on the page's own
//! WebSocket), and how long the overview takes to load with 500 agents and
//! 5,000 check targets (against fetching the same data from the API).

use std::path::Path;
use std::process::Command;

use crate::demo::Demo;
use crate::{cargo, packages, run, web};

pub(crate) fn start(root: &Path) -> anyhow::Result<()> {
    let plugins = packages::build_plugins_with(root, packages::Plugins::Rust, None)?;
    web::install(root)?;
    web::build(root)?;
    // The release server embeds the page built just before.
    run(cargo().current_dir(root).args([
        "build",
        "--release",
        "-p",
        "vantage-server",
        "-p",
        "vantage-agent",
    ]))?;
    let demo = Demo::fresh(
        &root.join("target/release"),
        &root.join("target/bench/dashboard"),
        &plugins,
    )?;
    run(Command::new("node")
        .current_dir(root.join("web"))
        .arg("bench/dashboard.mjs")
        .env("VANTAGE_URL", &demo.url)
        .env("VANTAGE_PASSWORD", &demo.password))
}

//! `cargo xtask demo`: builds the first-party plugins (Rust only: cargo and
//! the `wasm32-wasip2` target, no other toolchain), the dashboard, the agent
//! and the server; starts small local services on loopback ([`services`]),
//! the server on embedded SQLite and two agents ([`instance`]); publishes the
//! plugins the checks use to the server's registry (signed with the
//! development key, which the demo registers as the registry's root),
//! defines the checks on the server ([`checks`]) and enrolls the agents,
//! which pin that root and pull their checks from the server. Prints the
//! server's URL and the admin credential, then runs until Ctrl-C or SIGTERM
//! (`--once`: until every check has a stored result). Its children end with
//! it, however it ends ([`lifeline`]).

mod api;
mod checks;
mod instance;
pub(crate) mod lifeline;
mod services;
pub(crate) mod smoke;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

pub(crate) use self::api::Admin;
pub(crate) use self::instance::{Demo, Server};
use crate::{cargo, packages};

/// The plugins the demo builds: only those cargo builds.
pub(crate) const PLUGINS: packages::Plugins = packages::Plugins::Rust;

/// How long the agents may take to compile every plugin and report.
const FIRST_RESULTS: Duration = Duration::from_secs(300);

pub(crate) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let once = args.iter().any(|a| a == "--once");
    let port: u16 = match args.iter().position(|a| a == "--port") {
        Some(i) => args
            .get(i + 1)
            .context("--port needs a number")?
            .parse()
            .context("--port")?,
        None => 8080,
    };
    let plugins = build(root)?;
    let started = Instant::now();
    let mut demo = Demo::start(
        &root.join("target/debug"),
        &root.join("target/demo"),
        port,
        &plugins,
        "",
    )?;
    let dir = &demo.dir;
    println!("\nVantage demo");
    println!(
        "  dashboard  {}   (API viewer: {}/api/docs/)",
        demo.url, demo.url
    );
    println!(
        "  admin      admin / {}   (kept in {})",
        demo.password,
        dir.join("admin-password").display()
    );
    for (name, address) in checks::AGENTS {
        println!(
            "  agent      {name} on {address}, configuration {}",
            demo.home(name).join("agent.toml").display()
        );
    }
    println!("  database   {}\n", dir.join("server/vantage.db").display());
    if once {
        show_first_results(&demo, started)
    } else {
        println!("Running until Ctrl-C.");
        demo.wait()
    }
}

/// Builds what the demo runs, and only that: the Rust plugins (signed, in
/// `target/plugins`, whose folder is returned), the dashboard, the agent and
/// the server (debug).
pub(crate) fn build(root: &Path) -> anyhow::Result<PathBuf> {
    let plugins = packages::build_plugins_with(root, PLUGINS, None)?;
    crate::web::install(root)?;
    crate::web::build(root)?;
    if std::env::var_os(smoke::PREBUILT).is_some() {
        for bin in ["vantage-agent", "vantage-server"] {
            let path = root.join("target/debug").join(bin);
            anyhow::ensure!(path.is_file(), "{} is not built", path.display());
        }
    } else {
        crate::run(cargo().current_dir(root).args([
            "build",
            "-p",
            "vantage-agent",
            "-p",
            "vantage-server",
        ]))?;
    }
    Ok(plugins)
}

/// Waits until every check has a result stored since `since` (a previous
/// run's do not count), and prints the latest of each check target.
fn show_first_results(demo: &Demo, since: Instant) -> anyhow::Result<()> {
    let mut admin = api::Admin::login(demo.addr(), &demo.password)?;
    let after = chrono::Utc::now() - since.elapsed();
    loop {
        let latest = admin.get("/api/v1/results/latest", "reading the latest results")?;
        let rows = latest.as_array().cloned().unwrap_or_default();
        let fresh = |r: &serde_json::Value| {
            r["started_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t >= after)
        };
        let reported: std::collections::BTreeSet<&str> = rows
            .iter()
            .filter(|r| fresh(r))
            .filter_map(|r| r["check"].as_str())
            .collect();
        let missing: Vec<&String> = demo
            .checks
            .iter()
            .filter(|c| !reported.contains(c.as_str()))
            .collect();
        if missing.is_empty() {
            println!(
                "Latest results stored on the server ({:.1} s after the start):",
                since.elapsed().as_secs_f64()
            );
            let (current, earlier): (Vec<_>, Vec<_>) =
                rows.iter().partition(|r| r["current"] != false);
            for r in current {
                println!(
                    "  {:<14} {:<13} {:<22} {:<12} {}",
                    r["check"].as_str().unwrap_or(""),
                    r["agent"].as_str().unwrap_or(""),
                    r["target"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["message"].as_str().unwrap_or("")
                );
            }
            if !earlier.is_empty() {
                println!(
                    "  and {} check targets of earlier runs, no longer current",
                    earlier.len()
                );
            }
            return Ok(());
        }
        if since.elapsed() > FIRST_RESULTS {
            bail!("no result within {FIRST_RESULTS:?} from checks {missing:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

//! `cargo xtask bench dashboard`: the release server with two release agents
//! on loopback (as the browser tests set them up), then
//! `web/bench/dashboard.mjs` in Debian's Chromium: how long a probe result
//! takes to reach the overview (against its arrival on the page's own
//! WebSocket), and how long the overview takes to load with `--agents N`
//! (default 5,000, issue 21's goal) enrolled agents and ten check targets
//! each (against fetching the same data from the API).
//!
//! Both figures are recorded with their peers (the script writes its
//! report as JSON to `VANTAGE_BENCH_REPORT`).

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

use super::record::{Figure, Record};
use crate::demo::Demo;
use crate::{cargo, packages, run, web};

pub(crate) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let agents = agents(args)?;
    let record = Record::begin(root, "dashboard");
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
        // Seeding enrolls thousands of agents from one address in a minute.
        "rate_limit = 0\n",
    )?;
    let report_path = root.join("target/bench/dashboard-report.json");
    let _ = std::fs::remove_file(&report_path);
    run(Command::new("node")
        .current_dir(root.join("web"))
        .arg("bench/dashboard.mjs")
        .env("VANTAGE_URL", &demo.url)
        .env("VANTAGE_PASSWORD", &demo.password)
        .env("BENCH_AGENTS", agents.to_string())
        .env("VANTAGE_BENCH_REPORT", &report_path))?;
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&report_path)
            .with_context(|| format!("the script wrote no {}", report_path.display()))?,
    )?;
    let number = |path: &[&str]| -> anyhow::Result<f64> {
        path.iter()
            .fold(&report, |v, k| &v[*k])
            .as_f64()
            .with_context(|| format!("the report has no number at {}", path.join(".")))
    };
    let targets = number(&["load", "check_targets"])?;
    let agents = number(&["load", "agents"])?;
    record.append(
        root,
        &[
            Figure::new(
                "live: result → overview row, p95",
                number(&["live", "rendered_p95_ms"])?,
                "ms",
            )
            .against(number(&["live", "arrived_p95_ms"])?),
            Figure::new(
                "live: result → overview row, p50",
                number(&["live", "rendered_p50_ms"])?,
                "ms",
            )
            .against(number(&["live", "arrived_p50_ms"])?),
            Figure::new(
                format!("overview usable, {agents} agents, {targets} check targets (median of 5)"),
                number(&["load", "page_median_ms"])?,
                "ms",
            )
            .against(number(&["load", "api_fetch_median_ms"])?),
        ],
    )
}

fn agents(args: &[String]) -> anyhow::Result<u32> {
    match args {
        [] => Ok(5_000),
        [flag, n] if flag == "--agents" => match n.parse() {
            Ok(n) if (1..=20_000).contains(&n) => Ok(n),
            _ => anyhow::bail!("--agents takes a number from 1 to 20000, not {n:?}"),
        },
        _ => anyhow::bail!("usage: cargo xtask bench dashboard [--agents N]"),
    }
}

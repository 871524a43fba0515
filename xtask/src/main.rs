//! `cargo xtask`: build orchestration for Vantage.
//!
//! - `build-plugins`: builds every plugin (Rust with cargo for
//!   `wasm32-wasip2`, Python, JavaScript and C with their `build.sh`), packs
//!   and signs it with the development key into `target/plugins/` (unchanged
//!   packages are left as they are).
//! - `test`: prepares what the suite needs and runs it.
//! - `demo`: runs a server with the dashboard and two agents with checks
//!   against local services, loopback and each other.
//! - `deploy-check`: the files of `deploy/` and `.github/` and the
//!   dependencies' licences, checked with their platforms' tools
//!   (`deploy/mod.rs`).
//! - `dist [--profile P] [--key F] [--plugin-key F]`: the signed release tree
//!   (`dist.rs`).
//! - `smoke`: the first step of `test` alone (see `demo/smoke.rs`).
//! - `web [--update-types]`: builds the dashboard into `web/dist`.
//! - `bench rss|tcp500|idle|icmp|ingest|alerts|reports|dashboard|update|scale|rollups`: agent
//!   and server benchmarks (see `docs/benchmarks.md`).

mod bench;
mod demo;
mod deploy;
mod dist;
mod e2e;
mod http;
mod packages;
mod platforms;
mod prepare;
mod update_agent;
mod web;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("build-plugins") => {
            let which = if args.iter().any(|a| a == "--rust") {
                packages::Plugins::Rust
            } else {
                packages::Plugins::All
            };
            packages::build_plugins_with(&root, which, None).map(|_| ())
        }
        Some("test") => test(&root, &args[1..]),
        Some("demo") => demo::start(&root, &args[1..]),
        Some("deploy-check") => deploy::check(&root),
        Some("dist") => dist::start(&root, &args[1..]),
        Some("smoke") => demo::smoke::start(&root),
        Some("bench") => bench::start(&root, &args[1..]),
        Some("web") => web::start(&root, &args[1..]),
        Some("platforms") => {
            prepare::system_packages()?;
            platforms::check(&root)
        }
        Some("e2e") => {
            web::install(&root)?;
            web::build(&root)?;
            e2e::start(&root, &root.join("target/plugins"))
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 build-plugins [--rust]  build, pack and sign every plugin (or the Rust ones) into target/plugins\n  \
                 test            prepare the machine and run the whole test suite\n  \
                 demo [--once]   run a server with the dashboard, and two agents with checks against local services\n  \
                 deploy-check    check deploy/, the workflows and the licences with their tools\n  \
                 dist [--profile P] [--key F] [--plugin-key F]  the signed release tree in target/dist\n  \
                 smoke           `test`'s first step: the demo without C or Python toolchains, then stopped by each signal\n  \
                 web [--update-types]  build the dashboard into web/dist (regenerating its API types)\n  \
                 e2e             the dashboard's browser tests (after `test` or `demo` built the binaries)\n  \
                 platforms       `test`'s step for other systems: the agent built for Windows with its unit\n                  tests under Wine, and checked for macOS\n  \
                 bench rss|tcp500|idle|icmp  measure the release agent's idle memory, 500 TCP checks/s,\n                        its CPU with 50 checks at 30 s, or its ICMP path against fping,\n                        ping, traceroute and mtr\n  \
                 bench ingest    the release server's ingest rate (vs COPY) and 30-day query latency\n  \
                 bench reports   a monthly SLA report over 1 000 targets on 10 agents, as JSON, HTML and PDF\n  \
                 bench scale     1, 2 and 3 server replicas behind HAProxy, agents held, live delay, failover\n  \
                 bench rollups   rollups by the server's job (PostgreSQL) against TimescaleDB's, and compression\n  \
                 bench instantiate  one plugin run (criterion) against the same work in Rust, recorded"
            );
            bail!("unknown or missing command")
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

/// Runs a command, failing with its command line when it fails.
pub(crate) fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let line = format!("{cmd:?}");
    eprintln!("$ {line}");
    let status = cmd.status().with_context(|| format!("starting {line}"))?;
    if !status.success() {
        bail!("{line} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The triple of the machine, for native builds inside the wasm workspace.
pub(crate) fn host_triple() -> anyhow::Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .context("rustc -vV names no host")
}

fn test(root: &Path, extra: &[String]) -> anyhow::Result<()> {
    // First, before anything is installed: the README's first command
    // needs no C or Python toolchain, and stopping it stops its children.
    // It builds the workspace's tests first: the demo runs that build's
    // agent and server, so wasmtime is compiled once.
    // The update stories' second agent build comes first: the workspace's
    // build then puts the normal agent back.
    update_agent::build(root)?;
    demo::smoke::start(root)?;
    prepare::system_packages()?;
    prepare::wasm_target()?;
    run(cargo().current_dir(root).args(["fmt", "--all", "--check"]))?;
    deploy::check(root)?;
    run(cargo().current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo()
        .current_dir(root.join("plugins"))
        .args(["fmt", "--all", "--check"]))?;
    run(cargo().current_dir(root.join("plugins")).args([
        "clippy",
        "--workspace",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The plugins' pure logic (status matching, parsing) runs natively.
    run(cargo().current_dir(root.join("plugins")).args([
        "test",
        "--workspace",
        "--target",
        &host_triple()?,
    ]))?;
    // Build the tests first: the C plugins use the `vantage` binary built
    // with them, so that the CLI is compiled once, with the tests' features.
    run(cargo()
        .current_dir(root)
        .args(["test", "--workspace", "--no-run"]))?;
    let plugins = packages::build_plugins_with(
        root,
        packages::Plugins::All,
        Some(&root.join("target/debug/vantage")),
    )?;
    packages::test_foreign_plugins(root)?;
    // The dashboard: its types must match the API, its units pass, and its
    // build is in web/dist before the server's tests serve it.
    web::install(root)?;
    web::types(root, &root.join("target/debug/vantage-server"), true)?;
    web::unit_tests(root)?;
    web::build(root)?;
    // componentize-py for the scaffolded Python plugin of `cli/tests/scaffold.rs`.
    let path = std::env::join_paths(std::iter::once(prepare::python_toolchain(root)?).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    run(cargo()
        .current_dir(root)
        .env("VANTAGE_PLUGIN_DIR", &plugins)
        .env("PATH", path)
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(extra))?;
    e2e::start(root, &plugins)?;
    // The agent on other systems: built for Windows with its unit tests
    // run under Wine, and checked for macOS.
    platforms::check(root)?;
    // Last: the release tree in the dev profile, signed with a throw-away
    // key, with every file the container images copy.
    dist::build(root, "dev", &dist::Keys::default())?;
    Ok(())
}

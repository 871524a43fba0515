//! `cargo xtask bench rss|tcp500|idle|icmp|ingest`: the release agent's memory and
//! CPU under fixed loads, read from `/proc` (Linux only), and the release
//! server's ingest rate and query latency ([`ingest`]). Everything it starts
//! talks to 127.0.0.1 (or, for `icmp`, inside network namespaces of its own)
//! and is stopped after a bounded time.
//!
//! - `rss`: every first-party plugin loaded, one check each at a 1 h
//!   interval; the agent's resident memory once it is idle after the first
//!   runs, with a cold and then a warm artifact cache.
//! - `tcp500`: 500 TCP checks at a 1 s interval against a local listener;
//!   runs per second, CPU (% of one core) and RSS over a 15 s window.
//! - `idle`: 50 ping checks at 30 s on loopback for 10 minutes, the
//!   agent's CPU against fping doing the same (see [`idle`]).
//! - `icmp`: the ping and traceroute plugins against fping, iputils ping,
//!   traceroute and mtr (see [`icmp`]).
//! - `alerts`: ingest with 10 000 alert rules against none, and result →
//!   webhook latency (see [`ingest`]'s `alerts`).
//! - `reports`: last month's report of 1 000 check targets on 10 agents,
//!   as JSON, HTML and PDF (see [`ingest`]'s `reports`).
//! - `dashboard [--agents N]`: result → page latency and page load with
//!   5,000 agents and 50,000 check targets (see [`dashboard`]).
//! - `scale`: ingest through HAProxy with 1, 2 and 3 server replicas, the
//!   agents held at one batch every 10 s, the live delay across replicas
//!   and the leader's failover (see [`ingest`]'s `scale`).
//! - `rollups`: the same data rolled up by the server's job on PostgreSQL
//!   and by TimescaleDB's continuous aggregates, and `samples` compressed
//!   (see [`ingest`]'s `rollups`; needs TimescaleDB installed).
//! - `update`: a rollout over 10 agents, and each agent's missed schedule
//!   across its update against a plain restart (see [`update`]).
//!
//! `rss`, `tcp500`, `idle`, `icmp` (rate), `ingest`, `alerts`, `reports`, `dashboard`, `scale`, `rollups` and `update` append their figures to `docs/bench-history.csv`
//! (see [`record`]).

mod dashboard;
mod icmp;
mod idle;
mod ingest;
mod instantiate;
mod lab;
mod procfs;
mod record;
mod sys;
mod update;

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::{cargo, packages};
use procfs::{ProcStatus, clock_ticks, cpu_ticks, mib};

/// How long the agent may take to produce its first results (it may have to
/// compile every plugin first).
const FIRST_RESULTS: Duration = Duration::from_secs(180);

pub(crate) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let which = args.first().map(String::as_str);
    if !matches!(
        which,
        Some(
            "rss"
                | "tcp500"
                | "idle"
                | "icmp"
                | "ingest"
                | "alerts"
                | "reports"
                | "dashboard"
                | "update"
                | "instantiate"
                | "scale"
                | "rollups"
        )
    ) {
        bail!(
            "usage: cargo xtask bench rss|tcp500|idle|icmp|ingest|alerts|reports|dashboard|update|instantiate|scale|rollups"
        );
    }
    if which == Some("instantiate") {
        return instantiate::start(root);
    }
    if which == Some("update") {
        return update::start(root, &args[1..]);
    }
    if which == Some("alerts") {
        return ingest::alerts(root, &args[1..]);
    }
    if which == Some("scale") {
        return ingest::scale(root, &args[1..]);
    }
    if which == Some("rollups") {
        return ingest::rollups(root, &args[1..]);
    }
    if which == Some("reports") {
        return ingest::reports(root, &args[1..]);
    }
    if which == Some("dashboard") {
        return dashboard::start(root, &args[1..]);
    }
    // The server alone: no agent, no plugins.
    if which == Some("ingest") {
        return ingest::start(root, &args[1..]);
    }
    if which == Some("icmp") {
        icmp::preflight(&args[1..])?;
    }
    let plugins = packages::build_plugins_with(root, packages::Plugins::Rust, None)?;
    crate::run(
        cargo()
            .current_dir(root)
            .args(["build", "--release", "-p", "vantage-agent"]),
    )?;
    let bench = Bench {
        root: root.to_path_buf(),
        agent: root.join("target/release/vantage-agent"),
        dir: root.join("target/bench"),
        plugins,
    };
    std::fs::create_dir_all(&bench.dir)?;
    match which {
        Some("rss") => bench.rss(),
        Some("idle") => idle::run(&bench, &args[1..]),
        Some("icmp") => icmp::start(&bench, &args[1..]),
        _ => bench.tcp500(),
    }
}

struct Bench {
    root: PathBuf,
    agent: PathBuf,
    dir: PathBuf,
    plugins: PathBuf,
}

impl Bench {
    fn rss(&self) -> anyhow::Result<()> {
        let record = record::Record::begin(&self.root, "rss");
        let config = self.write_config("rss", &self.all_plugins_checks())?;
        let compiled = self.dir.join("data-rss/compiled");
        let mut figures = Vec::new();
        let _ = std::fs::remove_dir_all(&compiled);
        println!("idle agent, 6 plugins, one check each every 1h (after first runs + 5 s):");
        for cache in ["cold", "warm"] {
            let agent = RunningAgent::start(&self.agent, &config, &self.dir)?;
            agent.wait_for_results(6, FIRST_RESULTS)?;
            std::thread::sleep(Duration::from_secs(5));
            let status = ProcStatus::read(agent.pid())?;
            println!(
                "  {cache} cache: VmRSS {:.1} MiB, VmHWM {:.1} MiB (RssAnon {:.1}, RssFile {:.1} MiB); {} results, {} ok",
                mib(status.rss),
                mib(status.hwm),
                mib(status.anon),
                mib(status.file),
                agent.lines.total(),
                agent.lines.ok(),
            );
            for (what, bytes) in [("VmRSS", status.rss), ("VmHWM", status.hwm)] {
                figures.push(record::Figure::new(
                    format!("idle agent {what}, 6 plugins, {cache} cache"),
                    mib(bytes),
                    "MiB",
                ));
            }
        }
        record.append(&self.root, &figures)
    }

    fn tcp500(&self) -> anyhow::Result<()> {
        let record = record::Record::begin(&self.root, "tcp500");
        let listener = Listener::start()?;
        let mut checks = String::new();
        for i in 0..500 {
            write!(
                checks,
                "\n[[check]]\nname = \"tcp-{i}\"\nplugin = \"tcp\"\n\
                 targets = [\"127.0.0.1:{}\"]\ninterval = \"1s\"\njitter = \"900ms\"\n",
                listener.port
            )?;
        }
        let config = self.write_config("tcp500", &checks)?;
        let agent = self.start_compiled(&config)?;
        agent.wait_for_results(1, FIRST_RESULTS)?;
        std::thread::sleep(Duration::from_secs(5));

        let window = Duration::from_secs(15);
        let (cpu0, lines0, ok0, t0) = (
            cpu_ticks(agent.pid())?,
            agent.lines.total(),
            agent.lines.ok(),
            Instant::now(),
        );
        let mut rss = Vec::new();
        while t0.elapsed() < window {
            std::thread::sleep(Duration::from_secs(1));
            rss.push(ProcStatus::read(agent.pid())?.rss);
        }
        let (cpu1, lines1, ok1, wall) = (
            cpu_ticks(agent.pid())?,
            agent.lines.total(),
            agent.lines.ok(),
            t0.elapsed().as_secs_f64(),
        );
        let status = ProcStatus::read(agent.pid())?;
        drop(agent);
        let accepted = listener.stop();

        let runs = (lines1 - lines0) as f64 / wall;
        let cpu = (cpu1 - cpu0) as f64 / clock_ticks() / wall * 100.0;
        let mean_rss = rss.iter().sum::<u64>() as f64 / rss.len().max(1) as f64;
        println!("500 TCP checks every 1s (jitter 900ms), {wall:.1} s window after 5 s warm-up:");
        println!(
            "  runs/s {runs:.1} ({} of {} ok), CPU {cpu:.1} % of one core",
            ok1 - ok0,
            lines1 - lines0
        );
        println!(
            "  VmRSS mean {:.1} MiB, max {:.1} MiB, VmHWM {:.1} MiB; listener accepted {accepted}",
            mib(mean_rss as u64),
            mib(rss.iter().copied().max().unwrap_or(0)),
            mib(status.hwm)
        );
        let what = "500 TCP checks every 1 s";
        record.append(
            &self.root,
            &[
                record::Figure::new(format!("{what}: runs/s"), runs, "runs/s"),
                record::Figure::new(format!("{what}: CPU, % of one core"), cpu, "%"),
                record::Figure::new(format!("{what}: VmRSS mean"), mib(mean_rss as u64), "MiB"),
            ],
        )
    }

    fn all_plugins_checks(&self) -> String {
        let check = |name: &str, target: &str, config: &str| {
            format!(
                "\n[[check]]\nname = \"{name}\"\nplugin = \"{name}\"\ntargets = [\"{target}\"]\n\
                 interval = \"1h\"\ntimeout = \"2s\"\nconfig = {{ {config} }}\n"
            )
        };
        [
            check("tcp", "127.0.0.1:1", ""),
            check("udp", "127.0.0.1:9", ""),
            check("dns", "127.0.0.1:1", "name = \"bench.vantage.test\""),
            check("http", "http://127.0.0.1:1/", ""),
            check("system", "localhost", ""),
            check("misbehave", "127.0.0.1:9", "mode = \"ok\""),
        ]
        .concat()
    }

    /// Starts the agent on `config` after compiling its plugins once
    /// (`vantage-agent check`), so that a window measures runs only.
    fn start_compiled(&self, config: &Path) -> anyhow::Result<RunningAgent> {
        crate::run(
            Command::new(&self.agent)
                .args(["check", "--config"])
                .arg(config),
        )?;
        RunningAgent::start(&self.agent, config, &self.dir)
    }

    /// Writes `target/bench/<name>.toml` and returns its path.
    fn write_config(&self, name: &str, checks: &str) -> anyhow::Result<PathBuf> {
        let path = self.dir.join(format!("{name}.toml"));
        self.write_config_at(&path, name, &format!("data-{name}"), "", checks)?;
        Ok(path)
    }

    /// Writes an agent config for `cargo xtask bench <bench>` to `path`:
    /// `agent` lines go into `[agent]`, `rest` (tables) after `[plugins]`.
    fn write_config_at(
        &self,
        path: &Path,
        bench: &str,
        data_dir: &str,
        agent: &str,
        rest: &str,
    ) -> anyhow::Result<()> {
        let plugins = self.plugins.display();
        let text = format!(
            "# Written by `cargo xtask bench {bench}`.\n[agent]\nname = \"bench-agent\"\n\
             data_dir = \"{data_dir}\"\n{agent}\n[trust]\nkeys = [\"{plugins}/dev.pub\"]\n\n\
             [plugins]\ndirs = [\"{plugins}\"]\n{rest}"
        );
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }
}

/// The agent under test, killed when dropped.
struct RunningAgent {
    child: Child,
    lines: Arc<Lines>,
}

/// Result lines the agent printed, and how many had status `ok`.
#[derive(Default)]
struct Lines {
    total: AtomicU64,
    ok: AtomicU64,
}

impl Lines {
    fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }
}

impl RunningAgent {
    fn start(agent: &Path, config: &Path, dir: &Path) -> anyhow::Result<Self> {
        let log = std::fs::File::create(dir.join("agent.log"))?;
        let mut child = Command::new(agent)
            .args(["run", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", agent.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let lines = Arc::new(Lines::default());
        let counter = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let ok = serde_json::from_str::<serde_json::Value>(&line)
                    .is_ok_and(|v| v["status"] == "ok");
                counter.ok.fetch_add(u64::from(ok), Ordering::Relaxed);
                counter.total.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(RunningAgent { child, lines })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_for_results(&self, n: u64, limit: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        while self.lines.total() < n {
            if start.elapsed() > limit {
                bail!(
                    "the agent printed fewer than {n} results in {limit:?}: see target/bench/agent.log"
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP listener on loopback that accepts connections and drops them.
struct Listener {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl Listener {
    fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut accepted = 0;
            for stream in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                accepted += u64::from(stream.is_ok());
            }
            accepted
        });
        Ok(Listener { port, stop, thread })
    }

    /// Stops accepting and returns how many connections were accepted.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the blocked `accept`.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        self.thread.join().unwrap_or(0)
    }
}

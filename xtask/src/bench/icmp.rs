//! `cargo xtask bench icmp [rate] [accuracy] [trace]`: the agent's ICMP path
//! end to end against the classic tools, in the same run, on the network of
//! [`Lab`] (h1 — r1 — r2 — r3 — h2). The agent runs in h1 as
//! `vantage-agent run --once` (release build) with a generated config; every
//! tool runs in h1 too, one program at a time, each killed after a bounded
//! time. Prints markdown tables (see `docs/benchmarks.md`, "ICMP").
//!
//! - `rate`: 100 ping checks × 1000 echo requests at 10 ms (10 000/s) to
//!   h2's 100 addresses, in `dgram` and `raw` mode, against fping.
//! - `accuracy`: RTTs of 1000 echo requests at 10 ms to h2, IPv4 and IPv6,
//!   alternating the agent with iputils ping and fping.
//! - `trace`: wall time and hop lists of the traceroute plugin (icmp, udp,
//!   tcp) against traceroute and mtr.
//!
//! Startup cost: an agent run with one single-echo ping check, so that the
//! per-run figures can be read without the fixed cost of starting the
//! agent (load, verify and instantiate the plugins).

mod accuracy;
mod rate;
mod trace;
mod watch;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use vantage_protocol::result::{CheckResult, Sample, Status};

use super::Bench;
use super::lab::{Family, Lab};
use super::sys::{self, Finished};
use watch::{NetWatch, Watched};

/// Agent starts measured for the fixed cost.
const STARTUP_RUNS: usize = 5;
/// The longest one agent or tool run may take before it is killed.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Checks the arguments, root and the tools, before anything is built.
pub(super) fn preflight(args: &[String]) -> anyhow::Result<()> {
    const PARTS: [&str; 3] = ["rate", "accuracy", "trace"];
    if let Some(unknown) = args.iter().find(|a| !PARTS.contains(&a.as_str())) {
        bail!("unknown part `{unknown}`: cargo xtask bench icmp [rate] [accuracy] [trace]");
    }
    require_tools()
}

/// Runs the parts named in `args` (all when none), after [`preflight`].
pub(super) fn start(bench: &Bench, args: &[String]) -> anyhow::Result<()> {
    let wanted = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    for plugin in ["ping", "traceroute"] {
        let package = bench.plugins.join(format!("{plugin}.vpkg"));
        if !package.exists() {
            bail!("{} is missing: the plugin did not build", package.display());
        }
    }
    let record = super::record::Record::begin(&bench.root, "icmp");
    sys::catch_interrupts();
    let dir = bench.dir.join("icmp");
    std::fs::create_dir_all(&dir)?;
    let lab = Lab::build()?;
    let icmp = Icmp { bench, lab, dir };
    println!(
        "ICMP benchmark: network namespaces {}…{}, {}",
        icmp.lab.h1(),
        icmp.lab.h2(),
        machine()
    );
    let startup = icmp.startup()?;
    // The rate's figures are recorded (accuracy and trace print theirs).
    let mut figures = Vec::new();
    if wanted("rate") {
        figures = rate::run(&icmp, &startup)?;
    }
    if wanted("accuracy") {
        accuracy::run(&icmp)?;
    }
    if wanted("trace") {
        trace::run(&icmp, &startup)?;
    }
    record.append(&bench.root, &figures)
}

/// The benchmark's state: where the agent and plugins are, the network,
/// and `target/bench/icmp` for configs, outputs and the artifact cache.
struct Icmp<'a> {
    bench: &'a Bench,
    lab: Lab,
    dir: PathBuf,
}

/// The fixed cost of one agent run: medians over [`STARTUP_RUNS`].
struct Startup {
    wall: Duration,
    cpu: Duration,
}

/// One finished `vantage-agent run --once`.
struct AgentRun {
    finished: Finished,
    results: Vec<CheckResult>,
    /// What the kernel saw in h1 while the agent ran.
    watched: Watched,
}

/// One finished tool, with its output.
struct ToolRun {
    finished: Finished,
    stdout: String,
    stderr: String,
}

impl Icmp<'_> {
    /// Writes `<dir>/<name>.toml`: `agent` lines go into `[agent]`, then the
    /// `[icmp]` section with `mode`, then `checks`. All configs share one
    /// artifact cache, so only the first start compiles the plugins.
    fn write_config(
        &self,
        name: &str,
        agent: &str,
        mode: &str,
        checks: &str,
    ) -> anyhow::Result<PathBuf> {
        let path = self.dir.join(format!("{name}.toml"));
        let rest = format!("\n[icmp]\nmode = \"{mode}\"\nmax_pps = 20000\n{checks}");
        self.bench
            .write_config_at(&path, "icmp", "data", agent, &rest)?;
        Ok(path)
    }

    /// Runs the agent in h1 with `<name>.toml` (written by
    /// [`Icmp::write_config`]) until it has run every check once.
    fn agent(&self, name: &str) -> anyhow::Result<AgentRun> {
        let config = self.dir.join(format!("{name}.toml"));
        let args = vec![
            "run".to_owned(),
            "--once".to_owned(),
            "--config".to_owned(),
            config.display().to_string(),
        ];
        let out = self.dir.join(name);
        let (child, started) = self
            .lab
            .spawn(&self.lab.h1(), &self.bench.agent, &args, &out)?;
        let watch = NetWatch::start(child.id());
        let finished = sys::wait(child, started, RUN_LIMIT)?;
        let watched = watch.stop();
        sys::check_interrupted()?;
        let err = out.with_extension("err");
        if finished.killed || !finished.status.success() {
            bail!(
                "the agent ({name}) ended with {} after {:.1} s: see {}",
                finished.status,
                finished.wall.as_secs_f64(),
                err.display()
            );
        }
        let stdout = std::fs::read_to_string(out.with_extension("out"))?;
        let results = stdout
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<Vec<CheckResult>, _>>()
            .with_context(|| format!("parsing the agent's results in {}.out", out.display()))?;
        Ok(AgentRun {
            finished,
            results,
            watched,
        })
    }

    /// Runs `program args…` in h1; `name` names its output files.
    fn tool(&self, name: &str, program: &str, args: &[String]) -> anyhow::Result<ToolRun> {
        let out = self.dir.join(name);
        let finished = self
            .lab
            .run(&self.lab.h1(), Path::new(program), args, &out, RUN_LIMIT)?;
        Ok(ToolRun {
            finished,
            stdout: std::fs::read_to_string(out.with_extension("out"))?,
            stderr: std::fs::read_to_string(out.with_extension("err"))?,
        })
    }

    /// Compiles both plugins into the cache, then measures agent runs with
    /// one ping check of a single echo request: the fixed cost of a start.
    fn startup(&self) -> anyhow::Result<Startup> {
        let h2 = self.lab.h2_addr(Family::V4);
        let ping = format!(
            "\n[[check]]\nname = \"ping\"\nplugin = \"ping\"\ntargets = [\"{h2}\"]\n\
             interval = \"1h\"\nconfig = {{ count = 1 }}\n"
        );
        let trace = format!(
            "\n[[check]]\nname = \"trace\"\nplugin = \"traceroute\"\ntargets = [\"{h2}\"]\n\
             interval = \"1h\"\n"
        );
        let both = self.write_config("compile", "", "auto", &format!("{ping}{trace}"))?;
        crate::run(
            std::process::Command::new(&self.bench.agent)
                .args(["check", "--config"])
                .arg(&both),
        )?;
        self.write_config("startup", "", "auto", &ping)?;
        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        for _ in 0..STARTUP_RUNS {
            let run = self.agent("startup")?;
            expect_ok(&run, "startup")?;
            walls.push(run.finished.wall.as_secs_f64());
            cpus.push(run.finished.cpu().as_secs_f64());
        }
        let startup = Startup {
            wall: Duration::from_secs_f64(median(&mut walls)),
            cpu: Duration::from_secs_f64(median(&mut cpus)),
        };
        println!(
            "\nAgent start (one ping check, one echo request; median of {STARTUP_RUNS}): \
             wall {:.1} ms, CPU {:.1} ms",
            ms(startup.wall),
            ms(startup.cpu)
        );
        Ok(startup)
    }
}

/// Fails unless every result of `run` is `ok`, naming the first that is not.
fn expect_ok(run: &AgentRun, what: &str) -> anyhow::Result<()> {
    if let Some(r) = run.results.iter().find(|r| r.status != Status::Ok) {
        bail!(
            "{what}: check {} on {} ended {}: {}",
            r.check,
            r.target,
            r.status.as_str(),
            r.message.as_deref().unwrap_or("")
        );
    }
    if run.results.is_empty() {
        bail!("{what}: the agent printed no results");
    }
    Ok(())
}

/// The samples of `metric` in `result`.
fn samples<'a>(result: &'a CheckResult, metric: &'a str) -> impl Iterator<Item = &'a Sample> {
    result.samples.iter().filter(move |s| s.metric == metric)
}

/// The sum of `metric` over every result.
fn total(results: &[CheckResult], metric: &str) -> f64 {
    results
        .iter()
        .flat_map(|r| samples(r, metric))
        .map(|s| s.value)
        .sum()
}

/// Fails with a clear message when a program the benchmark compares with
/// is not installed.
fn require_tools() -> anyhow::Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = |program: &str| std::env::split_paths(&path).any(|d| d.join(program).is_file());
    let missing: Vec<&str> = [
        ("ping", "iputils-ping"),
        ("fping", "fping"),
        ("traceroute", "traceroute"),
        ("mtr", "mtr-tiny"),
        ("python3", "python3"),
        ("ip", "iproute2"),
        ("ss", "iproute2"),
    ]
    .into_iter()
    .filter(|(program, _)| !found(program))
    .map(|(_, package)| package)
    .collect();
    if !missing.is_empty() {
        bail!(
            "the ICMP benchmark compares with tools that are not installed: \
             `apt-get install {}`",
            missing.join(" ")
        );
    }
    if let Err(why) = vantage_netlab::available(&[]) {
        bail!("the ICMP benchmark builds network namespaces: {why} (run it as root)");
    }
    Ok(())
}

/// "2 cores, Linux 6.18.44": what the figures were measured on.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores, Linux {}", kernel.trim())
}

/// Prints a markdown table: the first column left-aligned, the rest right.
fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut text = format!("\n| {} |\n| --- |", headers.join(" | "));
    text.push_str(&" ---: |".repeat(headers.len() - 1));
    for row in rows {
        let _ = write!(text, "\n| {} |", row.join(" | "));
    }
    println!("{text}");
}

/// The median of `values` (sorted in place); 0 when empty.
fn median(values: &mut [f64]) -> f64 {
    percentile(values, 50.0)
}

/// The `p`-th percentile of `values` (sorted in place, nearest rank).
fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = (p / 100.0 * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

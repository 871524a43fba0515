//! `cargo xtask bench idle [--minutes N]`: what the release agent costs
//! when it has little to do. 50 ping checks, one echo request each every
//! 30 s, to 127.0.0.1 … 127.0.0.50 (all answered by loopback), for N
//! minutes (10 by default) after every check has run once; in the same
//! window fping does the same work (`fping -l -p 30000` over the same 50
//! addresses), as a floor for the figure. Both CPU times are read from
//! `/proc`; nothing leaves the machine.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::procfs::{ProcStatus, clock_ticks, cpu_ticks, mib, on_cpu_ns};
use super::record::{Figure, Record};
use super::{Bench, FIRST_RESULTS};

const CHECKS: u64 = 50;
const INTERVAL_S: u64 = 30;

pub(super) fn run(bench: &Bench, args: &[String]) -> anyhow::Result<()> {
    let minutes = minutes(args)?;
    let record = Record::begin(&bench.root, "idle");
    let addresses: Vec<String> = (1..=CHECKS).map(|i| format!("127.0.0.{i}")).collect();
    let mut checks = String::new();
    for (i, address) in addresses.iter().enumerate() {
        write!(
            checks,
            "\n[[check]]\nname = \"ping-{i}\"\nplugin = \"ping\"\ntargets = [\"{address}\"]\n\
             interval = \"{INTERVAL_S}s\"\nconfig = {{ count = 1 }}\n"
        )?;
    }
    let config = bench.write_config("idle", &checks)?;
    let agent = bench.start_compiled(&config)?;
    agent.wait_for_results(CHECKS, FIRST_RESULTS)?;
    let fping = Fping::start(&addresses)?;
    std::thread::sleep(Duration::from_secs(5));

    let window = Duration::from_secs(minutes * 60);
    println!(
        "idle agent: {CHECKS} ping checks every {INTERVAL_S} s for {minutes} min, fping -l -p {} beside it",
        INTERVAL_S * 1000
    );
    let (agent0, fping0, lines0, ok0, t0) = (
        cpu_ticks(agent.pid())?,
        on_cpu_ns(fping.pid())?,
        agent.lines.total(),
        agent.lines.ok(),
        Instant::now(),
    );
    while t0.elapsed() < window {
        std::thread::sleep(
            window
                .saturating_sub(t0.elapsed())
                .min(Duration::from_secs(5)),
        );
    }
    let (agent1, fping1, lines1, ok1, wall) = (
        cpu_ticks(agent.pid())?,
        on_cpu_ns(fping.pid())?,
        agent.lines.total(),
        agent.lines.ok(),
        t0.elapsed().as_secs_f64(),
    );
    let status = ProcStatus::read(agent.pid())?;
    drop(fping);
    drop(agent);

    let agent_cpu = (agent1 - agent0) as f64 / clock_ticks() / wall * 100.0;
    let fping_cpu = (fping1 - fping0) as f64 / 1e9 / wall * 100.0;
    let runs = lines1 - lines0;
    let expected = CHECKS as f64 * wall / INTERVAL_S as f64;
    println!(
        "  agent: CPU {agent_cpu:.3} % of one core, {runs} runs ({} ok; {expected:.0} due), \
         VmRSS {:.1} MiB",
        ok1 - ok0,
        mib(status.rss)
    );
    println!(
        "  fping: CPU {fping_cpu:.4} % of one core; the agent's is {:.1}×",
        agent_cpu / fping_cpu
    );
    if (runs as f64) < expected * 0.95 {
        bail!("the agent ran {runs} checks in the window, {expected:.0} were due");
    }
    let what = format!("{CHECKS} ping checks every {INTERVAL_S} s, {minutes} min");
    record.append(
        &bench.root,
        &[
            Figure::new(format!("{what}: agent CPU, % of one core"), agent_cpu, "%")
                .against(fping_cpu),
            Figure::new(format!("{what}: agent VmRSS"), mib(status.rss), "MiB"),
        ],
    )
}

fn minutes(args: &[String]) -> anyhow::Result<u64> {
    match args {
        [] => Ok(10),
        [flag, n] if flag == "--minutes" => match n.parse::<u64>() {
            Ok(n @ 1..=120) => Ok(n),
            _ => bail!("--minutes takes a whole number from 1 to 120, not `{n}`"),
        },
        _ => bail!("usage: cargo xtask bench idle [--minutes N]"),
    }
}

/// fping looping over the addresses, killed when dropped.
struct Fping(std::process::Child);

impl Fping {
    fn start(addresses: &[String]) -> anyhow::Result<Fping> {
        let child = Command::new("fping")
            .args(["-l", "-q", "-p", &format!("{}", INTERVAL_S * 1000)])
            .args(addresses)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting fping (apt-get install fping)")?;
        Ok(Fping(child))
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Fping {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

//! `cargo xtask bench scale [--seconds N] [--steps A,B,…] [--jobs-interval D]
//! [--server PATH]`:
//! the release server scaled out on one PostgreSQL cluster, behind
//! Debian's HAProxy run with `deploy/haproxy/haproxy.cfg`. Everything runs
//! on 127.0.0.1 and every loop is bounded in count and time.
//!
//! 1. **Replicas.** For 1, 2 and 3 replicas: a fresh database, the servers
//!    (16 connections each), 100 agents posting 50-result batches back to
//!    back through the balancer for `--seconds` ([`super::load`]). The
//!    rate is Σ Δ `vantage_ingest_samples_total`; the figure is its ratio
//!    to one replica's.
//! 2. **Agents held.** Three replicas; for each of `--steps` agent counts,
//!    the agents new to the step send one batch untimed to every replica
//!    (their checks and series are made, and every replica learns their
//!    ids) and the live pages are given time to catch up with that burst
//!    (a probe told within 1 s), then every agent sends one batch (5 results, 50
//!    samples) every 10 s for three periods ([`paced`]). A step is held when no batch failed and
//!    p99 from due time to acknowledgement is at most 250 ms; the steps
//!    stop at the first one not held.
//! 3. **Live delay.** During each step a probe posts a result every 250 ms
//!    to replica r0; pages on r1 and r2 note when they are told ([`live`]).
//! 4. **Failover.** The leader is killed with SIGKILL, twice (3 → 2 → 1
//!    replicas): the time until another leads, and until it has run a
//!    round of the jobs.

mod live;
mod paced;
mod replicas;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};

use super::load::{self, Window};
use super::workload::Workload;
use super::{Cluster, Ingest, proc};
use crate::bench::record::Figure;
use paced::Paced;
use replicas::Replicas;

const USAGE: &str =
    "cargo xtask bench scale [--seconds N] [--steps A,B,…] [--jobs-interval D] [--server PATH]";
/// The bound on ingest latency for an agent count to be held.
const HELD_P99_MS: f64 = 250.0;
/// Periods each paced step lasts.
const ROUNDS: usize = 3;
/// Closed-loop agents and their batches (as `bench ingest rate`).
const AGENTS: usize = 100;
const BATCHES: usize = 250;
/// Each replica's database connections.
const MAX_CONNECTIONS: u32 = 16;
/// The longest the pages may take to catch up after a warm-up.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

struct Options {
    seconds: u64,
    steps: Vec<usize>,
    /// The servers' `--jobs-interval` (their default, 10 s, when absent).
    jobs_interval: Option<String>,
    server: Option<std::path::PathBuf>,
}

fn options(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        seconds: 30,
        steps: vec![1000, 2500, 5000, 10_000, 15_000, 20_000],
        jobs_interval: None,
        server: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\nusage: {USAGE}"))
        };
        match arg.as_str() {
            "--seconds" => o.seconds = value()?.parse()?,
            "--steps" => {
                o.steps = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--server" => o.server = Some(value()?.into()),
            "--jobs-interval" => o.jobs_interval = Some(value()?.clone()),
            _ => bail!("unknown argument `{arg}`\nusage: {USAGE}"),
        }
    }
    if !(5..=600).contains(&o.seconds)
        || o.steps.is_empty()
        || o.steps.iter().any(|&n| !(1..=50_000).contains(&n))
        || !o.steps.is_sorted()
    {
        bail!("--seconds 5–600; --steps ascending, each 1–50 000");
    }
    Ok(o)
}

pub(in crate::bench) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let o = options(args)?;
    Cluster::preflight()?;
    if !Path::new(vantage_netlab::HAPROXY).exists() {
        bail!(
            "{} is missing: apt-get install haproxy",
            vantage_netlab::HAPROXY
        );
    }
    let (record, bench, cluster) =
        super::begin_on_postgres(root, o.server.clone(), "scale", "Scale-out benchmark")?;
    let mut figures = Vec::new();

    let work = Workload::generate(AGENTS, BATCHES)?;
    let mut rates = Vec::new();
    for n in 1..=3 {
        let window = replicas_rate(&bench, &cluster, n, &work, &o)?;
        let rate = window.samples / window.seconds;
        println!(
            "{n} replica(s): {rate:.0} samples/s ({:.2}× one), p99 {:.1} ms, CPU % of a core: \
             servers {:.0}, PostgreSQL {:.0}, load generator {:.0}, others {:.0}; {} errors",
            rate / rates.first().copied().unwrap_or(rate),
            window.latency_ms(0.99),
            window.cpu.server,
            window.cpu.db,
            window.cpu.client,
            window.cpu.others,
            window.errors,
        );
        let figure = Figure::new(format!("ingest samples/s, {n} replicas"), rate, "samples/s");
        figures.push(match rates.first() {
            Some(&one) => figure.against(one),
            None => figure,
        });
        rates.push(rate);
    }

    let jobs = o.jobs_interval.as_deref();
    let mut replicas = Replicas::start(&bench, &cluster, "scale_paced", 3, MAX_CONNECTIONS, jobs)?;
    let admin = replicas.servers[0].login()?;
    let most = *o.steps.last().expect("steps are not empty");
    let names: Vec<String> = (0..most).map(|i| format!("scale-agent-{i:05}")).collect();
    let enrolling = Instant::now();
    let agents = replicas.enroll(&admin, &names)?;
    let probe = replicas
        .enroll(&admin, &["scale-probe".to_owned()])?
        .remove(0);
    println!(
        "\n{most} agents and a probe enrolled through the balancer in {:.1} s",
        enrolling.elapsed().as_secs_f64()
    );
    let others: Vec<_> = replicas.servers[1..].iter().map(|s| s.addr).collect();
    let pages = live::Pages::open(&others, &admin)?;
    let mut held = 0;
    let mut warmed = 0;
    for (s, &n) in o.steps.iter().enumerate() {
        let (warm, _) = step_batches(&names[..n], s as u64 + 1)?;
        let direct: Vec<_> = replicas.servers.iter().map(|s| s.addr).collect();
        paced::warm_up(&direct, &agents[..n], &warm, warmed)?;
        warmed = n;
        // The warm-up's burst announced, before the step's live delay counts.
        let settled = pages.settle(replicas.servers[0].addr, &probe, SETTLE_LIMIT)?;
        println!(
            "  {n} agents warmed up; the pages caught up {:.1} s later",
            settled.as_secs_f64()
        );
        // Made now, so that their times are as fresh as a running agent's.
        let (work, start) = step_batches(&names[..n], s as u64 + 1001)?;
        // The step begins when its batches' times say (step_batches
        // checked that making them took less than the margin).
        let start = start.max(Instant::now());
        let (paced, delays, untold) = std::thread::scope(|scope| -> anyhow::Result<_> {
            let until = start + paced::PERIOD * ROUNDS as u32;
            let r0 = replicas.servers[0].addr;
            let (pages, probe) = (&pages, &probe);
            let probing = scope.spawn(move || pages.probe(r0, probe, until));
            let paced = paced::run(replicas.addr(), &agents[..n], &work, start)?;
            let (delays, untold) = probing
                .join()
                .map_err(|_| anyhow::anyhow!("the probe thread panicked"))??;
            Ok((paced, delays, untold))
        })?;
        let ok = paced.errors == 0 && paced.latency_ms(0.99) <= HELD_P99_MS;
        report_step(&paced, &delays, untold, ok);
        figures.extend(step_figures(&paced, &delays));
        for server in &mut replicas.servers {
            server.check_alive()?;
        }
        if !ok {
            break;
        }
        held = n;
    }
    pages.close()?;
    figures.push(Figure::new(
        format!("agents held, 10 s batches, p99 ≤ {HELD_P99_MS} ms, 3 replicas"),
        held as f64,
        "agents",
    ));
    println!("\nagents held at one batch every 10 s, p99 ≤ {HELD_P99_MS} ms: {held}");

    for left in [2, 1] {
        let (leads, led) = replicas.fail_over()?;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        println!(
            "leader killed ({} → {left} replicas): another leads after {:.0} ms, has run a \
             round of the jobs after {:.0} ms",
            left + 1,
            ms(leads),
            ms(led)
        );
        figures.push(Figure::new(
            format!(
                "failover after kill -9, {} → {left} replicas: leads",
                left + 1
            ),
            ms(leads),
            "ms",
        ));
        figures.push(Figure::new(
            format!(
                "failover after kill -9, {} → {left} replicas: round done",
                left + 1
            ),
            ms(led),
            "ms",
        ));
    }
    drop(replicas);
    if let Some(every) = &o.jobs_interval {
        // Not the default: the figures say so.
        for f in &mut figures {
            f.measure.push_str(&format!(", jobs every {every}"));
        }
    }
    record.append(root, &figures)?;
    Ok(())
}

/// A paced step's batches, timed from a start far enough ahead for making
/// them and warming up; the start as an `Instant`. A margin too short
/// (a slow machine) is doubled and the batches made again, at most thrice.
fn step_batches(names: &[String], seed: u64) -> anyhow::Result<(Workload, Instant)> {
    // 3 s, and a second more per 500 agents for making their batches and
    // warming the new ones up; checked below, not assumed.
    let mut margin = std::time::Duration::from_secs(3 + names.len() as u64 / 500);
    for _ in 0..3 {
        let (wall, now) = (chrono::Utc::now(), Instant::now());
        let start = wall + chrono::Duration::from_std(margin)?;
        let work = paced::batches(names, ROUNDS, seed, start)?;
        if now.elapsed() < margin / 2 {
            return Ok((work, now + margin));
        }
        margin *= 2;
    }
    bail!("making the batches of {} agents took too long", names.len())
}

/// A closed-loop window through the balancer in front of `n` replicas.
fn replicas_rate(
    bench: &Ingest,
    cluster: &Cluster,
    n: usize,
    work: &Workload,
    o: &Options,
) -> anyhow::Result<Window> {
    let (seconds, jobs) = (o.seconds, o.jobs_interval.as_deref());
    let name = format!("scale_{n}");
    println!(
        "\n{n} replica(s): {AGENTS} agents, {seconds} s (load before: {:.2})",
        proc::load()
    );
    let replicas = Replicas::start(bench, cluster, &name, n, MAX_CONNECTIONS, jobs)?;
    let admin = replicas.servers[0].login()?;
    let agents = replicas.enroll(&admin, &work.names)?;
    cluster.psql(&name, "CHECKPOINT")?;
    let target = load::Target {
        addr: replicas.addr(),
        servers: replicas.servers.iter().collect(),
    };
    let window = load::run(&target, Some(cluster.pid()), &agents, work, seconds)?;
    if let Some(e) = &window.first_error {
        println!("  {} errors; the first: {e}", window.errors);
    }
    drop(replicas);
    // An even start for the next: no dirty pages of this one.
    cluster.psql("postgres", &format!("DROP DATABASE {name}"))?;
    Ok(window)
}

fn report_step(paced: &Paced, delays: &[u32], untold: usize, held: bool) {
    let periods: Vec<String> = paced
        .by_period
        .iter()
        .map(|l| format!("{:.0}", super::load::quantile_ms(l, 0.99)))
        .collect();
    println!(
        "{} agents: {} batches acknowledged in {:.1} s ({:.0} samples/s), due → acknowledged \
         p50 {:.1} ms, p99 {:.1} ms (by period {}), max {:.1} ms; {} errors{}; r0 → page on \
         r1/r2 p50 {:.0} ms, p99 {:.0} ms ({untold} not told within the grace){}",
        paced.agents,
        paced.acked,
        paced.seconds,
        paced.samples as f64 / paced.seconds,
        paced.latency_ms(0.5),
        paced.latency_ms(0.99),
        periods.join("/"),
        paced.latency_ms(1.0),
        paced.errors,
        paced
            .first_error
            .as_deref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default(),
        live::delay_ms(delays, 0.5),
        live::delay_ms(delays, 0.99),
        if held { "" } else { ": not held" },
    );
}

fn step_figures(paced: &Paced, delays: &[u32]) -> Vec<Figure> {
    let n = paced.agents;
    vec![
        Figure::new(
            format!("ingest p99, {n} agents at 10 s, 3 replicas"),
            paced.latency_ms(0.99),
            "ms",
        ),
        Figure::new(
            format!("live delay p99 across replicas, {n} agents"),
            live::delay_ms(delays, 0.99),
            "ms",
        ),
    ]
}

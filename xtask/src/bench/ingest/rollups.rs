//! `cargo xtask bench rollups [--agents N] [--hours H] [--server PATH]`:
//! the same data rolled up by the server's job on plain PostgreSQL (the
//! peer) and by TimescaleDB's continuous aggregates, which the job has
//! TimescaleDB refresh (`meta.rollups = native`); and how small TimescaleDB
//! compresses `samples`. It needs TimescaleDB installed for the cluster's
//! PostgreSQL (not in Debian: docs/server.md, Storage).
//!
//! For each backend in turn, on a cluster of its own (the second with
//! `shared_preload_libraries = timescaledb`, Timescale license):
//! 1. The release server starts with `--jobs-interval 1h`: its first round
//!    runs at once, on nothing, and no other runs during the load.
//! 2. `--agents` agents (100) post `--hours` (2) of ping runs ending now:
//!    5 targets each, a run every 10 s, 10 samples a run, 500 results a
//!    batch. Ingest marks what it stored dirty.
//! 3. The server is stopped and started again with `--jobs-interval 1s`;
//!    its first round rolls up everything marked. The figure is the time
//!    from its address printed until `rollup_dirty` is empty, with the
//!    CPU time PostgreSQL and the server spent meanwhile. The minute
//!    and hour rows must then count every sample on both backends, else
//!    the benchmark fails.
//! 4. TimescaleDB only: every chunk of `samples` compressed; the ratio of
//!    its bytes before to after (`hypertable_compression_stats`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};

use super::server::{Agent, Server};
use super::workload::{Rng, gzip_batch, ping_result};
use super::{Backend, Cluster, Ingest, proc};
use crate::bench::record::Figure;

const USAGE: &str = "cargo xtask bench rollups [--agents N] [--hours H] [--server PATH]";
const TARGETS: usize = 5;
const EVERY: chrono::Duration = chrono::Duration::seconds(10);
const BATCH: usize = 500;
/// The longest the first round may take to roll everything up.
const ROLLUP_LIMIT: Duration = Duration::from_secs(1800);
/// Where Debian's PostgreSQL 15 looks for an extension.
const TIMESCALE_CONTROL: &str = "/usr/share/postgresql/15/extension/timescaledb.control";
const TIMESCALE: [&str; 3] = [
    "shared_preload_libraries=timescaledb",
    "timescaledb.license=timescale",
    "timescaledb.telemetry_level=off",
];

struct Options {
    agents: usize,
    hours: i64,
    server: Option<PathBuf>,
}

fn options(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        agents: 100,
        hours: 2,
        server: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\nusage: {USAGE}"))
        };
        match arg.as_str() {
            "--agents" => o.agents = value()?.parse()?,
            "--hours" => o.hours = value()?.parse()?,
            "--server" => o.server = Some(value()?.into()),
            _ => bail!("unknown argument `{arg}`\nusage: {USAGE}"),
        }
    }
    if !(1..=2000).contains(&o.agents) || !(1..=48).contains(&o.hours) {
        bail!("--agents 1–2000, --hours 1–48");
    }
    Ok(o)
}

/// What one backend did.
struct Rolled {
    seconds: f64,
    /// CPU-seconds of PostgreSQL and of the server while rolling up.
    db_cpu: f64,
    server_cpu: f64,
    /// `(minute rows, Σ n)` and the same of the hours.
    minutes: (i64, i64),
    hours: (i64, i64),
}

pub(in crate::bench) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let o = options(args)?;
    Cluster::preflight()?;
    if !Path::new(TIMESCALE_CONTROL).exists() {
        bail!(
            "TimescaleDB is not installed ({TIMESCALE_CONTROL} is missing); it is not in Debian: \
             build it from source against postgresql-server-dev-15 (docs/server.md, Storage)"
        );
    }
    let binary = super::release_server(root, o.server.clone())?;
    let record = crate::bench::record::Record::begin(root, "rollups");
    super::sys::catch_interrupts();
    let bench = Ingest::new(root, binary)?;
    let runs = o.agents * TARGETS * (o.hours * 3600 / EVERY.num_seconds()) as usize;
    println!(
        "Rollups benchmark: {}; {} agents × {TARGETS} targets, {} h of runs every {} s: {runs} \
         runs, {} samples",
        super::report::machine(),
        o.agents,
        o.hours,
        EVERY.num_seconds(),
        runs * super::workload::SAMPLES_PER_RESULT
    );
    let end = Utc::now();
    let plain = {
        let cluster = Cluster::start(&bench.dir)?;
        println!(
            "\nplain PostgreSQL {}: the server's rollup job",
            cluster.version()
        );
        rolled_up(&bench, &cluster, &o, end, "rollups_pg")?
    };
    let (native, ratio) = {
        let cluster = Cluster::start_with(&bench.dir, &TIMESCALE)?;
        println!(
            "\nTimescaleDB {} on PostgreSQL {}: continuous aggregates",
            cluster.psql(
                "postgres",
                "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
            )?,
            cluster.version()
        );
        let native = rolled_up(&bench, &cluster, &o, end, "rollups_tsdb")?;
        let ratio = compression(&cluster, "rollups_tsdb")?;
        (native, ratio)
    };
    if (plain.minutes.1, plain.hours.1) != (native.minutes.1, native.hours.1)
        || plain.minutes.1 != (runs * (super::workload::SAMPLES_PER_RESULT + 1)) as i64
    {
        bail!(
            "the backends disagree: minutes {:?} and {:?}, hours {:?} and {:?} (rows, Σ n), \
             {runs} runs sent",
            plain.minutes,
            native.minutes,
            plain.hours,
            native.hours
        );
    }
    println!(
        "\nrolled up in {:.1} s by the server's job, {:.1} s by TimescaleDB ({:.2}× the job's \
         time; PostgreSQL CPU {:.2}×, server CPU {:.2}×); samples compressed {ratio:.2}×",
        plain.seconds,
        native.seconds,
        native.seconds / plain.seconds,
        native.db_cpu / plain.db_cpu,
        native.server_cpu / plain.server_cpu,
    );
    let what = format!("{} agents, {} h", o.agents, o.hours);
    record.append(
        root,
        &[
            Figure::new(
                format!("rollup of {what}, server's job on PostgreSQL"),
                plain.seconds,
                "s",
            ),
            Figure::new(
                format!("rollup of {what}, TimescaleDB continuous aggregates"),
                native.seconds,
                "s",
            )
            .against(plain.seconds),
            Figure::new(
                format!("rollup of {what}, PostgreSQL CPU-s, server's job"),
                plain.db_cpu,
                "CPU-s",
            ),
            Figure::new(
                format!("rollup of {what}, PostgreSQL CPU-s, TimescaleDB continuous aggregates"),
                native.db_cpu,
                "CPU-s",
            )
            .against(plain.db_cpu),
            Figure::new(
                format!("rollup of {what}, server CPU-s, server's job"),
                plain.server_cpu,
                "CPU-s",
            ),
            Figure::new(
                format!("rollup of {what}, server CPU-s, TimescaleDB continuous aggregates"),
                native.server_cpu,
                "CPU-s",
            )
            .against(plain.server_cpu),
            Figure::new(
                format!("samples compressed by TimescaleDB, {what}"),
                ratio,
                "×",
            ),
        ],
    )?;
    Ok(())
}

/// Steps 1–3 on `cluster`, in a fresh database `name`.
fn rolled_up(
    bench: &Ingest,
    cluster: &Cluster,
    o: &Options,
    end: DateTime<Utc>,
    name: &str,
) -> anyhow::Result<Rolled> {
    let (url, data_dir) = bench.database(Backend::Postgres, Some(cluster), name)?;
    let setup = |every| bench.setup(url.clone(), data_dir.0.clone(), 16, Some(every), name);
    let loading = Instant::now();
    {
        let server = Server::start(&setup("1h"))?;
        let admin = server.login()?;
        let names: Vec<String> = (0..o.agents).map(|a| format!("roll-{a:04}")).collect();
        let agents = server.enroll(&admin, &names)?;
        post_hours(&server, &agents, end, o.hours)?;
    }
    let dirty = cluster.psql(name, "SELECT count(*) FROM rollup_dirty")?;
    println!(
        "  loaded in {:.1} s ({dirty} dirty ranges; load {:.2})",
        loading.elapsed().as_secs_f64(),
        proc::load()
    );
    let db_before = cluster.cpu_ticks();
    let server = Server::start(&setup("1s"))?;
    let started = Instant::now();
    loop {
        if cluster.psql(name, "SELECT count(*) FROM rollup_dirty")? == "0" {
            break;
        }
        if started.elapsed() > ROLLUP_LIMIT {
            bail!("not rolled up after {ROLLUP_LIMIT:?}");
        }
        super::super::sys::check_interrupted()?;
        std::thread::sleep(Duration::from_millis(50));
    }
    let seconds = started.elapsed().as_secs_f64();
    let tick = crate::bench::procfs::clock_ticks();
    let server_cpu = proc::ticks(server.pid()) as f64 / tick;
    let db_cpu = cluster.cpu_ticks().saturating_sub(db_before) as f64 / tick;
    drop(server);
    let count = |table: &str| -> anyhow::Result<(i64, i64)> {
        let out = cluster.psql(
            name,
            &format!("SELECT count(*) || ',' || sum(n) FROM {table}"),
        )?;
        let (rows, n) = out.split_once(',').context("count, sum")?;
        Ok((rows.parse()?, n.parse()?))
    };
    let rolled = Rolled {
        seconds,
        db_cpu,
        server_cpu,
        minutes: count("rollup_1m")?,
        hours: count("rollup_1h")?,
    };
    println!(
        "  rolled up in {seconds:.1} s (CPU-s: PostgreSQL {db_cpu:.1}, server {server_cpu:.1}): \
         {} minute rows, {} hour rows",
        rolled.minutes.0, rolled.hours.0
    );
    Ok(rolled)
}

/// `hours` of runs ending at `end`, oldest first, every agent's in turn.
fn post_hours(
    server: &Server,
    agents: &[Agent],
    end: DateTime<Utc>,
    hours: i64,
) -> anyhow::Result<()> {
    let mut client = server.client();
    let mut rng = Rng::new(0x2011);
    let steps = hours * 3600 / EVERY.num_seconds();
    let first = end - EVERY * steps as i32;
    for agent in agents {
        let mut results = Vec::with_capacity(BATCH);
        for step in 0..steps {
            let at = first + EVERY * step as i32;
            for t in 0..TARGETS {
                let base = 0.002 * (1 + t) as f64;
                let target = format!("10.30.0.{}", t + 1);
                results.push(ping_result(
                    &mut rng,
                    &agent.name,
                    "ping",
                    &target,
                    at,
                    base,
                ));
            }
            if results.len() >= BATCH || step == steps - 1 {
                let batch = gzip_batch(std::mem::take(&mut results))?;
                let r =
                    client.request("POST", "/api/v1/ingest", &agent.ingest_headers(), &batch)?;
                if r.status != 200 {
                    bail!("ingest: HTTP {}: {}", r.status, r.text());
                }
            }
        }
        super::super::sys::check_interrupted()?;
    }
    Ok(())
}

/// Compresses every chunk of `samples`; its bytes before over after.
fn compression(cluster: &Cluster, name: &str) -> anyhow::Result<f64> {
    let chunks = cluster.psql(
        name,
        "SELECT count(compress_chunk(c, if_not_compressed => true)) FROM show_chunks('samples') c",
    )?;
    let out = cluster.psql(
        name,
        "SELECT before_compression_total_bytes || ',' || after_compression_total_bytes
         FROM hypertable_compression_stats('samples')",
    )?;
    let (before, after) = out.split_once(',').context("before, after")?;
    let (before, after): (f64, f64) = (before.parse()?, after.parse()?);
    println!(
        "  samples: {chunks} chunk(s) compressed, {:.1} MiB → {:.1} MiB",
        before / (1 << 20) as f64,
        after / (1 << 20) as f64
    );
    Ok(before / after)
}

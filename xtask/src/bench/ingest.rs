//! `cargo xtask bench ingest [pg] [sqlite] [rate] [history] [--seconds N]
//! [--max-connections A,B,…] [--agents N] [--batches N] [--history-samples N]
//! [--jobs-interval D] [--server PATH]`:
//! the release `vantage-server` under ingest and query load, with the
//! database's own bulk load as the peer. Everything runs on 127.0.0.1, and
//! every loop is bounded in count and time. Prints markdown tables (see
//! `docs/benchmarks.md`, "Server ingest and queries").
//!
//! - `rate`: [`workload`] makes every agent's gzipped batches first; then, per
//!   backend and `--max-connections` value, a fresh database, a server, 100
//!   enrolled agents, one warm-up batch each and `--seconds` of posting on
//!   one keep-alive connection per agent. The rate is Δ
//!   `vantage_ingest_samples_total` over the window. The server is then
//!   stopped and [`peer`] loads the very rows it stored into copy tables.
//! - `history`: a fresh database and a server with `--jobs-interval 1s`;
//!   see [`history`].
//!
//! PostgreSQL is a throw-away cluster ([`postgres`]); SQLite lives in
//! `target/bench/ingest/`. Both server configs keep raw data 40 days, so
//! that 30-day-old results are stored rather than acknowledged as expired.

mod alerts;
mod history;
mod hook;
mod load;
mod options;
mod peer;
mod postgres;
mod proc;
mod report;
mod reports;
mod rollups;
mod scale;
mod server;
mod workload;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};

use super::sys;
use crate::cargo;
pub(super) use alerts::start as alerts;
use load::Window;
use options::Options;
use peer::Peer;
use postgres::Cluster;
pub(super) use reports::start as reports;
pub(super) use rollups::start as rollups;
pub(super) use scale::start as scale;
use server::{Server, ServerSetup};
use workload::Workload;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }
}

/// One rate run: the window and its peer.
struct RateRun {
    backend: Backend,
    max_connections: u32,
    window: Window,
    peer: Peer,
}

pub(super) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    if options.pg {
        Cluster::preflight()?;
    }
    if options.sqlite
        && options.rate
        && std::process::Command::new("python3")
            .arg("-V")
            .output()
            .is_err()
    {
        bail!("python3 is missing (the SQLite peer): apt-get install python3");
    }
    let binary = release_server(root, options.server.clone())?;
    sys::catch_interrupts();
    let bench = Ingest::new(root, binary)?;
    bench.run(&options)
}

/// A benchmark of the release server on PostgreSQL begun (after
/// `preflight`, before the build): the server built, the record begun
/// (for the machine's load), interrupts caught, and a cluster started; the
/// banner names `title`.
fn begin_on_postgres(
    root: &Path,
    server: Option<PathBuf>,
    bench: &str,
    title: &str,
) -> anyhow::Result<(super::record::Record, Ingest, Cluster)> {
    let binary = release_server(root, server)?;
    let record = super::record::Record::begin(root, bench);
    sys::catch_interrupts();
    let ingest = Ingest::new(root, binary)?;
    let cluster = Cluster::start(&ingest.dir)?;
    println!(
        "{title}: {}, PostgreSQL {}",
        report::machine(),
        cluster.version()
    );
    Ok((record, ingest, cluster))
}

/// The server binary given, or the release one, built.
fn release_server(root: &Path, given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    crate::run(
        cargo()
            .current_dir(root)
            .args(["build", "--release", "-p", "vantage-server"]),
    )?;
    Ok(root.join("target/release/vantage-server"))
}

/// The server binary and the files every run shares.
struct Ingest {
    root: PathBuf,
    binary: PathBuf,
    dir: PathBuf,
    config: PathBuf,
}

impl Ingest {
    fn new(root: &Path, binary: PathBuf) -> anyhow::Result<Ingest> {
        let dir = root.join("target/bench/ingest");
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("server.toml");
        std::fs::write(
            &config,
            "# Written by `cargo xtask bench ingest`: keep 30-day-old results; no\n\
             # per-client rate limit (bench alerts saves 10 000 rules at once).\n\
             rate_limit = 0\n[retention]\nraw = \"40d\"\n",
        )?;
        Ok(Ingest {
            root: root.to_owned(),
            binary,
            dir,
            config,
        })
    }

    fn run(&self, o: &Options) -> anyhow::Result<()> {
        let record = super::record::Record::begin(&self.root, "ingest");
        let cluster = if o.pg {
            Some(Cluster::start(&self.dir)?)
        } else {
            None
        };
        println!(
            "Server ingest benchmark: {}{}",
            report::machine(),
            cluster
                .as_ref()
                .map(|c| format!(", PostgreSQL {}", c.version()))
                .unwrap_or_default()
        );
        let backends: Vec<Backend> = [(o.pg, Backend::Postgres), (o.sqlite, Backend::Sqlite)]
            .into_iter()
            .filter_map(|(on, b)| on.then_some(b))
            .collect();
        let mut runs = Vec::new();
        if o.rate {
            let started = Instant::now();
            let work = Workload::generate(o.agents, o.batches)?;
            println!(
                "made {} gzipped batches ({:.1} MiB) in {:.1} s",
                o.agents * o.batches,
                work.bytes() as f64 / (1 << 20) as f64,
                started.elapsed().as_secs_f64()
            );
            for &backend in &backends {
                for &mc in &o.max_connections {
                    let run = self.rate(backend, cluster.as_ref(), mc, &work, o)?;
                    report::print_rate(std::slice::from_ref(&run));
                    runs.push(run);
                }
            }
        }
        let mut histories = Vec::new();
        if o.history {
            for &backend in &backends {
                histories.push((
                    backend,
                    self.history(backend, cluster.as_ref(), o.history_samples)?,
                ));
            }
        }
        if runs.len() > 1 {
            println!("\nAll rate runs:");
            report::print_rate(&runs);
        }
        if !histories.is_empty() {
            report::print_history(&histories);
        }
        record.append(&self.root, &report::figures(&runs, &histories))?;
        Ok(())
    }

    /// A fresh database: its URL (PostgreSQL) and the server's data folder
    /// (SQLite), removed when dropped.
    fn database(
        &self,
        backend: Backend,
        cluster: Option<&Cluster>,
        name: &str,
    ) -> anyhow::Result<(Option<String>, Scratch)> {
        let data_dir = Scratch(self.dir.join(format!("data-{name}")));
        let _ = std::fs::remove_dir_all(&data_dir.0);
        match backend {
            Backend::Postgres => {
                let cluster = cluster.context("no cluster")?;
                cluster.create_database(name)?;
                Ok((Some(cluster.url(name)), data_dir))
            }
            Backend::Sqlite => Ok((None, data_dir)),
        }
    }

    fn setup<'a>(
        &'a self,
        url: Option<String>,
        data_dir: PathBuf,
        max_connections: u32,
        jobs_interval: Option<&'a str>,
        name: &str,
    ) -> ServerSetup<'a> {
        ServerSetup {
            binary: &self.binary,
            database_url: url,
            data_dir,
            max_connections,
            jobs_interval,
            config: &self.config,
            log: self.dir.join(format!("server-{name}.log")),
        }
    }

    fn rate(
        &self,
        backend: Backend,
        cluster: Option<&Cluster>,
        mc: u32,
        work: &Workload,
        o: &Options,
    ) -> anyhow::Result<RateRun> {
        let seconds = o.seconds;
        let name = format!("rate_{}_{mc}", backend_tag(backend));
        println!(
            "\n{} with --max-connections {mc}: {} agents, {seconds} s (load before: {:.2})",
            backend.name(),
            work.names.len(),
            proc::load()
        );
        let (url, data_dir) = self.database(backend, cluster, &name)?;
        let jobs = o.jobs_interval.as_deref();
        let mut server = Server::start(&self.setup(url, data_dir.0.clone(), mc, jobs, &name))?;
        let admin = server.login()?;
        let agents = server.enroll(&admin, &work.names)?;
        if let (Backend::Postgres, Some(c)) = (backend, cluster) {
            c.psql(&name, "CHECKPOINT")?;
        }
        let window = load::run(
            &load::Target::one(&server),
            cluster.map(Cluster::pid),
            &agents,
            work,
            seconds,
        )?;
        server.check_alive()?;
        drop(server);
        if window.exhausted > 0 {
            println!(
                "  warning: {} agents ran out of batches: raise --batches",
                window.exhausted
            );
        }
        if window.replayed > 0 {
            // Only a retried request after an I/O error is replayed.
            println!("  {} batches were acknowledged as replays", window.replayed);
        }
        if let Some(e) = &window.first_error {
            println!("  {} errors; the first: {e}", window.errors);
        }
        let peer = match backend {
            Backend::Postgres => peer::postgres(cluster.context("no cluster")?, &name, &self.dir)?,
            Backend::Sqlite => {
                let (peer, version) = peer::sqlite(&data_dir.0.join("vantage.db"))?;
                println!("  peer: python3 sqlite3 {version}, executemany in one transaction");
                peer
            }
        };
        Ok(RateRun {
            backend,
            max_connections: mc,
            window,
            peer,
        })
    }

    fn history(
        &self,
        backend: Backend,
        cluster: Option<&Cluster>,
        samples: u64,
    ) -> anyhow::Result<history::History> {
        let name = format!("history_{}", backend_tag(backend));
        println!("\n{}: 30-day history, {samples} samples", backend.name());
        let (url, data_dir) = self.database(backend, cluster, &name)?;
        let mut server =
            Server::start(&self.setup(url, data_dir.0.clone(), 16, Some("1s"), &name))?;
        history::run(&mut server, samples)
    }
}

/// A folder removed when dropped (declare it before the server using it).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn backend_tag(b: Backend) -> &'static str {
    match b {
        Backend::Postgres => "pg",
        Backend::Sqlite => "sqlite",
    }
}

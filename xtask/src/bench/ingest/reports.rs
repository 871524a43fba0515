//! `cargo xtask bench reports [--repeat N] [--server PATH]`: the release
//! server on PostgreSQL making last month's report of an SLA over 1 000
//! check targets run by 10 agents each (10 000 `check_up` series), as
//! JSON, HTML and PDF, against the database reading the same day rows
//! (for JSON and HTML) and Chromium printing the same page (for PDF).
//!
//! - The fleet: 10 simulated agents, each posting one run of every check
//!   (`c-0000` … `c-0999`: `check_up`, `rtt` and `loss`), which makes the
//!   checks and series as agents would. Then [`data`] writes the month
//!   reported and the one before (which the report compares with) into
//!   the rollup tables: 30 000 series' hour rows, and minute rows for the
//!   hours of each outage and the hour after (about 30 M rows in all),
//!   and marks their days, whose rows the server's rollup job then
//!   writes (as it does once a day has ended) before anything is measured.
//! - The SLA: every `c-*` check, a month in UTC, a quorum of 2 agents.
//!   The first answer's figures (runs, failed and outvoted runs,
//!   incidents, here and the month before) must equal those [`data`]
//!   computed from its outages, else the benchmark fails.
//! - Each format is asked for `--repeat` times (default 3) in turn; the
//!   figure is the median. The peers run as often: `psql` summing every
//!   day row of both months (sketches included: what the report reads), and Chromium printing
//!   the HTML the server answered, with the server's flags.
//! - `--hold`: once the data is written, keep the database and the server
//!   up (their addresses in `target/bench/ingest/reports.hold`) until that
//!   file is removed, to profile a report by hand; nothing is measured.

mod data;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Datelike as _, TimeZone as _, Utc};

use super::server::{Agent, Server};
use super::workload::{Rng, gzip_batch, ping_result};
use super::{Backend, Cluster};
use crate::bench::record::Figure;
use data::{AGENTS, TARGETS};

const USAGE: &str = "cargo xtask bench reports [--repeat N] [--server PATH] [--hold]";
/// The longest a report may take before the benchmark gives up on it.
const REPORT_LIMIT: Duration = Duration::from_secs(600);
/// The longest the server's rollup job may take to write the days.
const DAYS_LIMIT: Duration = Duration::from_secs(1800);
/// The longest `--hold` keeps the database and server up.
const HOLD_LIMIT: Duration = Duration::from_secs(4 * 3600);
/// The bound on one monthly report, per format.
const TARGET: Duration = Duration::from_secs(10);
/// Results in one ingest batch.
const BATCH: usize = 250;
const CHROMIUM: &str = "/usr/bin/chromium";

pub(in crate::bench) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let (mut repeat, mut server, mut hold) = (3usize, None, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--repeat" => repeat = value()?.parse()?,
            "--server" => server = Some(PathBuf::from(value()?)),
            "--hold" => hold = true,
            _ => bail!("unknown argument `{arg}`\nusage: {USAGE}"),
        }
    }
    if !(1..=9).contains(&repeat) {
        bail!("--repeat 1–9");
    }
    Cluster::preflight()?;
    if !Path::new(CHROMIUM).exists() {
        bail!("{CHROMIUM} is missing (the server prints PDF with it): apt-get install chromium");
    }
    let (record, bench, cluster) =
        super::begin_on_postgres(root, server, "reports", "Reports benchmark")?;
    let now = Utc::now();
    let this_month = month_start(now.year(), now.month());
    let reported = previous_month(this_month);
    let before = previous_month(reported);
    let label = reported.format("%Y-%m").to_string();

    let name = "reports";
    let (url, data_dir) = bench.database(Backend::Postgres, Some(&cluster), name)?;
    let mut server = Server::start(&bench.setup(url, data_dir.0.clone(), 16, None, name))?;
    let admin = server.login()?;
    let names: Vec<String> = (0..AGENTS).map(|a| format!("site-{a}")).collect();
    let agents = server.enroll(&admin, &names)?;
    post_one_round(&server, &agents, now)?;

    let outages = data::outages(&[(before, reported), (reported, this_month)]);
    let loaded = Instant::now();
    data::load(&cluster, name, &outages, before, this_month)?;
    let rows = cluster.psql(
        name,
        "SELECT (SELECT count(*) FROM rollup_1h) || ' hour rows, '
             || (SELECT count(*) FROM rollup_1m) || ' minute rows'",
    )?;
    println!(
        "{label} and the month before: {rows}, written in {:.0} s",
        loaded.elapsed().as_secs_f64()
    );
    let rolled = Instant::now();
    days_rolled_up(&cluster, name, this_month)?;
    cluster.psql(name, "VACUUM ANALYZE rollup_1d")?;
    let days = cluster.psql(name, "SELECT count(*) FROM rollup_1d")?;
    println!(
        "their days: {days} day rows, written by the server's rollup job in {:.0} s",
        rolled.elapsed().as_secs_f64()
    );
    put_sla(&server, &admin)?;
    if hold {
        return hold_until_released(&bench.dir, &cluster, name, &server, &admin);
    }

    let path = format!("/api/v1/reports?sla=bench&period={label}&format=");
    let mut times: Vec<(&str, Vec<f64>)> = Vec::new();
    let mut html = Vec::new();
    for format in ["json", "html", "pdf"] {
        let mut seconds = Vec::new();
        for i in 0..repeat {
            let (took, body) = get(&server, &admin, &format!("{path}{format}"))?;
            seconds.push(took);
            if i == 0 {
                match format {
                    "json" => check(&body, &outages, (before, reported, this_month))?,
                    "html" => html = body,
                    _ if !body.starts_with(b"%PDF-") => bail!("format=pdf answered no PDF"),
                    _ => {}
                }
            }
        }
        times.push((format, seconds));
    }
    server.check_alive()?;
    drop(server);

    let scan = peer_scan(&cluster, name, before, this_month, repeat)?;
    let print = peer_print(&bench.dir, &html, repeat)?;
    let median_of = |f: &str| median(&times.iter().find(|(n, _)| *n == f).expect("measured").1);
    let (json, page, pdf) = (median_of("json"), median_of("html"), median_of("pdf"));
    println!("\n| format | report (median of {repeat}) | peer | peer's time | ratio | ≤ 10 s |");
    println!("|---|---|---|---|---|---|");
    for (format, took, peer, peer_took) in [
        ("JSON", json, "psql: every day row read", scan),
        ("HTML", page, "psql: every day row read", scan),
        ("PDF", pdf, "Chromium printing the page", print),
    ] {
        println!(
            "| {format} | {took:.2} s | {peer} | {peer_took:.2} s | {:.1}× | {} |",
            took / peer_took,
            if took <= TARGET.as_secs_f64() {
                "yes"
            } else {
                "no"
            }
        );
    }
    let scale = format!("{TARGETS} targets x {AGENTS} agents");
    record.append(
        root,
        &[
            Figure::new(format!("monthly report JSON, {scale}"), json, "s").against(scan),
            Figure::new(format!("monthly report HTML, {scale}"), page, "s").against(scan),
            Figure::new(format!("monthly report PDF, {scale}"), pdf, "s").against(print),
        ],
    )?;
    Ok(())
}

/// `--hold`: the loaded database and its server stay up, for profiling,
/// until the file it names is removed (or `HOLD_LIMIT`).
fn hold_until_released(
    dir: &Path,
    cluster: &Cluster,
    db: &str,
    server: &Server,
    admin: &str,
) -> anyhow::Result<()> {
    let file = dir.join("reports.hold");
    std::fs::write(
        &file,
        format!(
            "database {}\nserver http://{}\nauthorization {admin}\n",
            cluster.url(db),
            server.addr
        ),
    )?;
    println!(
        "holding: see {}; remove it to stop (at most {} h)",
        file.display(),
        HOLD_LIMIT.as_secs() / 3600
    );
    let until = Instant::now() + HOLD_LIMIT;
    while file.exists() && Instant::now() < until && !super::sys::interrupted() {
        std::thread::sleep(Duration::from_secs(2));
    }
    let _ = std::fs::remove_file(&file);
    Ok(())
}

fn month_start(year: i32, month: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .expect("the first of a month exists")
}

fn previous_month(start: DateTime<Utc>) -> DateTime<Utc> {
    match start.month() {
        1 => month_start(start.year() - 1, 12),
        m => month_start(start.year(), m - 1),
    }
}

/// One run of every check by every agent, at `at` (this month: outside
/// the months the benchmark writes), so that the server makes the checks
/// and series. Each run keeps one `rtt` and the `loss`.
fn post_one_round(server: &Server, agents: &[Agent], at: DateTime<Utc>) -> anyhow::Result<()> {
    let mut client = server.client();
    let mut rng = Rng::new(0x4E70);
    for agent in agents {
        let results: Vec<_> = (0..TARGETS)
            .map(|t| {
                let mut r = ping_result(
                    &mut rng,
                    &agent.name,
                    &format!("c-{t:04}"),
                    &format!("10.20.{}.{}", t / 250, t % 250 + 1),
                    at,
                    0.02,
                );
                r.samples.retain(|s| {
                    s.metric == "loss"
                        || (s.metric == "rtt" && s.labels.get("seq").is_some_and(|q| q == "1"))
                });
                for s in &mut r.samples {
                    s.labels.clear();
                }
                r
            })
            .collect();
        for chunk in results.chunks(BATCH) {
            let batch = gzip_batch(chunk.to_vec())?;
            let headers = agent.ingest_headers();
            let r = client.request("POST", "/api/v1/ingest", &headers, &batch)?;
            if r.status != 200 {
                bail!("ingest: HTTP {}: {}", r.status, r.text());
            }
        }
    }
    Ok(())
}

fn put_sla(server: &Server, admin: &str) -> anyhow::Result<()> {
    let sla = serde_json::json!({
        "name": "bench", "objective": 99.9, "select": {"check": "c-*"},
        "period": "month", "timezone": "UTC", "min_agents": data::QUORUM,
    });
    let r = server.client().request(
        "PUT",
        "/api/v1/slas/bench",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", admin),
        ],
        sla.to_string().as_bytes(),
    )?;
    if !(200..300).contains(&r.status) {
        bail!("PUT /api/v1/slas/bench: HTTP {}: {}", r.status, r.text());
    }
    Ok(())
}

/// One request on a new connection: its seconds and body.
fn get(server: &Server, admin: &str, path: &str) -> anyhow::Result<(f64, Vec<u8>)> {
    let started = Instant::now();
    let r = server.client().patient(REPORT_LIMIT).request(
        "GET",
        path,
        &[("Authorization", admin)],
        b"",
    )?;
    let took = started.elapsed().as_secs_f64();
    if r.status != 200 {
        bail!("GET {path}: HTTP {}: {}", r.status, r.text());
    }
    println!("  GET {path}: {took:.2} s, {} bytes", r.body.len());
    Ok((took, r.body))
}

/// Waits until the server's rollup job has written the day rows of every
/// day before `until` (none is marked), at most `DAYS_LIMIT`.
fn days_rolled_up(cluster: &Cluster, db: &str, until: DateTime<Utc>) -> anyhow::Result<()> {
    let sql = format!(
        "SELECT count(*) FROM rollup_days_dirty WHERE day < '{}'",
        until.to_rfc3339()
    );
    let deadline = Instant::now() + DAYS_LIMIT;
    loop {
        let left = cluster.psql(db, &sql)?;
        if left == "0" {
            return Ok(());
        }
        if Instant::now() > deadline || super::sys::interrupted() {
            bail!("the server's rollup job left {left} days marked");
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The JSON report's figures against those of the outages written.
fn check(
    body: &[u8],
    outages: &[data::Outage],
    (before, from, to): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>),
) -> anyhow::Result<()> {
    let report: serde_json::Value = serde_json::from_slice(body)?;
    for (key, from, to) in [("summary", from, to), ("previous", before, from)] {
        let want = data::expected(outages, from, to);
        let f = &report[key];
        let got = data::Expected {
            runs: f["runs"].as_u64().context("runs")?,
            failed: f["failed_runs"].as_u64().context("failed_runs")?,
            outvoted: f["outvoted_runs"].as_u64().context("outvoted_runs")?,
            incidents: f["incidents"].as_u64().context("incidents")?,
        };
        if got != want {
            bail!("the report's {key} is {got:?}; the data written makes {want:?}");
        }
        println!(
            "  {key}: {} runs, {} failed, {} outvoted, {} incidents, as written",
            got.runs, got.failed, got.outvoted, got.incidents
        );
    }
    let targets = report["targets"].as_array().map_or(0, Vec::len);
    if targets != TARGETS {
        bail!("the report lists {targets} check targets, not {TARGETS}");
    }
    Ok(())
}

/// The database alone: every day row of both months (what the report
/// reads) read and summed, sketches included; the median of `repeat` runs.
fn peer_scan(
    cluster: &Cluster,
    db: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    repeat: usize,
) -> anyhow::Result<f64> {
    let sql = format!(
        "SELECT count(*), sum(n), sum(sum), sum(length(sketch)) FROM rollup_1d
         WHERE bucket >= '{}' AND bucket < '{}'",
        from.to_rfc3339(),
        to.to_rfc3339()
    );
    let mut seconds = Vec::new();
    for _ in 0..repeat {
        let started = Instant::now();
        let out = cluster.psql_command(db, &sql).output()?;
        if !out.status.success() {
            bail!("psql: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        seconds.push(started.elapsed().as_secs_f64());
    }
    Ok(median(&seconds))
}

/// Chromium printing the server's page, as the server runs it; the
/// median of `repeat` runs.
fn peer_print(dir: &Path, html: &[u8], repeat: usize) -> anyhow::Result<f64> {
    let work = dir.join("reports-print");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let page = work.join("report.html");
    std::fs::write(&page, html)?;
    let mut seconds = Vec::new();
    for i in 0..repeat {
        let out = work.join(format!("report-{i}.pdf"));
        let started = Instant::now();
        let status = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--no-pdf-header-footer",
                "--no-sandbox",
            ])
            .arg(format!(
                "--user-data-dir={}",
                work.join(format!("profile-{i}")).display()
            ))
            .arg(format!("--print-to-pdf={}", out.display()))
            .arg(format!("file://{}", page.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        seconds.push(started.elapsed().as_secs_f64());
        if !status.success() || !std::fs::read(&out)?.starts_with(b"%PDF-") {
            bail!("Chromium printed no PDF of the report ({status})");
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(median(&seconds))
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

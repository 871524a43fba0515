//! The 30-day history query: ten agents with one ping check each (10 series
//! a check, 100 series in all) send results spread over the last 30 days
//! through the API, the server's rollup job catches up, and then one
//! series' 30-day history is asked for [`QUERIES`] times in a row.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{SecondsFormat, Utc};

use super::server::{Agent, Server};
use super::workload::{self, RESULTS_PER_BATCH, Rng, SAMPLES_PER_RESULT};
use crate::http::Client;

/// Agents, each with one check (10 series).
const AGENTS: usize = 10;
const CHECK: (&str, &str) = ("ping-history", "192.0.2.99");
/// The queried series: one per check (no labels).
const METRIC: &str = "rtt_avg";
const DAYS: i64 = 30;
const QUERIES: usize = 200;
/// Bounds: sending everything, and the rollup job's catching up.
const INGEST_LIMIT: Duration = Duration::from_secs(30 * 60);
const ROLLUP_LIMIT: Duration = Duration::from_secs(30 * 60);

/// What the history part measured.
#[derive(Debug, Default)]
pub(super) struct History {
    /// Δ `vantage_ingest_samples_total` while sending.
    pub(super) samples: f64,
    pub(super) ingest_seconds: f64,
    /// From the last acknowledgement until the 1-hour rollup of the queried
    /// series counted every sample.
    pub(super) rollup_seconds: f64,
    pub(super) rollup_rows: f64,
    pub(super) resolution: String,
    pub(super) points: usize,
    pub(super) body_bytes: usize,
    /// Request latency in µs, sorted.
    pub(super) latencies: Vec<u32>,
    pub(super) load: (f64, f64),
}

pub(super) fn run(server: &mut Server, samples: u64) -> anyhow::Result<History> {
    let admin = server.login()?;
    let names: Vec<String> = (0..AGENTS).map(|i| format!("history-agent-{i}")).collect();
    let agents = server.enroll(&admin, &names)?;
    let per_agent = (samples as usize).div_ceil(AGENTS * SAMPLES_PER_RESULT * RESULTS_PER_BATCH)
        * RESULTS_PER_BATCH;
    let mut h = History::default();
    let mut metrics = server.client();
    let samples0 = server
        .metrics(&mut metrics)?
        .get("vantage_ingest_samples_total")
        .unwrap_or(0.0);
    let started = Instant::now();
    send(server, &agents, per_agent)?;
    h.ingest_seconds = started.elapsed().as_secs_f64();
    let m = server.metrics(&mut metrics)?;
    h.samples = m.get("vantage_ingest_samples_total").unwrap_or(0.0) - samples0;
    println!(
        "  sent {} samples ({} series, {per_agent} results each) in {:.1} s; the server stored {:.0} ({:.0}/s)",
        per_agent * AGENTS * SAMPLES_PER_RESULT,
        AGENTS * SAMPLES_PER_RESULT,
        h.ingest_seconds,
        h.samples,
        h.samples / h.ingest_seconds
    );

    let mut client = server.client();
    let agent = &agents[0];
    let rolled = Instant::now();
    loop {
        server.check_alive()?;
        super::super::sys::check_interrupted()?;
        let answer = query(&mut client, &admin, &agent.id)?;
        let counted = answer.counted;
        if counted >= per_agent as i64 {
            break;
        }
        if rolled.elapsed() > ROLLUP_LIMIT {
            bail!(
                "after {ROLLUP_LIMIT:?} the 1h rollup of one series counts {counted} of {per_agent} samples"
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    h.rollup_seconds = rolled.elapsed().as_secs_f64();
    h.rollup_rows = server
        .metrics(&mut metrics)?
        .get("vantage_rollup_rows_total")
        .unwrap_or(f64::NAN);
    println!(
        "  the rollup job caught up {:.1} s after the last batch",
        h.rollup_seconds
    );

    h.load.0 = super::proc::load();
    for _ in 0..QUERIES {
        super::super::sys::check_interrupted()?;
        let t = Instant::now();
        let answer = query(&mut client, &admin, &agent.id)?;
        h.latencies
            .push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
        h.resolution = answer.resolution;
        h.points = answer.points;
        h.body_bytes = answer.bytes;
    }
    h.load.1 = super::proc::load();
    h.latencies.sort_unstable();
    Ok(h)
}

/// Each agent sends its results oldest first, as an outbox drains a backlog.
/// Results are made while sending (this part measures queries, not ingest).
fn send(server: &Server, agents: &[Agent], per_agent: usize) -> anyhow::Result<()> {
    let now = Utc::now();
    // Three hours inside the range, so that the first hour bucket is still
    // within `now − 30 d` when the queries run (sending and the rollup are
    // bounded to one hour together).
    let first = now - chrono::Duration::days(DAYS) + chrono::Duration::hours(3);
    let step = (now - chrono::Duration::minutes(5) - first) / per_agent as i32;
    let deadline = Instant::now() + INGEST_LIMIT;
    std::thread::scope(|s| {
        let handles: Vec<_> = agents
            .iter()
            .enumerate()
            .map(|(a, agent)| {
                s.spawn(move || -> anyhow::Result<()> {
                    let mut rng = Rng::new(1000 + a as u64);
                    let base = 0.001 + 0.03 * rng.unit();
                    let mut client = server.client();
                    let headers = agent.ingest_headers();
                    for b in 0..per_agent / RESULTS_PER_BATCH {
                        let results = (0..RESULTS_PER_BATCH)
                            .map(|j| {
                                let at = first + step * (b * RESULTS_PER_BATCH + j) as i32;
                                // A daily rhythm, so the chart is not flat.
                                let day = (at.timestamp() % 86_400) as f64 / 86_400.0;
                                let typical =
                                    base * (1.0 + 0.3 * (day * std::f64::consts::TAU).sin());
                                workload::ping_result(
                                    &mut rng,
                                    &agent.name,
                                    CHECK.0,
                                    CHECK.1,
                                    at,
                                    typical,
                                )
                            })
                            .collect();
                        let body = workload::gzip_batch(results)?;
                        post(&mut client, &headers, &body, deadline)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a sender thread panicked"))??;
        }
        Ok(())
    })
}

/// Posts one batch until it is acknowledged, honouring `Retry-After`.
fn post(
    client: &mut Client,
    headers: &[(&str, &str)],
    body: &[u8],
    deadline: Instant,
) -> anyhow::Result<()> {
    loop {
        if Instant::now() > deadline {
            bail!("sending the 30-day history took longer than {INGEST_LIMIT:?}");
        }
        super::super::sys::check_interrupted()?;
        match client.request("POST", "/api/v1/ingest", headers, body) {
            Ok(r) if r.status == 200 => return Ok(()),
            Ok(r) if r.status == 429 || r.status == 503 => {
                std::thread::sleep(Duration::from_secs(r.retry_after.unwrap_or(1)));
            }
            Ok(r) => bail!("ingest: HTTP {}: {}", r.status, r.text()),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

struct Answer {
    resolution: String,
    points: usize,
    /// Samples the points stand for (the sum of their counts).
    counted: i64,
    bytes: usize,
}

/// The queried series' history from 30 days ago until now.
fn query(client: &mut Client, admin: &str, agent_id: &str) -> anyhow::Result<Answer> {
    let from =
        (Utc::now() - chrono::Duration::days(DAYS)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let path = format!(
        "/api/v1/series/history?agent_id={agent_id}&check={}&target={}&metric={METRIC}&from={from}",
        CHECK.0, CHECK.1
    );
    let r = client.request("GET", &path, &[("Authorization", admin)], &[])?;
    let v = r.json("history")?;
    let series = v["series"].as_array().context("history: no series")?;
    if series.len() != 1 {
        bail!("history: {} series match, expected 1", series.len());
    }
    let points = series[0]["points"]
        .as_array()
        .context("history: no points")?;
    Ok(Answer {
        resolution: v["resolution"].as_str().unwrap_or("?").to_owned(),
        points: points.len(),
        counted: points.iter().filter_map(|p| p["count"].as_i64()).sum(),
        bytes: r.body.len(),
    })
}

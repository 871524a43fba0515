//! Agents that each send one batch every [`PERIOD`] (one round of five
//! ping checks: 5 results, 50 samples), open loop: every batch has a due
//! time, spread evenly over the period, and a pool of connections sends
//! them in order. A batch's latency runs from its due time to its
//! acknowledgement, so a server that falls behind is charged for the
//! wait too (no coordinated omission).

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::super::load::quantile_ms;
use super::super::server::Agent;
use super::super::workload::{CHECKS, Rng, Workload, gzip_batch, ping_result};
use crate::http::Client;

/// How often each agent sends.
pub(super) const PERIOD: Duration = Duration::from_secs(10);
/// How long before its batch is due a paced run started.
const RUN_AGE: chrono::Duration = chrono::Duration::seconds(2);
/// Connections the load generator sends on.
const SENDERS: usize = 64;

/// One paced window's outcome.
#[derive(Debug, Default)]
pub(super) struct Paced {
    pub(super) agents: usize,
    pub(super) seconds: f64,
    pub(super) acked: u64,
    pub(super) samples: u64,
    pub(super) errors: u64,
    pub(super) first_error: Option<String>,
    /// From each batch's due time to its acknowledgement, µs, sorted.
    pub(super) latencies: Vec<u32>,
    /// The same, each period's apart, sorted.
    pub(super) by_period: Vec<Vec<u32>>,
}

impl Paced {
    pub(super) fn latency_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies, q)
    }
}

/// A step's batches: for each of `names`, batch 0 (the warm-up, its runs
/// a minute before `start`) and `rounds` more. Batch k ≥ 1 of agent i is
/// due at `start` + (k − 1)·PERIOD + (i/n)·PERIOD, and its runs started
/// [`RUN_AGE`] before that: data a second or two old, as a running agent
/// sends it, not a backlog of late data that the rollups would take in
/// again and again.
pub(super) fn batches(
    names: &[String],
    rounds: usize,
    seed: u64,
    start: DateTime<Utc>,
) -> anyhow::Result<Workload> {
    let n = names.len();
    Workload::build(names.to_vec(), |i, name| {
        let mut rng = Rng::new(seed ^ ((i as u64) << 20));
        let phase = chrono::Duration::from_std(PERIOD.mul_f64(i as f64 / n as f64))?;
        let period = chrono::Duration::from_std(PERIOD)?;
        (0..=rounds)
            .map(|k| {
                let at = match k {
                    0 => start - chrono::Duration::minutes(1),
                    k => start + period * (k as i32 - 1) + phase - RUN_AGE,
                };
                let results = CHECKS
                    .iter()
                    .map(|(check, target)| {
                        let base = 0.0002 + 0.04 * rng.unit();
                        ping_result(&mut rng, name, check, target, at, base)
                    })
                    .collect();
                gzip_batch(results)
            })
            .collect()
    })
}

/// Posts batch 0 of agents `from..` back to back, untimed, to each of
/// `replicas` directly: the first stores it and makes their checks and
/// series, as an agent's first batch makes them; the others take it as a
/// replay, which still teaches them the ids. So the timed periods find
/// every replica knowing every agent, as in a fleet that has run a while,
/// where a round-robin balancer has sent each agent to each replica.
pub(super) fn warm_up(
    replicas: &[SocketAddr],
    agents: &[Agent],
    work: &Workload,
    from: usize,
) -> anyhow::Result<()> {
    let next = AtomicUsize::new(from);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..SENDERS)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<()> {
                    let mut clients: Vec<Client> =
                        replicas.iter().map(|&a| Client::new(a)).collect();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(agent) = agents.get(i) else {
                            return Ok(());
                        };
                        crate::bench::sys::check_interrupted()?;
                        for client in &mut clients {
                            let r = client.request(
                                "POST",
                                "/api/v1/ingest",
                                &agent.ingest_headers(),
                                &work.batches[i][0],
                            )?;
                            if r.status != 200 {
                                anyhow::bail!("warming up: HTTP {}: {}", r.status, r.text());
                            }
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a warm-up thread panicked"))??;
        }
        Ok(())
    })
}

/// Sends every agent's batches after the first (see [`warm_up`]) through
/// `addr`, one per agent per [`PERIOD`] from `start`, until all were sent.
pub(super) fn run(
    addr: SocketAddr,
    agents: &[Agent],
    work: &Workload,
    start: Instant,
) -> anyhow::Result<Paced> {
    let rounds = work.batches.first().map_or(0, Vec::len).saturating_sub(1);
    let n = agents.len();
    // Round k of agent i is due at k·PERIOD + (i/n)·PERIOD: in that order.
    let due: Vec<(Duration, usize, usize)> = (0..rounds)
        .flat_map(|k| {
            (0..n).map(move |i| {
                // Batch 0 was the warm-up.
                let at = PERIOD * k as u32 + PERIOD.mul_f64(i as f64 / n as f64);
                (at, i, k + 1)
            })
        })
        .collect();
    let next = AtomicUsize::new(0);
    let outcome = Mutex::new(Paced {
        agents: n,
        ..Paced::default()
    });
    std::thread::scope(|s| {
        for _ in 0..SENDERS.min(due.len()) {
            s.spawn(|| {
                let mut client = Client::new(addr);
                let mut mine = Paced::default();
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(at, i, k)) = due.get(j) else { break };
                    if crate::bench::sys::check_interrupted().is_err() {
                        break;
                    }
                    let due_at = start + at;
                    std::thread::sleep(due_at.saturating_duration_since(Instant::now()));
                    let headers = agents[i].ingest_headers();
                    match client.request("POST", "/api/v1/ingest", &headers, &work.batches[i][k]) {
                        Ok(r) if r.status == 200 => {
                            let waited = due_at.elapsed().as_micros().min(u32::MAX as u128);
                            mine.latencies.push(waited as u32);
                            mine.by_period
                                .resize_with(rounds.max(mine.by_period.len()), Vec::new);
                            mine.by_period[k - 1].push(waited as u32);
                            mine.acked += 1;
                            mine.samples += serde_json::from_slice::<serde_json::Value>(&r.body)
                                .ok()
                                .and_then(|ack| ack["samples"].as_u64())
                                .unwrap_or(0);
                        }
                        Ok(r) => {
                            mine.errors += 1;
                            mine.first_error
                                .get_or_insert_with(|| format!("HTTP {}: {}", r.status, r.text()));
                        }
                        Err(e) => {
                            mine.errors += 1;
                            mine.first_error.get_or_insert_with(|| format!("{e:#}"));
                        }
                    }
                }
                let mut all = outcome.lock().unwrap_or_else(|e| e.into_inner());
                all.acked += mine.acked;
                all.samples += mine.samples;
                all.errors += mine.errors;
                if all.first_error.is_none() {
                    all.first_error = mine.first_error;
                }
                all.latencies.extend(mine.latencies);
                all.by_period.resize_with(rounds, Vec::new);
                for (p, l) in mine.by_period.into_iter().enumerate() {
                    all.by_period[p].extend(l);
                }
            });
        }
    });
    let mut paced = outcome.into_inner().unwrap_or_else(|e| e.into_inner());
    paced.seconds = start.elapsed().as_secs_f64();
    paced.latencies.sort_unstable();
    paced.by_period.iter_mut().for_each(|l| l.sort_unstable());
    Ok(paced)
}

//! The timed window: one keep-alive connection per simulated agent posting
//! its pre-made batches for a bounded time.

use std::net::SocketAddr;
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use vantage_protocol::ingest::IngestAck;

use super::proc::CpuMark;
use super::server::{Agent, Server};
use super::workload::Workload;

/// What one timed window measured.
#[derive(Debug, Default)]
pub(super) struct Window {
    pub(super) seconds: f64,
    /// Δ `vantage_ingest_samples_total`.
    pub(super) samples: f64,
    /// Batches acknowledged (not replays), the results and the samples
    /// their acknowledgements say were stored.
    pub(super) batches: u64,
    pub(super) accepted: u64,
    pub(super) acked_samples: u64,
    pub(super) replayed: u64,
    /// 429 and 503 answers (each retried after `Retry-After`).
    pub(super) throttled: u64,
    pub(super) errors: u64,
    pub(super) first_error: Option<String>,
    /// Agents that posted every batch they had before the window ended.
    pub(super) exhausted: usize,
    /// Latency of acknowledged requests, in µs, sorted.
    pub(super) latencies: Vec<u32>,
    pub(super) cpu: super::proc::Cpu,
    /// The servers' largest peak resident memory (`VmHWM`, bytes) at the
    /// window's end: a rollup round during the run counts in it.
    pub(super) server_hwm: u64,
}

impl Window {
    /// The `q`-quantile of acknowledged request latency, in ms.
    pub(super) fn latency_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies, q)
    }
}

/// The `q`-quantile of sorted µs values, in ms (nearest rank).
pub(super) fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}

/// Per-thread tallies, merged into a [`Window`].
#[derive(Default)]
struct Tally {
    batches: u64,
    accepted: u64,
    samples: u64,
    replayed: u64,
    throttled: u64,
    errors: u64,
    first_error: Option<String>,
    exhausted: bool,
    latencies: Vec<u32>,
}

impl Tally {
    fn error(&mut self, e: String) {
        self.errors += 1;
        self.first_error.get_or_insert(e);
    }
}

/// Where the agents post: one server, or a balancer in front of several.
pub(super) struct Target<'a> {
    pub(super) addr: SocketAddr,
    /// The servers behind `addr`, whose samples and CPU are summed.
    pub(super) servers: Vec<&'a Server>,
}

impl<'a> Target<'a> {
    pub(super) fn one(server: &'a Server) -> Target<'a> {
        Target {
            addr: server.addr,
            servers: vec![server],
        }
    }

    fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(|s| s.pid()).collect()
    }

    /// Σ `vantage_ingest_samples_total` over the servers.
    fn samples_total(&self, clients: &mut [crate::http::Client]) -> anyhow::Result<f64> {
        let mut total = 0.0;
        for (server, client) in self.servers.iter().zip(clients) {
            total += server
                .metrics(client)?
                .get("vantage_ingest_samples_total")
                .context("/metrics has no vantage_ingest_samples_total")?;
        }
        Ok(total)
    }
}

/// Each agent posts its first batch (warm-up: ids resolved, connections
/// open), then all post the rest for `seconds`, one request at a time per
/// agent. `db` is the postmaster's pid (PostgreSQL) for the CPU figures.
pub(super) fn run(
    target: &Target<'_>,
    db: Option<u32>,
    agents: &[Agent],
    work: &Workload,
    seconds: u64,
) -> anyhow::Result<Window> {
    let mut metrics: Vec<_> = target.servers.iter().map(|s| s.client()).collect();
    let ready = Barrier::new(agents.len() + 1);
    let go = Barrier::new(agents.len() + 1);
    let deadline: OnceLock<Instant> = OnceLock::new();
    let (tallies, before, after, samples) = std::thread::scope(|s| -> anyhow::Result<_> {
        let handles: Vec<_> = agents
            .iter()
            .zip(&work.batches)
            .map(|(agent, batches)| {
                let (ready, go, deadline) = (&ready, &go, &deadline);
                s.spawn(move || {
                    let mut client = crate::http::Client::new(target.addr);
                    let mut tally = Tally::default();
                    let headers = agent.ingest_headers();
                    let warm = batches
                        .first()
                        .map(|b| client.request("POST", "/api/v1/ingest", &headers, b));
                    let warmed = match warm {
                        Some(Ok(r)) if r.status == 200 => true,
                        Some(Ok(r)) => {
                            tally.error(format!("warm-up: HTTP {}: {}", r.status, r.text()));
                            false
                        }
                        Some(Err(e)) => {
                            tally.error(format!("warm-up: {e:#}"));
                            false
                        }
                        None => false,
                    };
                    ready.wait();
                    go.wait();
                    let deadline = *deadline.get().expect("set before `go`");
                    let mut next = 1;
                    while warmed && next < batches.len() {
                        let now = Instant::now();
                        if now >= deadline || super::super::sys::check_interrupted().is_err() {
                            break;
                        }
                        match client.request("POST", "/api/v1/ingest", &headers, &batches[next]) {
                            Ok(r) if r.status == 200 => {
                                tally
                                    .latencies
                                    .push(now.elapsed().as_micros().min(u32::MAX as u128) as u32);
                                match serde_json::from_slice::<IngestAck>(&r.body) {
                                    Ok(ack) if ack.replayed => tally.replayed += 1,
                                    Ok(ack) => {
                                        tally.batches += 1;
                                        tally.accepted += u64::from(ack.accepted);
                                        tally.samples += ack.samples;
                                    }
                                    Err(e) => tally.error(format!("bad ack: {e}")),
                                }
                                next += 1;
                            }
                            Ok(r) if r.status == 429 || r.status == 503 => {
                                tally.throttled += 1;
                                let wait = Duration::from_secs(r.retry_after.unwrap_or(1));
                                std::thread::sleep(
                                    wait.min(deadline.saturating_duration_since(Instant::now())),
                                );
                            }
                            Ok(r) => {
                                tally.error(format!("HTTP {}: {}", r.status, r.text()));
                                next += 1;
                            }
                            // The same batch again, as an agent would: a replay is harmless.
                            Err(e) => {
                                tally.error(format!("{e:#}"));
                                std::thread::sleep(Duration::from_millis(100));
                            }
                        }
                    }
                    tally.exhausted = warmed && next >= batches.len();
                    tally
                })
            })
            .collect();
        ready.wait();
        let samples0 = target.samples_total(&mut metrics);
        let before = CpuMark::take(&target.pids(), db);
        deadline
            .set(Instant::now() + Duration::from_secs(seconds))
            .expect("set once");
        go.wait();
        let tallies: Vec<Tally> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a client thread panicked"))
            })
            .collect::<anyhow::Result<_>>()?;
        let after = CpuMark::take(&target.pids(), db);
        let samples1 = target.samples_total(&mut metrics);
        Ok((tallies, before, after, samples1? - samples0?))
    })?;
    let mut server_hwm = 0;
    for pid in target.pids() {
        server_hwm = server_hwm.max(crate::bench::procfs::ProcStatus::read(pid)?.hwm);
    }
    let mut w = Window {
        seconds: after.at.duration_since(before.at).as_secs_f64(),
        samples,
        cpu: before.percent_until(&after),
        server_hwm,
        ..Window::default()
    };
    for t in tallies {
        w.batches += t.batches;
        w.accepted += t.accepted;
        w.acked_samples += t.samples;
        w.replayed += t.replayed;
        w.throttled += t.throttled;
        w.errors += t.errors;
        if w.first_error.is_none() {
            w.first_error = t.first_error;
        }
        w.exhausted += usize::from(t.exhausted);
        w.latencies.extend(t.latencies);
    }
    w.latencies.sort_unstable();
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::quantile_ms;

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let us: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(quantile_ms(&us, 0.50), 50.0);
        assert_eq!(quantile_ms(&us, 0.95), 95.0);
        assert_eq!(quantile_ms(&us, 0.0), 1.0);
        assert!(quantile_ms(&[], 0.5).is_nan());
    }
}

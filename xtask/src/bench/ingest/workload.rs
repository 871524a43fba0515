//! The simulated agents' results: ping-like runs, made and gzipped as the
//! agent sends them, before any timed window.

use std::collections::BTreeMap;
use std::io::Write as _;

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use uuid::Uuid;
use vantage_protocol::ingest::{IngestBatch, OutboxStats};
use vantage_protocol::manifest::BaseUnit;
use vantage_protocol::result::{CheckResult, Sample, Status};

/// Samples in one result: five replies' `rtt{seq}`, their min/avg/max/mdev
/// and the loss, as the ping plugin 0.1.0 reported a run of `count = 5`
/// (0.2.0 sends the five `rtt` as one distribution).
pub(super) const SAMPLES_PER_RESULT: usize = 10;
/// Results in one batch: ten rounds of [`CHECKS`].
pub(super) const RESULTS_PER_BATCH: usize = 50;
/// Each agent's ping checks (name, target); one round runs all of them.
pub(super) const CHECKS: [(&str, &str); 5] = [
    ("ping-gateway", "10.0.0.1"),
    ("ping-dns", "10.0.0.53"),
    ("ping-core", "10.1.0.1"),
    ("ping-edge", "192.0.2.10"),
    ("ping-wan", "198.51.100.7"),
];
/// Seconds between two rounds of one agent's checks.
const ROUND_SECONDS: i64 = 1;

/// A small, fast generator (xorshift64*): values need to look varied, not
/// be unpredictable.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A time-ordered result id (UUID v7) for a run started at `at`.
fn result_id(rng: &mut Rng, at: DateTime<Utc>) -> Uuid {
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&rng.next().to_le_bytes());
    random[8..].copy_from_slice(&rng.next().to_le_bytes()[..2]);
    uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis().max(0) as u64, &random)
        .into_uuid()
}

/// One ping run of `count = 5` with every reply received. `base` is the
/// path's typical round trip in seconds.
pub(super) fn ping_result(
    rng: &mut Rng,
    agent: &str,
    check: &str,
    target: &str,
    at: DateTime<Utc>,
    base: f64,
) -> CheckResult {
    let sample = |metric: &str, unit: BaseUnit, value: f64, seq: Option<usize>| Sample {
        metric: metric.to_owned(),
        unit,
        value,
        labels: seq
            .map(|s| BTreeMap::from([("seq".to_owned(), s.to_string())]))
            .unwrap_or_default(),
    };
    let rtts: Vec<f64> = (0..5).map(|_| base * (0.9 + 0.3 * rng.unit())).collect();
    let avg = rtts.iter().sum::<f64>() / 5.0;
    let mdev = (rtts.iter().map(|r| (r - avg).powi(2)).sum::<f64>() / 5.0).sqrt();
    let mut samples: Vec<Sample> = rtts
        .iter()
        .enumerate()
        .map(|(i, r)| sample("rtt", BaseUnit::Seconds, *r, Some(i + 1)))
        .collect();
    samples.push(sample(
        "rtt_min",
        BaseUnit::Seconds,
        rtts.iter().copied().fold(f64::MAX, f64::min),
        None,
    ));
    samples.push(sample("rtt_avg", BaseUnit::Seconds, avg, None));
    samples.push(sample(
        "rtt_max",
        BaseUnit::Seconds,
        rtts.iter().copied().fold(0.0, f64::max),
        None,
    ));
    samples.push(sample("rtt_mdev", BaseUnit::Seconds, mdev, None));
    samples.push(sample("loss", BaseUnit::Ratio, 0.0, None));
    debug_assert_eq!(samples.len(), SAMPLES_PER_RESULT);
    CheckResult {
        id: result_id(rng, at),
        agent: agent.to_owned(),
        check: check.to_owned(),
        target: target.to_owned(),
        plugin: "ping".into(),
        plugin_version: "0.1.0".into(),
        status: Status::Ok,
        started_at: at,
        duration: 4.0 + rtts[4],
        message: None,
        samples,
        distributions: Vec::new(),
        events: Vec::new(),
    }
}

/// A batch as the agent sends it: JSON, gzip level 1.
pub(super) fn gzip_batch(results: Vec<CheckResult>) -> anyhow::Result<Vec<u8>> {
    let batch = IngestBatch {
        batch_id: Uuid::now_v7(),
        results,
        outbox: OutboxStats::default(),
    };
    // One write: xtask is built unoptimised, and the encoder's per-write
    // path would dominate if serde wrote each token into it.
    let json = serde_json::to_vec(&batch)?;
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::new(1));
    gz.write_all(&json)?;
    Ok(gz.finish()?)
}

/// Every agent's gzipped batches, made before any timed window. Batch `k`
/// of an agent holds its rounds `10k … 10k+9`, one a second, ending a
/// minute before now; the same batches serve every run (each run has a
/// fresh database).
pub(super) struct Workload {
    pub(super) names: Vec<String>,
    pub(super) batches: Vec<Vec<Vec<u8>>>,
}

impl Workload {
    pub(super) fn generate(agents: usize, batches_per_agent: usize) -> anyhow::Result<Workload> {
        let names: Vec<String> = (0..agents).map(|i| format!("bench-agent-{i:03}")).collect();
        let rounds = (batches_per_agent * RESULTS_PER_BATCH / CHECKS.len()) as i64;
        let first = Utc::now() - chrono::Duration::seconds(60 + rounds * ROUND_SECONDS);
        Workload::build(names, |i, name| {
            agent_batches(name, i as u64, first, batches_per_agent)
        })
    }

    /// Each agent's batches made by `make(index, name)`, on every core.
    pub(super) fn build(
        names: Vec<String>,
        make: impl Fn(usize, &str) -> anyhow::Result<Vec<Vec<u8>>> + Sync,
    ) -> anyhow::Result<Workload> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let per_thread = names.len().div_ceil(threads).max(1);
        let make = &make;
        let batches = std::thread::scope(|s| -> anyhow::Result<Vec<Vec<Vec<u8>>>> {
            let handles: Vec<_> = names
                .chunks(per_thread)
                .enumerate()
                .map(|(t, chunk)| {
                    s.spawn(move || -> anyhow::Result<Vec<Vec<Vec<u8>>>> {
                        chunk
                            .iter()
                            .enumerate()
                            .map(|(i, name)| make(t * per_thread + i, name))
                            .collect()
                    })
                })
                .collect();
            let mut all = Vec::with_capacity(names.len());
            for h in handles {
                all.extend(
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a generator thread panicked"))??,
                );
            }
            Ok(all)
        })?;
        Ok(Workload { names, batches })
    }

    /// Gzipped bytes over all batches.
    pub(super) fn bytes(&self) -> usize {
        self.batches.iter().flatten().map(Vec::len).sum()
    }
}

fn agent_batches(
    name: &str,
    seed: u64,
    first: DateTime<Utc>,
    n: usize,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut rng = Rng::new(seed + 1);
    let bases: Vec<f64> = CHECKS.iter().map(|_| 0.0002 + 0.04 * rng.unit()).collect();
    let rounds_per_batch = RESULTS_PER_BATCH / CHECKS.len();
    (0..n)
        .map(|k| {
            let mut results = Vec::with_capacity(RESULTS_PER_BATCH);
            for r in 0..rounds_per_batch {
                let round = (k * rounds_per_batch + r) as i64;
                let at = first
                    + chrono::Duration::seconds(round * ROUND_SECONDS)
                    + chrono::Duration::microseconds((rng.next() % 900_000) as i64);
                for (c, (check, target)) in CHECKS.iter().enumerate() {
                    results.push(ping_result(&mut rng, name, check, target, at, bases[c]));
                }
            }
            gzip_batch(results)
        })
        .collect()
}

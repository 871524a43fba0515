//! The alerting benchmark's fleet: 100 agents in 20 sets of 5, each set
//! running 500 checks of its own, as gzipped batches of 50 results.

use chrono::Utc;

use super::super::workload::{RESULTS_PER_BATCH, Rng, Workload, gzip_batch, ping_result};

/// Agents sharing a set of checks, and the sets.
const AGENTS_PER_SET: usize = 5;
const SETS: usize = 20;
/// Checks each set runs: rounds of them make batches.
const CHECKS_PER_SET: usize = 500;
/// One rule a check.
pub(super) const RULES: usize = SETS * CHECKS_PER_SET;
/// Batches that hold one round of an agent's checks.
pub(super) const ROUND_BATCHES: usize = CHECKS_PER_SET / RESULTS_PER_BATCH;

/// The fleet's batches: agent `a` is in set `a / 5` and runs that set's
/// 500 checks, 50 a batch, a round (10 batches) a second.
pub(super) fn fleet(batches: usize, full: bool) -> anyhow::Result<Workload> {
    let agents = AGENTS_PER_SET * SETS;
    let names: Vec<String> = (0..agents).map(|i| format!("bench-agent-{i:03}")).collect();
    let rounds = batches.div_ceil(ROUND_BATCHES) as i64;
    let first = Utc::now() - chrono::Duration::seconds(60 + rounds);
    Workload::build(names, |a, name| {
        agent_batches(name, a, first, batches, full)
    })
}

fn agent_batches(
    name: &str,
    agent: usize,
    first: chrono::DateTime<Utc>,
    n: usize,
    full: bool,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut rng = Rng::new(agent as u64 + 1);
    let set = agent / AGENTS_PER_SET;
    let bases: Vec<f64> = (0..CHECKS_PER_SET)
        .map(|_| 0.0002 + 0.04 * rng.unit())
        .collect();
    (0..n)
        .map(|k| {
            let round = (k / ROUND_BATCHES) as i64;
            let at = first
                + chrono::Duration::seconds(round)
                + chrono::Duration::microseconds((rng.next() % 900_000) as i64);
            let results = (0..RESULTS_PER_BATCH)
                .map(|j| {
                    let c = (k % ROUND_BATCHES) * RESULTS_PER_BATCH + j;
                    let check = format!("c-{}", set * CHECKS_PER_SET + c);
                    let target = format!("10.{set}.{}.{}", c / 250, c % 250 + 1);
                    let run = ping_result(&mut rng, name, &check, &target, at, bases[c]);
                    if full { run } else { slim(run) }
                })
                .collect();
            gzip_batch(results)
        })
        .collect()
}

/// A run with only the samples alerts read here: `rtt_avg` and `loss`
/// (with the server's `check_up`, 3 series a check, 150 000 in all: the
/// full ping run's 11 a check, 550 000, overflow the server's id cache,
/// see docs/benchmarks.md).
pub(super) fn slim(
    mut result: vantage_protocol::result::CheckResult,
) -> vantage_protocol::result::CheckResult {
    result
        .samples
        .retain(|s| s.metric == "rtt_avg" || s.metric == "loss");
    result
}

/// The first `n` batches of every agent, and the rest.
pub(super) fn split(work: &Workload, n: usize) -> (Workload, Workload) {
    let (mut first, mut rest) = (Vec::new(), Vec::new());
    for batches in &work.batches {
        first.push(batches[..n].to_vec());
        rest.push(batches[n..].to_vec());
    }
    let named = |batches| Workload {
        names: work.names.clone(),
        batches,
    };
    (named(first), named(rest))
}

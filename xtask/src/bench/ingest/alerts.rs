//! `cargo xtask bench alerts [--seconds N] [--batches N] [--rounds N] [--full] [--server PATH]`:
//! the release server on PostgreSQL with 10 000 alert rules over 50 000
//! series, against the same server with no rules, in one run.
//!
//! - Phases alternate, without rules and with, in `--rounds` rounds of
//!   two (off on, on off, off on, …): a machine whose speed drifts during
//!   the run (2 shared cores vary by ±10 % from one minute to the next)
//!   then weighs on both sides alike. Each pair's ratio is shown; the
//!   figure recorded is the pooled one, Σ samples / Σ seconds with rules
//!   against the same without.
//!
//! - The fleet: 100 simulated agents in 20 sets of 5; each set runs 500
//!   checks of its own (`c-0` … `c-9999`), so each check runs on 5 agents:
//!   50 000 series (agent, check), each judged by one rule. A batch is 50
//!   results of 2 samples (`rtt_avg`, `loss`); with `--full`, of a ping
//!   run's 10 (550 000 series in all, more than the server's id cache
//!   holds in one generation).
//! - Both runs: a fresh database, a server, the agents enrolled, one round
//!   of every check stored (so that rules may name them), [the rules
//!   saved,] a second round stored (which makes every alert's row) and the
//!   database analyzed (as autovacuum does a minute after tables grow:
//!   plans cached while they were empty, a hash join over every alert row
//!   per batch, would otherwise cost the whole window), then `--seconds`
//!   of posting back to back ([`super::load`]). The rate is Δ
//!   `vantage_ingest_samples_total`; the ratio compares the two.
//! - With alerting, rule `r-N` fires when `c-N`'s `rtt_avg` is over 1 s
//!   (the fleet's paths stay under 50 ms), routed with `group_wait = "0s"`
//!   to a webhook receiver on 127.0.0.1 ([`super::hook`]). During the
//!   window a probe agent posts, every 300 ms, one result over the limit
//!   for a check no probe used before; the latency is from sending it to
//!   the receiver reading the notification (and from the server's answer
//!   to the notification). Every loop is bounded in count and time.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::Utc;

use super::hook::Hook;
use super::load::{self, Window};
use super::server::{Agent, Server};
use super::workload::{Rng, Workload, gzip_batch, ping_result};
use super::{Backend, Cluster, Ingest};
use fleet::{ROUND_BATCHES, RULES, fleet, slim, split};
use phases::{Phases, figures, report};

mod fleet;
mod phases;

/// Probes: at most this many, one every `PROBE_EVERY`.
const PROBES: usize = 60;
const PROBE_EVERY: Duration = Duration::from_millis(300);
/// How long after the window notifications may still come.
const GRACE: Duration = Duration::from_secs(10);

const USAGE: &str =
    "cargo xtask bench alerts [--seconds N] [--batches N] [--rounds N] [--full] [--server PATH]";

pub(in crate::bench) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let (mut seconds, mut batches, mut server, mut full) = (30u64, 250usize, None, false);
    let mut rounds = 2usize;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--seconds" => seconds = value()?.parse()?,
            "--batches" => batches = value()?.parse()?,
            "--rounds" => rounds = value()?.parse()?,
            "--server" => server = Some(std::path::PathBuf::from(value()?)),
            "--full" => full = true,
            _ => bail!("unknown argument `{arg}`\nusage: {USAGE}"),
        }
    }
    if !(10..=600).contains(&seconds) || batches <= 2 * ROUND_BATCHES || !(1..=5).contains(&rounds)
    {
        bail!(
            "--seconds 10–600, --batches > {}, --rounds 1–5",
            2 * ROUND_BATCHES
        );
    }
    Cluster::preflight()?;
    let (record, bench, cluster) =
        super::begin_on_postgres(root, server, "alerts", "Alerting benchmark")?;
    let made = Instant::now();
    let work = fleet(batches, full)?;
    println!(
        "made {} gzipped batches ({:.1} MiB) in {:.1} s",
        work.batches.len() * batches,
        work.bytes() as f64 / (1 << 20) as f64,
        made.elapsed().as_secs_f64()
    );
    let mut phases = Phases::default();
    for round in 0..rounds {
        // off on, then on off: linear drift cancels over two rounds.
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for alerting in order {
            let name = format!("alerts_{}_{round}", if alerting { "on" } else { "off" });
            let run = run(&bench, &cluster, &work, seconds, alerting, &name)?;
            // An even start for the next phase: no dirty pages of this one.
            cluster.psql("postgres", &format!("DROP DATABASE {name}"))?;
            if alerting {
                phases.on.push(run);
            } else {
                phases.off.push(run.window);
            }
        }
    }
    report(&phases);
    record.append(root, &figures(&phases, full))?;
    Ok(())
}

/// One run: its window, and with alerting the probes' latencies.
pub(super) struct Run {
    pub(super) window: Window,
    /// Per probe answered: (sent → notified, answered → notified), ms.
    pub(super) latencies: Vec<(f64, f64)>,
    pub(super) probes: usize,
}

fn run(
    bench: &Ingest,
    cluster: &Cluster,
    work: &Workload,
    seconds: u64,
    alerting: bool,
    name: &str,
) -> anyhow::Result<Run> {
    println!(
        "\n{}: {} agents, {seconds} s",
        if alerting { "10 000 rules" } else { "no rules" },
        work.names.len()
    );
    let (url, data_dir) = bench.database(Backend::Postgres, Some(cluster), name)?;
    let mut server = Server::start(&bench.setup(url, data_dir.0.clone(), 16, None, name))?;
    let admin = server.login()?;
    let mut names = work.names.clone();
    names.push("bench-probe".into());
    let mut agents = server.enroll(&admin, &names)?;
    let probe = agents.pop().context("no probe agent")?;
    let (prime, rest) = split(work, ROUND_BATCHES);
    let primed = Instant::now();
    post_all(&server, &agents, &prime)?;
    println!(
        "  one round of every check stored in {:.1} s",
        primed.elapsed().as_secs_f64()
    );
    let hook = if alerting {
        let hook = Hook::start()?;
        let made = Instant::now();
        configure(&server, &admin, &hook.url)?;
        println!(
            "  {RULES} rules, a channel and a route saved in {:.1} s",
            made.elapsed().as_secs_f64()
        );
        // Every replica re-reads rules within a second.
        std::thread::sleep(Duration::from_secs(2));
        Some(hook)
    } else {
        None
    };
    let settled = Instant::now();
    let (second, rest) = split(&rest, ROUND_BATCHES);
    post_all(&server, &agents, &second)?;
    cluster.psql(name, "ANALYZE")?;
    println!(
        "  a second round stored and the database analyzed in {:.1} s",
        settled.elapsed().as_secs_f64()
    );
    let (window, sent) = std::thread::scope(|s| -> anyhow::Result<_> {
        let probing = hook
            .as_ref()
            .map(|_| s.spawn(|| probe_loop(&server, &probe, seconds)));
        let window = load::run(
            &load::Target::one(&server),
            Some(cluster.pid()),
            &agents,
            &rest,
            seconds,
        )?;
        let sent = match probing {
            Some(h) => h
                .join()
                .map_err(|_| anyhow::anyhow!("the probe thread panicked"))??,
            None => HashMap::new(),
        };
        Ok((window, sent))
    })?;
    let latencies = match &hook {
        Some(hook) => notified(hook, &sent),
        None => Vec::new(),
    };
    server.check_alive()?;
    println!(
        "  {:.0} stored samples/s over {:.1} s ({} batches, {} errors)",
        window.samples / window.seconds,
        window.seconds,
        window.batches,
        window.errors
    );
    if let Some(e) = &window.first_error {
        println!("  first error: {e}");
    }
    Ok(Run {
        window,
        probes: sent.len(),
        latencies,
    })
}

/// Posts every batch of `work`, agent by agent.
fn post_all(server: &Server, agents: &[Agent], work: &Workload) -> anyhow::Result<()> {
    let mut client = server.client();
    for (agent, batches) in agents.iter().zip(&work.batches) {
        for b in batches {
            let r = client.request("POST", "/api/v1/ingest", &agent.ingest_headers(), b)?;
            if r.status != 200 {
                bail!("priming: HTTP {}: {}", r.status, r.text());
            }
        }
    }
    Ok(())
}

/// The webhook channel, one route with `group_wait = "0s"`, and a rule
/// per check.
fn configure(server: &Server, admin: &str, hook: &str) -> anyhow::Result<()> {
    let mut client = server.client();
    let mut put = |path: &str, body: serde_json::Value| -> anyhow::Result<()> {
        let headers = [
            ("Content-Type", "application/json"),
            ("Authorization", admin),
        ];
        let r = client.request("PUT", path, &headers, body.to_string().as_bytes())?;
        if !(200..300).contains(&r.status) {
            bail!("PUT {path}: HTTP {}: {}", r.status, r.text());
        }
        Ok(())
    };
    put(
        "/api/v1/alerts/channels/bench",
        serde_json::json!({"name": "bench", "kind": "webhook", "url": hook}),
    )?;
    put(
        "/api/v1/alerts/routes",
        serde_json::json!({"route": [{"channels": ["bench"], "group_wait": "0s"}]}),
    )?;
    for n in 0..RULES {
        put(
            &format!("/api/v1/alerts/rules/r-{n}"),
            serde_json::json!({"name": format!("r-{n}"), "select": {"check": format!("c-{n}")},
                "condition": {"kind": "threshold", "metric": "rtt_avg", "op": ">", "value": 1.0}}),
        )?;
    }
    Ok(())
}

/// Sends the probes; for each check probed, when it was sent and answered.
fn probe_loop(
    server: &Server,
    probe: &Agent,
    seconds: u64,
) -> anyhow::Result<HashMap<String, (Instant, Instant)>> {
    let mut client = server.client();
    let mut rng = Rng::new(0xA1E7);
    let mut sent = HashMap::new();
    // After the agents' warm-up batch, within the window.
    std::thread::sleep(Duration::from_secs(3));
    let end = Instant::now() + Duration::from_secs(seconds.saturating_sub(5));
    for i in 0..PROBES {
        if Instant::now() >= end {
            break;
        }
        let check = format!("c-{}", (i * 167 + 11) % RULES);
        let result = slim(ping_result(
            &mut rng,
            &probe.name,
            &check,
            "10.99.0.1",
            Utc::now(),
            1.5,
        ));
        let batch = gzip_batch(vec![result])?;
        let at = Instant::now();
        let r = client.request("POST", "/api/v1/ingest", &probe.ingest_headers(), &batch)?;
        if r.status != 200 {
            bail!("probe: HTTP {}: {}", r.status, r.text());
        }
        sent.insert(check, (at, Instant::now()));
        std::thread::sleep(PROBE_EVERY);
    }
    Ok(sent)
}

/// Waits (bounded) for a notification per probe; the latencies found.
fn notified(hook: &Hook, sent: &HashMap<String, (Instant, Instant)>) -> Vec<(f64, f64)> {
    let deadline = Instant::now() + GRACE;
    let mut found: HashMap<String, Instant> = HashMap::new();
    while found.len() < sent.len() && Instant::now() < deadline {
        for (at, body) in hook.received() {
            let Ok(n) = serde_json::from_slice::<serde_json::Value>(&body) else {
                continue;
            };
            if n["state"] == "firing"
                && let Some(check) = n["check"].as_str()
            {
                found.entry(check.to_owned()).or_insert(at);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    sent.iter()
        .filter_map(|(check, (posted, answered))| {
            let at = found.get(check)?;
            Some((
                ms(at.saturating_duration_since(*posted)),
                ms(at.saturating_duration_since(*answered)),
            ))
        })
        .collect()
}

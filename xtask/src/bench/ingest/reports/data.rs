//! The reports benchmark's month, written straight into the rollup
//! tables (a month of 10 000 series' raw results would take the ingest
//! path hours): every series' hour rows over the reported month and the
//! one before, and minute rows where the report reads minutes, the hours
//! of each outage and the hour after. Outages are drawn from a seeded
//! generator, so the figures the report must give are known here.

use chrono::{DateTime, Duration, Utc};

use super::super::postgres::Cluster;
use super::super::workload::Rng;

/// Agents (`site-0` … `site-9`) and check targets (`c-0000` …), each run
/// by every agent once a minute.
pub(super) const AGENTS: usize = 10;
pub(super) const TARGETS: usize = 1000;
/// Every `OUTAGE_EVERY`-th target has `OUTAGES` outages a month.
const OUTAGE_EVERY: usize = 10;
const OUTAGES: usize = 3;
/// Sketch variants of an hour's (or minute's) latency rows.
const VARIANTS: usize = 64;
/// The SLA's quorum: a minute fails when this many agents failed.
pub(super) const QUORUM: usize = 2;

/// Some agents of one target failing every run over `[start, end)`.
#[derive(Debug, Clone)]
pub(super) struct Outage {
    pub(super) target: usize,
    pub(super) agents: Vec<usize>,
    pub(super) start: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
}

/// The figures a report over `[from, to)` must give.
#[derive(Debug, PartialEq)]
pub(super) struct Expected {
    pub(super) runs: u64,
    pub(super) failed: u64,
    pub(super) outvoted: u64,
    pub(super) incidents: u64,
}

/// The outages over `[from, to)`: in each month, `OUTAGES` a target for
/// every tenth target, one in each third of the month (so they never
/// touch), 5 to 90 minutes long on 1 to 4 agents; some of the first
/// month's cross its end.
pub(super) fn outages(months: &[(DateTime<Utc>, DateTime<Utc>)]) -> Vec<Outage> {
    let mut rng = Rng::new(0x5EA7);
    let mut out = Vec::new();
    for (m, (from, to)) in months.iter().enumerate() {
        let third = (*to - *from).num_minutes() / OUTAGES as i64;
        for target in (0..TARGETS).step_by(OUTAGE_EVERY) {
            for k in 0..OUTAGES as i64 {
                let minutes = 5 + (rng.unit() * 86.0) as i64;
                let offset = 100 + (rng.unit() * (third - 200) as f64) as i64;
                // The last outage of some targets in the first month runs
                // into the next.
                let offset = if k == 2 && target % 70 == 0 && m == 0 {
                    third - minutes / 2
                } else {
                    offset
                };
                let start = *from + Duration::minutes(k * third + offset);
                let n = 1 + (rng.unit() * 4.0) as usize;
                let mut agents: Vec<usize> = Vec::new();
                while agents.len() < n {
                    let a = (rng.unit() * AGENTS as f64) as usize;
                    if !agents.contains(&a) {
                        agents.push(a);
                    }
                }
                agents.sort_unstable();
                out.push(Outage {
                    target,
                    agents,
                    start,
                    end: start + Duration::minutes(minutes),
                });
            }
        }
    }
    out
}

/// What a report over `[from, to)` counts of these outages, with every
/// agent running every target once a minute.
pub(super) fn expected(outages: &[Outage], from: DateTime<Utc>, to: DateTime<Utc>) -> Expected {
    let minutes = (to - from).num_minutes() as u64;
    let mut e = Expected {
        runs: minutes * (AGENTS * TARGETS) as u64,
        failed: 0,
        outvoted: 0,
        incidents: 0,
    };
    for o in outages {
        let (start, end) = (o.start.max(from), o.end.min(to));
        if start >= end {
            continue;
        }
        let runs = (end - start).num_minutes() as u64 * o.agents.len() as u64;
        if o.agents.len() >= QUORUM {
            e.failed += runs;
            e.incidents += 1;
        } else {
            e.outvoted += runs;
        }
    }
    e
}

/// Writes the rollups of every `check_up`, `rtt` and `loss` series the
/// ingest made over `[from, to)` (whole months), with `outages`.
pub(super) fn load(
    cluster: &Cluster,
    db: &str,
    outages: &[Outage],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<()> {
    let sql = |command: &str| cluster.psql(db, command).map(drop);
    sql(
        "CREATE TABLE bench_sketch (kind text, k int, n int8, sum float8, min float8,
             max float8, sketch bytea, PRIMARY KEY (kind, k))",
    )?;
    sql(&format!(
        "INSERT INTO bench_sketch VALUES {}",
        sketch_rows().join(",")
    ))?;
    sql("CREATE TABLE bench_outage (target int, agent int, s timestamptz, e timestamptz)")?;
    let rows: Vec<String> = outages
        .iter()
        .flat_map(|o| {
            o.agents.iter().map(|a| {
                format!(
                    "({}, {a}, '{}', '{}')",
                    o.target,
                    o.start.to_rfc3339(),
                    o.end.to_rfc3339()
                )
            })
        })
        .collect();
    sql(&format!(
        "INSERT INTO bench_outage VALUES {}",
        rows.join(",")
    ))?;
    sql("CREATE INDEX ON bench_outage (target, agent)")?;
    sql("ANALYZE bench_outage")?;
    // Each series: its metric, target and agent by number.
    sql("CREATE TABLE bench_series AS
         SELECT s.id, s.metric, substr(c.name, 3)::int AS target,
                substr(a.name, 6)::int AS agent
         FROM series s JOIN checks c ON c.id = s.check_id JOIN agents a ON a.id = c.agent_id
         WHERE s.metric IN ('check_up', 'rtt', 'loss') AND s.labels = '{}'")?;
    let found = cluster.psql(db, "SELECT count(*) FROM bench_series")?;
    if found != (3 * AGENTS * TARGETS).to_string() {
        anyhow::bail!(
            "the ingest made {found} series, not {}",
            3 * AGENTS * TARGETS
        );
    }
    let (from, to) = (
        format!("'{}'::timestamptz", from.to_rfc3339()),
        format!("'{}'::timestamptz", to.to_rfc3339()),
    );
    // The hours read minute by minute: each outage's and the one after.
    sql(&format!(
        "CREATE TABLE bench_detail AS
         SELECT DISTINCT o.target, h AS hour
         FROM bench_outage o, generate_series(date_trunc('hour', o.s),
              date_trunc('hour', o.e - interval '1 second') + interval '1 hour',
              interval '1 hour') h
         WHERE h >= {from} AND h < {to}"
    ))?;
    // Their minutes: a failed run has no `rtt` and a `loss` of 1.
    sql(&format!(
        "INSERT INTO rollup_1m (series_id, bucket, n, sum, min, max, sketch)
         SELECT x.id, x.t, v.n, v.sum, v.min, v.max, v.sketch
         FROM (SELECT s.id, m.t, s.metric, f.down,
                      CASE s.metric WHEN 'check_up' THEN 'up1' WHEN 'loss' THEN 'loss1'
                           ELSE 'rtt1' END AS kind,
                      CASE WHEN s.metric = 'rtt'
                           THEN (s.id + extract(epoch FROM m.t)::int8 / 60) % {VARIANTS}
                           ELSE f.down::int END AS k
               FROM bench_detail d
               JOIN bench_series s ON s.target = d.target
               CROSS JOIN LATERAL generate_series(d.hour, d.hour + interval '59 minutes',
                    interval '1 minute') m(t)
               CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM bench_outage o
                    WHERE o.target = s.target AND o.agent = s.agent
                      AND m.t >= o.s AND m.t < o.e) AS down) f) x
         JOIN bench_sketch v ON v.kind = x.kind AND v.k = x.k
         WHERE NOT (x.metric = 'rtt' AND x.down)"
    ))?;
    // Every hour: the detailed ones' `check_up` and `loss` count their
    // minutes' failures (of these months: the rollup job has rolled up
    // the ingest's runs of today by now); the rest, and every `rtt` hour,
    // are a variant.
    sql(&format!(
        "INSERT INTO rollup_1h (series_id, bucket, n, sum, min, max, sketch)
         SELECT a.series_id, a.hour, v.n, v.sum, v.min, v.max, v.sketch
         FROM (SELECT m.series_id, date_trunc('hour', m.bucket) AS hour,
                      CASE s.metric WHEN 'check_up' THEN 'up60' ELSE 'loss60' END AS kind,
                      (CASE s.metric WHEN 'check_up' THEN count(*) - sum(m.sum)
                       ELSE sum(m.sum) END)::int AS k
               FROM rollup_1m m JOIN bench_series s ON s.id = m.series_id
               WHERE s.metric <> 'rtt' AND m.bucket >= {from} AND m.bucket < {to}
               GROUP BY m.series_id, date_trunc('hour', m.bucket), s.metric) a
         JOIN bench_sketch v ON v.kind = a.kind AND v.k = a.k"
    ))?;
    sql(&format!(
        "INSERT INTO rollup_1h (series_id, bucket, n, sum, min, max, sketch)
         SELECT s.id, h, v.n, v.sum, v.min, v.max, v.sketch
         FROM bench_series s
         CROSS JOIN generate_series({from}, {to} - interval '1 hour', interval '1 hour') h
         JOIN bench_sketch v ON v.kind = CASE s.metric WHEN 'check_up' THEN 'up60'
              WHEN 'loss' THEN 'loss60' ELSE 'rtt60' END
           AND v.k = CASE WHEN s.metric = 'rtt'
              THEN (s.id + extract(epoch FROM h)::int8 / 3600) % {VARIANTS} ELSE 0 END
         WHERE s.metric = 'rtt' OR NOT EXISTS (SELECT 1 FROM bench_detail d
               WHERE d.target = s.target AND d.hour = h)"
    ))?;
    sql("DROP TABLE bench_sketch, bench_outage, bench_series, bench_detail")?;
    // Their days, marked as the rollup marks the days of the hours it
    // writes: the server's rollup job writes their day rows.
    sql(&format!(
        "INSERT INTO rollup_days_dirty (day)
         SELECT generate_series({from}, {to} - interval '1 day', interval '1 day')
         ON CONFLICT DO NOTHING"
    ))?;
    // As autovacuum would soon after: the visibility map lets scans of
    // the rows skip the heap, and the planner knows their sizes.
    sql("VACUUM ANALYZE rollup_1m")?;
    sql("VACUUM ANALYZE rollup_1h")?;
    Ok(())
}

/// The rows of `bench_sketch`: `up1`/`loss1` (a minute, k failed runs),
/// `up60`/`loss60` (an hour of 60 runs, k failed), and `rtt1`/`rtt60`
/// variants (k < `VARIANTS`) around 10 to 60 ms.
fn sketch_rows() -> Vec<String> {
    let mut rows = Vec::new();
    let mut row = |kind: &str, k: usize, values: &[f64]| {
        let n = values.len();
        let sum: f64 = values.iter().sum();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(0.0, f64::max);
        rows.push(format!(
            "('{kind}', {k}, {n}, {sum}, {min}, {max}, '\\x{}')",
            hex(&sketch(values))
        ));
    };
    for (n, up, loss) in [(1, "up1", "loss1"), (60, "up60", "loss60")] {
        for failed in 0..=n {
            let ups: Vec<f64> = (0..n).map(|i| if i < failed { 0.0 } else { 1.0 }).collect();
            row(up, failed, &ups);
            let losses: Vec<f64> = ups.iter().map(|u| 1.0 - u).collect();
            row(loss, failed, &losses);
        }
    }
    let mut rng = Rng::new(0x7A7E);
    for k in 0..VARIANTS {
        let base = 0.010 + 0.050 * rng.unit();
        let one = [base * (0.9 + 0.3 * rng.unit())];
        row("rtt1", k, &one);
        let hour: Vec<f64> = (0..60).map(|_| base * (0.9 + 0.3 * rng.unit())).collect();
        row("rtt60", k, &hour);
    }
    rows
}

/// A sketch as the server stores it (server/src/store/sketch.rs, format
/// 1: the zero count, then each side's `(i32 index, u64 count)` pairs,
/// little-endian; bucket `i` holds `(γ^(i-1), γ^i]`, γ = 1.01/0.99). Values
/// here are 0 or positive. Should the format change, the server refuses
/// these rows and the benchmark stops with its error.
fn sketch(values: &[f64]) -> Vec<u8> {
    let gamma_ln = (1.01f64 / 0.99).ln();
    let mut zero = 0u64;
    let mut positive = std::collections::BTreeMap::<i32, u64>::new();
    for v in values {
        if *v <= 1e-12 {
            zero += 1;
        } else {
            *positive
                .entry((v.ln() / gamma_ln).ceil() as i32)
                .or_default() += 1;
        }
    }
    let mut out = vec![1u8];
    out.extend_from_slice(&zero.to_le_bytes());
    out.extend_from_slice(&(positive.len() as u32).to_le_bytes());
    for (i, c) in positive {
        out.extend_from_slice(&i.to_le_bytes());
        out.extend_from_slice(&c.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

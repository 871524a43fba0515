//! The server's own metrics, rendered in the Prometheus text exposition
//! format 0.0.4 (`promtool check metrics` accepts it; OpenMetrics it does not).
//!
//! A fixed set of families: counters and gauges are atomics, request
//! latencies a histogram per (route, method).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Latency bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.counts[i] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }
}

/// Outcomes of a batch at the ingest endpoint.
#[derive(Debug, Clone, Copy)]
pub enum BatchOutcome {
    Stored,
    Replayed,
    Rejected,
    Throttled,
}

#[derive(Debug, Default)]
pub struct Telemetry {
    batches: [AtomicU64; 4],
    results_stored: AtomicU64,
    results_duplicate: AtomicU64,
    results_expired: AtomicU64,
    samples_stored: AtomicU64,
    ingest_inflight: AtomicI64,
    ingest_waiting: AtomicI64,
    rollup_runs: AtomicU64,
    rollup_rows: AtomicU64,
    retention_deleted: AtomicU64,
    job_failures: AtomicU64,
    jobs_leader: AtomicI64,
    audit_failures: AtomicU64,
    agents_online: AtomicI64,
    agents_dropped_results: AtomicU64,
    requests: Mutex<BTreeMap<(String, &'static str, u16), u64>>,
    latency: Mutex<BTreeMap<(String, &'static str), Histogram>>,
}

impl Telemetry {
    pub fn batch(&self, outcome: BatchOutcome) {
        self.batches[outcome as usize].fetch_add(1, Relaxed);
    }

    pub fn stored(&self, results: u32, duplicates: u32, expired: u32, samples: u64) {
        self.results_stored.fetch_add(results.into(), Relaxed);
        self.results_duplicate.fetch_add(duplicates.into(), Relaxed);
        self.results_expired.fetch_add(expired.into(), Relaxed);
        self.samples_stored.fetch_add(samples, Relaxed);
    }

    /// A guard counting a batch as in flight (holding a connection) or waiting.
    pub fn ingest_gauge(&self, waiting: bool) -> GaugeGuard<'_> {
        let gauge = if waiting {
            &self.ingest_waiting
        } else {
            &self.ingest_inflight
        };
        gauge.fetch_add(1, Relaxed);
        GaugeGuard(gauge)
    }

    pub fn ingest_waiting(&self) -> i64 {
        self.ingest_waiting.load(Relaxed)
    }

    pub fn rollup(&self, rows: u64) {
        self.rollup_runs.fetch_add(1, Relaxed);
        self.rollup_rows.fetch_add(rows, Relaxed);
    }

    pub fn retention(&self, rows: u64) {
        self.retention_deleted.fetch_add(rows, Relaxed);
    }

    pub fn job_failed(&self) {
        self.job_failures.fetch_add(1, Relaxed);
    }

    /// Whether this replica leads the background jobs now.
    pub fn set_jobs_leader(&self, leads: bool) {
        self.jobs_leader.store(leads.into(), Relaxed);
    }

    pub fn audit_failed(&self) {
        self.audit_failures.fetch_add(1, Relaxed);
    }

    pub fn set_agents_online(&self, n: u64) {
        self.agents_online.store(n as i64, Relaxed);
    }

    pub fn set_agents_dropped_results(&self, n: u64) {
        self.agents_dropped_results.store(n, Relaxed);
    }

    pub fn samples_stored(&self) -> u64 {
        self.samples_stored.load(Relaxed)
    }

    fn request(&self, route: &str, method: &'static str, code: u16, elapsed: Duration) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_owned(), method, code)).or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            m.entry((route.to_owned(), method))
                .or_default()
                .observe(elapsed.as_secs_f64());
        }
    }

    /// The exposition text.
    pub fn render(&self, db_connections: (u32, u32)) -> String {
        let mut out = String::with_capacity(4096);
        let batches = ["stored", "replayed", "rejected", "throttled"];
        family(
            &mut out,
            "vantage_ingest_batches_total",
            "counter",
            "Ingest batches by outcome.",
        );
        for (i, name) in batches.iter().enumerate() {
            let _ = writeln!(
                out,
                "vantage_ingest_batches_total{{outcome=\"{name}\"}} {}",
                self.batches[i].load(Relaxed)
            );
        }
        family(
            &mut out,
            "vantage_ingest_results_total",
            "counter",
            "Results received by outcome.",
        );
        for (name, v) in [
            ("stored", &self.results_stored),
            ("duplicate", &self.results_duplicate),
            ("expired", &self.results_expired),
        ] {
            let _ = writeln!(
                out,
                "vantage_ingest_results_total{{outcome=\"{name}\"}} {}",
                v.load(Relaxed)
            );
        }
        scalar(
            &mut out,
            "vantage_ingest_samples_total",
            "counter",
            "Samples stored.",
            self.samples_stored.load(Relaxed) as f64,
        );
        scalar(
            &mut out,
            "vantage_ingest_inflight",
            "gauge",
            "Batches being stored now.",
            self.ingest_inflight.load(Relaxed) as f64,
        );
        scalar(
            &mut out,
            "vantage_ingest_waiting",
            "gauge",
            "Batches queued for a database connection.",
            self.ingest_waiting.load(Relaxed) as f64,
        );
        scalar(
            &mut out,
            "vantage_rollup_runs_total",
            "counter",
            "Rollup rounds completed.",
            self.rollup_runs.load(Relaxed) as f64,
        );
        scalar(
            &mut out,
            "vantage_rollup_rows_total",
            "counter",
            "Rollup rows written.",
            self.rollup_rows.load(Relaxed) as f64,
        );
        scalar(
            &mut out,
            "vantage_retention_deleted_rows_total",
            "counter",
            "Rows removed by retention.",
            self.retention_deleted.load(Relaxed) as f64,
        );
        scalar(
            &mut out,
            "vantage_job_failures_total",
            "counter",
            "Background job rounds that failed.",
            self.job_failures.load(Relaxed) as f64,
        );
        scalar(
            &mut out,
            "vantage_jobs_leader",
            "gauge",
            "1 while this replica leads the background jobs (rollups, retention, partitions).",
            self.jobs_leader.load(Relaxed) as f64,
        );
        scalar(
            &mut out,
            "vantage_audit_failures_total",
            "counter",
            "Changes made that could not be written to the audit log.",
            self.audit_failures.load(Relaxed) as f64,
        );
        scalar(
            &mut out,
            "vantage_agents_online",
            "gauge",
            "Agents heard from recently.",
            self.agents_online.load(Relaxed) as f64,
        );
        scalar(
            &mut out,
            "vantage_agent_outbox_dropped_results",
            "gauge",
            "Results agents report dropped by their outbox bound, summed over agents.",
            self.agents_dropped_results.load(Relaxed) as f64,
        );
        let (size, idle) = db_connections;
        family(
            &mut out,
            "vantage_db_pool_connections",
            "gauge",
            "Database connections by state.",
        );
        let _ = writeln!(out, "vantage_db_pool_connections{{state=\"idle\"}} {idle}");
        let _ = writeln!(
            out,
            "vantage_db_pool_connections{{state=\"busy\"}} {}",
            size.saturating_sub(idle)
        );
        if let Ok(m) = self.requests.lock() {
            family(
                &mut out,
                "vantage_http_requests_total",
                "counter",
                "HTTP requests by route, method and status code.",
            );
            for ((route, method, code), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "vantage_http_requests_total{{route=\"{}\",method=\"{method}\",code=\"{code}\"}} {n}",
                    escape(route)
                );
            }
        }
        if let Ok(m) = self.latency.lock() {
            family(
                &mut out,
                "vantage_http_request_duration_seconds",
                "histogram",
                "HTTP request latency by route and method.",
            );
            for ((route, method), h) in m.iter() {
                let labels = format!("route=\"{}\",method=\"{method}\"", escape(route));
                let mut cumulative = 0;
                for (bound, n) in BUCKETS.iter().zip(h.counts) {
                    cumulative += n;
                    let _ = writeln!(
                        out,
                        "vantage_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                    );
                }
                let _ = writeln!(
                    out,
                    "vantage_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "vantage_http_request_duration_seconds_sum{{{labels}}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "vantage_http_request_duration_seconds_count{{{labels}}} {}",
                    h.count
                );
            }
        }
        crate::process_stats::render(&mut out);
        out
    }
}

/// Decrements its gauge when dropped.
#[derive(Debug)]
pub struct GaugeGuard<'a>(&'a AtomicI64);

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn scalar(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn method_name(m: &axum::http::Method) -> &'static str {
    match *m {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::PATCH => "PATCH",
        axum::http::Method::HEAD => "HEAD",
        _ => "OTHER",
    }
}

/// Middleware: counts each request and observes its latency, labelled by
/// the matched route template (never the raw path, which is unbounded).
pub async fn track(
    State(t): State<std::sync::Arc<Telemetry>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = method_name(request.method());
    let start = Instant::now();
    let response = next.run(request).await;
    t.request(&route, method, response.status().as_u16(), start.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_every_request() {
        let t = Telemetry::default();
        t.request("/a", "GET", 200, Duration::from_millis(3));
        t.request("/a", "GET", 500, Duration::from_secs(30));
        let text = t.render((4, 3));
        assert!(text.contains("vantage_http_request_duration_seconds_bucket{route=\"/a\",method=\"GET\",le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2"), "{text}");
        assert!(
            text.contains(
                "vantage_http_requests_total{route=\"/a\",method=\"GET\",code=\"500\"} 1"
            )
        );
        assert!(text.contains("vantage_db_pool_connections{state=\"busy\"} 1"));
    }
}

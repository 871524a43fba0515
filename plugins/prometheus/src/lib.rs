//! `prometheus`: scrapes a Prometheus or OpenMetrics endpoint (the check's
//! target URL) and reports its series as Vantage samples: gauges as they
//! are, counters as rates per second between runs (or raw, as configured),
//! each in the unit its name ends in. The operator's allow and deny lists
//! pick metrics and label values; `max_series` bounds what one target may
//! send, and what was left out is reported by reason.

mod exposition;
mod select;

use std::collections::BTreeMap;

use vantage_plugin_sdk::prelude::*;

use crate::exposition::Kind;
use crate::select::{Drop, Filters, Kept};

/// What Prometheus sends, so an exporter that speaks both picks OpenMetrics.
const ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The plugin's own metrics (declared in the manifest); a scraped series
/// of the same name is dropped rather than mixed with them.
const OWN_METRICS: [&str; 6] = [
    "scrape_duration",
    "scrape_size",
    "series_scraped",
    "series_kept",
    "series_dropped",
    "bad_lines",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    timeout_ms: Option<u32>,
    #[serde(default = "default_true")]
    tls_verify: bool,
    #[serde(default = "default_body_max")]
    body_max: u32,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
    #[serde(default)]
    allow_labels: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    deny_labels: BTreeMap<String, Vec<String>>,
    #[serde(default = "default_max_series")]
    max_series: u32,
    #[serde(default)]
    counters: CounterMode,
}

/// How counters are reported.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum CounterMode {
    /// Change per second since the previous run, as `<name>_per_second`.
    #[default]
    Rate,
    /// The counter's value, under its own name.
    Raw,
}

fn default_true() -> bool {
    true
}

fn default_body_max() -> u32 {
    4 << 20
}

fn default_max_series() -> u32 {
    1000
}

struct Prometheus;

impl Probe for Prometheus {
    type Config = Config;

    fn run(ctx: &Context, config: Config) -> Outcome {
        let mut headers: Vec<(String, String)> = config.headers.into_iter().collect();
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("accept"))
        {
            headers.push(("Accept".into(), ACCEPT.into()));
        }
        let request = http::Request {
            method: "GET".into(),
            url: ctx.target.trim().to_owned(),
            headers,
            body: None,
            timeout_ms: ctx.request_timeout_ms(config.timeout_ms),
            delay_ms: 0,
            max_redirects: 3,
            tls_verify: config.tls_verify,
            body_max: config.body_max,
        };
        let response = match http::send(&request) {
            Ok(response) => response,
            Err(error) => return error.into(),
        };
        let at_ms = clock::wall_ms();
        let took = Outcome::ok().sample(
            "scrape_duration",
            (response.timing.redirect_ns + response.timing.done_ns) as f64,
            Unit::Nanoseconds,
        );
        if !(200..300).contains(&response.status) {
            return took.status(Status::Error).message(format!(
                "status {} from {}",
                response.status, response.final_url
            ));
        }
        if response.body_truncated {
            return took.status(Status::Error).message(format!(
                "the exposition from {} is larger than body_max ({} bytes)",
                response.final_url, config.body_max
            ));
        }
        let text = String::from_utf8_lossy(&response.body);
        let exposition = exposition::parse(&text);
        let scraped = exposition.series.len();
        let filters = Filters {
            allow: config.allow,
            deny: config.deny,
            allow_labels: config.allow_labels,
            deny_labels: config.deny_labels,
        };
        let mut selection = filters.select(exposition.series, config.max_series as usize);
        let mut outcome = took
            .sample("scrape_size", response.body.len() as f64, Unit::Bytes)
            .sample("series_scraped", scraped as f64, Unit::Count)
            .sample("bad_lines", exposition.bad_lines as f64, Unit::Count);
        let mut notes = Vec::new();
        let (samples, pending) = report(
            std::mem::take(&mut selection.kept),
            config.counters,
            at_ms,
            &mut selection.dropped,
        );
        outcome = outcome.sample("series_kept", samples.len() as f64, Unit::Count);
        for (why, n) in &selection.dropped {
            outcome = outcome
                .sample("series_dropped", *n as f64, Unit::Count)
                .with_label("reason", why.as_str());
        }
        if let Some(n) = selection.dropped.get(&Drop::Limit) {
            notes.push(format!(
                "{n} series over max_series ({}) were dropped",
                config.max_series
            ));
        }
        if pending > 0 {
            notes.push(format!(
                "{pending} counters report their rates from the next run"
            ));
        }
        if let Some(first) = exposition.errors.first() {
            notes.push(format!(
                "{} lines could not be read ({first})",
                exposition.bad_lines
            ));
        }
        outcome.samples.extend(samples);
        if notes.is_empty() {
            outcome
        } else {
            outcome.message(notes.join("; "))
        }
    }
}

/// The kept series as samples. In rate mode each counter becomes its rate
/// since the previous run (from the check's state, which this run
/// replaces); the second figure counts counters with no rate yet. Names too
/// long for a rate, or taken by the plugin's own metrics, are counted in
/// `dropped`.
fn report(
    kept: Vec<Kept>,
    mode: CounterMode,
    at_ms: u64,
    dropped: &mut BTreeMap<Drop, usize>,
) -> (Vec<Sample>, usize) {
    let rates = mode == CounterMode::Rate && kept.iter().any(|k| k.kind == Kind::Counter);
    let earlier = if rates { Counters::previous() } else { None };
    let mut now = Counters::new(at_ms);
    let mut samples = Vec::with_capacity(kept.len());
    let mut pending = 0;
    for k in kept {
        let unit = unit_of(&k.name, k.kind);
        let (name, value, unit) = if rates && k.kind == Kind::Counter {
            let key = counter_key(&k.name, &k.labels);
            now.insert(key.clone(), k.value);
            let Some(rate) = earlier.as_ref().and_then(|e| now.rate(e, &key)) else {
                pending += 1;
                continue;
            };
            let stem = k.name.strip_suffix("_total").unwrap_or(&k.name);
            let unit = if unit == Unit::Seconds {
                Unit::Ratio
            } else {
                unit
            };
            (format!("{stem}_per_second"), rate, unit)
        } else {
            (k.name, k.value, unit)
        };
        if name.len() > 64 || OWN_METRICS.contains(&name.as_str()) {
            *dropped.entry(Drop::Name).or_default() += 1;
            continue;
        }
        samples.push(Sample {
            metric: name,
            value,
            unit,
            labels: k.labels,
        });
    }
    if rates && let Err(e) = now.save() {
        log::write(
            log::Level::Warn,
            &format!("counters not kept for the next run: {e}"),
        );
    }
    (samples, pending)
}

/// The unit a Prometheus name ends in (its base-unit suffix, before
/// `_total` or `_sum`); buckets and counts count; other counters are
/// counts and other gauges have no unit.
fn unit_of(name: &str, kind: Kind) -> Unit {
    if kind == Kind::Counter && (name.ends_with("_bucket") || name.ends_with("_count")) {
        return Unit::Count;
    }
    let stem = name
        .strip_suffix("_total")
        .or_else(|| name.strip_suffix("_sum"))
        .unwrap_or(name);
    match stem.rsplit('_').next() {
        Some("seconds") => Unit::Seconds,
        Some("bytes") => Unit::Bytes,
        Some("ratio") => Unit::Ratio,
        Some("percent") => Unit::Percent,
        Some("hertz") => Unit::Hertz,
        _ if kind == Kind::Counter => Unit::Count,
        _ => Unit::None,
    }
}

vantage_plugin_sdk::export_probe!(Prometheus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_come_from_the_name_suffix() {
        for (name, kind, unit) in [
            ("node_cpu_seconds_total", Kind::Counter, Unit::Seconds),
            (
                "node_network_receive_bytes_total",
                Kind::Counter,
                Unit::Bytes,
            ),
            ("http_requests_total", Kind::Counter, Unit::Count),
            ("rpc_duration_seconds_sum", Kind::Counter, Unit::Seconds),
            ("rpc_duration_seconds_bucket", Kind::Counter, Unit::Count),
            ("rpc_duration_seconds_count", Kind::Counter, Unit::Count),
            ("node_memory_free_bytes", Kind::Gauge, Unit::Bytes),
            ("node_load1", Kind::Gauge, Unit::None),
            ("disk_used_ratio", Kind::Gauge, Unit::Ratio),
            ("node_cpu_scaling_frequency_hertz", Kind::Gauge, Unit::Hertz),
        ] {
            assert_eq!(unit_of(name, kind), unit, "{name}");
        }
    }
}

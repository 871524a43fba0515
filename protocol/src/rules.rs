//! What makes a result valid: one set of limits and one check, used by the
//! agent's normaliser, the server's ingest validation and manifest
//! validation, so that no result is accepted by one side and refused by the
//! other.
//!
//! ```
//! use vantage_protocol::rules::{self, Problem};
//!
//! assert!(rules::check_metric_name("rtt_p95").is_ok());
//! assert!(rules::check_metric_name("check_up").is_err()); // the server's own series
//! assert!(rules::check_metric_name("Bad-Name").is_err());
//! assert_eq!(rules::MAX_LABEL_VALUE, 256);
//! ```

use std::collections::BTreeMap;

use crate::result::{CheckResult, Distribution, Event, Sample};

/// Longest metric or label name, in bytes (names are ASCII).
pub const MAX_NAME: usize = 64;
/// Labels per sample.
pub const MAX_LABELS: usize = 16;
/// Longest label value, in bytes of UTF-8.
pub const MAX_LABEL_VALUE: usize = 256;
/// Values in one distribution (a ping of 1,000 packets needs 1,000).
pub const MAX_DISTRIBUTION_VALUES: usize = 10_000;
/// Events one result carries; the agent counts and drops those beyond.
pub const MAX_EVENTS: usize = 100;
/// Longest event text, in bytes of UTF-8; the agent cuts longer ones.
pub const MAX_EVENT_TEXT: usize = 2048;
/// Longest result message, in bytes of UTF-8; the agent clips longer ones.
pub const MAX_MESSAGE: usize = 4096;
/// Longest check or plugin name in a result, in bytes.
pub const MAX_CHECK_NAME: usize = 128;
/// Longest target, in bytes.
pub const MAX_TARGET: usize = 512;
/// Longest plugin version string, in bytes.
pub const MAX_VERSION: usize = 64;
/// The server's availability series: 1 for a result with status ok, else 0.
pub const CHECK_UP: &str = "check_up";
/// Metric names the server derives itself: a plugin may not declare or emit them.
pub const RESERVED_METRICS: &[&str] = &[CHECK_UP];

/// The pattern metric and label names follow, as shown in refusals.
pub const NAME_PATTERN: &str = "^[a-z][a-z0-9_]{0,63}$";

/// One broken rule: the JSON path of the field (relative to what was
/// checked) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// e.g. `samples[2].labels.hop`.
    pub field: String,
    /// A lower-case sentence fragment, e.g. `is longer than 256 bytes`.
    pub reason: String,
}

impl Problem {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.field, self.reason)
    }
}

/// Whether `s` matches [`NAME_PATTERN`] (metric and label names).
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && s.len() <= MAX_NAME
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// A metric name a plugin may declare and emit: [`NAME_PATTERN`] and not
/// [reserved](RESERVED_METRICS).
pub fn check_metric_name(name: &str) -> Result<(), String> {
    if !is_name(name) {
        Err(format!("must match {NAME_PATTERN}"))
    } else if RESERVED_METRICS.contains(&name) {
        Err(format!("`{name}` is reserved for the server's own series"))
    } else {
        Ok(())
    }
}

/// Every rule one sample breaks; fields are relative to the sample
/// (`metric`, `value`, `labels`, `labels.KEY`).
pub fn check_sample(s: &Sample) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Err(reason) = check_metric_name(&s.metric) {
        problems.push(Problem::new("metric", reason));
    }
    if !s.value.is_finite() {
        problems.push(Problem::new("value", "must be a finite number"));
    }
    problems.extend(check_labels(&s.labels));
    problems
}

/// Every rule one distribution breaks; fields are relative to it (`metric`,
/// `values`, `values[i]`, `labels.KEY`).
pub fn check_distribution(d: &Distribution) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Err(reason) = check_metric_name(&d.metric) {
        problems.push(Problem::new("metric", reason));
    }
    if d.values.is_empty() {
        problems.push(Problem::new("values", "must hold at least one value"));
    } else if d.values.len() > MAX_DISTRIBUTION_VALUES {
        problems.push(Problem::new(
            "values",
            format!("holds more than {MAX_DISTRIBUTION_VALUES} values"),
        ));
    }
    if let Some(i) = d.values.iter().position(|v| !v.is_finite()) {
        problems.push(Problem::new(
            format!("values[{i}]"),
            "must be a finite number",
        ));
    }
    problems.extend(check_labels(&d.labels));
    problems
}

/// Every rule one event breaks; fields are relative to it (`text`,
/// `labels.KEY`).
pub fn check_event(e: &Event) -> Vec<Problem> {
    let mut problems = Vec::new();
    if e.text.len() > MAX_EVENT_TEXT {
        problems.push(Problem::new(
            "text",
            format!("is longer than {MAX_EVENT_TEXT} bytes"),
        ));
    }
    problems.extend(check_labels(&e.labels));
    problems
}

/// The label rules of samples and distributions: how many, their names and
/// the length of their values.
fn check_labels(labels: &BTreeMap<String, String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    if labels.len() > MAX_LABELS {
        problems.push(Problem::new(
            "labels",
            format!("has more than {MAX_LABELS} labels"),
        ));
    }
    for (k, v) in labels {
        let field = format!("labels.{}", crate::text::prefix(k, MAX_NAME));
        if !is_name(k) {
            problems.push(Problem::new(
                field.clone(),
                format!("label names must match {NAME_PATTERN}"),
            ));
        }
        if v.len() > MAX_LABEL_VALUE {
            problems.push(Problem::new(
                field,
                format!("is longer than {MAX_LABEL_VALUE} bytes"),
            ));
        }
    }
    problems
}

/// A name or target field of a result: not empty, at most `max` bytes, no
/// control characters.
pub fn check_text(value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() {
        Err("must not be empty".into())
    } else if value.len() > max {
        Err(format!("is longer than {max} bytes"))
    } else if value.chars().any(char::is_control) {
        Err("contains control characters".into())
    } else {
        Ok(())
    }
}

/// Every rule a result breaks by itself (who sent it and when it was
/// stamped are the receiver's to check).
pub fn check_result(r: &CheckResult) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (field, value, max) in [
        ("check", &r.check, MAX_CHECK_NAME),
        ("target", &r.target, MAX_TARGET),
        ("plugin", &r.plugin, MAX_CHECK_NAME),
        ("plugin_version", &r.plugin_version, MAX_VERSION),
    ] {
        if let Err(reason) = check_text(value, max) {
            problems.push(Problem::new(field, reason));
        }
    }
    if !r.plugin_version.is_empty() && semver::Version::parse(&r.plugin_version).is_err() {
        problems.push(Problem::new("plugin_version", "is not a semantic version"));
    }
    if !(r.duration.is_finite() && r.duration >= 0.0) {
        problems.push(Problem::new(
            "duration",
            "must be a finite number of seconds ≥ 0",
        ));
    }
    if r.message.as_ref().is_some_and(|m| m.len() > MAX_MESSAGE) {
        problems.push(Problem::new(
            "message",
            format!("is longer than {MAX_MESSAGE} bytes"),
        ));
    }
    for (j, s) in r.samples.iter().enumerate() {
        for p in check_sample(s) {
            problems.push(Problem::new(format!("samples[{j}].{}", p.field), p.reason));
        }
    }
    for (j, d) in r.distributions.iter().enumerate() {
        for p in check_distribution(d) {
            problems.push(Problem::new(
                format!("distributions[{j}].{}", p.field),
                p.reason,
            ));
        }
    }
    if r.events.len() > MAX_EVENTS {
        problems.push(Problem::new(
            "events",
            format!("holds more than {MAX_EVENTS} events"),
        ));
    }
    for (j, e) in r.events.iter().enumerate() {
        for p in check_event(e) {
            problems.push(Problem::new(format!("events[{j}].{}", p.field), p.reason));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::manifest::BaseUnit;
    use crate::result::Status;

    fn sample(labels: &[(&str, String)]) -> Sample {
        Sample {
            metric: "rtt".into(),
            unit: BaseUnit::Seconds,
            value: 0.001,
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn names_follow_one_pattern() {
        assert!(is_name("rtt_p95") && is_name("a") && is_name(&"a".repeat(64)));
        for bad in ["", "9lives", "a-b", "Rtt", "ä", &"a".repeat(65)] {
            assert!(!is_name(bad), "{bad}");
        }
    }

    #[test]
    fn label_values_are_limited_in_bytes_not_characters() {
        assert!(check_sample(&sample(&[("hop", "x".repeat(256))])).is_empty());
        let p = check_sample(&sample(&[("hop", "x".repeat(257))]));
        assert_eq!(p[0].field, "labels.hop");
        // 86 euro signs are 258 bytes but 86 characters.
        let p = check_sample(&sample(&[("hop", "€".repeat(86))]));
        assert_eq!(p[0].reason, "is longer than 256 bytes");
    }

    #[test]
    fn label_keys_reserved_metrics_and_values_are_named() {
        let mut s = sample(&[("Bad Key", "v".into())]);
        s.metric = "check_up".into();
        s.value = f64::NAN;
        let fields: Vec<_> = check_sample(&s).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["metric", "value", "labels.Bad Key"]);
    }

    #[test]
    fn a_distribution_holds_one_to_the_limit_of_finite_values() {
        let d = |values: Vec<f64>| Distribution {
            metric: "rtt".into(),
            unit: BaseUnit::Seconds,
            values,
            labels: BTreeMap::new(),
        };
        assert!(check_distribution(&d(vec![0.001; MAX_DISTRIBUTION_VALUES])).is_empty());
        let fields = |v| -> Vec<String> {
            check_distribution(&d(v))
                .into_iter()
                .map(|p| p.field)
                .collect()
        };
        assert_eq!(fields(vec![]), ["values"]);
        assert_eq!(fields(vec![0.001; MAX_DISTRIBUTION_VALUES + 1]), ["values"]);
        assert_eq!(fields(vec![0.001, 0.002, f64::NAN]), ["values[2]"]);
    }

    #[test]
    fn a_result_carries_at_most_the_limit_of_events() {
        let event = Event {
            at: chrono::Utc::now(),
            text: "ERROR disk full".into(),
            labels: BTreeMap::new(),
        };
        let mut r: CheckResult = serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::nil(), "agent": "a", "check": "c", "target": "t",
            "plugin": "p", "plugin_version": "1.0.0", "status": "ok",
            "started_at": "2026-12-07T00:00:00Z", "duration": 0.1, "samples": []
        }))
        .unwrap();
        assert!(r.events.is_empty(), "events are optional on the wire");
        r.events = vec![event; MAX_EVENTS];
        assert!(check_result(&r).is_empty());
        r.events.push(r.events[0].clone());
        let fields: Vec<_> = check_result(&r).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["events"]);
    }

    #[test]
    fn a_result_names_each_bad_field_with_its_path() {
        let r = CheckResult {
            id: uuid::Uuid::nil(),
            agent: "a".into(),
            check: String::new(),
            target: "t\n".into(),
            plugin: "p".into(),
            plugin_version: "one".into(),
            status: Status::Ok,
            started_at: chrono::Utc::now(),
            duration: -1.0,
            message: Some("€".repeat(1366)),
            samples: vec![sample(&[]), sample(&[("k", "v".repeat(300))])],
            distributions: vec![Distribution {
                metric: "rtt".into(),
                unit: BaseUnit::Seconds,
                values: vec![0.001, f64::INFINITY],
                labels: BTreeMap::new(),
            }],
            events: vec![
                Event {
                    at: chrono::Utc::now(),
                    text: "x".repeat(MAX_EVENT_TEXT),
                    labels: BTreeMap::new(),
                },
                Event {
                    at: chrono::Utc::now(),
                    text: "€".repeat(683),
                    labels: BTreeMap::from([("Source".into(), "f".into())]),
                },
            ],
        };
        let fields: Vec<_> = check_result(&r).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "check",
                "target",
                "plugin_version",
                "duration",
                "message",
                "samples[1].labels.k",
                "distributions[0].values[1]",
                "events[1].text",
                "events[1].labels.Source"
            ]
        );
    }
}

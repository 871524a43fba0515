//! Every field of a batch checked before anything touches the database:
//! a batch is stored whole or not at all, and a refusal names each bad field.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use vantage_protocol::ingest::{FieldError, IngestBatch, MAX_BATCH_RESULTS, MAX_BATCH_SAMPLES};
use vantage_protocol::result::CheckResult;
use vantage_protocol::rules;

/// Results may be stamped this far in the future (clock skew).
const MAX_SKEW: chrono::Duration = chrono::Duration::minutes(5);
/// A refusal lists at most this many fields.
const MAX_ERRORS: usize = 100;

/// A batch that passed: the results to store, and how many were too old.
/// Their events older than events retention are left out (the retention
/// job would delete them at its next pass).
#[derive(Debug)]
pub struct ValidBatch {
    pub results: Vec<CheckResult>,
    pub expired: u32,
}

/// How far back a batch's data may reach: results older than raw
/// retention are acknowledged as expired, events older than events
/// retention are not stored.
#[derive(Debug, Clone, Copy)]
pub struct Horizon {
    pub raw: chrono::Duration,
    pub events: chrono::Duration,
}

/// Canonical JSON of labels: keys sorted (a `BTreeMap` already is).
pub fn canonical_labels(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".into())
}

struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, index: Option<usize>, field: impl Into<String>, reason: impl Into<String>) {
        if self.0.len() < MAX_ERRORS {
            self.0.push(FieldError {
                index,
                field: field.into(),
                reason: reason.into(),
            });
        }
    }
}

/// Checks a batch sent by the agent named `agent`.
pub fn validate(
    batch: IngestBatch,
    agent: &str,
    now: DateTime<Utc>,
    horizon: Horizon,
) -> Result<ValidBatch, Vec<FieldError>> {
    let mut errors = Errors(Vec::new());
    if batch.results.len() > MAX_BATCH_RESULTS {
        errors.push(
            None,
            "results",
            format!(
                "holds {} results; at most {MAX_BATCH_RESULTS} per batch",
                batch.results.len()
            ),
        );
        return Err(errors.0);
    }
    let samples: usize = batch
        .results
        .iter()
        .map(|r| {
            r.samples.len()
                + r.distributions
                    .iter()
                    .map(|d| d.values.len())
                    .sum::<usize>()
        })
        .sum();
    if samples > MAX_BATCH_SAMPLES {
        errors.push(
            None,
            "results",
            format!(
                "holds {samples} samples and distribution values; at most {MAX_BATCH_SAMPLES} per batch"
            ),
        );
        return Err(errors.0);
    }
    let oldest = now - horizon.raw;
    let oldest_event = now - horizon.events;
    let mut seen = HashSet::with_capacity(batch.results.len());
    let mut expired = 0;
    let mut keep = Vec::with_capacity(batch.results.len());
    for (i, mut r) in batch.results.into_iter().enumerate() {
        if !seen.insert(r.id) {
            errors.push(Some(i), "id", "appears twice in this batch");
        }
        if r.agent != agent {
            errors.push(
                Some(i),
                "agent",
                format!("is {:?} but this credential belongs to {agent:?}", r.agent),
            );
        }
        for p in rules::check_result(&r) {
            errors.push(Some(i), p.field, p.reason);
        }
        if r.started_at > now + MAX_SKEW {
            errors.push(
                Some(i),
                "started_at",
                "is more than 5 minutes in the future (check the agent's clock)",
            );
        }
        for (j, e) in r.events.iter().enumerate() {
            if e.at > now + MAX_SKEW {
                errors.push(
                    Some(i),
                    format!("events[{j}].at"),
                    "is more than 5 minutes in the future (check the agent's clock)",
                );
            }
        }
        if r.started_at < oldest {
            expired += 1;
        } else {
            r.events.retain(|e| e.at >= oldest_event);
            keep.push(r);
        }
    }
    if errors.0.is_empty() {
        Ok(ValidBatch {
            results: keep,
            expired,
        })
    } else {
        Err(errors.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vantage_protocol::manifest::BaseUnit;
    use vantage_protocol::result::{Event, Sample, Status};

    fn result(now: DateTime<Utc>) -> CheckResult {
        CheckResult {
            id: uuid::Uuid::now_v7(),
            agent: "a1".into(),
            check: "web".into(),
            target: "http://x".into(),
            plugin: "http".into(),
            plugin_version: "0.1.0".into(),
            status: Status::Ok,
            started_at: now,
            duration: 0.1,
            message: None,
            samples: vec![Sample {
                metric: "rtt".into(),
                unit: BaseUnit::Seconds,
                value: 0.001,
                labels: Default::default(),
            }],
            distributions: Vec::new(),
            events: Vec::new(),
        }
    }

    fn batch(results: Vec<CheckResult>) -> IngestBatch {
        IngestBatch {
            batch_id: uuid::Uuid::now_v7(),
            results,
            outbox: Default::default(),
        }
    }

    const WEEK: Horizon = Horizon {
        raw: chrono::Duration::days(7),
        events: chrono::Duration::days(30),
    };

    #[test]
    fn a_good_batch_passes_and_old_results_count_as_expired() {
        let now = Utc::now();
        let mut old = result(now);
        old.started_at = now - chrono::Duration::days(8);
        let v = validate(batch(vec![result(now), old]), "a1", now, WEEK).unwrap();
        assert_eq!((v.results.len(), v.expired), (1, 1));
    }

    #[test]
    fn every_bad_field_is_named_with_its_index() {
        let now = Utc::now();
        let good = result(now);
        let mut bad = result(now);
        bad.id = good.id;
        bad.agent = "someone-else".into();
        bad.check = String::new();
        bad.duration = f64::NAN;
        bad.started_at = now + chrono::Duration::hours(1);
        bad.samples[0].metric = "Bad-Name".into();
        bad.samples[0].value = f64::INFINITY;
        bad.plugin_version = "one".into();
        let errors = validate(batch(vec![good, bad]), "a1", now, WEEK).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| (e.index, e.field.as_str())).collect();
        for want in [
            "id",
            "agent",
            "check",
            "duration",
            "started_at",
            "samples[0].metric",
            "samples[0].value",
            "plugin_version",
        ] {
            assert!(
                fields.contains(&(Some(1), want)),
                "{want} missing from {fields:?}"
            );
        }
        assert!(fields.iter().all(|(i, _)| *i == Some(1)), "{fields:?}");
    }

    #[test]
    fn events_past_their_retention_are_left_out_and_future_ones_refused() {
        let now = Utc::now();
        let event = |at| Event {
            at,
            text: "ERROR disk full".into(),
            labels: Default::default(),
        };
        let mut r = result(now);
        r.events = vec![event(now - chrono::Duration::days(31)), event(now)];
        let v = validate(batch(vec![r.clone()]), "a1", now, WEEK).unwrap();
        assert_eq!(v.results[0].events, [event(now)]);
        r.events.push(event(now + chrono::Duration::hours(1)));
        let errors = validate(batch(vec![r]), "a1", now, WEEK).unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["events[2].at"]
        );
    }

    #[test]
    fn oversize_batches_are_refused_whole() {
        let now = Utc::now();
        let many = (0..MAX_BATCH_RESULTS + 1).map(|_| result(now)).collect();
        let errors = validate(batch(many), "a1", now, WEEK).unwrap_err();
        assert_eq!(errors[0].field, "results");
    }
}

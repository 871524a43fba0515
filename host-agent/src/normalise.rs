//! The normaliser: turns what a plugin returned (or how its run failed) into
//! a [`CheckResult`], checking every sample against the manifest and
//! converting it to its metric's base unit.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use vantage_protocol::manifest::{BaseUnit, Manifest, MetricKind};
use vantage_protocol::result::{CheckResult, Distribution, Sample, Status};
use vantage_protocol::rules::{self, MAX_DISTRIBUTION_VALUES, MAX_MESSAGE};
use vantage_protocol::text::{clip, prefix};

use crate::bindings::{self, Unit};
use crate::run::{RunFailure, RunOutput};

mod events;

/// Who ran what, when.
#[derive(Debug, Clone)]
pub struct RunMeta<'a> {
    pub agent: &'a str,
    pub check: &'a str,
    pub target: &'a str,
    pub manifest: &'a Manifest,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
}

/// The base unit of a reported unit and the factor that converts to it.
pub(crate) fn to_base(unit: Unit) -> (BaseUnit, f64) {
    use BaseUnit as B;
    match unit {
        Unit::None => (B::None, 1.0),
        Unit::Count => (B::Count, 1.0),
        Unit::Ratio => (B::Ratio, 1.0),
        Unit::Percent => (B::Ratio, 0.01),
        Unit::Seconds => (B::Seconds, 1.0),
        Unit::Milliseconds => (B::Seconds, 1e-3),
        Unit::Microseconds => (B::Seconds, 1e-6),
        Unit::Nanoseconds => (B::Seconds, 1e-9),
        Unit::Bytes => (B::Bytes, 1.0),
        Unit::Kilobytes => (B::Bytes, 1e3),
        Unit::Megabytes => (B::Bytes, 1e6),
        Unit::Gigabytes => (B::Bytes, 1e9),
        Unit::Kibibytes => (B::Bytes, 1024.0),
        Unit::Mebibytes => (B::Bytes, 1024.0 * 1024.0),
        Unit::Gibibytes => (B::Bytes, 1024.0 * 1024.0 * 1024.0),
        Unit::Hertz => (B::Hertz, 1.0),
        Unit::Kilohertz => (B::Hertz, 1e3),
        Unit::Megahertz => (B::Hertz, 1e6),
        Unit::Gigahertz => (B::Hertz, 1e9),
    }
}

fn status(s: bindings::Status) -> Status {
    match s {
        bindings::Status::Ok => Status::Ok,
        bindings::Status::Timeout => Status::Timeout,
        bindings::Status::Unreachable => Status::Unreachable,
        bindings::Status::Refused => Status::Refused,
        bindings::Status::Error => Status::Error,
    }
}

/// The approximate size of an outcome and its events, as counted against
/// the output cap.
fn output_size(o: &bindings::Outcome, events: &[bindings::Event]) -> usize {
    let labels = |l: &[(String, String)]| l.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    let samples: usize = o
        .samples
        .iter()
        .map(|s| 16 + s.metric.len() + labels(&s.labels))
        .sum();
    let events: usize = events
        .iter()
        .map(|e| 16 + e.text.len() + labels(&e.labels))
        .sum();
    o.message.as_ref().map_or(0, String::len) + samples + events
}

/// Normalises one run.
pub fn normalise(
    meta: &RunMeta<'_>,
    run: Result<RunOutput, RunFailure>,
    output_cap: usize,
) -> CheckResult {
    let mut result = CheckResult {
        id: uuid::Uuid::now_v7(),
        agent: meta.agent.to_owned(),
        check: meta.check.to_owned(),
        target: meta.target.to_owned(),
        plugin: meta.manifest.name.clone(),
        plugin_version: meta.manifest.version.to_string(),
        status: Status::Error,
        started_at: meta.started_at,
        duration: meta.duration.as_secs_f64(),
        message: None,
        samples: Vec::new(),
        distributions: Vec::new(),
        events: Vec::new(),
    };
    let RunOutput {
        outcome,
        events: emitted,
        events_dropped,
    } = match run {
        Ok(output) => output,
        Err(failure) => {
            result.status = match failure {
                RunFailure::Deadline(_) => Status::Timeout,
                _ => Status::Error,
            };
            result.message = Some(clip(failure.to_string(), MAX_MESSAGE));
            return result;
        }
    };
    let size = output_size(&outcome, &emitted);
    if size > output_cap {
        result.message = Some(format!(
            "plugin output of {size} bytes exceeds the cap of {output_cap} bytes; it was discarded"
        ));
        return result;
    }
    result.status = status(outcome.status);
    result.message = outcome.message.map(|m| clip(m, MAX_MESSAGE));
    let mut problems = Vec::new();
    let mut distributions = Distributions::default();
    for sample in outcome.samples {
        match check_sample(meta.manifest, sample) {
            Ok((s, MetricKind::Gauge)) => result.samples.push(s),
            Ok((s, MetricKind::Distribution)) => {
                if let Err(p) = distributions.add(s) {
                    problems.push(p);
                }
            }
            Err(p) => problems.push(p),
        }
    }
    result.distributions = distributions.list;
    let (events, refused) = events::events(emitted, meta.started_at);
    result.events = events;
    problems.extend(refused);
    if events_dropped > 0 {
        tracing::debug!(
            check = meta.check,
            dropped = events_dropped,
            "A run emitted more events than a result carries."
        );
    }
    if let Some(first) = problems.first() {
        let more = match problems.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let note = format!("plugin output rejected: {first}{more}");
        result.status = if result.status == Status::Ok {
            Status::Error
        } else {
            result.status
        };
        // The note goes first: it must survive the clip of a long message.
        result.message = Some(clip(
            match result.message.take() {
                Some(m) => format!("{note}; {m}"),
                None => note,
            },
            MAX_MESSAGE,
        ));
    }
    result
}

/// The samples of a run's `distribution` metrics, one distribution per
/// metric and set of labels, each in the order the plugin reported.
#[derive(Default)]
struct Distributions {
    list: Vec<Distribution>,
    index: BTreeMap<(String, BTreeMap<String, String>), usize>,
}

impl Distributions {
    fn add(&mut self, s: Sample) -> Result<(), String> {
        let key = (s.metric, s.labels);
        let i = match self.index.get(&key) {
            Some(i) => *i,
            None => {
                self.index.insert(key.clone(), self.list.len());
                self.list.push(Distribution {
                    metric: key.0,
                    unit: s.unit,
                    values: Vec::new(),
                    labels: key.1,
                });
                self.list.len() - 1
            }
        };
        let d = &mut self.list[i];
        if d.values.len() == MAX_DISTRIBUTION_VALUES {
            return Err(format!(
                "metric `{}` has more than {MAX_DISTRIBUTION_VALUES} values in one run",
                d.metric
            ));
        }
        d.values.push(s.value);
        Ok(())
    }
}

/// One sample checked against the manifest and converted to its base unit;
/// then the rules the server applies too ([`rules::check_sample`]). With
/// the metric's kind. A metric the manifest does not declare is a gauge in
/// the unit reported when the manifest declares `dynamic_metrics`.
fn check_sample(manifest: &Manifest, s: bindings::Sample) -> Result<(Sample, MetricKind), String> {
    let (base, factor) = to_base(s.unit);
    let kind = match manifest.metric(&s.metric) {
        Some(spec) if base != spec.unit => {
            return Err(format!(
                "metric `{}` is declared in {} but was reported in {:?}",
                spec.name,
                spec.unit.as_str(),
                s.unit
            ));
        }
        Some(spec) => spec.kind,
        None if manifest.dynamic_metrics.is_some() => MetricKind::Gauge,
        None => {
            return Err(format!(
                "metric `{}` is not declared in the manifest",
                prefix(&s.metric, rules::MAX_NAME)
            ));
        }
    };
    let sample = Sample {
        metric: s.metric,
        unit: base,
        value: s.value * factor,
        labels: s.labels.into_iter().collect(),
    };
    let name = prefix(&sample.metric, rules::MAX_NAME);
    match rules::check_sample(&sample).first() {
        None => Ok((sample, kind)),
        Some(p) if p.field == "value" => Err(format!("metric `{name}` has a non-finite value")),
        Some(p) => Err(format!("metric `{name}`: {p}")),
    }
}

#[cfg(test)]
mod tests;

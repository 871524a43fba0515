//! [`Outcome`]: what a run returns, built up sample by sample.

use crate::{NetError, Sample, Status, Unit, types};

/// The result of one run: a status, an optional message and the samples
/// measured. Build it with the chained methods:
///
/// ```
/// use vantage_plugin_sdk::{Outcome, Status, Unit};
///
/// let outcome = Outcome::ok()
///     .sample("rtt", 0.012, Unit::Seconds)
///     .with_label("seq", "1")
///     .sample("loss", 0.0, Unit::Ratio);
/// assert_eq!(outcome.status, Status::Ok);
/// assert_eq!(outcome.samples[0].labels, [("seq".to_owned(), "1".to_owned())]);
/// ```
///
/// Samples may accompany any status: a failed run can still report what it
/// measured before failing.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// How the run ended.
    pub status: Status,
    /// A human sentence explaining a status other than `ok`.
    pub message: Option<String>,
    /// The measured values, in the order they were added.
    pub samples: Vec<Sample>,
}

impl Outcome {
    /// A successful run without samples yet.
    pub fn ok() -> Self {
        Outcome {
            status: Status::Ok,
            message: None,
            samples: Vec::new(),
        }
    }

    /// A run that ended with `status`, explained by `message`.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Outcome {
            status,
            message: Some(message.into()),
            samples: Vec::new(),
        }
    }

    /// A run that failed with status `error`, explained by `message`.
    pub fn error(message: impl Into<String>) -> Self {
        Outcome::new(Status::Error, message)
    }

    /// Adds a sample of `metric` (which must be declared in the manifest).
    pub fn sample(mut self, metric: impl Into<String>, value: f64, unit: Unit) -> Self {
        self.samples.push(Sample {
            metric: metric.into(),
            value,
            unit,
            labels: Vec::new(),
        });
        self
    }

    /// Adds a label to the sample added last; does nothing before the first sample.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        if let Some(sample) = self.samples.last_mut() {
            sample.labels.push((key.into(), value.into()));
        }
        self
    }

    /// Replaces the message.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Replaces the status.
    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }
}

impl Default for Outcome {
    fn default() -> Self {
        Outcome::ok()
    }
}

/// A failed network call ends the run with the status the error stands for
/// ([`NetError::status`]) and the error's sentence as the message.
impl From<NetError> for Outcome {
    fn from(error: NetError) -> Self {
        Outcome::new(error.status(), error.to_string())
    }
}

impl From<Outcome> for types::Outcome {
    fn from(outcome: Outcome) -> Self {
        types::Outcome {
            status: outcome.status,
            message: outcome.message,
            samples: outcome.samples,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_collects_samples_and_labels_the_last_one() {
        let outcome = Outcome::ok()
            .with_label("ignored", "before any sample")
            .sample("a", 1.0, Unit::Count)
            .with_label("k", "v")
            .sample("b", 2.5, Unit::Milliseconds)
            .with_label("x", "1")
            .with_label("y", "2");
        assert_eq!(outcome.samples.len(), 2);
        assert_eq!(
            outcome.samples[0].labels,
            [("k".to_owned(), "v".to_owned())]
        );
        assert_eq!(outcome.samples[1].metric, "b");
        assert_eq!(outcome.samples[1].unit, Unit::Milliseconds);
        assert_eq!(outcome.samples[1].labels.len(), 2);
    }

    #[test]
    fn status_and_message_can_be_set_after_the_samples() {
        let outcome = Outcome::ok()
            .sample("a", 1.0, Unit::Count)
            .status(Status::Timeout)
            .message("slow");
        assert_eq!(outcome.status, Status::Timeout);
        assert_eq!(outcome.message.as_deref(), Some("slow"));
        assert_eq!(Outcome::error("bad").status, Status::Error);
        assert_eq!(Outcome::default(), Outcome::ok());
    }

    #[test]
    fn net_errors_map_to_statuses_with_messages() {
        let cases = [
            (
                NetError::Denied("http is not granted".into()),
                Status::Error,
                "denied: ",
            ),
            (NetError::Timeout, Status::Timeout, "no answer"),
            (NetError::Refused, Status::Refused, "refused"),
            (
                NetError::Unreachable("no route".into()),
                Status::Unreachable,
                "unreachable",
            ),
            (
                NetError::Dns("nxdomain".into()),
                Status::Error,
                "name resolution",
            ),
            (NetError::Tls("bad cert".into()), Status::Error, "tls"),
            (
                NetError::Invalid("bad url".into()),
                Status::Error,
                "invalid",
            ),
            (NetError::Io("reset".into()), Status::Error, "i/o"),
        ];
        for (error, status, start) in cases {
            let outcome = Outcome::from(error);
            assert_eq!(outcome.status, status);
            let message = outcome.message.unwrap();
            assert!(
                message.starts_with(start) || message.contains(start),
                "{message}"
            );
        }
    }

    #[test]
    fn converts_into_the_wit_outcome_unchanged() {
        let wit: types::Outcome = Outcome::error("boom").sample("a", 1.0, Unit::Count).into();
        assert_eq!(wit.status, Status::Error);
        assert_eq!(wit.message.as_deref(), Some("boom"));
        assert_eq!(wit.samples.len(), 1);
    }
}

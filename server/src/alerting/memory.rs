//! What an alert keeps between evaluations ([`Memory`]): its machine, an
//! aggregate's window, the last path fingerprint, its last run; the
//! verdict of a reading against it, and its stored forms.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use vantage_protocol::config::{Aggregate, Comparison, Condition};

use super::evaluate::Reading;
use super::machine::{Machine, State, Verdict};

/// The most values an aggregate's window keeps; the oldest runs go first.
pub const MAX_WINDOW_VALUES: usize = 10_000;
/// How long the row of an alert that stays `ok` may go unwritten while
/// only its last run, value and spacing move (see `StateRow::steady`).
pub const REFRESH_AFTER: chrono::Duration = chrono::Duration::seconds(30);

/// What an alert keeps between evaluations, stored as it is: packed
/// ([`Memory::pack`]) on PostgreSQL, JSON on SQLite and in PostgreSQL rows
/// written before the packed form. Every field is always written: the
/// packed form has no names to skip by (`default` reads older JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub machine: Machine,
    /// The runs an aggregate's window still covers, oldest first.
    #[serde(default)]
    pub(super) window: VecDeque<(Moment, Vec<f64>)>,
    /// The path fingerprint last seen (`path_change`).
    #[serde(default)]
    path: Option<f64>,
    /// The newest run judged: an older one arriving late is not judged.
    #[serde(with = "moment")]
    pub last_at: DateTime<Utc>,
    /// The value last judged, when the condition has one.
    pub value: Option<f64>,
    /// The spacing of the last two runs judged, in milliseconds: the
    /// check's interval as `no_data` counts it.
    #[serde(default)]
    pub gap_ms: Option<i64>,
}

impl Memory {
    /// A new alert's memory: `ok` since `at`, nothing judged yet.
    pub fn new(at: DateTime<Utc>) -> Memory {
        Memory {
            machine: Machine::new(at),
            window: VecDeque::new(),
            path: None,
            last_at: DateTime::<Utc>::MIN_UTC,
            value: None,
            gap_ms: None,
        }
    }

    /// The verdict on one reading, and the value it judged.
    pub(super) fn verdict(
        &mut self,
        condition: &Condition,
        reading: &Reading,
        at: DateTime<Utc>,
    ) -> (Verdict, Option<f64>) {
        let values = match reading {
            Reading::Status { ok } => {
                return (if *ok { Verdict::Good } else { Verdict::Bad }, None);
            }
            Reading::Present => return (Verdict::Good, None),
            Reading::Missing => return (Verdict::Error, None),
            Reading::Absent => return (Verdict::NoData, None),
            Reading::Values(values) => values,
        };
        let bad = |broken: bool| if broken { Verdict::Bad } else { Verdict::Good };
        match condition {
            Condition::Threshold {
                op,
                value: limit,
                aggregate,
                window,
                ..
            } => {
                let value = match (aggregate, window) {
                    (Aggregate::Last, _) | (_, None) => worst(*op, values),
                    (aggregate, Some(window)) => {
                        let window = chrono::Duration::from_std(*window).unwrap_or_default();
                        self.remember(at, window, values);
                        let all: Vec<f64> =
                            self.window.iter().flat_map(|(_, v)| v).copied().collect();
                        aggregated(*aggregate, &all)
                    }
                };
                (bad(op.breaks(value, *limit)), Some(value))
            }
            Condition::PathChange {} => {
                let now = values[0];
                let changed = self.path.is_some_and(|before| before != now);
                self.path = Some(now);
                (bad(changed), Some(now))
            }
            Condition::CertExpiry { days } => {
                let left = values.iter().copied().fold(f64::INFINITY, f64::min);
                (bad(left < f64::from(*days) * 86_400.0), Some(left))
            }
            Condition::Status {} | Condition::NoData { .. } | Condition::AgentOffline {} => {
                (Verdict::Good, None)
            }
        }
    }

    /// Whether this memory, just judged, may stay unwritten in place of
    /// `before`: the alert was and is `ok`, and only its last run (by less
    /// than [`REFRESH_AFTER`]), value and spacing, and the results of good
    /// verdicts moved.
    pub(super) fn steady_since(&self, before: &Memory) -> bool {
        self.machine.state() == State::Ok
            && self.last_at - before.last_at < REFRESH_AFTER
            && self.machine.same_but_good_results(&before.machine)
            && self.window == before.window
            && self.path == before.path
    }

    /// Whether a `no_data` alert has heard nothing for its `intervals`
    /// times the runs' spacing by `now`, and is not yet `no_data`. Never
    /// before two runs gave a spacing.
    pub fn silent_since(&self, condition: &Condition, now: DateTime<Utc>) -> bool {
        let Condition::NoData { intervals } = condition else {
            return false;
        };
        let Some(gap) = self.gap_ms.filter(|g| *g > 0) else {
            return false;
        };
        let wait =
            chrono::Duration::milliseconds(gap.max(1000).saturating_mul(i64::from(*intervals)));
        self.machine.state() != State::NoData && now - self.last_at >= wait
    }

    /// Adds a run to the window and forgets what it no longer covers.
    pub(super) fn remember(&mut self, at: DateTime<Utc>, window: chrono::Duration, values: &[f64]) {
        self.window.push_back((Moment(at), values.to_vec()));
        while self.window.front().is_some_and(|(t, _)| t.0 <= at - window) {
            self.window.pop_front();
        }
        let mut kept: usize = self.window.iter().map(|(_, v)| v.len()).sum();
        while kept > MAX_WINDOW_VALUES && self.window.len() > 1 {
            kept -= self.window.pop_front().map_or(0, |(_, v)| v.len());
        }
    }
}

/// The value of a run that breaks the limit most: the largest against
/// `>`/`>=`, the smallest against `<`/`<=`.
fn worst(op: Comparison, values: &[f64]) -> f64 {
    match op {
        Comparison::Above | Comparison::AtLeast => values.iter().copied().fold(f64::MIN, f64::max),
        Comparison::Below | Comparison::AtMost => values.iter().copied().fold(f64::MAX, f64::min),
    }
}

/// An aggregate of values (never empty); percentiles by nearest rank.
fn aggregated(aggregate: Aggregate, values: &[f64]) -> f64 {
    match aggregate {
        Aggregate::Last | Aggregate::Max => values.iter().copied().fold(f64::MIN, f64::max),
        Aggregate::Min => values.iter().copied().fold(f64::MAX, f64::min),
        Aggregate::Avg => values.iter().sum::<f64>() / values.len() as f64,
        Aggregate::Sum => values.iter().sum(),
        Aggregate::Percentile(p) => {
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            let rank = (f64::from(p) / 100.0 * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1]
        }
    }
}

impl Memory {
    /// The packed form: postcard, times as (seconds, nanoseconds). About a
    /// tenth of the JSON's decoding time, which ingest pays for every
    /// alert a batch judges. Enums go by their variants' order
    /// (`tests::the_packed_form_stays_as_stored` holds it).
    pub fn pack(&self) -> Vec<u8> {
        // Writing into a Vec fails only on a serializer error, which these
        // types do not raise.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn unpack(bytes: &[u8]) -> Result<Memory, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// A time in a memory: as chrono writes it in JSON (RFC 3339), as
/// (seconds, nanoseconds) since the epoch in the packed form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment(pub DateTime<Utc>);

impl Serialize for Moment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        moment::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Moment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Moment, D::Error> {
        moment::deserialize(d).map(Moment)
    }
}

/// `#[serde(with = "moment")]` for a memory's times (see [`Moment`]).
pub mod moment {
    use chrono::{DateTime, Utc};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            t.serialize(s)
        } else {
            (t.timestamp(), t.timestamp_subsec_nanos()).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        if d.is_human_readable() {
            DateTime::deserialize(d)
        } else {
            let (secs, nanos) = <(i64, u32)>::deserialize(d)?;
            DateTime::from_timestamp(secs, nanos)
                .ok_or_else(|| D::Error::custom(format!("no such time: {secs} s {nanos} ns")))
        }
    }

    /// The same for an optional time.
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        use super::super::Moment;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            t.map(Moment).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Ok(Option::<Moment>::deserialize(d)?.map(|m| m.0))
        }
    }
}

#[cfg(test)]
mod tests;

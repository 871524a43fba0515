//! [`Counters`]: rates between runs. Each run keeps its counters' values in
//! the check's state slot (`vantage:plugin/state`), and the next run
//! reports each counter's change per second since then. A counter that
//! went down was reset (its source restarted) and counts from zero, as
//! Prometheus's `rate()` does.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The format of the saved bytes; another version is read as no state.
const VERSION: u32 = 1;

/// Counter values read at one time, and what turns two of them into rates.
///
/// ```
/// use vantage_plugin_sdk::Counters;
///
/// let mut earlier = Counters::new(10_000);
/// earlier.insert("rx".into(), 100.0);
/// let mut now = Counters::new(40_000);
/// now.insert("rx".into(), 160.0);
/// assert_eq!(now.rate(&earlier, "rx"), Some(2.0));
/// ```
///
/// In a run: `let earlier = Counters::previous();`, insert this run's
/// values into `Counters::new(clock::wall_ms())`, report `rate`s, then
/// [`save`](Counters::save) for the next run. The first run of a check
/// has no rates (the agent keeps the slot across its restarts).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Counters {
    v: u32,
    /// Wall-clock milliseconds of the reading.
    at_ms: u64,
    values: HashMap<String, f64>,
}

impl Counters {
    /// No values yet, read at `at_ms` (wall-clock milliseconds).
    pub fn new(at_ms: u64) -> Self {
        Counters {
            v: VERSION,
            at_ms,
            values: HashMap::new(),
        }
    }

    /// What the check's previous run saved, if anything (component only).
    pub fn previous() -> Option<Self> {
        crate::state::load().and_then(|b| Counters::decode(&b))
    }

    /// Keeps these values for the check's next run (component only).
    pub fn save(&self) -> Result<(), String> {
        crate::state::save(&self.encode())
    }

    /// The counters a previous run saved, if the bytes are ours.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Counters>(bytes)
            .ok()
            .filter(|c| c.v == VERSION)
    }

    /// The bytes [`decode`](Counters::decode) reads.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("counters serialise")
    }

    /// Records the value of the counter `key`.
    pub fn insert(&mut self, key: String, value: f64) {
        self.values.insert(key, value);
    }

    /// The rate of the counter `key` from `earlier` to now (`self`), per
    /// second; none when `earlier` did not see it or no time passed.
    pub fn rate(&self, earlier: &Counters, key: &str) -> Option<f64> {
        let now = *self.values.get(key)?;
        let then = *earlier.values.get(key)?;
        let seconds = self.at_ms.checked_sub(earlier.at_ms)? as f64 / 1000.0;
        if seconds <= 0.0 {
            return None;
        }
        let increase = if now >= then { now - then } else { now };
        Some(increase / seconds)
    }
}

/// A counter's key: its name and labels (sort them first, so that the same
/// series has the same key in every run).
pub fn counter_key(name: &str, labels: &[(String, String)]) -> String {
    let mut key = String::from(name);
    for (k, v) in labels {
        key.push('\u{1f}');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, values: &[(&str, f64)]) -> Counters {
        let mut c = Counters::new(ms);
        for (k, v) in values {
            c.insert((*k).into(), *v);
        }
        c
    }

    #[test]
    fn a_rate_is_the_increase_per_second_between_two_runs() {
        let earlier = at(10_000, &[("a", 100.0), ("b", 5.0)]);
        let now = at(40_000, &[("a", 160.0), ("b", 5.0), ("new", 1.0)]);
        assert_eq!(now.rate(&earlier, "a"), Some(2.0));
        assert_eq!(now.rate(&earlier, "b"), Some(0.0));
        assert_eq!(now.rate(&earlier, "new"), None);
        assert_eq!(now.rate(&earlier, "missing"), None);
    }

    #[test]
    fn a_counter_that_went_down_was_reset_and_counts_from_zero() {
        let earlier = at(0, &[("a", 1000.0)]);
        let now = at(10_000, &[("a", 30.0)]);
        assert_eq!(now.rate(&earlier, "a"), Some(3.0));
    }

    #[test]
    fn no_time_passed_or_a_clock_that_went_back_gives_no_rate() {
        let earlier = at(5_000, &[("a", 1.0)]);
        assert_eq!(at(5_000, &[("a", 2.0)]).rate(&earlier, "a"), None);
        assert_eq!(at(4_000, &[("a", 2.0)]).rate(&earlier, "a"), None);
    }

    #[test]
    fn saved_counters_round_trip_and_foreign_bytes_are_no_state() {
        let c = at(7, &[("x\u{1f}l=v", 1.5)]);
        let back = Counters::decode(&c.encode()).unwrap();
        assert_eq!(back.at_ms, 7);
        assert_eq!(back.values, c.values);
        assert!(Counters::decode(b"not json").is_none());
        assert!(Counters::decode(br#"{"v":99,"at_ms":1,"values":{}}"#).is_none());
    }

    #[test]
    fn keys_hold_the_name_and_every_label() {
        let labels = vec![("cpu".into(), "0".into()), ("mode".into(), "idle".into())];
        assert_eq!(counter_key("n", &labels), "n\u{1f}cpu=0\u{1f}mode=idle");
        assert_ne!(counter_key("n", &[]), counter_key("n", &labels));
    }
}

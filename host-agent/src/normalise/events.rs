//! A run's events as the server stores them: stamped, labels checked by
//! the rules samples follow ([`rules::check_event`]).

use chrono::{DateTime, TimeZone as _, Utc};
use vantage_protocol::result::Event;
use vantage_protocol::rules;

use crate::bindings;

/// The run's events, and a sentence for each one refused. An event without
/// a time (`at-ms` 0), or with one that is not a time, gets the run's start.
pub(super) fn events(
    emitted: Vec<bindings::Event>,
    started_at: DateTime<Utc>,
) -> (Vec<Event>, Vec<String>) {
    let mut kept = Vec::with_capacity(emitted.len());
    let mut problems = Vec::new();
    for (i, e) in emitted.into_iter().enumerate() {
        let at = i64::try_from(e.at_ms)
            .ok()
            .filter(|ms| *ms > 0)
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .unwrap_or(started_at);
        let event = Event {
            at,
            text: vantage_protocol::text::clip(e.text, rules::MAX_EVENT_TEXT),
            labels: e.labels.into_iter().collect(),
        };
        match rules::check_event(&event).first() {
            Some(p) => problems.push(format!("event {i}: {p}")),
            None => kept.push(event),
        }
    }
    (kept, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_stamped_and_those_with_bad_labels_refused() {
        let start = Utc.timestamp_millis_opt(1_000_000).unwrap();
        let emitted = vec![
            bindings::Event {
                at_ms: 0,
                text: "ERROR one".into(),
                labels: vec![("pattern".into(), "error".into())],
            },
            bindings::Event {
                at_ms: 1_765_090_000_123,
                text: "x".repeat(rules::MAX_EVENT_TEXT + 5),
                labels: vec![],
            },
            bindings::Event {
                at_ms: 5,
                text: "bad".into(),
                labels: vec![("Bad Key".into(), "v".into())],
            },
        ];
        let (kept, problems) = events(emitted, start);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].at, start);
        assert_eq!(kept[0].labels["pattern"], "error");
        assert_eq!(kept[1].at.timestamp_millis(), 1_765_090_000_123);
        assert!(kept[1].text.len() <= rules::MAX_EVENT_TEXT);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("event 2: labels.Bad Key"),
            "{problems:?}"
        );
    }
}

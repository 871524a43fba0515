//! A memory's window and its stored forms.

use chrono::{Duration, TimeZone};
use uuid::Uuid;

use super::*;
use crate::alerting::machine::Policy;

fn at(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

/// A memory with every field set, one bad verdict in its machine.
fn full() -> Memory {
    let mut m = Memory::new(at(0));
    m.remember(at(1), Duration::minutes(5), &[0.25, 0.5]);
    m.path = Some(7.0);
    m.last_at = at(1) + Duration::nanoseconds(123);
    m.value = Some(0.5);
    m.gap_ms = Some(60_000);
    m.machine
        .observe(&Policy::default(), Verdict::Bad, at(1), Uuid::from_u128(1));
    m
}

#[test]
fn a_window_keeps_at_most_its_value_limit() {
    let mut memory = Memory::new(at(0));
    for i in 0..25 {
        memory.remember(at(i), Duration::hours(1), &vec![1.0; 1_000]);
    }
    let kept: usize = memory.window.iter().map(|(_, v)| v.len()).sum();
    assert_eq!(kept, MAX_WINDOW_VALUES);
    assert_eq!(memory.window.front().unwrap().0, Moment(at(15)));
}

#[test]
fn a_memory_reads_back_the_same_from_both_stored_forms() {
    let memory = full();
    assert_eq!(memory.machine.state(), State::Firing);
    let text = serde_json::to_string(&memory).unwrap();
    assert_eq!(serde_json::from_str::<Memory>(&text).unwrap(), memory);
    assert_eq!(Memory::unpack(&memory.pack()).unwrap(), memory);
    // A new alert's memory starts at the earliest time there is.
    let fresh = Memory::new(at(0));
    assert_eq!(fresh.last_at, DateTime::<Utc>::MIN_UTC);
    assert_eq!(Memory::unpack(&fresh.pack()).unwrap(), fresh);
}

/// The packed form is stored: a change of field or variant order, or of
/// how times are written, would misread every stored alert.
#[test]
fn the_packed_form_stays_as_stored() {
    let hex: String = full().pack().iter().map(|b| format!("{b:02x}")).collect();
    // Firing (2), since 1 800 000 001 s 0 ns, the window's one bad run (result
    // 1), bad since, no good streak, one change, …, last run 123 ns later.
    assert_eq!(
        hex,
        "0282c8ceb40d00010110000000000000000000000000000000010182c8ceb40d0000000101\
         00020182c8ceb40d0002000000000000d03f000000000000e03f010000000000001c40\
         82c8ceb40d7b01000000000000e03f01c0a907"
    );
}

/// Rows PostgreSQL stored before the packed form, and SQLite's, are JSON
/// with chrono's times and without the fields an empty one left out.
#[test]
fn json_written_before_the_packed_form_still_reads() {
    let text = r#"{"machine":{"state":"pending","since":"2027-01-15T08:00:01Z",
        "window":[[true,"00000000-0000-0000-0000-000000000001"]],
        "bad_since":"2027-01-15T08:00:01Z","good_streak":[],"good_since":null,
        "changes":[true],"flapping":false,"told":"ok"},
        "last_at":"2027-01-15T08:00:01.000000123Z","value":0.5}"#;
    let memory: Memory = serde_json::from_str(text).unwrap();
    assert_eq!(memory.machine.state(), State::Pending);
    assert_eq!(memory.machine.since(), at(1));
    assert_eq!(memory.last_at, at(1) + Duration::nanoseconds(123));
    assert!(memory.window.is_empty() && memory.path.is_none() && memory.gap_ms.is_none());
}

#[test]
fn bytes_that_are_not_a_memory_are_an_error() {
    assert!(Memory::unpack(&[]).is_err());
    assert!(Memory::unpack(&[0xff; 7]).is_err());
    let packed = full().pack();
    assert!(Memory::unpack(&packed[..packed.len() / 2]).is_err());
}

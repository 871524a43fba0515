//! Readings of real result shapes, judged against stored memories.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use super::*;

fn rule(toml_text: &str) -> Rule {
    Rule::compile(toml::from_str(&format!("name = \"r\"\n{toml_text}")).unwrap()).unwrap()
}

fn at(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

/// A result as an agent sends it: `samples` of (metric, value, labels),
/// `rtt` as a distribution.
fn result(status: &str, samples: &[(&str, f64)], rtts: &[f64]) -> CheckResult {
    let samples: Vec<_> = samples
        .iter()
        .enumerate()
        .map(|(i, (metric, value))| {
            json!({"metric": metric, "unit": "seconds", "value": value, "labels": {"n": i.to_string()}})
        })
        .collect();
    let mut r = json!({
        "id": Uuid::now_v7(), "agent": "a", "check": "c", "target": "t", "plugin": "p",
        "plugin_version": "1.0.0", "status": status, "started_at": at(0), "duration": 0.1,
        "samples": samples,
    });
    if !rtts.is_empty() {
        r["distributions"] = json!([{"metric": "rtt", "unit": "seconds", "values": rtts}]);
    }
    serde_json::from_value(r).unwrap()
}

/// Judges readings a minute apart on one alert, carrying its memory;
/// returns the state after each and every event.
fn judge(rule: &Rule, readings: &[Reading]) -> (Vec<State>, Vec<EventRow>) {
    let (rows, events) = judge_each(rule, readings, 60, true);
    (
        rows.iter().map(|r| r.memory.machine.state()).collect(),
        events,
    )
}

/// Judges readings `gap` seconds apart on one alert, carrying its memory
/// to the next: every one, or as the stores do, only those not steady.
/// Every state row, and every event.
fn judge_each<'a>(
    rule: &'a Rule,
    readings: &'a [Reading],
    gap: i64,
    keep_steady: bool,
) -> (Vec<StateRow<'a>>, Vec<EventRow>) {
    let mut stored = HashMap::new();
    let mut rows = Vec::new();
    let mut events = Vec::new();
    for (i, reading) in readings.iter().enumerate() {
        let judges = vec![Judge {
            rule,
            check_id: 7,
            result: Uuid::now_v7(),
            at: at(i as i64 * gap),
            reading,
            check: "c",
            target: "t",
            plugin: "p",
        }];
        let (new_rows, mut new) = run(judges, stored.clone());
        let row = new_rows.into_iter().next().unwrap();
        if keep_steady || !row.steady {
            stored = HashMap::from([((row.rule, row.check_id), row.memory.clone())]);
        }
        rows.push(row);
        events.append(&mut new);
    }
    (rows, events)
}

#[test]
fn a_rule_reads_its_metric_from_samples_and_distributions() {
    let r = rule(r#"condition = { kind = "threshold", metric = "rtt", op = ">", value = 0.1 }"#);
    assert_eq!(
        read(&r, &result("ok", &[("rtt", 0.5)], &[0.01, 0.02])),
        Some(Reading::Values(vec![0.5, 0.01, 0.02]))
    );
    // Missing from a run that ended ok: the rule cannot judge it.
    assert_eq!(
        read(&r, &result("ok", &[("loss", 0.0)], &[])),
        Some(Reading::Missing)
    );
    // Missing from a failed run: nothing to judge (a status rule speaks).
    assert_eq!(read(&r, &result("timeout", &[], &[])), None);
    let status = rule(r#"condition = { kind = "status" }"#);
    assert_eq!(
        read(&status, &result("error", &[], &[])),
        Some(Reading::Status { ok: false })
    );
    let up =
        rule(r#"condition = { kind = "threshold", metric = "check_up", op = "<", value = 1 }"#);
    assert_eq!(
        read(&up, &result("timeout", &[], &[])),
        Some(Reading::Values(vec![0.0]))
    );
    let path = rule(r#"condition = { kind = "path_change" }"#);
    assert_eq!(
        read(&path, &result("ok", &[("path_fingerprint", 42.0)], &[])),
        Some(Reading::Values(vec![42.0]))
    );
}

#[test]
fn a_last_threshold_judges_the_worst_value_of_the_newest_run() {
    let above =
        rule(r#"condition = { kind = "threshold", metric = "rtt", op = ">", value = 0.1 }"#);
    let below =
        rule(r#"condition = { kind = "threshold", metric = "rtt", op = "<", value = 0.1 }"#);
    let run = Reading::Values(vec![0.05, 0.2, 0.15]);
    let (states, events) = judge(&above, std::slice::from_ref(&run));
    assert_eq!(states, [State::Firing]);
    assert_eq!(events[0].value, Some(0.2));
    assert_eq!(events[0].notices, [Notice::Firing]);
    let (states, events) = judge(&below, &[run]);
    assert_eq!(states, [State::Firing]);
    assert_eq!(events[0].value, Some(0.05));
}

#[test]
fn a_percentile_spans_the_runs_in_its_window_and_forgets_older_ones() {
    // p90 over 2 minutes, a run a minute: the window holds this run and
    // the previous one (a run exactly 2 minutes old has left it).
    let r = rule(
        r#"condition = { kind = "threshold", metric = "rtt", op = ">", value = 0.1, aggregate = "p90", window = "2m" }"#,
    );
    let slow = Reading::Values(vec![0.5; 10]);
    let fast = Reading::Values(vec![0.01; 10]);
    let (states, events) = judge(&r, &[fast.clone(), slow, fast.clone(), fast]);
    // fast → ok; slow: p90 of 10 fast + 10 slow is slow → firing; then
    // slow + fast still is; two fast runs later it is not.
    assert_eq!(states, [State::Ok, State::Firing, State::Firing, State::Ok]);
    assert_eq!(events.last().unwrap().value, Some(0.01));
    let avg = rule(
        r#"condition = { kind = "threshold", metric = "loss", op = ">=", value = 0.5, aggregate = "avg", window = "10m" }"#,
    );
    let (states, _) = judge(
        &avg,
        &[
            Reading::Values(vec![1.0]),
            Reading::Values(vec![0.0]),
            Reading::Values(vec![0.0]),
        ],
    );
    assert_eq!(states, [State::Firing, State::Firing, State::Ok]);
}

#[test]
fn a_sum_counts_every_label_set_of_the_runs_in_its_window() {
    // Lines matched per run (two patterns: two label sets), summed over
    // 5 minutes, a run a minute: five runs are in the window.
    let r = rule(
        r#"condition = { kind = "threshold", metric = "lines_matched", op = ">=", value = 5, aggregate = "sum", window = "5m" }"#,
    );
    let lines = |a: f64, b: f64| Reading::Values(vec![a, b]);
    let (states, events) = judge(
        &r,
        &[
            lines(1.0, 0.0),
            lines(0.0, 1.0),
            lines(1.0, 1.0),
            lines(0.0, 0.0),
            lines(0.0, 1.0),
            lines(0.0, 0.0),
        ],
    );
    // 1, 2, 4, 4, 5 (fires), then the first run leaves the window: 4.
    assert_eq!(
        states,
        [
            State::Ok,
            State::Ok,
            State::Ok,
            State::Ok,
            State::Firing,
            State::Ok
        ]
    );
    assert_eq!(events[0].value, Some(5.0));
    assert_eq!(events[1].value, Some(4.0));
}

#[test]
fn a_path_change_fires_once_and_a_settled_path_resolves() {
    let r = rule(r#"condition = { kind = "path_change" }"#);
    let path = |fp: f64| Reading::Values(vec![fp]);
    let (states, events) = judge(&r, &[path(1.0), path(1.0), path(2.0), path(2.0)]);
    assert_eq!(states, [State::Ok, State::Ok, State::Firing, State::Ok]);
    assert_eq!(events[0].value, Some(2.0));
    assert_eq!(events[1].notices, [Notice::Resolved]);
}

#[test]
fn a_certificate_fires_within_its_days() {
    let r = rule(r#"condition = { kind = "cert_expiry", days = 14 }"#);
    let days = |d: f64| Reading::Values(vec![d * 86_400.0]);
    let (states, _) = judge(&r, &[days(30.0), days(13.5), days(90.0)]);
    assert_eq!(states, [State::Ok, State::Firing, State::Ok]);
}

#[test]
fn a_missing_metric_is_an_error_and_a_status_rule_reads_the_run() {
    let r = rule(r#"condition = { kind = "threshold", metric = "rtt", op = ">", value = 0.1 }"#);
    let (states, events) = judge(&r, &[Reading::Missing, Reading::Values(vec![0.01])]);
    assert_eq!(states, [State::Error, State::Ok]);
    assert_eq!(events[0].notices, [Notice::Error]);
    let status = rule(
        r#"condition = { kind = "status" }
failure_threshold = 2"#,
    );
    let (states, events) = judge(
        &status,
        &[
            Reading::Status { ok: false },
            Reading::Status { ok: false },
            Reading::Status { ok: true },
        ],
    );
    assert_eq!(states, [State::Pending, State::Firing, State::Ok]);
    assert_eq!(events[1].causes.len(), 2, "both bad runs caused it");
    assert_eq!(events[2].causes.len(), 1, "the good run resolved it");
}

#[test]
fn readings_are_judged_in_run_order_and_a_late_one_is_skipped() {
    let r = rule(r#"condition = { kind = "status" }"#);
    let (bad, good) = (Reading::Status { ok: false }, Reading::Status { ok: true });
    // One batch, out of order: judged by run time, the good run last.
    let judges = vec![
        Judge {
            rule: &r,
            check_id: 1,
            result: Uuid::now_v7(),
            at: at(60),
            reading: &good,
            check: "c",
            target: "t",
            plugin: "p",
        },
        Judge {
            rule: &r,
            check_id: 1,
            result: Uuid::now_v7(),
            at: at(0),
            reading: &bad,
            check: "c",
            target: "t",
            plugin: "p",
        },
    ];
    let (states, events) = run(judges, HashMap::new());
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].memory.machine.state(), State::Ok);
    assert_eq!(
        events.iter().map(|e| e.to).collect::<Vec<_>>(),
        [State::Firing, State::Ok]
    );
    // A run older than the last judged changes nothing and is not stored.
    let stored = HashMap::from([(("r", 1), states[0].memory.clone())]);
    let late = vec![Judge {
        rule: &r,
        check_id: 1,
        result: Uuid::now_v7(),
        at: at(30),
        reading: &bad,
        check: "c",
        target: "t",
        plugin: "p",
    }];
    let (states, events) = run(late, stored);
    assert!(states.is_empty() && events.is_empty());
}

#[test]
fn silence_longer_than_its_intervals_is_no_data_and_a_result_ends_it() {
    let r = rule(r#"condition = { kind = "no_data", intervals = 3 }"#);
    let (present, absent) = (Reading::Present, Reading::Absent);
    let judge_at = |stored: HashMap<(&'static str, i64), Memory>, s: i64, reading: &Reading| {
        let judges = vec![Judge {
            rule: &r,
            check_id: 1,
            result: Uuid::now_v7(),
            at: at(s),
            reading,
            check: "c",
            target: "t",
            plugin: "p",
        }];
        let (states, events) = run(judges, stored.clone());
        let mut stored = stored;
        for s in states {
            assert_eq!(s.rule, "r");
            stored.insert(("r", s.check_id), s.memory);
        }
        (stored, events)
    };
    // One run gives no spacing: silence is not judged yet.
    let (stored, _) = judge_at(HashMap::new(), 0, &present);
    let (stored, events) = judge_at(stored, 1000, &absent);
    assert!(events.is_empty());
    // Runs a minute apart: silent for 3 minutes is no data, once.
    let (stored, _) = judge_at(stored, 60, &present);
    let (stored, events) = judge_at(stored, 60 + 179, &absent);
    assert!(events.is_empty(), "not yet three intervals");
    let (stored, events) = judge_at(stored, 60 + 180, &absent);
    assert_eq!(events[0].to, State::NoData);
    assert_eq!(events[0].notices, [Notice::NoData]);
    let (stored, events) = judge_at(stored, 60 + 240, &absent);
    assert!(events.is_empty(), "told once");
    // A result ends it; a run older than the last judged still is not judged.
    let (_, events) = judge_at(stored, 60 + 250, &present);
    assert_eq!(events[0].to, State::Ok);
    assert_eq!(events[0].notices, [Notice::Resolved]);
}

/// Judges readings `gap` seconds apart on one alert as the stores do (a
/// steady row is not written); whether each row was steady, and every event.
fn judge_stored(rule: &Rule, readings: &[Reading], gap: i64) -> (Vec<bool>, Vec<EventRow>) {
    let (rows, events) = judge_each(rule, readings, gap, false);
    (rows.iter().map(|r| r.steady).collect(), events)
}

#[test]
fn an_ok_alert_is_written_when_what_it_keeps_changes_and_every_30_s() {
    let good = Reading::Status { ok: true };
    let bad = Reading::Status { ok: false };
    let r = rule("condition = { kind = \"status\" }\nfailure_threshold = 2");
    // Every 5 s: the first run makes the row, the second fills the
    // 2-run window, then a write every 30 s (6 runs).
    let readings = vec![good.clone(); 40];
    let (steady, events) = judge_stored(&r, &readings, 5);
    assert!(events.is_empty());
    let written: Vec<usize> = (0..40).filter(|i| !steady[*i]).collect();
    assert_eq!(written, [0, 1, 7, 13, 19, 25, 31, 37]);

    // A change in the flapping window is written until it leaves it.
    let mut readings = vec![good.clone(); 3];
    readings.extend([bad.clone(), good.clone()]);
    readings.extend(vec![good.clone(); 25]);
    let (steady, _) = judge_stored(&r, &readings, 1);
    let written: Vec<usize> = (0..30).filter(|i| !steady[*i]).collect();
    // The bad run (3) and the good one after it (4) change the state; the
    // next 20 runs move those changes along the window; then none is left.
    let mut expected = vec![0, 1];
    expected.extend(3..25);
    assert_eq!(written, expected);

    // A bad run (pending) is written, and the good one after it too (back
    // to ok, the bad verdict leaving the window); no step is lost.
    let mut readings = vec![good.clone(); 24];
    readings.extend([bad.clone(), good.clone(), bad.clone(), bad.clone()]);
    let (steady, events) = judge_stored(&r, &readings, 5);
    assert!(!steady[24] && !steady[25] && !steady[26] && !steady[27]);
    let firing: Vec<_> = events.iter().filter(|e| e.to == State::Firing).collect();
    assert_eq!(firing.len(), 1, "{events:?}");
    assert_eq!(firing[0].causes.len(), 2, "the two bad runs in a row");

    // `no_data` rules read their silence from the last run: always written.
    let r = rule("condition = { kind = \"no_data\", intervals = 3 }");
    let (steady, _) = judge_stored(&r, &vec![Reading::Present; 30], 5);
    assert!(steady.iter().all(|s| !s));
}

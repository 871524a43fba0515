use super::*;

/// [`normalise`] of a run that returned `run` and emitted no events.
fn normalise_outcome(
    meta: &RunMeta<'_>,
    run: Result<bindings::Outcome, RunFailure>,
    cap: usize,
) -> CheckResult {
    normalise(meta, run.map(RunOutput::from), cap)
}

fn manifest() -> Manifest {
    Manifest::from_json(
        br#"{"name":"p","version":"1.0.0","description":"d","capabilities":[],
            "config_schema":{"type":"object"},
            "metrics":[{"name":"rtt","unit":"seconds","help":"h"},{"name":"size","unit":"bytes","help":"h"},
                       {"name":"echo","unit":"seconds","help":"h","kind":"distribution"}]}"#,
    )
    .unwrap()
}

fn meta(m: &Manifest) -> RunMeta<'_> {
    RunMeta {
        agent: "a",
        check: "c",
        target: "t",
        manifest: m,
        started_at: Utc::now(),
        duration: Duration::from_millis(5),
    }
}

fn sample(metric: &str, value: f64, unit: Unit) -> bindings::Sample {
    bindings::Sample {
        metric: metric.into(),
        value,
        unit,
        labels: vec![("hop".into(), "1".into())],
    }
}

fn outcome(samples: Vec<bindings::Sample>) -> bindings::Outcome {
    bindings::Outcome {
        status: bindings::Status::Ok,
        message: None,
        samples,
    }
}

#[test]
fn samples_are_converted_to_base_units() {
    let m = manifest();
    let r = normalise_outcome(
        &meta(&m),
        Ok(outcome(vec![
            sample("rtt", 1500.0, Unit::Microseconds),
            sample("size", 2.0, Unit::Kibibytes),
        ])),
        1 << 20,
    );
    assert_eq!(r.status, Status::Ok);
    assert!((r.samples[0].value - 0.0015).abs() < 1e-12);
    assert_eq!(r.samples[0].unit, BaseUnit::Seconds);
    assert_eq!(r.samples[1].value, 2048.0);
    assert_eq!(r.samples[0].labels["hop"], "1");
    assert_eq!(
        (r.plugin.as_str(), r.plugin_version.as_str()),
        ("p", "1.0.0")
    );
}

#[test]
fn undeclared_metrics_wrong_units_and_nan_are_rejected() {
    let m = manifest();
    let r = normalise_outcome(
        &meta(&m),
        Ok(outcome(vec![
            sample("rtt", 1.0, Unit::Seconds),
            sample("bogus", 1.0, Unit::Count),
            sample("size", 1.0, Unit::Seconds),
            sample("rtt", f64::NAN, Unit::Seconds),
        ])),
        1 << 20,
    );
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.samples.len(), 1);
    let msg = r.message.unwrap();
    assert!(
        msg.contains("`bogus` is not declared") && msg.contains("2 more"),
        "{msg}"
    );
}

#[test]
fn dynamic_metrics_take_any_valid_name_in_the_unit_reported() {
    let mut m = manifest();
    m.dynamic_metrics = Some(vantage_protocol::manifest::DynamicMetrics {
        help: "scraped".into(),
    });
    let r = normalise_outcome(
        &meta(&m),
        Ok(outcome(vec![
            sample("node_load1", 0.5, Unit::None),
            sample("node_memory_free_bytes", 2.0, Unit::Kibibytes),
            // Declared metrics keep their declared unit.
            sample("rtt", 1.0, Unit::Bytes),
            sample("Bad-Name", 1.0, Unit::Count),
            sample("check_up", 1.0, Unit::Count),
        ])),
        1 << 20,
    );
    let got: Vec<_> = r
        .samples
        .iter()
        .map(|s| (s.metric.as_str(), s.unit, s.value))
        .collect();
    assert_eq!(
        got,
        [
            ("node_load1", BaseUnit::None, 0.5),
            ("node_memory_free_bytes", BaseUnit::Bytes, 2048.0)
        ]
    );
    assert_eq!(r.status, Status::Error);
    let msg = r.message.unwrap();
    assert!(
        msg.contains("`rtt` is declared in seconds") && msg.contains("2 more"),
        "{msg}"
    );
}

#[test]
fn oversized_output_and_failures_get_a_clear_status() {
    let m = manifest();
    let mut big = outcome(vec![]);
    big.message = Some("x".repeat(2000));
    let r = normalise_outcome(&meta(&m), Ok(big), 1000);
    assert_eq!(r.status, Status::Error);
    assert!(r.message.unwrap().contains("exceeds the cap of 1000 bytes"));

    let r = normalise_outcome(
        &meta(&m),
        Err(RunFailure::Deadline(Duration::from_secs(2))),
        1000,
    );
    assert_eq!(r.status, Status::Timeout);
    assert_eq!(
        r.message.as_deref(),
        Some("run exceeded its deadline of 2s")
    );
}

#[test]
fn distribution_samples_become_one_ordered_distribution_per_label_set() {
    let m = manifest();
    let mut samples: Vec<_> = [3.0, 1.0, 2.0]
        .into_iter()
        .map(|v| sample("echo", v, Unit::Milliseconds))
        .collect();
    let mut other_hop = sample("echo", 9.0, Unit::Milliseconds);
    other_hop.labels = vec![("hop".into(), "2".into())];
    samples.insert(1, other_hop);
    samples.push(sample("rtt", 1.0, Unit::Seconds));
    let r = normalise_outcome(&meta(&m), Ok(outcome(samples)), 1 << 20);
    assert_eq!(r.status, Status::Ok, "{:?}", r.message);
    assert_eq!(r.samples.len(), 1, "gauges stay samples");
    let values: Vec<(String, Vec<f64>)> = r
        .distributions
        .iter()
        .map(|d| {
            (
                d.labels["hop"].clone(),
                d.values.iter().map(|v| (v * 1e6).round()).collect(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            ("1".into(), vec![3000.0, 1000.0, 2000.0]),
            ("2".into(), vec![9000.0])
        ]
    );
    assert_eq!(r.distributions[0].unit, BaseUnit::Seconds);
}

#[test]
fn a_distribution_past_its_limit_keeps_the_first_values_and_says_so() {
    let m = manifest();
    let samples = (0..=MAX_DISTRIBUTION_VALUES)
        .map(|i| sample("echo", i as f64, Unit::Seconds))
        .collect();
    let r = normalise_outcome(&meta(&m), Ok(outcome(samples)), 1 << 30);
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.distributions[0].values.len(), MAX_DISTRIBUTION_VALUES);
    let msg = r.message.unwrap();
    assert!(msg.contains("more than 10000 values"), "{msg}");
}

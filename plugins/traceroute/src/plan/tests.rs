use super::*;

fn plan_for(target: &str, json: &str, timeout_ms: u32) -> Result<Plan, String> {
    let ctx = Context {
        check: "c".into(),
        target: target.into(),
        timeout_ms,
    };
    Plan::new(&ctx, serde_json::from_str(json).unwrap())
}

fn plan(json: &str) -> Result<Plan, String> {
    plan_for("192.0.2.1", json, 10_000)
}

#[test]
fn each_round_sends_every_ttl_before_the_next_round() {
    let plan = plan(r#"{"first_ttl":2,"max_hops":4,"queries":2,"flows":2}"#).unwrap();
    let probes = plan.probes();
    let order: Vec<(u8, u8, u16)> = probes.iter().map(|p| (p.query, p.ttl, p.flow)).collect();
    #[rustfmt::skip]
    assert_eq!(order, [
        (1, 2, 0), (1, 2, 1), (1, 3, 0), (1, 3, 1), (1, 4, 0), (1, 4, 1),
        (2, 2, 0), (2, 2, 1), (2, 3, 0), (2, 3, 1), (2, 4, 0), (2, 4, 1),
    ]);
    let requests = plan.requests(&probes);
    let delays: Vec<u32> = requests.iter().map(|r| r.delay_ms).collect();
    assert_eq!(delays, (0..12).map(|k| k * 5).collect::<Vec<_>>());
    for (request, probe) in requests.iter().zip(&probes) {
        assert_eq!(request.ttl, Some(probe.ttl));
        assert_eq!(request.flow, probe.flow);
        assert_eq!(request.host, "192.0.2.1");
        assert_eq!(request.timeout_ms, 1000);
    }
}

#[test]
fn waves_cover_every_probe_eight_ttls_at_a_time_when_the_worst_case_fits() {
    let plan = plan_for("10.0.4.2", "{}", 10_000).unwrap();
    let waves = plan.waves();
    let ttls: Vec<(u8, u8)> = waves
        .iter()
        .map(|w| (w[0].ttl, w.iter().map(|p| p.ttl).max().unwrap()))
        .collect();
    assert_eq!(ttls, [(1, 8), (9, 16), (17, 24), (25, 30)]);
    let mut flat: Vec<ProbeId> = waves.concat();
    let mut all = plan.probes();
    assert_eq!(flat.len(), all.len());
    let key = |p: &ProbeId| (p.ttl, p.query, p.flow);
    flat.sort_by_key(key);
    all.sort_by_key(key);
    assert_eq!(flat, all, "every probe exactly once");
    // Within a wave, rounds still go nearest TTL first.
    assert_eq!(
        waves[0][..3]
            .iter()
            .map(|p| (p.query, p.ttl))
            .collect::<Vec<_>>(),
        [(1, 1), (1, 2), (1, 3)]
    );
    // Four waves could take 4.4 s if nothing answers: in a 2 s check
    // the trace is one wave, as before.
    let tight = plan_for("10.0.4.2", "{}", 2_000).unwrap();
    assert_eq!(tight.waves(), vec![tight.probes()]);
    // A short trace is one wave.
    let short = plan_for("10.0.4.2", r#"{"max_hops": 5}"#, 10_000).unwrap();
    assert_eq!(short.waves().len(), 1);
}

#[test]
fn the_defaults_are_an_icmp_trace_of_30_hops_3_queries() {
    let plan = plan("{}").unwrap();
    let requests = plan.requests(&plan.probes());
    assert_eq!(requests.len(), 90);
    assert_eq!(requests[0].method, icmp::Method::Echo);
    assert_eq!(requests[0].payload_size, 32);
    assert_eq!(requests[0].family, icmp::Family::Any);
    assert_eq!(requests[89].delay_ms, 445);
    assert_eq!((requests[29].ttl, requests[30].ttl), (Some(30), Some(1)));
}

#[test]
fn modes_pick_their_method_port_and_payload() {
    let method = |json: &str| {
        let plan = plan(json).unwrap();
        let request = &plan.requests(&plan.probes())[0];
        (request.method, request.payload_size)
    };
    assert_eq!(method(r#"{"mode":"udp"}"#), (icmp::Method::Udp(33434), 32));
    assert_eq!(
        method(r#"{"mode":"udp","port":53,"payload_size":0}"#),
        (icmp::Method::Udp(53), 0)
    );
    assert_eq!(method(r#"{"mode":"tcp"}"#), (icmp::Method::Tcp(443), 0));
    assert_eq!(
        method(r#"{"mode":"tcp","port":80,"payload_size":100}"#),
        (icmp::Method::Tcp(80), 0)
    );
    assert_eq!(
        method(r#"{"mode":"icmp","port":80,"payload_size":100}"#),
        (icmp::Method::Echo, 100)
    );
    let plan = plan(r#"{"family":"ipv6"}"#).unwrap();
    assert_eq!(plan.requests(&plan.probes())[0].family, icmp::Family::Ipv6);
}

#[test]
fn settings_are_checked_by_name() {
    let error = plan(r#"{"first_ttl":5,"max_hops":3}"#).unwrap_err();
    assert_eq!(error, "config: max_hops (3) must be at least first_ttl (5)");
    assert!(plan(r#"{"first_ttl":5,"max_hops":5}"#).is_ok());
    for (json, field) in [
        (r#"{"first_ttl":0}"#, "first_ttl"),
        (r#"{"max_hops":65}"#, "max_hops"),
        (r#"{"queries":0}"#, "queries"),
        (r#"{"flows":17}"#, "flows"),
        (r#"{"timeout_ms":0}"#, "timeout_ms"),
        (r#"{"interval_ms":1001}"#, "interval_ms"),
        (r#"{"payload_size":1401}"#, "payload_size"),
        (r#"{"mode":"udp","port":0}"#, "port"),
    ] {
        let error = plan(json).unwrap_err();
        assert!(
            error.starts_with(&format!("config: {field} must be")),
            "{error}"
        );
    }
    for json in [
        r#"{"mode":"sctp"}"#,
        r#"{"max_ttl":3}"#,
        r#"{"interval_ms":-1}"#,
    ] {
        assert!(serde_json::from_str::<Config>(json).is_err(), "{json}");
    }
}

#[test]
fn too_many_probes_are_refused() {
    let error = plan(r#"{"max_hops":64,"queries":10,"flows":16,"interval_ms":0}"#).unwrap_err();
    assert!(error.contains("10240 probes"), "{error}");
    assert!(plan(r#"{"max_hops":64,"queries":4,"flows":16,"interval_ms":0}"#).is_ok());
}

#[test]
fn a_spread_past_the_check_timeout_is_refused_naming_the_settings() {
    // 89 × 5 ms + 1000 ms = 1445 ms.
    assert!(plan_for("192.0.2.1", "{}", 1445).is_ok());
    let error = plan_for("192.0.2.1", "{}", 1444).unwrap_err();
    for word in [
        "90 probes",
        "max_hops",
        "queries",
        "flows",
        "interval_ms",
        "timeout_ms",
        "445 ms",
        "1444 ms",
    ] {
        assert!(error.contains(word), "{error}");
    }
    let error = plan_for(
        "192.0.2.1",
        r#"{"timeout_ms":2000,"max_hops":1,"queries":1}"#,
        1999,
    )
    .unwrap_err();
    assert!(error.contains("the last of 1 probes"), "{error}");
}

#[test]
fn targets_are_hosts_with_optional_brackets() {
    assert_eq!(
        plan_for("[2001:db8::1]", "{}", 10_000).unwrap().host,
        "2001:db8::1"
    );
    assert_eq!(
        plan_for("2001:db8::1", "{}", 10_000).unwrap().host,
        "2001:db8::1"
    );
    assert_eq!(
        plan_for(" example.com ", "{}", 10_000).unwrap().host,
        "example.com"
    );
    let error = plan_for("example.com:443", "{}", 10_000).unwrap_err();
    assert!(error.contains("has a port"), "{error}");
    assert!(plan_for("", "{}", 10_000).is_err());
}

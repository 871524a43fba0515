use super::*;
use crate::fixtures::{TARGET, lab, trace_of, trace_to};

#[test]
fn the_destination_is_the_first_hop_the_target_answers_and_later_hops_are_dropped() {
    let trace = trace_of(30, 3, lab);
    assert_eq!(trace.end, End::Reached);
    assert_eq!(trace.target, TARGET);
    assert_eq!(trace.hops.len(), 4);
    assert_eq!(trace.hops[0].addresses(), ["10.0.1.2"]);
    assert!(trace.hops[1].is_silent());
    assert_eq!(trace.hops[1].loss(), 1.0);
    assert_eq!(trace.hops[1].rtt(), None);
    assert_eq!(trace.hops[3].addresses(), [TARGET]);
    assert_eq!(trace.destination().map(|h| h.ttl), Some(4));
    assert_eq!(
        trace.hops[2].rtt(),
        Some(HopRtt {
            min: 31e6,
            avg: 32e6,
            max: 33e6
        })
    );
    assert_eq!(trace.destination_rtt().map(|r| r.avg), Some(42e6));
    assert!(trace.error.is_none());
}

#[test]
fn answers_beyond_the_destination_are_ignored() {
    let trace = trace_of(30, 2, |ttl, query| match ttl {
        5 => Some((icmp::Answer::Unreachable(1), "10.0.5.1", 1)),
        6.. => Some((icmp::Answer::TimeExceeded(0), "10.0.6.1", 1)),
        _ => lab(ttl, query),
    });
    assert_eq!(trace.end, End::Reached);
    assert_eq!(trace.hops.last().map(|h| h.ttl), Some(4));
}

#[test]
fn flows_through_one_hop_share_it() {
    // Two flows; at hop 1 a load balancer sends flow 1 another way.
    let probes: Vec<ProbeId> = [(1, 0), (1, 1), (2, 0), (2, 1)]
        .into_iter()
        .map(|(ttl, flow)| ProbeId {
            ttl,
            query: 1,
            flow,
        })
        .collect();
    let reply = |answer, from: &str| {
        Ok(icmp::ProbeReply {
            answer,
            from: from.into(),
            target: TARGET.into(),
            rtt_ns: 1_000_000,
            reply_ttl: Some(64),
            size: 36,
        })
    };
    let results = vec![
        reply(icmp::Answer::TimeExceeded(0), "10.0.1.2"),
        reply(icmp::Answer::TimeExceeded(0), "10.0.1.3"),
        reply(icmp::Answer::EchoReply, TARGET),
        Err(NetError::Timeout),
    ];
    let trace = Trace::analyse(TARGET, 1, 2, &probes, results);
    assert_eq!(trace.end, End::Reached);
    assert_eq!(trace.hops[0].addresses(), ["10.0.1.2", "10.0.1.3"]);
    let flows: Vec<u16> = trace.hops[0].answers.iter().map(|a| a.flow).collect();
    assert_eq!(flows, [0, 1]);
    assert_eq!(trace.hops[1].loss(), 0.5);
}

#[test]
fn loss_and_several_responders_per_hop() {
    let trace = trace_of(2, 4, |ttl, query| match (ttl, query) {
        (1, 1) => None,
        (1, 2) => Some((icmp::Answer::TimeExceeded(0), "10.0.1.3", 2)),
        (1, _) => Some((icmp::Answer::TimeExceeded(0), "10.0.1.2", 4)),
        _ => Some((icmp::Answer::EchoReply, TARGET, 9)),
    });
    let hop = &trace.hops[0];
    assert_eq!(hop.loss(), 0.25);
    assert_eq!(
        hop.responders(),
        [
            Responder {
                address: "10.0.1.2",
                answers: 2,
                rtt_avg_ns: 4e6
            },
            Responder {
                address: "10.0.1.3",
                answers: 1,
                rtt_avg_ns: 2e6
            },
        ]
    );
    assert_eq!(
        hop.rtt(),
        Some(HopRtt {
            min: 2e6,
            avg: 10e6 / 3.0,
            max: 4e6
        })
    );
}

#[test]
fn port_unreachable_from_the_target_is_the_destination() {
    let udp = |ttl, _| match ttl {
        1 => Some((icmp::Answer::TimeExceeded(0), "10.0.1.2", 1)),
        _ => Some((icmp::Answer::Unreachable(3), TARGET, 2)),
    };
    let trace = trace_of(30, 1, udp);
    assert_eq!((trace.end.clone(), trace.hops.len()), (End::Reached, 2));

    // ICMPv6 port unreachable is code 4; code 3 is "address unreachable".
    let v6 = |code| {
        move |ttl, _| match ttl {
            1 => Some((icmp::Answer::TimeExceeded(0), "fd00:1::2", 1)),
            _ => Some((icmp::Answer::Unreachable(code), "fd00:4:0::2", 2)),
        }
    };
    let trace = trace_to("fd00:4::2", 30, 1, v6(4));
    assert_eq!((trace.end, trace.hops.len()), (End::Reached, 2));
    let trace = trace_to("fd00:4::2", 30, 1, v6(3));
    assert_eq!(
        trace.end,
        End::Unreachable {
            from: "fd00:4:0::2".into(),
            code: 3
        }
    );

    // Port unreachable from a router is not the destination.
    let trace = trace_of(30, 1, |ttl, _| match ttl {
        1 => Some((icmp::Answer::Unreachable(3), "10.0.1.2", 1)),
        _ => Some((icmp::Answer::EchoReply, TARGET, 2)),
    });
    assert_eq!(
        trace.end,
        End::Unreachable {
            from: "10.0.1.2".into(),
            code: 3
        }
    );
}

#[test]
fn tcp_answers_are_the_destination() {
    for answer in [icmp::Answer::TcpOpen, icmp::Answer::TcpClosed] {
        let trace = trace_of(30, 2, |ttl, _| match ttl {
            1..=2 => Some((icmp::Answer::TimeExceeded(0), "10.0.1.2", 1)),
            _ => Some((answer, TARGET, 5)),
        });
        assert_eq!(trace.end, End::Reached);
        assert_eq!(trace.destination().map(|h| h.ttl), Some(3));
    }
}

#[test]
fn another_unreachable_code_ends_the_trace_at_its_hop() {
    let trace = trace_of(30, 3, |ttl, query| match (ttl, query) {
        (1, _) => Some((icmp::Answer::TimeExceeded(0), "10.0.1.2", 1)),
        (2, 1) => None,
        (2, _) => Some((icmp::Answer::Unreachable(1), "10.0.2.2", 2)),
        _ => Some((icmp::Answer::Unreachable(1), "10.0.3.2", 3)),
    });
    assert_eq!(
        trace.end,
        End::Unreachable {
            from: "10.0.2.2".into(),
            code: 1
        }
    );
    assert_eq!(trace.hops.len(), 2);
    assert_eq!(trace.destination(), None);
    assert_eq!(trace.destination_rtt(), None);
}

#[test]
fn the_destination_wins_over_an_unreachable_at_the_same_hop() {
    let trace = trace_of(30, 2, |ttl, query| match (ttl, query) {
        (1, 1) => Some((icmp::Answer::Unreachable(13), "10.0.1.2", 1)),
        _ => Some((icmp::Answer::EchoReply, TARGET, 1)),
    });
    assert_eq!((trace.end, trace.hops.len()), (End::Reached, 1));
}

#[test]
fn without_an_end_every_hop_up_to_max_hops_stays() {
    let trace = trace_of(6, 2, |ttl, _| match ttl {
        1..=3 => lab(ttl, 1),
        _ => None,
    });
    assert_eq!(trace.end, End::NotReached);
    assert_eq!(trace.hops.len(), 6);
    assert_eq!(trace.hops.last().unwrap().ttl, 6);
    assert!(trace.answered());

    let trace = trace_of(3, 1, |_, _| None);
    assert!(!trace.answered());
    assert_eq!(trace.target, TARGET);
}

#[test]
fn hops_start_at_first_ttl_and_failures_count_as_loss() {
    let probes: Vec<ProbeId> = (3..=5)
        .map(|ttl| ProbeId {
            ttl,
            query: 1,
            flow: 0,
        })
        .collect();
    let denied = NetError::Denied("icmp is not granted".into());
    let results = vec![
        Err(NetError::Timeout),
        Err(denied.clone()),
        Err(denied.clone()),
    ];
    let trace = Trace::analyse("example.com", 3, 5, &probes, results);
    assert_eq!(
        trace.hops.iter().map(|h| h.ttl).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert!(trace.hops.iter().all(|h| h.sent == 1 && h.loss() == 1.0));
    assert_eq!(trace.error, Some(denied));
    assert_eq!(trace.target, "example.com");
    assert!(!trace.answered());
}

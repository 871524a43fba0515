//! Traces for the unit tests: the design lab's path (`docs/design/icmp.md`)
//! and variations of it.

use vantage_plugin_sdk::prelude::*;

use crate::trace::{ProbeId, Trace};

/// Who answered a probe, what, after how many milliseconds; none for silence.
pub(crate) type Answered = Option<(icmp::Answer, &'static str, u64)>;

/// The lab's h2, traced from h1.
pub(crate) const TARGET: &str = "10.0.4.2";

/// A trace of hops `1..=max_hops`, one flow, `queries` rounds, where
/// `answer(ttl, query)` says who answered what after how many ms.
pub(crate) fn trace_of(max_hops: u8, queries: u8, answer: impl Fn(u8, u8) -> Answered) -> Trace {
    trace_to(TARGET, max_hops, queries, answer)
}

/// [`trace_of`] toward another target.
pub(crate) fn trace_to(
    target: &str,
    max_hops: u8,
    queries: u8,
    answer: impl Fn(u8, u8) -> Answered,
) -> Trace {
    let mut probes = Vec::new();
    for query in 1..=queries {
        for ttl in 1..=max_hops {
            probes.push(ProbeId {
                ttl,
                query,
                flow: 0,
            });
        }
    }
    let results = probes
        .iter()
        .map(|p| match answer(p.ttl, p.query) {
            Some((answer, from, rtt_ms)) => Ok(icmp::ProbeReply {
                answer,
                from: from.into(),
                target: target.into(),
                rtt_ns: rtt_ms * 1_000_000,
                reply_ttl: None,
                size: 36,
            }),
            None => Err(NetError::Timeout),
        })
        .collect();
    Trace::analyse(target, 1, max_hops, &probes, results)
}

/// The lab's path: r1, r2 (silent), r3, then h2.
pub(crate) fn lab(ttl: u8, query: u8) -> Answered {
    let rtt = u64::from(ttl) * 10 + u64::from(query);
    match ttl {
        1 => Some((icmp::Answer::TimeExceeded(0), "10.0.1.2", rtt)),
        2 => None,
        3 => Some((icmp::Answer::TimeExceeded(0), "10.0.3.2", rtt)),
        _ => Some((icmp::Answer::EchoReply, TARGET, rtt)),
    }
}

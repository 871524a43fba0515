//! From a trace to the run's outcome (samples, status, message) and to a
//! per-hop table for the agent's log.

use std::fmt::Write as _;

use vantage_plugin_sdk::prelude::*;

use crate::path;
use crate::trace::{End, Trace};

/// The samples of every hop considered, the destination's and the path's
/// fingerprint; the status says how the trace ended and the message shows
/// the path. A trace that got no answer at all because the capability
/// failed (denied, dns, …) fails with that error alone.
pub(crate) fn outcome(trace: &Trace) -> Outcome {
    if let (false, Some(error)) = (trace.answered(), &trace.error) {
        return Outcome::from(error.clone());
    }
    let mut outcome = Outcome::ok();
    for hop in &trace.hops {
        let ttl = hop.ttl.to_string();
        outcome = outcome
            .sample("hop_loss", hop.loss(), Unit::Ratio)
            .with_label("hop", ttl.as_str());
        // `hop_rtt` is a distribution: one per hop, responder and flow,
        // its values in query order.
        for answer in &hop.answers {
            outcome = outcome
                .sample("hop_rtt", answer.rtt_ns as f64, Unit::Nanoseconds)
                .with_label("hop", ttl.as_str())
                .with_label("address", answer.from.as_str())
                .with_label("flow", answer.flow.to_string());
        }
        for responder in hop.responders() {
            outcome = outcome
                .sample("hop_rtt_avg", responder.rtt_avg_ns, Unit::Nanoseconds)
                .with_label("hop", ttl.as_str())
                .with_label("address", responder.address);
        }
    }
    if let (Some(hop), Some(rtt)) = (trace.destination(), trace.destination_rtt()) {
        outcome = outcome
            .sample("hop_count", f64::from(hop.ttl), Unit::Count)
            .sample("destination_rtt", rtt.avg, Unit::Nanoseconds);
    }
    let canonical = path::canonical(&trace.hops);
    outcome = outcome
        .sample(
            "path_fingerprint",
            f64::from(path::fingerprint(&canonical)),
            Unit::None,
        )
        .with_label("path", canonical);

    let route = path::compact(&trace.hops);
    let (status, message) = match &trace.end {
        End::Reached => (Status::Ok, route),
        End::Unreachable { from, code } => {
            let reason = match unreachable_reason(*code, trace.is_ipv6()) {
                Some(reason) => format!("code {code}, {reason}"),
                None => format!("code {code}"),
            };
            let ttl = trace.hops.last().map_or(0, |h| h.ttl);
            (
                Status::Unreachable,
                format!("{from} reports destination unreachable ({reason}) at hop {ttl}: {route}"),
            )
        }
        End::NotReached => (Status::Timeout, not_reached(trace, &route)),
    };
    outcome.status(status).message(message)
}

/// Says how far a trace that did not reach its target got.
fn not_reached(trace: &Trace, route: &str) -> String {
    let (first, last) = match (trace.hops.first(), trace.hops.last()) {
        (Some(first), Some(last)) => (first.ttl, last.ttl),
        _ => return format!("{} not reached", trace.target),
    };
    match trace.hops.iter().rev().find(|h| !h.is_silent()) {
        Some(hop) => format!(
            "{} not reached within {last} hops; the last answer came from hop {}: {route}",
            trace.target, hop.ttl
        ),
        None if first == last => format!("no answer from hop {first} toward {}", trace.target),
        None => format!("no answer from hops {first}–{last} toward {}", trace.target),
    }
}

/// The meaning of a destination unreachable code (ICMP type 3, ICMPv6 type 1).
fn unreachable_reason(code: u8, ipv6: bool) -> Option<&'static str> {
    let reason = match (ipv6, code) {
        (false, 0) => "network unreachable",
        (false, 1) => "host unreachable",
        (false, 2) => "protocol unreachable",
        (false, 3) => "port unreachable",
        (false, 4) => "fragmentation needed",
        (false, 5) => "source route failed",
        (false, 6) => "destination network unknown",
        (false, 7) => "destination host unknown",
        (false, 8) => "source host isolated",
        (false, 9) => "network administratively prohibited",
        (false, 10) => "host administratively prohibited",
        (false, 11) => "network unreachable for the type of service",
        (false, 12) => "host unreachable for the type of service",
        (false, 13) => "communication administratively prohibited",
        (false, 14) => "host precedence violation",
        (false, 15) => "precedence cutoff in effect",
        (true, 0) => "no route to destination",
        (true, 1) => "communication administratively prohibited",
        (true, 2) => "beyond scope of source address",
        (true, 3) => "address unreachable",
        (true, 4) => "port unreachable",
        (true, 5) => "source address failed ingress/egress policy",
        (true, 6) => "reject route to destination",
        _ => return None,
    };
    Some(reason)
}

/// One line per hop, like `mtr --report`: addresses, loss and min/avg/max
/// round-trip time in milliseconds.
pub(crate) fn table(trace: &Trace) -> String {
    let mut table = String::new();
    for hop in &trace.hops {
        let _ = write!(
            table,
            "{:>2} {:<40} loss {:>5.1}%",
            hop.ttl,
            path::responders(hop),
            hop.loss() * 100.0
        );
        if let Some(rtt) = hop.rtt() {
            let _ = write!(
                table,
                "  rtt {:.3}/{:.3}/{:.3} ms",
                rtt.min / 1e6,
                rtt.avg / 1e6,
                rtt.max / 1e6
            );
        }
        table.push('\n');
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{TARGET, lab, trace_of, trace_to};

    fn samples<'a>(outcome: &'a Outcome, metric: &str) -> Vec<&'a Sample> {
        outcome
            .samples
            .iter()
            .filter(|s| s.metric == metric)
            .collect()
    }

    fn labels(sample: &Sample) -> Vec<(&str, &str)> {
        sample
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn a_reached_target_is_ok_with_the_path_and_every_metric() {
        let out = outcome(&trace_of(30, 3, lab));
        assert_eq!(out.status, Status::Ok);
        assert_eq!(
            out.message.as_deref(),
            Some("1 10.0.1.2 · 2 * · 3 10.0.3.2 · 4 10.0.4.2")
        );
        // Hops 1, 3 and 4 answered all three queries; hop 2 none.
        let rtts = samples(&out, "hop_rtt");
        assert_eq!(rtts.len(), 9);
        assert_eq!(rtts[0].value, 11e6);
        assert_eq!(rtts[0].unit, Unit::Nanoseconds);
        assert_eq!(
            labels(rtts[0]),
            [("hop", "1"), ("address", "10.0.1.2"), ("flow", "0")]
        );
        let loss: Vec<(f64, Vec<(&str, &str)>)> = samples(&out, "hop_loss")
            .iter()
            .map(|s| (s.value, labels(s)))
            .collect();
        assert_eq!(
            loss,
            [
                (0.0, vec![("hop", "1")]),
                (1.0, vec![("hop", "2")]),
                (0.0, vec![("hop", "3")]),
                (0.0, vec![("hop", "4")]),
            ]
        );
        let averages = samples(&out, "hop_rtt_avg");
        assert_eq!(averages.len(), 3);
        assert_eq!(averages[2].value, 42e6);
        assert_eq!(labels(averages[2]), [("hop", "4"), ("address", TARGET)]);
        assert_eq!(samples(&out, "hop_count")[0].value, 4.0);
        assert_eq!(samples(&out, "destination_rtt")[0].value, 42e6);
        let fingerprint = samples(&out, "path_fingerprint")[0];
        assert_eq!(
            labels(fingerprint),
            [("path", "10.0.1.2,*,10.0.3.2,10.0.4.2")]
        );
        assert_eq!(
            fingerprint.value,
            f64::from(path::fingerprint("10.0.1.2,*,10.0.3.2,10.0.4.2"))
        );
    }

    #[test]
    fn an_unreachable_code_names_the_router_code_and_hop() {
        let out = outcome(&trace_of(30, 3, |ttl, query| match ttl {
            1 | 2 => lab(ttl, query),
            _ => Some((icmp::Answer::Unreachable(1), "10.0.3.2", 3)),
        }));
        assert_eq!(out.status, Status::Unreachable);
        assert_eq!(
            out.message.as_deref(),
            Some(
                "10.0.3.2 reports destination unreachable (code 1, host unreachable) at hop 3: \
                 1 10.0.1.2 · 2 * · 3 10.0.3.2"
            )
        );
        assert!(samples(&out, "hop_count").is_empty());
        assert!(samples(&out, "destination_rtt").is_empty());
        assert_eq!(samples(&out, "hop_loss").len(), 3);

        let out = outcome(&trace_to("fd00:4::2", 30, 1, |_, _| {
            Some((icmp::Answer::Unreachable(1), "fd00:1::1", 3))
        }));
        assert!(
            out.message
                .unwrap()
                .contains("(code 1, communication administratively prohibited)")
        );
        let out = outcome(&trace_of(30, 1, |_, _| {
            Some((icmp::Answer::Unreachable(99), "10.0.1.2", 3))
        }));
        assert!(out.message.unwrap().contains("(code 99) at hop 1"));
    }

    #[test]
    fn a_target_not_reached_is_a_timeout_saying_how_far_it_got() {
        let out = outcome(&trace_of(30, 3, |ttl, query| match ttl {
            1..=3 => lab(ttl, query),
            _ => None,
        }));
        assert_eq!(out.status, Status::Timeout);
        assert_eq!(
            out.message.as_deref(),
            Some(
                "10.0.4.2 not reached within 30 hops; the last answer came from hop 3: \
                 1 10.0.1.2 · 2 * · 3 10.0.3.2 · 4–30 *"
            )
        );
        assert_eq!(samples(&out, "hop_loss").len(), 30);
        assert!(samples(&out, "hop_count").is_empty());
        assert_eq!(
            labels(samples(&out, "path_fingerprint")[0])[0].1,
            format!("10.0.1.2,*,10.0.3.2{}", ",*".repeat(27))
        );

        let out = outcome(&trace_of(5, 1, |_, _| None));
        assert_eq!(out.status, Status::Timeout);
        assert_eq!(
            out.message.as_deref(),
            Some("no answer from hops 1–5 toward 10.0.4.2")
        );
    }

    #[test]
    fn a_failed_capability_without_answers_fails_with_its_error() {
        let probes = [crate::trace::ProbeId {
            ttl: 1,
            query: 1,
            flow: 0,
        }];
        let dns = NetError::Dns("no such host".into());
        let trace = Trace::analyse("nowhere.test", 1, 1, &probes, vec![Err(dns.clone())]);
        assert_eq!(outcome(&trace), Outcome::from(dns));
    }

    #[test]
    fn the_table_has_a_line_per_hop() {
        let table = table(&trace_of(30, 3, lab));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with(" 1 10.0.1.2 "), "{table}");
        assert!(
            lines[0].ends_with("loss   0.0%  rtt 11.000/12.000/13.000 ms"),
            "{table}"
        );
        assert!(lines[1].starts_with(" 2 * "), "{table}");
        assert!(lines[1].ends_with("loss 100.0%"), "{table}");
    }
}

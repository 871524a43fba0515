//! From the answers to the run's outcome: samples, status and message.

use vantage_plugin_sdk::prelude::*;

use crate::stats::RttStats;

/// Samples every echo reply and the statistics, and decides the status: ok
/// with at least one echo reply; otherwise `unreachable` when a router or
/// the target answered with an ICMP error, the first failure of the
/// capability itself (denied, dns, …), or `timeout` when nothing came back.
pub(crate) fn summarise(results: &[Result<icmp::ProbeReply, NetError>]) -> Outcome {
    let sent = results.len();
    let mut outcome = Outcome::ok();
    let mut rtts = Vec::new();
    let mut icmp_error: Option<String> = None;
    let mut net_error: Option<&NetError> = None;
    for result in results {
        match result {
            // `rtt` and `reply_ttl` are distributions: the host keeps each
            // run's values together, in this (packet) order.
            Ok(reply) if reply.answer == icmp::Answer::EchoReply => {
                rtts.push(reply.rtt_ns);
                outcome = outcome.sample("rtt", reply.rtt_ns as f64, Unit::Nanoseconds);
                if let Some(ttl) = reply.reply_ttl {
                    outcome = outcome.sample("reply_ttl", f64::from(ttl), Unit::None);
                }
            }
            Ok(reply) => {
                icmp_error.get_or_insert_with(|| describe_error(reply));
            }
            Err(NetError::Timeout) => {}
            Err(error) => {
                net_error.get_or_insert(error);
            }
        }
    }
    let received = rtts.len();
    let lost = sent - received;
    if let Some(stats) = RttStats::of(&rtts) {
        outcome = outcome
            .sample("rtt_min", stats.min, Unit::Nanoseconds)
            .sample("rtt_avg", stats.avg, Unit::Nanoseconds)
            .sample("rtt_max", stats.max, Unit::Nanoseconds)
            .sample("rtt_mdev", stats.mdev, Unit::Nanoseconds);
        if let Some(jitter) = stats.jitter {
            outcome = outcome.sample("jitter", jitter, Unit::Nanoseconds);
        }
    }
    outcome = outcome
        .sample("loss", lost as f64 / sent.max(1) as f64, Unit::Ratio)
        .sample("sent", sent as f64, Unit::Count)
        .sample("received", received as f64, Unit::Count);
    if received > 0 {
        return match lost {
            0 => outcome,
            _ => outcome.message(format!("{lost} of {sent} echo requests got no reply")),
        };
    }
    let (status, message) = match (icmp_error, net_error) {
        (Some(message), _) => (Status::Unreachable, message),
        (None, Some(error)) => (error.status(), error.to_string()),
        (None, None) => (
            Status::Timeout,
            format!("no reply to any of {sent} echo requests"),
        ),
    };
    outcome.status(status).message(message)
}

/// An answer other than an echo reply, as iputils `ping` reports it.
fn describe_error(reply: &icmp::ProbeReply) -> String {
    let what = match reply.answer {
        icmp::Answer::Unreachable(code) => format!("destination unreachable (code {code})"),
        icmp::Answer::TimeExceeded(0) => "time exceeded".to_owned(),
        icmp::Answer::TimeExceeded(code) => format!("time exceeded (code {code})"),
        icmp::Answer::Other((kind, code)) => format!("ICMP type {kind} code {code}"),
        ref other => format!("unexpected answer {other:?}"),
    };
    format!("From {}: {what}", reply.from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(answer: icmp::Answer, from: &str, rtt_ms: u64) -> Result<icmp::ProbeReply, NetError> {
        Ok(icmp::ProbeReply {
            answer,
            from: from.into(),
            target: "10.0.4.2".into(),
            rtt_ns: rtt_ms * 1_000_000,
            reply_ttl: Some(61),
            size: 64,
        })
    }

    fn echo(rtt_ms: u64) -> Result<icmp::ProbeReply, NetError> {
        reply(icmp::Answer::EchoReply, "10.0.4.2", rtt_ms)
    }

    fn values(outcome: &Outcome, metric: &str) -> Vec<(f64, Vec<(String, String)>)> {
        outcome
            .samples
            .iter()
            .filter(|s| s.metric == metric)
            .map(|s| (s.value, s.labels.clone()))
            .collect()
    }

    fn value(outcome: &Outcome, metric: &str) -> Option<f64> {
        match values(outcome, metric).as_slice() {
            [] => None,
            [(value, labels)] if labels.is_empty() => Some(*value),
            more => panic!("{metric}: {more:?}"),
        }
    }

    #[test]
    fn replies_and_losses_make_samples_and_statistics() {
        let outcome = summarise(&[echo(10), Err(NetError::Timeout), echo(30), echo(20)]);
        assert_eq!(outcome.status, Status::Ok);
        assert_eq!(
            outcome.message.as_deref(),
            Some("1 of 4 echo requests got no reply")
        );
        assert_eq!(
            values(&outcome, "rtt"),
            [(10e6, vec![]), (30e6, vec![]), (20e6, vec![])]
        );
        assert_eq!(
            values(&outcome, "reply_ttl"),
            [(61.0, vec![]), (61.0, vec![]), (61.0, vec![])]
        );
        assert!(outcome.samples.iter().all(|s| s.unit != Unit::Seconds));
        assert_eq!(value(&outcome, "rtt_min"), Some(10e6));
        assert_eq!(value(&outcome, "rtt_avg"), Some(20e6));
        assert_eq!(value(&outcome, "rtt_max"), Some(30e6));
        // sqrt((100 + 100 + 0) / 3) ms; steps 20 and 10 ms.
        let mdev = value(&outcome, "rtt_mdev").unwrap();
        assert!((mdev - 8_164_965.809_277_26).abs() < 1e-3, "{mdev}");
        assert_eq!(value(&outcome, "jitter"), Some(15e6));
        assert_eq!(value(&outcome, "loss"), Some(0.25));
        assert_eq!(value(&outcome, "sent"), Some(4.0));
        assert_eq!(value(&outcome, "received"), Some(3.0));
    }

    #[test]
    fn every_reply_back_is_ok_without_a_message_and_one_has_no_jitter() {
        let outcome = summarise(&[echo(5)]);
        assert_eq!(
            (outcome.status, outcome.message.as_deref()),
            (Status::Ok, None)
        );
        assert_eq!(value(&outcome, "jitter"), None);
        assert_eq!(value(&outcome, "rtt_mdev"), Some(0.0));
        assert_eq!(value(&outcome, "loss"), Some(0.0));
    }

    #[test]
    fn one_echo_reply_outweighs_icmp_errors() {
        let outcome = summarise(&[reply(icmp::Answer::Unreachable(1), "10.0.3.2", 1), echo(4)]);
        assert_eq!(outcome.status, Status::Ok);
        assert_eq!(value(&outcome, "received"), Some(1.0));
    }

    #[test]
    fn icmp_errors_without_echo_replies_are_unreachable() {
        let outcome = summarise(&[
            Err(NetError::Timeout),
            reply(icmp::Answer::Unreachable(1), "10.0.3.2", 1),
            reply(icmp::Answer::TimeExceeded(0), "10.0.1.2", 1),
        ]);
        assert_eq!(outcome.status, Status::Unreachable);
        assert_eq!(
            outcome.message.as_deref(),
            Some("From 10.0.3.2: destination unreachable (code 1)")
        );
        assert_eq!(value(&outcome, "loss"), Some(1.0));
        assert_eq!(value(&outcome, "received"), Some(0.0));
        assert_eq!(value(&outcome, "rtt_avg"), None);
        assert!(values(&outcome, "rtt").is_empty());

        let outcome = summarise(&[reply(icmp::Answer::TimeExceeded(0), "10.0.1.2", 1)]);
        assert_eq!(outcome.status, Status::Unreachable);
        assert_eq!(
            outcome.message.as_deref(),
            Some("From 10.0.1.2: time exceeded")
        );
        let outcome = summarise(&[reply(icmp::Answer::Other((12, 0)), "10.0.2.2", 1)]);
        assert_eq!(
            outcome.message.as_deref(),
            Some("From 10.0.2.2: ICMP type 12 code 0")
        );
    }

    #[test]
    fn icmp_errors_outrank_failures_of_the_capability() {
        let outcome = summarise(&[
            Err(NetError::Io("sendmsg failed".into())),
            reply(icmp::Answer::Unreachable(13), "10.0.3.2", 1),
        ]);
        assert_eq!(outcome.status, Status::Unreachable);
        assert!(outcome.message.unwrap().contains("code 13"));
    }

    #[test]
    fn nothing_back_is_a_timeout_and_failures_keep_their_status() {
        let outcome = summarise(&[Err(NetError::Timeout), Err(NetError::Timeout)]);
        assert_eq!(outcome.status, Status::Timeout);
        assert_eq!(
            outcome.message.as_deref(),
            Some("no reply to any of 2 echo requests")
        );
        assert_eq!(value(&outcome, "loss"), Some(1.0));

        let denied = NetError::Denied("icmp is not granted".into());
        let outcome = summarise(&[Err(denied.clone()), Err(denied.clone())]);
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(outcome.message, Outcome::from(denied).message);

        let outcome = summarise(&[
            Err(NetError::Timeout),
            Err(NetError::Dns("no such host".into())),
        ]);
        assert_eq!(outcome.status, Status::Error);
        assert!(outcome.message.unwrap().contains("no such host"));

        let outcome = summarise(&[Err(NetError::Unreachable("no route to host".into()))]);
        assert_eq!(outcome.status, Status::Unreachable);
    }
}

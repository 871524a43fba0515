//! The path of a trace as text: a canonical form and its fingerprint, for
//! noticing route changes, and a compact form for messages.

use crate::trace::Hop;

/// The path as only the routers on it define it: per hop the addresses that
/// answered, sorted and joined by `|`, or `*` when silent; hops joined by
/// `,`. Round-trip times and which query answered do not matter, so an
/// unchanged path gives the same text every run.
pub(crate) fn canonical(hops: &[Hop]) -> String {
    let hops: Vec<String> = hops
        .iter()
        .map(|hop| {
            let mut addresses = hop.addresses();
            if addresses.is_empty() {
                return "*".to_owned();
            }
            addresses.sort_unstable();
            addresses.join("|")
        })
        .collect();
    hops.join(",")
}

/// 32-bit FNV-1a of `text`; exact as an `f64` sample value.
pub(crate) fn fingerprint(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// The path for a message, mtr-like: `1 10.0.1.2 · 2 * · 3 10.0.3.2`, each
/// hop's addresses most answers first; a run of silent hops is `4–30 *`.
pub(crate) fn compact(hops: &[Hop]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < hops.len() {
        let hop = &hops[i];
        if hop.is_silent() {
            let run = hops[i..].iter().take_while(|h| h.is_silent()).count();
            let last = &hops[i + run - 1];
            parts.push(match run {
                1 => format!("{} *", hop.ttl),
                _ => format!("{}–{} *", hop.ttl, last.ttl),
            });
            i += run;
        } else {
            parts.push(format!("{} {}", hop.ttl, responders(hop)));
            i += 1;
        }
    }
    parts.join(" · ")
}

/// A hop's addresses for people: most answers first, joined by `|`; `*`
/// when silent.
pub(crate) fn responders(hop: &Hop) -> String {
    match hop.addresses().as_slice() {
        [] => "*".to_owned(),
        addresses => addresses.join("|"),
    }
}

#[cfg(test)]
mod tests {
    use vantage_plugin_sdk::prelude::*;

    use super::*;
    use crate::fixtures::{TARGET, lab, trace_of};

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fingerprint(""), 0x811c_9dc5);
        assert_eq!(fingerprint("a"), 0xe40c_292c);
        assert_eq!(fingerprint("foobar"), 0xbf9c_f968);
        // Every u32 is exact in an f64.
        assert_eq!(f64::from(u32::MAX) as u32, u32::MAX);
    }

    #[test]
    fn the_lab_path_in_both_forms() {
        let trace = trace_of(30, 3, lab);
        assert_eq!(canonical(&trace.hops), "10.0.1.2,*,10.0.3.2,10.0.4.2");
        assert_eq!(
            compact(&trace.hops),
            "1 10.0.1.2 · 2 * · 3 10.0.3.2 · 4 10.0.4.2"
        );
    }

    #[test]
    fn the_fingerprint_ignores_rtts_and_which_query_answered() {
        let first = trace_of(30, 3, lab);
        // Other RTTs, and hop 1 answering only the last query, hop 3 only the first.
        let second = trace_of(30, 3, |ttl, query| match (ttl, query) {
            (1, 1..=2) | (3, 2..=3) => None,
            _ => lab(ttl, query).map(|(answer, from, rtt)| (answer, from, rtt * 7 + 3)),
        });
        assert_ne!(first.hops, second.hops);
        assert_eq!(canonical(&first.hops), canonical(&second.hops));
        assert_eq!(
            fingerprint(&canonical(&first.hops)),
            fingerprint(&canonical(&second.hops))
        );
    }

    #[test]
    fn the_fingerprint_changes_when_a_hop_changes() {
        let base = fingerprint(&canonical(&trace_of(30, 3, lab).hops));
        let other_router = trace_of(30, 3, |ttl, query| match ttl {
            3 => Some((icmp::Answer::TimeExceeded(0), "10.0.3.9", 5)),
            _ => lab(ttl, query),
        });
        let answering_hop_2 = trace_of(30, 3, |ttl, query| match ttl {
            2 => Some((icmp::Answer::TimeExceeded(0), "10.0.2.2", 5)),
            _ => lab(ttl, query),
        });
        let one_hop_longer = trace_of(30, 3, |ttl, query| match ttl {
            4 => Some((icmp::Answer::TimeExceeded(0), "10.0.4.1", 5)),
            5.. => lab(4, query),
            _ => lab(ttl, query),
        });
        for changed in [other_router, answering_hop_2, one_hop_longer] {
            assert_ne!(fingerprint(&canonical(&changed.hops)), base, "{changed:?}");
        }
    }

    #[test]
    fn several_responders_sort_in_the_fingerprint_and_by_count_in_the_message() {
        let trace = trace_of(2, 3, |ttl, query| match (ttl, query) {
            (1, 1) => Some((icmp::Answer::TimeExceeded(0), "10.0.1.10", 1)),
            (1, _) => Some((icmp::Answer::TimeExceeded(0), "10.0.1.9", 1)),
            _ => Some((icmp::Answer::EchoReply, TARGET, 2)),
        });
        assert_eq!(canonical(&trace.hops), "10.0.1.10|10.0.1.9,10.0.4.2");
        assert_eq!(compact(&trace.hops), "1 10.0.1.9|10.0.1.10 · 2 10.0.4.2");
    }

    #[test]
    fn runs_of_silent_hops_collapse_in_the_message() {
        let trace = trace_of(8, 1, |ttl, query| match ttl {
            1 | 4 => lab(1, query),
            _ => None,
        });
        assert_eq!(
            compact(&trace.hops),
            "1 10.0.1.2 · 2–3 * · 4 10.0.1.2 · 5–8 *"
        );
        assert_eq!(canonical(&trace.hops), "10.0.1.2,*,*,10.0.1.2,*,*,*,*");
    }
}

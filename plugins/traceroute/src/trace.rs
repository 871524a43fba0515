//! Hop analysis: what each hop answered, which hop is the destination and
//! where the trace ended.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::net::IpAddr;

use vantage_plugin_sdk::prelude::*;

/// What one probe was: its TTL, its round (`query`, from 1) and its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProbeId {
    pub(crate) ttl: u8,
    pub(crate) query: u8,
    pub(crate) flow: u16,
}

/// One answered probe at a hop.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HopAnswer {
    pub(crate) from: String,
    pub(crate) rtt_ns: u64,
    pub(crate) query: u8,
    pub(crate) flow: u16,
    signal: Signal,
}

/// What an answer says about the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    /// A router on the way (time exceeded, or another ICMP error).
    Transit,
    /// The target itself: echo reply, SYN-ACK, RST, or port unreachable.
    Destination,
    /// Destination unreachable with this code, not from the target's port.
    Unreachable(u8),
}

/// One TTL of the trace.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hop {
    pub(crate) ttl: u8,
    /// Probes sent with this TTL.
    pub(crate) sent: usize,
    /// In send order.
    pub(crate) answers: Vec<HopAnswer>,
}

/// One address that answered at a hop.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Responder<'a> {
    pub(crate) address: &'a str,
    pub(crate) answers: usize,
    pub(crate) rtt_avg_ns: f64,
}

/// Round-trip times of a hop, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HopRtt {
    pub(crate) min: f64,
    pub(crate) avg: f64,
    pub(crate) max: f64,
}

impl Hop {
    /// The share of probes without an answer.
    pub(crate) fn loss(&self) -> f64 {
        match self.sent {
            0 => 0.0,
            sent => (sent - self.answers.len()) as f64 / sent as f64,
        }
    }

    /// The addresses that answered, most answers first (ties by address).
    pub(crate) fn responders(&self) -> Vec<Responder<'_>> {
        let mut by_address: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
        for answer in &self.answers {
            let entry = by_address.entry(&answer.from).or_default();
            entry.0 += 1;
            entry.1 += answer.rtt_ns;
        }
        let mut responders: Vec<Responder<'_>> = by_address
            .into_iter()
            .map(|(address, (answers, total_ns))| Responder {
                address,
                answers,
                rtt_avg_ns: total_ns as f64 / answers as f64,
            })
            .collect();
        // Stable: equal counts keep the address order.
        responders.sort_by_key(|r| Reverse(r.answers));
        responders
    }

    /// The addresses of [`Hop::responders`], most answers first.
    pub(crate) fn addresses(&self) -> Vec<&str> {
        self.responders().iter().map(|r| r.address).collect()
    }

    /// Min, mean and max round-trip time of every answer; none when silent.
    pub(crate) fn rtt(&self) -> Option<HopRtt> {
        rtt_of(self.answers.iter())
    }

    /// How the trace ends at this hop, if it does: the target answered, or
    /// else someone reported the destination unreachable.
    fn end(&self) -> Option<End> {
        if self.answers.iter().any(|a| a.signal == Signal::Destination) {
            return Some(End::Reached);
        }
        self.answers.iter().find_map(|a| match a.signal {
            Signal::Unreachable(code) => Some(End::Unreachable {
                from: a.from.clone(),
                code,
            }),
            _ => None,
        })
    }

    /// Whether nothing answered at this hop.
    pub(crate) fn is_silent(&self) -> bool {
        self.answers.is_empty()
    }
}

fn rtt_of<'a>(answers: impl Iterator<Item = &'a HopAnswer>) -> Option<HopRtt> {
    let rtts: Vec<f64> = answers.map(|a| a.rtt_ns as f64).collect();
    Some(HopRtt {
        min: rtts.iter().copied().reduce(f64::min)?,
        max: rtts.iter().copied().reduce(f64::max)?,
        avg: rtts.iter().sum::<f64>() / rtts.len() as f64,
    })
}

/// How the trace ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum End {
    /// The target answered at the last hop.
    Reached,
    /// A router (or the target) at the last hop reported the destination
    /// unreachable with `code`.
    Unreachable { from: String, code: u8 },
    /// Neither up to `max_hops`.
    NotReached,
}

/// A trace: the hops from `first_ttl` to the destination, to the hop that
/// reported it unreachable, or to `max_hops`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trace {
    /// The address probed (the host resolved), or the host when nothing
    /// came back to say.
    pub(crate) target: String,
    pub(crate) hops: Vec<Hop>,
    pub(crate) end: End,
    /// The first failure of the capability itself (denied, dns, …); its
    /// probes count as lost.
    pub(crate) error: Option<NetError>,
}

impl Trace {
    /// Sorts the answers to `probes` (`results` is in the same order) into
    /// the hops `first_ttl..=max_hops`, finds the end and drops the hops
    /// beyond it.
    pub(crate) fn analyse(
        host: &str,
        first_ttl: u8,
        max_hops: u8,
        probes: &[ProbeId],
        results: Vec<Result<icmp::ProbeReply, NetError>>,
    ) -> Trace {
        let mut hops: Vec<Hop> = (first_ttl..=max_hops)
            .map(|ttl| Hop {
                ttl,
                sent: 0,
                answers: Vec::new(),
            })
            .collect();
        let mut target = None;
        let mut error = None;
        for (probe, result) in probes.iter().zip(results) {
            let Some(hop) = hops.get_mut(usize::from(probe.ttl.wrapping_sub(first_ttl))) else {
                continue;
            };
            hop.sent += 1;
            match result {
                Ok(reply) => {
                    let signal = signal(&reply);
                    target.get_or_insert(reply.target);
                    hop.answers.push(HopAnswer {
                        from: reply.from,
                        rtt_ns: reply.rtt_ns,
                        query: probe.query,
                        flow: probe.flow,
                        signal,
                    });
                }
                Err(NetError::Timeout) => {}
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
        }
        let ended = hops
            .iter()
            .enumerate()
            .find_map(|(i, hop)| Some((i, hop.end()?)));
        let end = match ended {
            Some((i, end)) => {
                hops.truncate(i + 1);
                end
            }
            None => End::NotReached,
        };
        Trace {
            target: target.unwrap_or_else(|| host.to_owned()),
            hops,
            end,
            error,
        }
    }

    /// Whether the target is an IPv6 address (ICMPv6 codes apply).
    pub(crate) fn is_ipv6(&self) -> bool {
        self.target.contains(':')
    }

    /// The destination's hop, when reached.
    pub(crate) fn destination(&self) -> Option<&Hop> {
        match self.end {
            End::Reached => self.hops.last(),
            _ => None,
        }
    }

    /// Mean round-trip time of the destination's own answers, when reached.
    pub(crate) fn destination_rtt(&self) -> Option<HopRtt> {
        let hop = self.destination()?;
        rtt_of(
            hop.answers
                .iter()
                .filter(|a| a.signal == Signal::Destination),
        )
    }

    /// Whether any probe was answered.
    pub(crate) fn answered(&self) -> bool {
        self.hops.iter().any(|h| !h.is_silent())
    }
}

/// What `reply` says: the port unreachable code (3, ICMPv6 4) counts as the
/// destination only when the target itself sent it.
fn signal(reply: &icmp::ProbeReply) -> Signal {
    let port_unreachable = if reply.target.contains(':') { 4 } else { 3 };
    match reply.answer {
        icmp::Answer::EchoReply | icmp::Answer::TcpOpen | icmp::Answer::TcpClosed => {
            Signal::Destination
        }
        icmp::Answer::Unreachable(code)
            if code == port_unreachable && same_address(&reply.from, &reply.target) =>
        {
            Signal::Destination
        }
        icmp::Answer::Unreachable(code) => Signal::Unreachable(code),
        icmp::Answer::TimeExceeded(_) | icmp::Answer::Other(_) => Signal::Transit,
    }
}

/// Address equality that ignores how an IPv6 address is written.
fn same_address(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests;

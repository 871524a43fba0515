//! The agent's ICMP engine: echo requests and path probes (ICMP, UDP, TCP
//! SYN) with a per-probe TTL, shared by every run.
//!
//! - **Echo** goes through one socket per address family for the whole agent
//!   ([`echo::EchoLane`]): an unprivileged ICMP datagram ("ping") socket when
//!   `net.ipv4.ping_group_range` admits the agent's group, else a raw socket
//!   (CAP_NET_RAW). A receive task per socket matches replies and ICMP errors
//!   to waiting probes by (target, sequence) and a token in the payload.
//! - **UDP** path probes use one connected UDP socket per flow of a call
//!   ([`udp::UdpFlow`]) with `IP_RECVERR`: unprivileged, and the ports stay
//!   fixed within a flow (Paris traceroute).
//! - **TCP** SYN probes need raw sockets ([`tcp::TcpLane`]): a fixed source
//!   port per flow, the sequence number as the probe's token, answers from
//!   a raw TCP socket (SYN-ACK / RST) and a raw ICMP socket (errors).
//!
//! RTTs are kernel receive timestamps (`SO_TIMESTAMPNS`) minus a realtime
//! stamp taken immediately before `sendmsg`, the iputils method. Sends are
//! paced agent-wide ([`Pacer`]) so bursts do not overflow socket buffers or
//! trip routers' ICMP rate limits. See `docs/design/icmp.md`.

// Elsewhere only the contract and the portable parts (packets, pacing) are
// built, for the engine each system will get.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

#[cfg(target_os = "linux")]
mod echo;
mod pace;
mod packet;
#[cfg(target_os = "linux")]
mod send;
#[cfg(target_os = "linux")]
mod sys;
#[cfg(target_os = "linux")]
mod tcp;
#[cfg(target_os = "linux")]
mod udp;
#[cfg(not(target_os = "linux"))]
mod unavailable;
#[cfg(target_os = "linux")]
mod waiting;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Deserialize;

#[cfg(target_os = "linux")]
pub(crate) use echo::EchoLane;
pub(crate) use pace::Pacer;
pub(crate) use packet::Kind;
#[cfg(target_os = "linux")]
use send::send_paced;
#[cfg(target_os = "linux")]
pub(crate) use tcp::{RawFlow, TcpFlow, TcpLane};
#[cfg(target_os = "linux")]
pub(crate) use udp::UdpFlow;
#[cfg(not(target_os = "linux"))]
pub(crate) use unavailable::{EchoLane, RawFlow, TcpFlow, TcpLane, UdpFlow};
#[cfg(target_os = "linux")]
use waiting::{Heard, Waiter, answer, wait};

/// Which sockets the engine uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IcmpMode {
    /// Ping sockets when allowed, raw sockets otherwise.
    #[default]
    Auto,
    /// Only unprivileged ping sockets.
    Dgram,
    /// Only raw sockets (CAP_NET_RAW).
    Raw,
}

/// The engine's settings (`[icmp]` in the agent's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpOptions {
    pub mode: IcmpMode,
    /// The most probes the agent sends per second, all runs together
    /// (0: unpaced).
    pub max_pps: u32,
}

impl Default for IcmpOptions {
    fn default() -> Self {
        IcmpOptions {
            mode: IcmpMode::Auto,
            max_pps: 20_000,
        }
    }
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    pub(crate) fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }

    fn name(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }
}

/// A probe's answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answer {
    pub(crate) kind: Kind,
    pub(crate) from: IpAddr,
    pub(crate) rtt: Duration,
    pub(crate) ttl: Option<u8>,
    pub(crate) size: usize,
}

/// Why a probe has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProbeError {
    /// Nothing came back in time.
    Timeout,
    /// The engine cannot do this here (no permission, no family); the text
    /// says why and what would allow it.
    Unavailable(String),
    /// The kernel refused to send: no route, and similar.
    Unreachable(String),
    Io(String),
}

/// The agent-wide engine. Sockets open on first use (inside the runtime);
/// [`IcmpService::start`] opens them eagerly and logs the mode.
#[derive(Debug)]
pub struct IcmpService {
    options: IcmpOptions,
    echo4: OnceLock<Result<Arc<EchoLane>, String>>,
    echo6: OnceLock<Result<Arc<EchoLane>, String>>,
    tcp4: OnceLock<Result<Arc<TcpLane>, String>>,
    tcp6: OnceLock<Result<Arc<TcpLane>, String>>,
    pacer: Arc<Pacer>,
    salt: u32,
}

impl IcmpService {
    pub fn new(options: IcmpOptions) -> Self {
        IcmpService {
            options,
            echo4: OnceLock::new(),
            echo6: OnceLock::new(),
            tcp4: OnceLock::new(),
            tcp6: OnceLock::new(),
            pacer: Arc::new(Pacer::new(options.max_pps)),
            salt: rand::random(),
        }
    }

    /// Opens the echo sockets of both families and logs, per family, which
    /// kind of socket the engine uses and why. Must run inside the runtime.
    pub fn start(&self) {
        for family in [Family::V4, Family::V6] {
            let _ = self.echo_lane(family);
        }
    }

    /// The mode each family's echo socket runs in ("dgram", "raw"), or why
    /// it has none.
    pub fn describe(&self, v6: bool) -> Result<&'static str, String> {
        let family = if v6 { Family::V6 } else { Family::V4 };
        self.echo_lane(family)
            .map(|lane| if lane.is_raw() { "raw" } else { "dgram" })
    }

    fn echo_lane(&self, family: Family) -> Result<Arc<EchoLane>, String> {
        let cell = match family {
            Family::V4 => &self.echo4,
            Family::V6 => &self.echo6,
        };
        cell.get_or_init(|| {
            let opened = EchoLane::open(family, self.options.mode, self.salt);
            match &opened {
                Ok((lane, why)) => tracing::info!(
                    family = family.name(),
                    mode = if lane.is_raw() { "raw" } else { "dgram" },
                    reason = %why,
                    "ICMP echo socket open."
                ),
                Err(why) => tracing::warn!(
                    family = family.name(),
                    mode = "off",
                    reason = %why,
                    "ICMP unavailable: ping and traceroute checks of this family will fail."
                ),
            }
            opened.map(|(lane, _)| lane)
        })
        .clone()
    }

    fn tcp_lane(&self, family: Family) -> Result<Arc<TcpLane>, String> {
        let cell = match family {
            Family::V4 => &self.tcp4,
            Family::V6 => &self.tcp6,
        };
        cell.get_or_init(|| {
            let opened = TcpLane::open(family);
            match &opened {
                Ok(_) => tracing::info!(family = family.name(), "Raw sockets open for TCP path probes."),
                Err(why) => tracing::warn!(family = family.name(), reason = %why, "TCP path probes unavailable."),
            }
            opened
        })
        .clone()
    }

    /// Sends one echo request and waits for its answer.
    pub(crate) async fn echo(
        &self,
        target: IpAddr,
        ttl: Option<u8>,
        payload_size: usize,
        flow: u16,
        timeout: Duration,
    ) -> Result<Answer, ProbeError> {
        let lane = self
            .echo_lane(Family::of(target))
            .map_err(ProbeError::Unavailable)?;
        lane.probe(&self.pacer, target, ttl, payload_size, flow, timeout)
            .await
    }

    /// A UDP flow to `target`: probes sent through it share their ports.
    pub(crate) fn udp_flow(&self, target: SocketAddr) -> Result<UdpFlow, ProbeError> {
        UdpFlow::open(target, self.salt, self.pacer.clone())
    }

    /// A TCP flow to `target`: with raw sockets its probes share their
    /// ports; without, each probe is a `connect()` of its own.
    pub(crate) fn tcp_flow(&self, target: SocketAddr) -> Result<TcpFlow, ProbeError> {
        if self.options.mode == IcmpMode::Dgram {
            return Ok(TcpFlow::Connect(target));
        }
        match self.tcp_lane(Family::of(target.ip())) {
            Ok(lane) => Ok(TcpFlow::Raw(RawFlow::open(
                lane,
                target,
                self.salt,
                self.pacer.clone(),
            )?)),
            Err(_) if self.options.mode == IcmpMode::Auto => Ok(TcpFlow::Connect(target)),
            Err(why) => Err(ProbeError::Unavailable(why)),
        }
    }

    /// The agent-wide pacer.
    pub(crate) fn pacer(&self) -> &Pacer {
        &self.pacer
    }
}

#[cfg(target_os = "linux")]
/// The agent's effective group id and `net.ipv4.ping_group_range`, to say
/// why ping sockets are or are not allowed.
fn ping_group_note() -> String {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
        .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into());
    let gid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Gid:"))
                .and_then(|g| g.split_whitespace().nth(1).map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown".into());
    format!("net.ipv4.ping_group_range is \"{range}\", the agent's group is {gid}")
}

#[cfg(all(test, target_os = "linux"))]
mod tests;

//! The configuration and what it turns into: one probe per (query, TTL,
//! flow), all sent in one call, paced `interval_ms` apart, that must all be
//! answered within the check's timeout.

use vantage_plugin_sdk::prelude::*;

use crate::trace::ProbeId;

/// The most probes one run sends: the host's largest batch.
const MAX_PROBES: u32 = 4096;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default = "default_first_ttl")]
    first_ttl: u8,
    #[serde(default = "default_max_hops")]
    max_hops: u8,
    #[serde(default = "default_queries")]
    queries: u8,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u32,
    #[serde(default = "default_interval_ms")]
    interval_ms: u32,
    #[serde(default = "default_flows")]
    flows: u16,
    #[serde(default)]
    payload_size: Option<u16>,
    #[serde(default)]
    family: Family,
}

fn default_first_ttl() -> u8 {
    1
}

fn default_max_hops() -> u8 {
    30
}

fn default_queries() -> u8 {
    3
}

fn default_timeout_ms() -> u32 {
    1000
}

fn default_interval_ms() -> u32 {
    5
}

fn default_flows() -> u16 {
    1
}

/// The `mode` setting: what each probe is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    #[default]
    Icmp,
    Udp,
    Tcp,
}

impl Mode {
    /// The name the configuration uses.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Icmp => "icmp",
            Mode::Udp => "udp",
            Mode::Tcp => "tcp",
        }
    }
}

/// The `family` setting.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Family {
    #[default]
    Any,
    Ipv4,
    Ipv6,
}

impl From<Family> for icmp::Family {
    fn from(family: Family) -> Self {
        match family {
            Family::Any => icmp::Family::Any,
            Family::Ipv4 => icmp::Family::Ipv4,
            Family::Ipv6 => icmp::Family::Ipv6,
        }
    }
}

/// A checked configuration for one target.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) host: String,
    pub(crate) mode: Mode,
    pub(crate) first_ttl: u8,
    pub(crate) max_hops: u8,
    method: icmp::Method,
    payload_size: u16,
    queries: u8,
    flows: u16,
    timeout_ms: u32,
    interval_ms: u32,
    family: Family,
    /// The check's timeout: what all waves together may take.
    check_timeout_ms: u32,
}

/// TTLs probed together in one wave.
pub(crate) const WAVE_TTLS: u8 = 8;

impl Plan {
    /// Checks the configuration against the target and the check's timeout;
    /// the error is a message for an `error` outcome naming the setting.
    pub(crate) fn new(ctx: &Context, config: Config) -> Result<Plan, String> {
        let host = target_host(&ctx.target).map_err(|e| {
            if e.contains("has a port") {
                format!("{e} (set `port` in the config for udp and tcp probes)")
            } else {
                e
            }
        })?;
        config_in_range("first_ttl", config.first_ttl.into(), 1..=64)?;
        config_in_range("max_hops", config.max_hops.into(), 1..=64)?;
        if config.max_hops < config.first_ttl {
            return Err(format!(
                "config: max_hops ({}) must be at least first_ttl ({})",
                config.max_hops, config.first_ttl
            ));
        }
        config_in_range("queries", config.queries.into(), 1..=10)?;
        config_in_range("timeout_ms", config.timeout_ms, 1..=60_000)?;
        config_in_range("interval_ms", config.interval_ms, 0..=1000)?;
        config_in_range("flows", config.flows.into(), 1..=16)?;
        config_in_range(
            "payload_size",
            config.payload_size.unwrap_or(0).into(),
            0..=1400,
        )?;
        if let Some(port) = config.port {
            config_in_range("port", port.into(), 1..=65535)?;
        }
        let payload_size = config.payload_size.unwrap_or(32);
        let (method, payload_size) = match config.mode {
            Mode::Icmp => (icmp::Method::Echo, payload_size),
            Mode::Udp => (
                icmp::Method::Udp(config.port.unwrap_or(33434)),
                payload_size,
            ),
            // TCP probes carry no payload.
            Mode::Tcp => (icmp::Method::Tcp(config.port.unwrap_or(443)), 0),
        };
        let hops = u32::from(config.max_hops - config.first_ttl) + 1;
        let probes = hops * u32::from(config.queries) * u32::from(config.flows);
        if probes > MAX_PROBES {
            return Err(format!(
                "config: {hops} hops (first_ttl to max_hops) × {} queries × {} flows make \
                 {probes} probes, more than the {MAX_PROBES} one run may send",
                config.queries, config.flows
            ));
        }
        // The last probe leaves `spread` after the first; its answer must
        // still arrive within the check's timeout.
        let spread = (probes - 1) * config.interval_ms;
        if u64::from(spread) + u64::from(config.timeout_ms) > u64::from(ctx.timeout_ms) {
            return Err(format!(
                "config: the last of {probes} probes ({hops} hops (first_ttl to max_hops) × {} \
                 queries × {} flows) leaves {spread} ms after the first (interval_ms = {}) and \
                 waits up to timeout_ms = {} ms, past the check's timeout of {} ms",
                config.queries, config.flows, config.interval_ms, config.timeout_ms, ctx.timeout_ms
            ));
        }
        Ok(Plan {
            host,
            mode: config.mode,
            first_ttl: config.first_ttl,
            max_hops: config.max_hops,
            method,
            payload_size,
            queries: config.queries,
            flows: config.flows,
            timeout_ms: config.timeout_ms,
            interval_ms: config.interval_ms,
            family: config.family,
            check_timeout_ms: ctx.timeout_ms,
        })
    }

    /// The probes in waves of [`WAVE_TTLS`] TTLs (each wave in send order),
    /// so that a trace can stop once a wave reaches the destination instead
    /// of sending every TTL up to `max_hops` (which also keeps the
    /// destination, whose ICMP errors are rate-limited, from being flooded).
    /// When the waves' worst case (every probe unanswered) would not fit the
    /// check's timeout, there is one wave with every probe, as `new` checked.
    pub(crate) fn waves(&self) -> Vec<Vec<ProbeId>> {
        let all = self.probes();
        let mut waves: Vec<Vec<ProbeId>> = Vec::new();
        let mut lo = self.first_ttl;
        loop {
            let hi = lo.saturating_add(WAVE_TTLS - 1).min(self.max_hops);
            waves.push(
                all.iter()
                    .filter(|p| (lo..=hi).contains(&p.ttl))
                    .copied()
                    .collect(),
            );
            if hi >= self.max_hops {
                break;
            }
            lo = hi + 1;
        }
        let worst: u64 = waves
            .iter()
            .map(|w| {
                (w.len() as u64).saturating_sub(1) * u64::from(self.interval_ms)
                    + u64::from(self.timeout_ms)
            })
            .sum();
        if worst > u64::from(self.check_timeout_ms) {
            vec![all]
        } else {
            waves
        }
    }

    /// Every probe in send order: round by round (query), each round all
    /// TTLs from the nearest, each TTL all flows.
    pub(crate) fn probes(&self) -> Vec<ProbeId> {
        let mut probes = Vec::new();
        for query in 1..=self.queries {
            for ttl in self.first_ttl..=self.max_hops {
                for flow in 0..self.flows {
                    probes.push(ProbeId { ttl, query, flow });
                }
            }
        }
        probes
    }

    /// The requests for `probes`, the k-th sent `k × interval_ms` in.
    pub(crate) fn requests(&self, probes: &[ProbeId]) -> Vec<icmp::ProbeRequest> {
        (0..)
            .zip(probes)
            .map(|(k, probe): (u32, _)| icmp::ProbeRequest {
                host: self.host.clone(),
                family: self.family.into(),
                method: self.method,
                ttl: Some(probe.ttl),
                payload_size: self.payload_size,
                flow: probe.flow,
                timeout_ms: self.timeout_ms,
                delay_ms: k * self.interval_ms,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;

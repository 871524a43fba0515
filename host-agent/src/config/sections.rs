//! The sections of the configuration file besides checks, limits and the
//! outbox: the agent itself, trust, plugin folders, TLS, ICMP and the server.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::icmp::{IcmpMode, IcmpOptions};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// The agent's name in results; defaults to the host name.
    pub name: Option<String>,
    /// Where the agent keeps its state (precompiled plugins, …).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Runs in flight at once, across all checks.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_runs: u32,
    /// The addresses other agents' mesh checks reach this one at (behind NAT:
    /// the public one). Empty: the host's own, neither loopback nor link-local.
    #[serde(default)]
    pub advertise: Vec<std::net::IpAddr>,
}

impl Default for AgentSection {
    fn default() -> Self {
        AgentSection {
            name: None,
            data_dir: default_data_dir(),
            max_concurrent_runs: default_concurrency(),
            advertise: Vec::new(),
        }
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from(".vantage")
}

fn default_concurrency() -> u32 {
    64
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSection {
    /// Public key files (`vantage keys generate` writes them) of trusted publishers.
    #[serde(default)]
    pub keys: Vec<PathBuf>,
    /// Ids of keys no longer trusted, even if listed in `keys`.
    #[serde(default)]
    pub revoked: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsSection {
    /// Folders holding `.vpkg` packages.
    #[serde(default)]
    pub dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM files of extra certificate authorities the `http` capability trusts.
    #[serde(default)]
    pub ca_files: Vec<PathBuf>,
}

/// Where the `logs` capability reads the systemd journal.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsSection {
    /// The `journalctl` to run; found on `PATH` when absent.
    pub journalctl: Option<PathBuf>,
    /// A journal folder to read instead of the system's (a container's,
    /// or a journal copied from elsewhere): `journalctl --directory`.
    pub journal_directory: Option<PathBuf>,
}

/// The ICMP engine (ping and traceroute plugins).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcmpSection {
    /// "auto" (ping sockets when `net.ipv4.ping_group_range` allows, raw
    /// sockets otherwise), "dgram" or "raw".
    #[serde(default)]
    pub mode: IcmpMode,
    /// The most probes per second, all checks together (0: unpaced).
    #[serde(default = "default_max_pps")]
    pub max_pps: u32,
}

impl Default for IcmpSection {
    fn default() -> Self {
        IcmpSection {
            mode: IcmpMode::Auto,
            max_pps: default_max_pps(),
        }
    }
}

fn default_max_pps() -> u32 {
    IcmpOptions::default().max_pps
}

/// How the agent talks to its server (the URL and credential come from
/// enrollment, in `<data_dir>/credential.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// How often the agent tells the server it is alive.
    #[serde(default = "default_heartbeat", with = "humantime_serde")]
    pub heartbeat: Duration,
    /// The longest wait between retries while the server is unreachable.
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
    /// How long to pause sending after the server refused the credential.
    #[serde(default = "default_auth_pause", with = "humantime_serde")]
    pub auth_pause: Duration,
    /// How long one request for the desired configuration may wait on the
    /// server for a change (a long poll): changes arrive as they happen.
    #[serde(default = "default_config_wait", with = "humantime_serde")]
    pub config_wait: Duration,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            heartbeat: default_heartbeat(),
            max_backoff: default_max_backoff(),
            auth_pause: default_auth_pause(),
            config_wait: default_config_wait(),
        }
    }
}

fn default_heartbeat() -> Duration {
    Duration::from_secs(15)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(60)
}
fn default_config_wait() -> Duration {
    Duration::from_secs(30)
}
fn default_auth_pause() -> Duration {
    Duration::from_secs(300)
}

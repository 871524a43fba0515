//! The agent's TOML configuration (see `docs/agent-config.md`).
//!
//! Parsing checks the shape (unknown fields are errors); [`AgentConfig::load`]
//! also checks values, and [`crate::catalog`] checks each check against its
//! plugin. Every error names the file and the field.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use vantage_protocol::manifest::Capability;

use crate::caps::Scope;
use crate::icmp::{IcmpMode, IcmpOptions};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    #[serde(default)]
    pub agent: AgentSection,
    #[serde(default)]
    pub trust: TrustSection,
    #[serde(default)]
    pub plugins: PluginsSection,
    #[serde(default)]
    pub limits: LimitsSection,
    #[serde(default)]
    pub tls: TlsSection,
    #[serde(default)]
    pub icmp: IcmpSection,
    /// The link to a server, once enrolled (`vantage-agent enroll`).
    #[serde(default)]
    pub server: ServerSection,
    /// The durable queue of results for the server.
    #[serde(default)]
    pub outbox: OutboxSection,
    #[serde(default, rename = "check")]
    pub checks: Vec<CheckConfig>,
    /// The file this was read from; relative paths resolve against its folder.
    #[serde(skip)]
    pub path: PathBuf,
}

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

/// Defaults for every check's run limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u32,
    #[serde(default = "default_output_kib")]
    pub output_kib: u32,
    #[serde(default = "default_host_calls")]
    pub host_calls: u32,
    #[serde(default = "default_log_lines")]
    pub log_lines: u32,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            memory_mib: default_memory_mib(),
            output_kib: default_output_kib(),
            host_calls: default_host_calls(),
            log_lines: default_log_lines(),
        }
    }
}

fn default_memory_mib() -> u32 {
    64
}
fn default_output_kib() -> u32 {
    1024
}
fn default_host_calls() -> u32 {
    10_000
}
fn default_log_lines() -> u32 {
    100
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM files of extra certificate authorities the `http` capability trusts.
    #[serde(default)]
    pub ca_files: Vec<PathBuf>,
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

/// The outbox: results wait here, on disk, until the server acknowledges them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSection {
    /// The most disk the outbox may use; beyond it the oldest results are
    /// dropped (and counted). Sizes like "256MiB".
    #[serde(default = "default_max_bytes", deserialize_with = "size")]
    pub max_bytes: u64,
    /// Size of one segment file.
    #[serde(default = "default_segment_bytes", deserialize_with = "size")]
    pub segment_bytes: u64,
    /// Results per batch sent to the server.
    #[serde(default = "default_batch_results")]
    pub batch_results: usize,
}

impl Default for OutboxSection {
    fn default() -> Self {
        OutboxSection {
            max_bytes: default_max_bytes(),
            segment_bytes: default_segment_bytes(),
            batch_results: default_batch_results(),
        }
    }
}

fn default_max_bytes() -> u64 {
    256 << 20
}
fn default_segment_bytes() -> u64 {
    8 << 20
}
fn default_batch_results() -> usize {
    500
}

/// Parses "12KiB", "256MiB", "1GiB", "4096" (bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "KB" | "kB" => 1 << 10,
        "MiB" | "M" | "MB" => 1 << 20,
        "GiB" | "G" | "GB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

fn size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Bytes(n) => Ok(n),
        Size::Text(t) => parse_size(&t).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{t}` is not a size (like \"64KiB\" or \"256MiB\")"
            ))
        }),
    }
}

/// One `[[check]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    pub name: String,
    /// `name` or `name@<semver requirement>`, e.g. `http@^0.1`.
    pub plugin: String,
    pub targets: Vec<String>,
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Defaults to the interval, at most 10 s.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Each run starts up to this long after its slot; defaults to a tenth of
    /// the interval, at most 1 s.
    #[serde(default, with = "humantime_serde")]
    pub jitter: Option<Duration>,
    /// Capabilities granted; defaults to what the plugin requests. Listing
    /// fewer narrows what the plugin may do.
    pub grants: Option<BTreeSet<Capability>>,
    /// Hosts, addresses or CIDRs the check may reach besides its target.
    #[serde(default)]
    pub allow: Vec<String>,
    /// The plugin's configuration, validated against its schema.
    #[serde(default = "empty_table")]
    pub config: toml::Table,
    /// Overrides of the `[limits]` defaults for this check.
    pub memory_mib: Option<u32>,
}

fn empty_table() -> toml::Table {
    toml::Table::new()
}

/// A configuration error, naming the file and field.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct ConfigError {
    pub file: String,
    pub problem: String,
}

const MIN_INTERVAL: Duration = Duration::from_millis(100);
const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);

impl AgentConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            problem: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks configuration text that came from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let err = |problem: String| ConfigError {
            file: path.display().to_string(),
            problem,
        };
        let mut config: AgentConfig =
            toml::from_str(text).map_err(|e| err(e.to_string().trim().to_owned()))?;
        config.path = path.to_owned();
        config.check().map_err(err)?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.agent.advertise.len() > 64 {
            return Err("agent.advertise: at most 64 addresses".into());
        }
        if self.agent.max_concurrent_runs == 0 || self.agent.max_concurrent_runs > 4096 {
            return Err("agent.max_concurrent_runs: must be between 1 and 4096".into());
        }
        if !(1..=4096).contains(&self.limits.memory_mib) {
            return Err("limits.memory_mib: must be between 1 and 4096".into());
        }
        let o = &self.outbox;
        if o.segment_bytes < 1024 || o.max_bytes < 2 * o.segment_bytes {
            return Err(
                "outbox: segment_bytes must be at least 1KiB and max_bytes at least two segments"
                    .into(),
            );
        }
        if !(1..=5000).contains(&o.batch_results) {
            return Err("outbox.batch_results: must be between 1 and 5000".into());
        }
        if self.server.heartbeat < Duration::from_millis(100)
            || self.server.max_backoff < Duration::from_millis(100)
        {
            return Err("server: heartbeat and max_backoff must be at least 100ms".into());
        }
        let max_wait = vantage_protocol::config::MAX_DESIRED_WAIT_SECS;
        if self.server.config_wait > Duration::from_secs(max_wait) {
            return Err(format!(
                "server.config_wait: at most {max_wait}s (the server waits no longer)"
            ));
        }
        if self.limits.output_kib == 0 || self.limits.host_calls == 0 {
            return Err("limits: output_kib and host_calls must be at least 1".into());
        }
        for (i, id) in self.trust.revoked.iter().enumerate() {
            if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "trust.revoked[{i}]: `{id}` is not a key id (16 hex digits)"
                ));
            }
        }
        let mut names = HashSet::new();
        for (i, c) in self.checks.iter().enumerate() {
            let at = |field: &str| format!("check[{i}] `{}`.{field}", c.name);
            if c.name.trim().is_empty() {
                return Err(format!("check[{i}].name: must not be empty"));
            }
            if !names.insert(c.name.as_str()) {
                return Err(format!(
                    "{}: a check of that name is defined twice",
                    at("name")
                ));
            }
            if c.targets.is_empty() || c.targets.iter().any(|t| t.trim().is_empty()) {
                return Err(format!(
                    "{}: at least one non-empty target is needed",
                    at("targets")
                ));
            }
            if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&c.interval) {
                return Err(format!(
                    "{}: {} is outside 100ms–24h",
                    at("interval"),
                    humantime::format_duration(c.interval)
                ));
            }
            if let Some(t) = c.timeout
                && (t.is_zero() || t > c.interval)
            {
                return Err(format!(
                    "{}: {} must be more than 0 and at most the interval ({})",
                    at("timeout"),
                    humantime::format_duration(t),
                    humantime::format_duration(c.interval)
                ));
            }
            if c.jitter.is_some_and(|j| j >= c.interval) {
                return Err(format!(
                    "{}: must be shorter than the interval",
                    at("jitter")
                ));
            }
            if c.memory_mib.is_some_and(|m| !(1..=4096).contains(&m)) {
                return Err(format!("{}: must be between 1 and 4096", at("memory_mib")));
            }
            parse_plugin_ref(&c.plugin).map_err(|e| format!("{}: {e}", at("plugin")))?;
            for target in &c.targets {
                Scope::new(target, &c.allow).map_err(|e| format!("{}: {e}", at("allow")))?;
            }
        }
        Ok(())
    }

    /// Resolves a path from the file against the file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.path.parent().unwrap_or(Path::new(".")).join(path)
        }
    }

    /// The agent's name in results.
    pub fn agent_name(&self) -> String {
        self.agent
            .name
            .clone()
            .unwrap_or_else(|| sysinfo::System::host_name().unwrap_or_else(|| "agent".into()))
    }
}

impl CheckConfig {
    pub fn timeout(&self) -> Duration {
        self.timeout
            .unwrap_or(self.interval.min(Duration::from_secs(10)))
    }

    pub fn jitter(&self) -> Duration {
        self.jitter
            .unwrap_or((self.interval / 10).min(Duration::from_secs(1)))
    }
}

/// Splits `name` or `name@req` into the name and a semver requirement.
pub fn parse_plugin_ref(text: &str) -> Result<(String, semver::VersionReq), String> {
    let (name, req) = match text.split_once('@') {
        Some((n, r)) => (n, r),
        None => (text, "*"),
    };
    if name.is_empty() {
        return Err(format!("`{text}` names no plugin"));
    }
    let req = semver::VersionReq::parse(req)
        .map_err(|e| format!("`{req}` is not a semver requirement: {e}"))?;
    Ok((name.to_owned(), req))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
        AgentConfig::parse(text, Path::new("agent.toml"))
    }

    const GOOD: &str = r#"
        [[check]]
        name = "web"
        plugin = "http@^0.1"
        targets = ["http://127.0.0.1:8080/"]
        interval = "10s"
        [check.config]
        expect_status = [200]
    "#;

    #[test]
    fn a_good_config_parses_with_defaults() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.checks[0].timeout(), Duration::from_secs(10));
        assert_eq!(c.checks[0].jitter(), Duration::from_secs(1));
        assert_eq!(c.agent.max_concurrent_runs, 64);
        assert_eq!(c.resolve(Path::new("x")), Path::new("x"));
    }

    #[test]
    fn advertised_addresses_are_addresses() {
        let c = parse(&format!(
            "[agent]\nadvertise = [\"203.0.113.7\", \"2001:db8::1\"]\n{GOOD}"
        ))
        .unwrap();
        assert_eq!(
            c.agent
                .advertise
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["203.0.113.7", "2001:db8::1"]
        );
        let e = parse(&format!("[agent]\nadvertise = [\"edge.example\"]\n{GOOD}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("advertise"), "{e}");
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let e = parse(&GOOD.replace("\"10s\"", "\"10 parsecs\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("agent.toml: ") && e.contains("interval"),
            "{e}"
        );
        let e = parse(&GOOD.replace("\"10s\"", "\"10ms\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("check[0] `web`.interval: 10ms is outside"),
            "{e}"
        );
        let e = parse(&GOOD.replace("^0.1", "^^0.1"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`web`.plugin"), "{e}");
        let e = parse(&GOOD.replace("interval =", "timeout = \"20s\"\ninterval ="))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`web`.timeout"), "{e}");
        let e = parse(&GOOD.replace("name = \"web\"", "name = \"web\"\nsurprise = 1"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("surprise"), "{e}");
        let e = parse(&format!("{GOOD}{GOOD}")).unwrap_err().to_string();
        assert!(e.contains("defined twice"), "{e}");
        let e = parse(&GOOD.replace("targets = [\"http://127.0.0.1:8080/\"]", "targets = []"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`web`.targets"), "{e}");
    }
}

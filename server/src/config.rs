//! The server's configuration: a TOML file, overridden by `VANTAGE_*`
//! environment variables, overridden by flags (see `docs/server-config.md`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use vantage_protocol::net::Network;

/// How long data is kept at each resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    #[serde(with = "humantime_serde", default = "default_raw")]
    pub raw: Duration,
    #[serde(with = "humantime_serde", default = "default_minute")]
    pub minute: Duration,
    #[serde(with = "humantime_serde", default = "default_hour")]
    pub hour: Duration,
    /// The audit log's entries.
    #[serde(with = "humantime_serde", default = "default_audit")]
    pub audit: Duration,
    /// The alert history and the delivery log (each alert's latest step
    /// and whatever work still waits on stay).
    #[serde(with = "humantime_serde", default = "default_audit")]
    pub alerts: Duration,
    /// Events (matched log lines), by their own time.
    #[serde(with = "humantime_serde", default = "default_events")]
    pub events: Duration,
}

fn default_raw() -> Duration {
    Duration::from_secs(7 * 86_400)
}
fn default_minute() -> Duration {
    Duration::from_secs(90 * 86_400)
}
fn default_hour() -> Duration {
    Duration::from_secs(2 * 365 * 86_400)
}
fn default_audit() -> Duration {
    Duration::from_secs(400 * 86_400)
}
fn default_events() -> Duration {
    Duration::from_secs(30 * 86_400)
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw: default_raw(),
            minute: default_minute(),
            hour: default_hour(),
            audit: default_audit(),
            alerts: default_audit(),
            events: default_events(),
        }
    }
}

/// The whole configuration, after every source is applied.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where the embedded SQLite database lives (when no `database_url`).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; SQLite in `data_dir` when absent.
    #[serde(default)]
    pub database_url: Option<String>,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// When set, `/metrics` asks for `Authorization: Bearer <token>`.
    #[serde(default)]
    pub metrics_token: Option<String>,
    #[serde(default)]
    pub retention: Retention,
    /// How often the rollup and retention jobs run.
    #[serde(with = "humantime_serde", default = "default_jobs_interval")]
    pub jobs_interval: Duration,
    /// How long a login session lasts.
    #[serde(with = "humantime_serde", default = "default_session_ttl")]
    pub session_ttl: Duration,
    /// An agent not heard from for this long is offline.
    #[serde(with = "humantime_serde", default = "default_offline_after")]
    pub offline_after: Duration,
    /// PEM certificate chain: serve HTTPS (with `tls_key`).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Batches waiting for a database connection before new ones get 429.
    #[serde(default = "default_ingest_queue")]
    pub ingest_queue: usize,
    /// The largest plugin package the registry accepts, in bytes.
    #[serde(default = "default_max_package_bytes")]
    pub max_package_bytes: usize,
    /// The largest agent archive the server accepts, in bytes.
    #[serde(default = "default_max_release_bytes")]
    pub max_release_bytes: usize,
    /// The wait before a failed notification is sent again; it doubles
    /// with each attempt, up to 15 minutes.
    #[serde(with = "humantime_serde", default = "default_notify_retry")]
    pub notify_retry: Duration,
    /// How long a replica's claim on a delivery lasts: should it die
    /// mid-send, another sends the delivery once this ran out. Longer
    /// than a send may take (10 s); at least 15 s.
    #[serde(with = "humantime_serde", default = "default_notify_lease")]
    pub notify_lease: Duration,
    /// Where people reach the dashboard (`https://vantage.example.net`):
    /// notifications link to it. None: they carry no link.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Requests a minute each client may make to `/api/`: per credential,
    /// or per address without one (a minute's worth may come at once).
    /// 0: no limit.
    #[serde(default = "default_rate_limit")]
    pub rate_limit: u32,
    /// Marks the session cookie `Secure` (sent over HTTPS only). Default:
    /// when the server itself serves HTTPS; set `true` behind a proxy
    /// that terminates TLS.
    #[serde(default)]
    pub secure_cookies: Option<bool>,
    /// The most points (raw samples, distributions or rollup rows) one
    /// history or stats query may read; past it the query is a 422.
    #[serde(default = "default_max_query_points")]
    pub max_query_points: usize,
    /// Special addresses (CIDRs) agents may report nonetheless, e.g.
    /// `127.0.0.0/8` for agents sharing one host in a lab or a demo. By
    /// default agents may report no loopback, link-local, unspecified,
    /// multicast or broadcast address.
    #[serde(default)]
    pub agent_addresses: Vec<String>,
    /// The Chromium that prints PDF reports. None: the first of
    /// `/usr/bin/chromium`, `chromium-browser`, `google-chrome` found.
    #[serde(default)]
    pub chromium: Option<PathBuf>,
    /// The longest an API token may live (`90d`); tokens asked for without
    /// a lifetime get this one. None: tokens may live forever.
    #[serde(with = "humantime_serde", default)]
    pub token_max_lifetime: Option<Duration>,
    /// The key that seals secrets in check configuration: 32 random bytes,
    /// base64 (`head -c 32 /dev/urandom | base64`). Replicas share it.
    /// None: `secrets.key` beside the SQLite database (made on first
    /// start); with PostgreSQL, checks with secrets are refused.
    #[serde(default)]
    pub secrets_key_file: Option<PathBuf>,
    /// Reverse proxies (CIDRs) whose `X-Forwarded-For` names the client:
    /// the login throttle, the rate limit, the audit log and the session
    /// list then see the client, not the proxy. Empty: the header is
    /// ignored, so no client can choose its address.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("vantage-data")
}
fn default_max_connections() -> u32 {
    16
}
fn default_jobs_interval() -> Duration {
    Duration::from_secs(10)
}
fn default_session_ttl() -> Duration {
    Duration::from_secs(12 * 3600)
}
fn default_offline_after() -> Duration {
    Duration::from_secs(45)
}
fn default_ingest_queue() -> usize {
    256
}
fn default_notify_retry() -> Duration {
    Duration::from_secs(5)
}
fn default_max_query_points() -> usize {
    500_000
}
fn default_rate_limit() -> u32 {
    1000
}
fn default_notify_lease() -> Duration {
    Duration::from_secs(60)
}
fn default_max_package_bytes() -> usize {
    128 << 20
}
fn default_max_release_bytes() -> usize {
    512 << 20
}

impl Default for ServerConfig {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl ServerConfig {
    /// When an agent last heard from counts as online, as of `now`.
    pub fn online_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(self.offline_after)
            .unwrap_or(chrono::Duration::seconds(45))
    }

    /// Reads a TOML file; every field is optional.
    pub fn from_file(path: &Path) -> anyhow::Result<ServerConfig> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{}", path.display()))
    }

    /// Whether agents may report `ip` although it is special: a network of
    /// `agent_addresses` holds it.
    pub fn agent_address_allowed(&self, ip: std::net::IpAddr) -> bool {
        self.agent_addresses
            .iter()
            .filter_map(|cidr| Network::parse(cidr.trim()).ok())
            .any(|net| net.contains(ip))
    }

    /// Whether the session cookie is `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or(self.tls_cert.is_some())
    }

    /// The database URL in effect: the configured one, or SQLite in `data_dir`.
    pub fn database(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("vantage.db").display()),
        }
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        for cidr in &self.agent_addresses {
            Network::parse(cidr.trim()).map_err(|e| anyhow::anyhow!("agent_addresses: {e}"))?;
        }
        for cidr in &self.trusted_proxies {
            Network::parse(cidr.trim()).map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
        }
        let r = &self.retention;
        if r.alerts < Duration::from_secs(86_400) {
            anyhow::bail!(
                "retention.alerts must be at least a day (got {})",
                humantime::format_duration(r.alerts)
            );
        }
        if r.audit < Duration::from_secs(86_400) {
            anyhow::bail!(
                "retention.audit must be at least a day (got {})",
                humantime::format_duration(r.audit)
            );
        }
        if r.events.is_zero() {
            anyhow::bail!("retention.events must be longer than 0s");
        }
        if r.raw.is_zero() || r.minute < r.raw || r.hour < r.minute {
            anyhow::bail!(
                "retention must satisfy 0 < raw ≤ minute ≤ hour (raw {}, minute {}, hour {})",
                humantime::format_duration(r.raw),
                humantime::format_duration(r.minute),
                humantime::format_duration(r.hour)
            );
        }
        if self.max_connections < 3 {
            anyhow::bail!(
                "max_connections must be at least 3 (got {})",
                self.max_connections
            );
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!("tls_cert and tls_key go together: give both or neither");
        }
        if self.jobs_interval < Duration::from_millis(100) {
            anyhow::bail!("jobs_interval must be at least 100ms");
        }
        if self.notify_lease < crate::alerting::notify::MIN_LEASE {
            anyhow::bail!(
                "notify_lease must be at least {} (longer than a send may take)",
                humantime::format_duration(crate::alerting::notify::MIN_LEASE)
            );
        }
        if let Some(url) = &self.public_url {
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| anyhow::anyhow!("public_url `{url}` is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                anyhow::bail!("public_url `{url}` must be an http(s) URL with a host");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = ServerConfig::default();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.retention.raw, Duration::from_secs(7 * 86_400));
        assert_eq!(c.retention.events, Duration::from_secs(30 * 86_400));
        assert!(c.database().starts_with("sqlite://"));
        c.validate().unwrap();
    }

    #[test]
    fn bad_values_are_refused_with_the_field_named() {
        let e = toml::from_str::<ServerConfig>("listen = 'nowhere'").unwrap_err();
        assert!(e.to_string().contains("listen"), "{e}");
        let e = toml::from_str::<ServerConfig>("colour = 1").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        let c: ServerConfig = toml::from_str("[retention]\nraw = '30d'\nminute = '1d'").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("retention"));
        let c: ServerConfig = toml::from_str("[retention]\nevents = '0s'").unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("retention.events")
        );
        let c: ServerConfig = toml::from_str("[retention]\nevents = '90d'").unwrap();
        assert_eq!(c.retention.events, Duration::from_secs(90 * 86_400));
        c.validate().unwrap();
        for bad in [
            "vantage.example.net",
            "ftp://vantage.example.net",
            "https://",
        ] {
            let c: ServerConfig = toml::from_str(&format!("public_url = '{bad}'")).unwrap();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains("public_url"), "{bad}: {e}");
        }
        let c: ServerConfig =
            toml::from_str("public_url = 'https://vantage.example.net/'").unwrap();
        c.validate().unwrap();
    }
}

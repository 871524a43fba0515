//! The agent's TOML configuration (see `docs/agent-config.md`).
//!
//! Parsing checks the shape (unknown fields are errors); [`AgentConfig::load`]
//! also checks values, and [`crate::catalog`] checks each check against its
//! plugin. Every error names the file and the field.

mod checks;
mod limits;
mod sections;
mod update;
mod validate;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use checks::{CheckConfig, parse_plugin_ref};
pub(crate) use checks::{MAX_INTERVAL, MIN_INTERVAL};
pub use limits::{LimitsSection, OutboxSection, parse_size};
pub use sections::{
    AgentSection, IcmpSection, LogsSection, PluginsSection, ServerSection, TlsSection, TrustSection,
};
pub use update::{FreezeWindow, UpdateMode, UpdateSection};

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
    #[serde(default)]
    pub logs: LogsSection,
    /// The link to a server, once enrolled (`vantage-agent enroll`).
    #[serde(default)]
    pub server: ServerSection,
    /// The durable queue of results for the server.
    #[serde(default)]
    pub outbox: OutboxSection,
    /// Whether and when the agent updates itself.
    #[serde(default)]
    pub update: UpdateSection,
    #[serde(default, rename = "check")]
    pub checks: Vec<CheckConfig>,
    /// The file this was read from; relative paths resolve against its folder.
    #[serde(skip)]
    pub path: PathBuf,
}

/// A configuration error, naming the file and field.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct ConfigError {
    pub file: String,
    pub problem: String,
}

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

#[cfg(test)]
mod tests {
    use std::time::Duration;

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

    #[test]
    fn names_and_targets_the_server_would_refuse_are_refused_here() {
        let long = "n".repeat(129);
        let e = parse(&GOOD.replace("name = \"web\"", &format!("name = \"{long}\"")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("check[0].name: is longer than 128 bytes"), "{e}");
        let target = format!("http://{}/", "t".repeat(520));
        let e = parse(&GOOD.replace("http://127.0.0.1:8080/", &target))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`web`.targets[0]: is longer than 512 bytes"),
            "{e}"
        );
        let e = parse(&GOOD.replace("http://127.0.0.1:8080/", "a\\tb"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("control characters"), "{e}");
    }
}

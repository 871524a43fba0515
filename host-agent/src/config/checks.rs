//! One `[[check]]`: a plugin, its targets and its timetable.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use vantage_protocol::manifest::Capability;

/// The shortest interval a check may have.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The longest interval a check may have.
pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);

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
    /// What the check may reach besides its targets: hosts, addresses or
    /// CIDRs, and for the `logs` capability absolute path globs and
    /// `journal:UNIT` ([`vantage_protocol::allow`]).
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

impl CheckConfig {
    pub fn timeout(&self) -> Duration {
        self.timeout
            .unwrap_or(self.interval.min(Duration::from_secs(10)))
    }

    /// See [`crate::jobs::jitter`].
    pub fn jitter(&self) -> Duration {
        crate::jobs::jitter(self.interval, self.jitter)
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

//! The plugin manifest: what a plugin is, what it may ask of the host and what it emits.

use std::collections::BTreeSet;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Everything the host and the registry need to know about a plugin, besides its code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Lower-case name: letters, digits and `-`, starting with a letter, at most 64 characters.
    pub name: String,
    /// The plugin's semantic version.
    #[schemars(with = "String")]
    pub version: semver::Version,
    /// One sentence saying what the plugin checks.
    pub description: String,
    /// Host capabilities the plugin asks for. `log` and `clock` are always available.
    pub capabilities: BTreeSet<Capability>,
    /// JSON Schema (draft 2020-12) of the check's plugin configuration.
    pub config_schema: serde_json::Value,
    /// Every metric the plugin may emit.
    pub metrics: Vec<MetricSpec>,
    /// Present when the plugin also emits metrics named at run time (those of
    /// a scraped exporter, say): any name the result rules accept that is
    /// not declared in `metrics`, as a gauge, in the unit the plugin reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_metrics: Option<DynamicMetrics>,
}

/// What a plugin says of the metrics it names at run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamicMetrics {
    /// Where the names come from, one sentence.
    pub help: String,
}

/// A host capability a plugin may request and an operator may grant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// TCP connections to the check's target.
    Tcp,
    /// UDP datagrams to the check's target.
    Udp,
    /// DNS queries (to the check's target when a server is named).
    Dns,
    /// HTTP requests to the check's target.
    Http,
    /// Statistics of the agent's machine.
    System,
    /// ICMP echo and path probes (ping, traceroute) toward the check's target.
    Icmp,
    /// Lines of the log files and journal units the check's `allow` grants.
    Logs,
}

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: [Capability; 7] = [
        Capability::Tcp,
        Capability::Udp,
        Capability::Dns,
        Capability::Http,
        Capability::System,
        Capability::Icmp,
        Capability::Logs,
    ];

    /// The name used in manifests, grants and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Tcp => "tcp",
            Capability::Udp => "udp",
            Capability::Dns => "dns",
            Capability::Http => "http",
            Capability::System => "system",
            Capability::Icmp => "icmp",
            Capability::Logs => "logs",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Capability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!("unknown capability `{s}` (known: tcp, udp, dns, http, system, icmp, logs)")
            })
    }
}

/// A metric a plugin declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    /// `snake_case` name, unique within the plugin.
    pub name: String,
    /// The base unit the host stores the metric in; the plugin may report any
    /// unit of the same dimension (milliseconds for `seconds`, say).
    pub unit: BaseUnit,
    /// What the metric measures, one sentence.
    pub help: String,
    /// `gauge` (the default): each sample is its own point. `distribution`:
    /// the values a run reports with the same labels (one per packet, say)
    /// are one distribution, in the order reported (see
    /// [`crate::result::Distribution`]).
    #[serde(default, skip_serializing_if = "MetricKind::is_gauge")]
    pub kind: MetricKind,
}

/// How the host groups a metric's samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// One value per sample and run.
    #[default]
    Gauge,
    /// Many values per run, kept together and in order.
    Distribution,
}

impl MetricKind {
    /// Whether this is the default kind (left out of manifests).
    pub fn is_gauge(&self) -> bool {
        *self == MetricKind::Gauge
    }
}

/// The unit a normalised sample is stored in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BaseUnit {
    /// Time: durations, round-trip times, ages.
    Seconds,
    /// Amounts of data.
    Bytes,
    /// A fraction where 1 is the whole (a percentage divided by 100).
    Ratio,
    /// A frequency: events or cycles per second.
    Hertz,
    /// A number of things: packets, hops, errors.
    Count,
    /// Dimensionless, not a count (a load average, a status code).
    None,
}

impl BaseUnit {
    /// The name used in results and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            BaseUnit::Seconds => "seconds",
            BaseUnit::Bytes => "bytes",
            BaseUnit::Ratio => "ratio",
            BaseUnit::Hertz => "hertz",
            BaseUnit::Count => "count",
            BaseUnit::None => "none",
        }
    }
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the manifest's shape: bad syntax, a missing or unknown
    /// field, or a value of the wrong type.
    #[error("manifest is not valid JSON for the manifest format: {0}")]
    Parse(serde_json::Error),
    /// A field breaks a rule that serde alone cannot express.
    #[error("manifest field `{field}`: {problem}")]
    Invalid {
        /// The field's JSON path, e.g. `metrics[2].name`.
        field: String,
        /// What is wrong with its value.
        problem: String,
    },
}

// The inner error is part of the message, so it is not also a `source`,
// which would print it twice in an error chain.
impl From<serde_json::Error> for ManifestError {
    fn from(e: serde_json::Error) -> Self {
        ManifestError::Parse(e)
    }
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

impl Manifest {
    /// Parses and validates a manifest from JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: Manifest = serde_json::from_slice(bytes)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The canonical JSON bytes of this manifest (the bytes a package signs).
    pub fn to_canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serialises")
    }

    /// `name@version`, as shown everywhere.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Checks the rules that serde alone cannot express.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if !is_plugin_name(&self.name) {
            return Err(invalid(
                "name",
                format!(
                    "`{}` must be 1–64 lower-case letters, digits or `-`, starting with a letter",
                    self.name
                ),
            ));
        }
        if self.description.trim().is_empty() {
            return Err(invalid("description", "must not be empty"));
        }
        let mut seen = BTreeSet::new();
        for (i, metric) in self.metrics.iter().enumerate() {
            if let Err(reason) = crate::rules::check_metric_name(&metric.name) {
                return Err(invalid(
                    format!("metrics[{i}].name"),
                    format!("`{}` {reason}", crate::text::prefix(&metric.name, 80)),
                ));
            }
            if !seen.insert(metric.name.as_str()) {
                return Err(invalid(
                    format!("metrics[{i}].name"),
                    format!("`{}` is declared twice", metric.name),
                ));
            }
        }
        if let Some(dynamic) = &self.dynamic_metrics
            && dynamic.help.trim().is_empty()
        {
            return Err(invalid("dynamic_metrics.help", "must not be empty"));
        }
        if !self.config_schema.is_object() {
            return Err(invalid("config_schema", "must be a JSON Schema object"));
        }
        jsonschema::validator_for(&self.config_schema)
            .map_err(|e| invalid("config_schema", format!("is not a valid JSON Schema: {e}")))?;
        Ok(())
    }

    /// The declared metric of that name.
    pub fn metric(&self, name: &str) -> Option<&MetricSpec> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Validates a check's plugin configuration against the config schema.
    /// Each problem names the JSON path of the offending field.
    pub fn validate_config(&self, config: &serde_json::Value) -> Result<(), Vec<String>> {
        let validator = jsonschema::validator_for(&self.config_schema)
            .map_err(|e| vec![format!("the plugin's config schema is invalid: {e}")])?;
        let problems: Vec<String> = validator
            .iter_errors(config)
            .map(|e| {
                let path = e.instance_path().to_string();
                let path = if path.is_empty() {
                    "config".to_owned()
                } else {
                    format!("config{}", path.replace('/', "."))
                };
                format!("{path}: {e}")
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The JSON Schema of the manifest format itself.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Manifest)).expect("schema serialises")
    }
}

fn is_plugin_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> serde_json::Value {
        serde_json::json!({
            "name": "tcp", "version": "1.2.3", "description": "connects",
            "capabilities": ["tcp"],
            "config_schema": {"type": "object", "properties": {"count": {"type": "integer", "minimum": 1}}},
            "metrics": [{"name": "connect_time", "unit": "seconds", "help": "handshake time"}]
        })
    }

    fn parse(v: serde_json::Value) -> Result<Manifest, ManifestError> {
        Manifest::from_json(&serde_json::to_vec(&v).unwrap())
    }

    #[test]
    fn a_valid_manifest_round_trips() {
        let m = parse(base()).unwrap();
        assert_eq!(m.id(), "tcp@1.2.3");
        assert_eq!(Manifest::from_json(&m.to_canonical_json()).unwrap(), m);
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused_with_the_field_named() {
        let mut v = base();
        v["surprise"] = serde_json::json!(1);
        assert!(parse(v).unwrap_err().to_string().contains("surprise"));

        let mut v = base();
        v["name"] = serde_json::json!("Bad Name");
        assert!(parse(v).unwrap_err().to_string().contains("field `name`"));

        let mut v = base();
        v["capabilities"] = serde_json::json!(["teleport"]);
        assert!(parse(v).unwrap_err().to_string().contains("teleport"));

        let mut v = base();
        v["metrics"][0]["unit"] = serde_json::json!("parsecs");
        assert!(parse(v).unwrap_err().to_string().contains("parsecs"));

        let mut v = base();
        v["metrics"] = serde_json::json!([
            {"name": "a", "unit": "count", "help": ""}, {"name": "a", "unit": "count", "help": ""}
        ]);
        assert!(parse(v).unwrap_err().to_string().contains("declared twice"));

        for (name, why) in [
            ("check_up", "reserved"),
            ("a".repeat(65).as_str(), "must match"),
            ("Rtt", "must match"),
        ] {
            let mut v = base();
            v["metrics"][0]["name"] = serde_json::json!(name);
            let e = parse(v).unwrap_err().to_string();
            assert!(e.contains("metrics[0].name") && e.contains(why), "{e}");
        }

        let mut v = base();
        v["config_schema"] = serde_json::json!({"type": 12});
        assert!(parse(v).unwrap_err().to_string().contains("config_schema"));

        let mut v = base();
        v["version"] = serde_json::json!("1.2");
        assert!(parse(v).is_err());
    }

    #[test]
    fn dynamic_metrics_are_optional_and_leave_older_manifests_byte_identical() {
        let m = parse(base()).unwrap();
        assert_eq!(m.dynamic_metrics, None);
        assert!(
            !String::from_utf8(m.to_canonical_json())
                .unwrap()
                .contains("dynamic")
        );

        let mut v = base();
        v["dynamic_metrics"] = serde_json::json!({"help": "scraped from the target"});
        let m = parse(v).unwrap();
        assert_eq!(
            m.dynamic_metrics.as_ref().unwrap().help,
            "scraped from the target"
        );
        assert_eq!(Manifest::from_json(&m.to_canonical_json()).unwrap(), m);

        let mut v = base();
        v["dynamic_metrics"] = serde_json::json!({"help": " "});
        let e = parse(v).unwrap_err().to_string();
        assert!(e.contains("dynamic_metrics.help"), "{e}");
        let mut v = base();
        v["dynamic_metrics"] = serde_json::json!({"help": "x", "prefix": "p_"});
        assert!(parse(v).unwrap_err().to_string().contains("prefix"));
    }

    #[test]
    fn config_problems_name_the_field() {
        let m = parse(base()).unwrap();
        assert!(m.validate_config(&serde_json::json!({"count": 3})).is_ok());
        let problems = m
            .validate_config(&serde_json::json!({"count": 0}))
            .unwrap_err();
        assert!(problems[0].starts_with("config.count:"), "{problems:?}");
    }
}

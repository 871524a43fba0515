//! Checks as an operator defines them, and where agents are placed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::manifest::Capability;

/// Which agents a check applies to: every agent in at least one of `groups`
/// (when any are named) that carries every one of `labels`. Empty: all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentSelector {
    /// Group names: an agent in any one of them qualifies. Empty: no
    /// condition on groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Labels an agent must carry, each with exactly this value. Empty: no
    /// condition.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A mesh check's peers: every other agent of `group`, or a random sample
/// of `max_peers` of them (stable per agent) in a larger group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeshSpec {
    /// The group whose members probe each other, each at its first address.
    pub group: String,
    /// Most peers one agent probes (at least 1); 64 when absent.
    #[serde(default = "default_max_peers")]
    pub max_peers: u32,
}

fn default_max_peers() -> u32 {
    64
}

fn any_version() -> String {
    "*".into()
}

/// A check as an operator defines it (`PUT /api/v1/checks/{name}`, and one
/// `[[check]]` of `vantage checks apply -f checks.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Letters, digits, `-`, `_` and `.`; at most 64 characters.
    pub name: String,
    /// The plugin's name in the registry.
    pub plugin: String,
    /// A semver requirement (`^1.2`, `~0.3.1`, `*`).
    #[serde(default = "any_version")]
    pub version: String,
    /// What to probe. Exactly one of `targets` and `mesh`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Probe the members of a group instead of listed targets: each member
    /// probes the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<MeshSpec>,
    /// `30s`, `1m`… (100 ms to 24 h).
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "30s"))]
    pub interval: std::time::Duration,
    /// Defaults to the interval, at most 10 s.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "5s"))]
    pub timeout: Option<std::time::Duration>,
    /// The plugin's configuration, validated against its schema when saved.
    #[serde(default = "empty_object")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    /// The capabilities the operator grants: a subset of what the plugin
    /// requests. Saving approves what the resolved version requests; a later
    /// version that requests more is held back until saved again.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub grants: BTreeSet<Capability>,
    /// What the check may reach besides its targets: hosts, addresses or
    /// CIDRs, and for the `logs` capability absolute path globs and
    /// `journal:UNIT` ([`vantage_protocol::allow`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Which agents run it (mesh checks: the mesh group's members).
    #[serde(default)]
    pub agents: AgentSelector,
    /// Parent checks (names or globs): while one of them has a raised
    /// alert on the same agent, or a raised quorum group, every alert of
    /// this check, whatever its rule, is stored as suppressed and sent
    /// nowhere (as a rule's `depends_on`). The server's alone: agents
    /// ignore it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// A check as the server shows it: the spec and how it resolves now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckView {
    /// The check as it was last saved.
    pub spec: CheckSpec,
    /// Bumped by every change of the spec or its approvals.
    pub revision: i64,
    /// When the spec or its approvals last changed.
    pub updated_at: DateTime<Utc>,
    /// Capabilities the operator has reviewed (granted or not): versions
    /// requesting anything else wait for approval.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub reviewed: BTreeSet<Capability>,
    /// The version agents run, if one qualifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<PluginPin>,
    /// Why no version qualifies, when none does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
    /// A newer matching version held back because it requests capabilities
    /// not yet reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_upgrade: Option<PendingUpgrade>,
}

/// A version waiting for the operator's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PendingUpgrade {
    /// The newest version that qualifies but for its capabilities.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: semver::Version,
    /// What it requests that the operator has not reviewed: saving the check
    /// again approves these.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub new_capabilities: BTreeSet<Capability>,
}

/// Exactly which package to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PluginPin {
    /// The plugin's name in the registry.
    pub name: String,
    /// The exact version.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: semver::Version,
    /// The signed package digest (hex): the agent checks it after download.
    pub digest: String,
    /// sha256 of the package file (hex): download from [`BLOB_PATH`] + this.
    pub sha256: String,
    /// The package file's size, in bytes.
    pub size: u64,
}

/// `PATCH /api/v1/agents/{id}`: fields present are replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentPlacement {
    /// The agent's groups, replacing all it had (the server sorts them and
    /// drops repeats); unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// The agent's labels, replacing all it had; unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

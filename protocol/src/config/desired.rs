//! What each agent is told to run, what it reports back, and the mesh matrix.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{PluginPin, PublisherKey};
use crate::keys::KeyId;
use crate::manifest::Capability;
use crate::statement::{RegistryStatement, TrustMetadata};

/// Everything one agent should run. Its `version` is the ETag: a digest of
/// the rest, so equal states have equal versions on every server replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DesiredState {
    /// Hex of a digest of `checks`, `keys` and `revoked_keys`; the agent
    /// sends it back in `If-None-Match` and reports it in [`ConfigStatus`].
    pub version: String,
    /// Every check that applies to this agent, has a target for it and
    /// resolves to a version, sorted by name.
    pub checks: Vec<DesiredCheck>,
    /// Publisher keys the registry trusts (roots and endorsed keys, not revoked).
    pub keys: Vec<PublisherKey>,
    /// Key ids the registry revoked.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub revoked_keys: Vec<KeyId>,
    /// The registry's newest statement, signed by a root key: the agent
    /// holds the newest it verified (yanks, revocations, freshness).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<RegistryStatement>,
    /// The agent version a rollout wants this agent to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<super::UpdateOffer>,
}

/// One check as an agent runs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DesiredCheck {
    /// The check's name: results carry it in their `check` field.
    pub name: String,
    /// The package to run.
    pub plugin: PluginPin,
    /// What to probe, sorted: one run per target every interval.
    pub targets: Vec<DesiredTarget>,
    /// Time between the starts of two runs against one target, in
    /// milliseconds (at least 100; the agent adds a little jitter).
    pub interval_ms: u64,
    /// Each run's wall-clock budget, in milliseconds (at most the interval).
    pub timeout_ms: u64,
    /// The plugin's configuration; the server validated it against the
    /// version's schema and the agent validates it again.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    /// The capabilities the operator granted: runs may use these and no other.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub grants: BTreeSet<Capability>,
    /// Host names, IP addresses or CIDRs runs may reach besides their target.
    #[serde(default)]
    pub allow: Vec<String>,
}

/// One target; for a mesh check, the peer agent it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DesiredTarget {
    /// What one run probes: a target the check lists, or a mesh peer's
    /// first address.
    pub target: String,
    /// The mesh peer's agent name; absent for a target the check lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// `POST /api/v1/agents/config-status`: what the agent made of a desired state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfigStatus {
    /// The desired state's version this is about.
    pub version: String,
    /// When the agent applied it.
    pub applied_at: DateTime<Utc>,
    /// Where the running configuration came from.
    pub source: ConfigSource,
    /// Every check of the desired state, with what became of it.
    pub checks: Vec<CheckStatus>,
    /// The registry statement the agent holds, and whether it is stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<TrustMetadata>,
}

/// Where the desired state an agent applied came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ConfigSource {
    /// Fetched from the server just now.
    Server,
    /// The persisted last-known-good state (the server was unreachable).
    LastKnownGood,
}

/// One check of a desired state, as the agent applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckStatus {
    /// The check's name.
    pub name: String,
    /// `name@version` of the package.
    pub plugin: String,
    /// Whether that package runs.
    pub state: CheckState,
    /// Why it is not running, and which older version still runs instead if
    /// one does; absent when it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// What became of one check of a desired state on the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum CheckState {
    /// The package was verified and compiled, and its runs are scheduled.
    Running,
    /// The package failed verification (signature, digest, trust).
    Refused,
    /// Download, compile or configuration failed.
    Failed,
}

/// `GET /api/v1/checks/{name}/mesh`: the latest result of every agent → peer pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeshMatrix {
    /// The mesh check's name.
    pub check: String,
    /// Agent names, sorted: rows and columns.
    pub agents: Vec<String>,
    /// One cell per pair that has a result, sorted by `from`, then `to`.
    pub cells: Vec<MeshCell>,
}

/// One agent → peer pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeshCell {
    /// The probing agent's name.
    pub from: String,
    /// The probed peer's agent name.
    pub to: String,
    /// The address probed.
    pub target: String,
    /// `ok`, `timeout`, … of the latest run.
    pub status: String,
    /// When the latest run started.
    pub started_at: DateTime<Utc>,
    /// The latest run's samples by metric name (base units).
    pub metrics: BTreeMap<String, f64>,
}

//! Remote configuration: the plugin registry's API shapes, the checks an
//! operator defines on the server, and the desired state each agent pulls.
//!
//! Trust is the agent's own: the server proposes which package to run (by
//! name, version and digest) and which publisher keys exist, but an agent
//! runs a package only when a key that one of *its own pinned roots*
//! endorsed signed it. Revocations from the server are always honoured,
//! since they can only narrow trust.
//!
//! Endpoints (relative to the server's URL; see the server's OpenAPI document):
//!
//! | method and path | who | what |
//! |---|---|---|
//! | `GET  /api/v1/registry/keys` | viewer | publisher keys |
//! | `POST /api/v1/registry/keys` | admin | add a root or an endorsed key ([`AddKey`]) |
//! | `POST /api/v1/registry/keys/{key_id}/revoke` | admin | revoke a key |
//! | `POST /api/v1/registry/plugins` | operator | publish a `.vpkg` (body: the package bytes) |
//! | `GET  /api/v1/registry/plugins?q=` | viewer | search ([`PluginSummary`]) |
//! | `GET  /api/v1/registry/plugins/{name}` | viewer | versions ([`PluginVersion`]) |
//! | `GET  /api/v1/registry/plugins/{name}/{version}` | viewer | one version |
//! | `POST/DELETE /api/v1/registry/plugins/{name}/{version}/yank` | operator | yank / restore |
//! | `GET  /api/v1/registry/blobs/{sha256}` | any credential | the package file, immutable |
//! | `GET  /api/v1/checks`, `GET/PUT/DELETE /api/v1/checks/{name}` | viewer / operator | checks ([`CheckSpec`] in, [`CheckView`] out) |
//! | `GET  /api/v1/checks/{name}/mesh` | viewer | the mesh matrix ([`MeshMatrix`]) |
//! | `PATCH /api/v1/agents/{id}` | operator | groups and labels ([`AgentPlacement`]) |
//! | `GET  /api/v1/agents/{id}/desired` | viewer | what that agent is told to run |
//! | `GET  /api/v1/agents/desired?wait=S` | agent | its [`DesiredState`]; `If-None-Match` → 304 |
//! | `POST /api/v1/agents/config-status` | agent | what it applied ([`ConfigStatus`]) |

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::keys::{Endorsement, KeyId};
use crate::manifest::{Capability, MetricSpec};

/// `GET`: the calling agent's desired state (long-poll with `?wait=SECONDS`
/// and `If-None-Match: "<version>"`; 304 when unchanged at the deadline).
pub const DESIRED_PATH: &str = "/api/v1/agents/desired";
/// `POST`: the agent reports what it applied.
pub const CONFIG_STATUS_PATH: &str = "/api/v1/agents/config-status";
/// `GET` + the package file's sha256 in hex: the package bytes.
pub const BLOB_PATH: &str = "/api/v1/registry/blobs/";
/// The longest `wait` the server honours on [`DESIRED_PATH`], in seconds.
pub const MAX_DESIRED_WAIT_SECS: u64 = 60;

// ---------------------------------------------------------------- registry

/// A publisher key as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublisherKey {
    /// The key's id: hex of the first 8 bytes of the public key's sha256.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub key_id: KeyId,
    /// The name its owner gave the key; an endorsement covers it.
    pub name: String,
    /// base64 of the 32-byte ed25519 public key.
    pub public_key: String,
    /// A root key: agents enrolled while it was a root pin it.
    pub root: bool,
    /// For a non-root key: the root's endorsement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsement: Option<Endorsement>,
    /// When the key was added to the registry.
    pub created_at: DateTime<Utc>,
    /// When an admin revoked it; absent while it is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/registry/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddKey {
    /// The public key file's text (`vantage keys generate` writes it).
    pub key: String,
    /// Add it as a root. Exactly one of `root` and `endorsement`.
    #[serde(default)]
    pub root: bool,
    /// A root's endorsement (`vantage keys endorse`).
    #[serde(default)]
    pub endorsement: Option<Endorsement>,
}

/// One published version of a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PluginVersion {
    /// The plugin's name, from its manifest.
    pub name: String,
    /// The version, from its manifest; published at most once per name.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: semver::Version,
    /// The manifest's sentence saying what the plugin checks.
    pub description: String,
    /// Host capabilities this version requests.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub capabilities: BTreeSet<Capability>,
    /// JSON Schema of the check configuration this version accepts.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config_schema: serde_json::Value,
    /// Every metric this version may emit, with its base unit.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub metrics: Vec<MetricSpec>,
    /// The signed package digest (hex), as `vantage plugin inspect` shows it.
    pub digest: String,
    /// sha256 of the package file (hex): its blob address.
    pub sha256: String,
    /// The package file's size, in bytes.
    pub size: u64,
    /// The registry key whose signature the registry checked.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub signer: KeyId,
    /// When an operator published it.
    pub published_at: DateTime<Utc>,
    /// When it was yanked: checks no longer resolve to it until it is
    /// restored. Absent when it is not yanked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yanked_at: Option<DateTime<Utc>>,
}

/// A plugin in the registry's search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PluginSummary {
    /// The plugin's name, unique in the registry.
    pub name: String,
    /// The description of the newest version.
    pub description: String,
    /// The newest version that is not yanked, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub latest: Option<semver::Version>,
    /// Every published version, yanked ones included, newest first.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub versions: Vec<semver::Version>,
}

// ------------------------------------------------------------------ checks

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
    /// Hosts, addresses or CIDRs the check may reach besides its targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Which agents run it (mesh checks: the mesh group's members).
    #[serde(default)]
    pub agents: AgentSelector,
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

// ----------------------------------------------------------- desired state

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

// ------------------------------------------------------------------- mesh

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

//! The plugin registry's API shapes: publisher keys and published versions.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::keys::{Endorsement, KeyId};
use crate::manifest::{Capability, MetricSpec};

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

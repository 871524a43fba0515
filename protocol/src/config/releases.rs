//! Agent releases in the registry: what the API shows of each.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::keys::KeyId;
use crate::update::SignedRelease;

/// `PUT` + the archive's sha256 in hex: upload an agent archive;
/// `GET`: download it (agents and users).
pub const RELEASE_BLOB_PATH: &str = "/api/v1/releases/blobs/";

/// One published agent build: a version for a platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReleaseView {
    /// The agent version.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: semver::Version,
    /// The Rust target triple it runs on.
    pub platform: String,
    /// sha256 of the archive, hex: its blob address.
    pub sha256: String,
    /// The archive's size in bytes.
    pub size: u64,
    /// Agents older than this must update to an intermediate release first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub min_version: Option<semver::Version>,
    /// The manifest's sequence number.
    pub seq: u64,
    /// The key whose signature the registry checked.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub signer: KeyId,
    /// When the manifest stops being taken: re-sign it before then.
    pub expires_at: DateTime<Utc>,
    /// When it was published (or last re-signed).
    pub published_at: DateTime<Utc>,
    /// When it was yanked: no rollout may start with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yanked_at: Option<DateTime<Utc>>,
    /// The signed manifest, as agents check it.
    pub manifest: SignedRelease,
}

/// `POST`: an agent reports where its update stands ([`UpdateReport`]).
pub const UPDATE_STATUS_PATH: &str = "/api/v1/agents/update-status";

/// In a desired state: the agent version a rollout wants this agent to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateOffer {
    /// The version to run.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: semver::Version,
    /// Its signed manifests, one per platform published and not yanked:
    /// the agent takes its own platform's.
    pub releases: Vec<SignedRelease>,
    /// The keys a root endorsed for releases, none revoked: the agent
    /// checks each endorsement against the roots it pinned.
    pub signers: Vec<super::PublisherKey>,
}

/// Where an agent's update stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpdateStep {
    /// Downloading, checking and self-testing the new build.
    Staging,
    /// Switched to the new version, within its health window.
    Trial,
    /// The new version reconnected and delivered results: done.
    Healthy,
    /// The new version did not come up healthy; the previous one runs again.
    RolledBack,
    /// The offer was refused (signature, platform, downgrade, archive,
    /// self-test…): nothing changed.
    Refused,
    /// Not now, tried again each round: a freeze window, `[update] mode`
    /// is `notify` or `off`, the disk lacks room, the download failed.
    Deferred,
}

impl UpdateStep {
    /// Whether the update ended badly for this version.
    pub fn failed(self) -> bool {
        matches!(self, UpdateStep::RolledBack | UpdateStep::Refused)
    }
}

/// `POST /api/v1/agents/update-status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateReport {
    /// The version the agent runs now.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub running: semver::Version,
    /// The version offered.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub target: semver::Version,
    /// Where it stands.
    pub step: UpdateStep,
    /// Why, for every step but `healthy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

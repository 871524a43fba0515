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

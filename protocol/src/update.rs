//! Agent releases: the signed manifest an agent checks before it runs a new
//! build of itself, and the rules it applies. The server holds the same
//! rules to refuse what no agent would take.
//!
//! The manifest names the product, version and platform, the archive's
//! sha256 and size, the oldest agent version that may update to it, a
//! `seq` that grows with every manifest a registry publishes, and an
//! expiry, so a server that withholds newer releases cannot keep offering
//! an old one forever (TUF's freeze attack). It is signed by a root, or by
//! a key a root endorsed for [`KeyRole::Releases`]; a plugin publisher's
//! key cannot sign one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::PublisherKey;
use crate::keys::{KeyId, KeyRole, PublicKey, SigningKeyPair, decode};
use crate::package::Signature;

/// The product an agent release carries.
pub const AGENT_PRODUCT: &str = "vantage-agent";

/// What a release manifest says, as its signer signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// Always [`AGENT_PRODUCT`] for now.
    pub product: String,
    /// The version the archive's binary reports.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: semver::Version,
    /// The Rust target triple it runs on, e.g. `x86_64-unknown-linux-gnu`.
    pub platform: String,
    /// sha256 of the archive, hex: its blob address.
    pub sha256: String,
    /// The archive's size in bytes.
    pub size: u64,
    /// Agents older than this must update to an intermediate release first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub min_version: Option<semver::Version>,
    /// Grows with every manifest the registry publishes.
    pub seq: u64,
    /// When it was signed.
    pub issued_at: DateTime<Utc>,
    /// After this, no agent takes it: re-sign it with a higher `seq`.
    pub expires_at: DateTime<Utc>,
}

/// A signed release manifest. The body is kept as the exact JSON text that
/// was signed, so verifying never depends on re-serialising it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignedRelease {
    /// The JSON text of a [`ReleaseBody`].
    pub body: String,
    /// Its signatures, each `{key_id, signature}` with the signature over
    /// `"vantage-agent-release-v1\n" ‖ body`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub signatures: Vec<Signature>,
}

/// Why a release is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// The body does not parse, or a field is out of shape.
    #[error("the release manifest is malformed: {0}")]
    Body(String),
    /// No signature by a root, or by a key a root endorsed for releases.
    #[error("no signature by a trusted root or release key verifies")]
    Unsigned,
    /// The only valid signatures are by keys endorsed for plugins.
    #[error("key {0} is endorsed to sign plugins, not agent releases")]
    PluginKey(KeyId),
    /// Its expiry passed.
    #[error("the release manifest expired at {0}")]
    Expired(DateTime<Utc>),
    /// For another platform.
    #[error("the release is for {got}, this agent runs on {want}")]
    Platform {
        /// The manifest's platform.
        got: String,
        /// The agent's.
        want: String,
    },
    /// Below the running version, and no root statement allows it.
    #[error("{got} is older than the running {running}: refusing a downgrade")]
    Downgrade {
        /// The manifest's version.
        got: semver::Version,
        /// The running agent's.
        running: semver::Version,
    },
    /// The running agent is older than the release's `min_version`.
    #[error("{running} may not update to {got} directly: it needs {min} or newer first")]
    TooOld {
        /// The manifest's version.
        got: semver::Version,
        /// Its `min_version`.
        min: semver::Version,
        /// The running agent's.
        running: semver::Version,
    },
    /// A manifest at or below one the agent holds already.
    #[error("release seq {got} is not newer than seq {held}, which this agent installed")]
    Replayed {
        /// The manifest's seq.
        got: u64,
        /// The highest the agent installed.
        held: u64,
    },
}

fn message(body: &str) -> Vec<u8> {
    [b"vantage-agent-release-v1\n".as_slice(), body.as_bytes()].concat()
}

impl ReleaseBody {
    /// Checks the fields' shapes (not the time, nor the agent's situation).
    pub fn validate(&self) -> Result<(), ReleaseError> {
        let bad = |m: String| Err(ReleaseError::Body(m));
        if self.product != AGENT_PRODUCT {
            return bad(format!(
                "product `{}` is not `{AGENT_PRODUCT}`",
                self.product
            ));
        }
        let platform_ok = !self.platform.is_empty()
            && self.platform.len() <= 64
            && self
                .platform
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !platform_ok {
            return bad(format!(
                "platform `{}` is not a target triple",
                self.platform
            ));
        }
        if self.sha256.len() != 64 || !self.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return bad("sha256 is not 64 hex digits".into());
        }
        if self.size == 0 {
            return bad("size is 0".into());
        }
        if self.expires_at <= self.issued_at {
            return bad("it expires before it is issued".into());
        }
        if self.min_version.as_ref().is_some_and(|m| m > &self.version) {
            return bad("min_version is above the version".into());
        }
        Ok(())
    }

    /// Whether an agent at `running` on `platform`, holding `held_seq`, may
    /// install this release at `now`; `downgrade_allowed` when a root
    /// statement yanked the running version.
    pub fn admits(
        &self,
        running: &semver::Version,
        platform: &str,
        held_seq: u64,
        downgrade_allowed: bool,
        now: DateTime<Utc>,
    ) -> Result<(), ReleaseError> {
        if now >= self.expires_at {
            return Err(ReleaseError::Expired(self.expires_at));
        }
        if self.platform != platform {
            return Err(ReleaseError::Platform {
                got: self.platform.clone(),
                want: platform.to_owned(),
            });
        }
        if &self.version < running && !downgrade_allowed {
            return Err(ReleaseError::Downgrade {
                got: self.version.clone(),
                running: running.clone(),
            });
        }
        if let Some(min) = &self.min_version
            && running < min
        {
            return Err(ReleaseError::TooOld {
                got: self.version.clone(),
                min: min.clone(),
                running: running.clone(),
            });
        }
        if self.seq <= held_seq {
            return Err(ReleaseError::Replayed {
                got: self.seq,
                held: held_seq,
            });
        }
        Ok(())
    }
}

impl SignedRelease {
    /// Signs `body` with `key`.
    pub fn sign(body: &ReleaseBody, key: &SigningKeyPair) -> SignedRelease {
        let body = serde_json::to_string(body).expect("a release manifest serialises");
        let signature = Signature {
            key_id: key.public().id(),
            signature: B64.encode(key.sign(&message(&body))),
        };
        SignedRelease {
            body,
            signatures: vec![signature],
        }
    }

    /// The body, parsed and shape-checked (not verified).
    pub fn parsed(&self) -> Result<ReleaseBody, ReleaseError> {
        let body: ReleaseBody =
            serde_json::from_str(&self.body).map_err(|e| ReleaseError::Body(e.to_string()))?;
        body.validate()?;
        Ok(body)
    }

    fn signed_by(&self, key: &PublicKey) -> bool {
        let id = key.id();
        let message = message(&self.body);
        self.signatures.iter().any(|s| {
            s.key_id == id
                && decode::<64>(&s.signature, "signature")
                    .is_ok_and(|sig| key.verify(&message, &sig))
        })
    }

    /// The body and the key that signed it: one of `roots`, or one of
    /// `keys` that one of `roots` endorsed for releases. The caller leaves
    /// revoked keys out of both.
    pub fn verify(
        &self,
        roots: &[PublicKey],
        keys: &[PublisherKey],
    ) -> Result<(ReleaseBody, KeyId), ReleaseError> {
        let body = self.parsed()?;
        if let Some(root) = roots.iter().find(|r| self.signed_by(r)) {
            return Ok((body, root.id()));
        }
        let mut plugin_key = None;
        for row in keys {
            let (Some(endorsement), Ok(key)) = (
                &row.endorsement,
                PublicKey::from_base64(&row.name, &row.public_key),
            ) else {
                continue;
            };
            if key.id() != row.key_id
                || !self.signed_by(&key)
                || !roots.iter().any(|root| endorsement.verify(&key, root))
            {
                continue;
            }
            if endorsement.role == KeyRole::Releases {
                return Ok((body, row.key_id.clone()));
            }
            plugin_key = Some(row.key_id.clone());
        }
        Err(plugin_key.map_or(ReleaseError::Unsigned, ReleaseError::PluginKey))
    }
}

#[cfg(test)]
mod tests;

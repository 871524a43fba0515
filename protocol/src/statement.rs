//! Registry statements: what a root key says about the registry, signed
//! offline and uploaded by an admin, in the spirit of TUF's targets
//! metadata. A statement has a sequence number and an expiry; it names
//! the versions that are yanked (an agent may then go below them) and the
//! keys that are revoked.
//!
//! Agents keep the newest statement they verified and never take an older
//! one, so a server cannot roll the registry's word back; once it expires
//! without a newer one, the agent reports its trust metadata stale (the
//! server may be withholding updates). An agent also keeps, per plugin,
//! the versions it has run and refuses to go below the highest of them
//! that no statement yanked: a server cannot send an agent back to an old,
//! signed but vulnerable version on its own.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::keys::{KeyId, PublicKey, SigningKeyPair, decode};

/// What a statement says, as its signers signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StatementBody {
    /// Grows with each statement; agents take none at or below the one
    /// they hold.
    pub sequence: u64,
    /// When it was signed.
    pub issued_at: DateTime<Utc>,
    /// After this, the statement no longer counts as current: an agent
    /// still holds to it but reports its trust metadata stale.
    pub expires_at: DateTime<Utc>,
    /// Versions withdrawn: agents that ran one may go below it.
    #[serde(default)]
    pub yanked: Vec<Yanked>,
    /// Keys revoked: agents trust nothing they signed or endorsed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub revoked_keys: Vec<KeyId>,
    /// Which publisher keys a plugin name belongs to: an agent takes a
    /// version of that name signed by no other (roots aside). Names not
    /// listed belong to the key that signed the first version an agent ran.
    #[serde(default)]
    pub owners: Vec<Owner>,
}

/// A plugin name given to a publisher key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Owner {
    /// The plugin's name in the registry.
    pub plugin: String,
    /// A key that may sign its versions.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub key_id: KeyId,
}

/// One withdrawn version of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Yanked {
    /// The plugin's name in the registry.
    pub plugin: String,
    /// The exact version.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: semver::Version,
}

/// A signature of a statement's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StatementSignature {
    /// The key that signed.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub key_id: KeyId,
    /// base64 of the ed25519 signature over
    /// `"vantage-registry-statement-v1\n" ‖ body`.
    pub signature: String,
}

/// A signed statement. The body is kept as the exact JSON text that was
/// signed, so verifying never depends on re-serialising it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegistryStatement {
    /// The JSON text of a [`StatementBody`].
    pub body: String,
    /// Its signatures (one root's is enough).
    pub signatures: Vec<StatementSignature>,
}

/// Why a statement is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// The body does not parse.
    #[error("the statement's body is not a statement: {0}")]
    Body(String),
    /// No trusted root's signature verifies.
    #[error("no signature by a trusted root key verifies")]
    Unsigned,
    /// A statement at or below the held one's sequence.
    #[error("sequence {got} is not newer than {held}, which is held already")]
    Older {
        /// The sequence offered.
        got: u64,
        /// The sequence held.
        held: u64,
    },
    /// Its expiry passed.
    #[error("it expired at {0}")]
    Expired(DateTime<Utc>),
    /// It expires before it is issued.
    #[error("it expires before it is issued")]
    Backwards,
}

fn message(body: &str) -> Vec<u8> {
    [
        b"vantage-registry-statement-v1\n".as_slice(),
        body.as_bytes(),
    ]
    .concat()
}

impl RegistryStatement {
    /// Signs `body` with `key` (a root key).
    pub fn sign(body: &StatementBody, key: &SigningKeyPair) -> RegistryStatement {
        let body = serde_json::to_string(body).expect("a statement serialises");
        let signature = StatementSignature {
            key_id: key.public().id(),
            signature: B64.encode(key.sign(&message(&body))),
        };
        RegistryStatement {
            body,
            signatures: vec![signature],
        }
    }

    /// The body, parsed (not verified).
    pub fn parsed(&self) -> Result<StatementBody, StatementError> {
        let body: StatementBody =
            serde_json::from_str(&self.body).map_err(|e| StatementError::Body(e.to_string()))?;
        if body.expires_at <= body.issued_at {
            return Err(StatementError::Backwards);
        }
        Ok(body)
    }

    /// The body, when one of `roots` signed it; which root did.
    pub fn verify<'a>(
        &self,
        roots: impl IntoIterator<Item = &'a PublicKey>,
    ) -> Result<(StatementBody, KeyId), StatementError> {
        let body = self.parsed()?;
        let message = message(&self.body);
        for root in roots {
            let id = root.id();
            let signed = self.signatures.iter().any(|s| {
                s.key_id == id
                    && decode::<64>(&s.signature, "signature")
                        .is_ok_and(|sig| root.verify(&message, &sig))
            });
            if signed {
                return Ok((body, id));
            }
        }
        Err(StatementError::Unsigned)
    }
}

impl StatementBody {
    /// Whether `plugin@version` is yanked.
    pub fn yanks(&self, plugin: &str, version: &semver::Version) -> bool {
        self.yanked
            .iter()
            .any(|y| y.plugin == plugin && &y.version == version)
    }

    /// Whether it no longer counts as current at `now`.
    pub fn stale(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// How current an agent's trust metadata is, as it reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrustMetadata {
    /// The sequence of the newest statement the agent holds.
    pub sequence: u64,
    /// When that statement expires.
    pub expires_at: DateTime<Utc>,
    /// It expired with no newer one: the server may be withholding updates.
    pub stale: bool,
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn body(sequence: u64) -> StatementBody {
        let now = Utc::now();
        StatementBody {
            sequence,
            issued_at: now,
            expires_at: now + Duration::days(30),
            yanked: vec![Yanked {
                plugin: "http".into(),
                version: "1.1.0".parse().unwrap(),
            }],
            revoked_keys: vec![],
            owners: vec![],
        }
    }

    #[test]
    fn a_statement_verifies_only_against_the_root_that_signed_it_and_unaltered() {
        let root = SigningKeyPair::from_seed("root", [1; 32]);
        let other = SigningKeyPair::from_seed("other", [2; 32]);
        let statement = RegistryStatement::sign(&body(3), &root);
        let (read, by) = statement.verify([&root.public()]).unwrap();
        assert_eq!((read.sequence, by), (3, root.public().id()));
        assert!(read.yanks("http", &"1.1.0".parse().unwrap()));
        assert!(!read.yanks("http", &"1.0.0".parse().unwrap()));
        assert_eq!(
            statement.verify([&other.public()]).unwrap_err(),
            StatementError::Unsigned
        );
        // One byte of the body changed: no longer signed.
        let mut altered = statement.clone();
        altered.body = altered.body.replace("1.1.0", "1.0.0");
        assert_eq!(
            altered.verify([&root.public()]).unwrap_err(),
            StatementError::Unsigned
        );
        // Survives a round trip through JSON (the body is kept as text).
        let text = serde_json::to_string(&statement).unwrap();
        let back: RegistryStatement = serde_json::from_str(&text).unwrap();
        assert!(back.verify([&root.public()]).is_ok());
    }

    #[test]
    fn expiry_before_issue_is_refused_and_staleness_follows_the_clock() {
        let root = SigningKeyPair::from_seed("root", [1; 32]);
        let mut b = body(1);
        b.expires_at = b.issued_at - Duration::seconds(1);
        let statement = RegistryStatement::sign(&b, &root);
        assert_eq!(
            statement.verify([&root.public()]).unwrap_err(),
            StatementError::Backwards
        );
        let b = body(1);
        assert!(!b.stale(b.issued_at));
        assert!(b.stale(b.expires_at));
    }
}

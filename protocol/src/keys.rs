//! Publisher keys: ed25519 key pairs, their file formats and their ids.
//!
//! A key id is the first 8 bytes of `sha256(public key)` in hex, so that a
//! signature names the key that made it without carrying the key itself.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Why a key file or signature could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not JSON of the key file's shape.
    #[error("key file is not valid JSON for a Vantage key: {0}")]
    Parse(serde_json::Error),
    /// The named field is not base64 of the right number of bytes, or those
    /// bytes are not a valid ed25519 key.
    #[error("key file field `{0}` is not valid base64 of the right length")]
    Encoding(&'static str),
    /// A public key file where a secret one was expected, or the other way round.
    #[error("key file is a {found}, expected a {expected}")]
    Kind {
        /// The file's `kind`.
        found: String,
        /// The `kind` the reader needs.
        expected: &'static str,
    },
    /// The file's `key_id` is not its key's id: the file was edited or corrupted.
    #[error("key file says its id is {claimed} but the key's id is {actual}")]
    IdMismatch {
        /// The id the file states.
        claimed: String,
        /// The id computed from the key.
        actual: String,
    },
}

// The inner error is part of the message, so it is not also a `source`,
// which would print it twice in an error chain.
impl From<serde_json::Error> for KeyError {
    fn from(e: serde_json::Error) -> Self {
        KeyError::Parse(e)
    }
}

/// The id of a public key: hex of the first 8 bytes of its sha256.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(pub String);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A publisher's public key, with the name its owner gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The name its owner gave the key; an endorsement covers it, so a
    /// renamed key loses its endorsement.
    pub name: String,
    key: VerifyingKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    kind: String,
    name: String,
    key_id: String,
    key: String,
}

const PUBLIC_KIND: &str = "vantage-public-key";
const SECRET_KIND: &str = "vantage-secret-key";

impl PublicKey {
    /// The key's id.
    pub fn id(&self) -> KeyId {
        key_id(&self.key)
    }

    /// Verifies an ed25519 signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.key
            .verify(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    }

    /// The JSON public key file.
    pub fn to_file(&self) -> String {
        let file = KeyFile {
            kind: PUBLIC_KIND.into(),
            name: self.name.clone(),
            key_id: self.id().0,
            key: B64.encode(self.key.as_bytes()),
        };
        serde_json::to_string_pretty(&file).expect("key file serialises") + "\n"
    }

    /// Reads a JSON public key file.
    pub fn from_file(text: &str) -> Result<Self, KeyError> {
        let file: KeyFile = serde_json::from_str(text)?;
        if file.kind != PUBLIC_KIND {
            return Err(KeyError::Kind {
                found: file.kind,
                expected: PUBLIC_KIND,
            });
        }
        let bytes: [u8; 32] = decode(&file.key, "key")?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Encoding("key"))?;
        let public = PublicKey {
            name: file.name,
            key,
        };
        check_id(&file.key_id, &public.id())?;
        Ok(public)
    }

    /// The raw 32 key bytes, base64.
    pub fn to_base64(&self) -> String {
        B64.encode(self.key.as_bytes())
    }

    /// The key from the base64 of its 32 bytes (the registry's form).
    pub fn from_base64(name: &str, text: &str) -> Result<Self, KeyError> {
        let bytes: [u8; 32] = decode(text, "key")?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Encoding("key"))?;
        Ok(PublicKey {
            name: name.to_owned(),
            key,
        })
    }
}

/// A publisher's signing key pair.
pub struct SigningKeyPair {
    /// The key's name, carried into its public half and its files.
    pub name: String,
    key: SigningKey,
}

impl fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyPair")
            .field("name", &self.name)
            .field("key_id", &self.public().id())
            .finish_non_exhaustive()
    }
}

impl SigningKeyPair {
    /// A new random key pair from the operating system's random source.
    pub fn generate(name: &str) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the operating system provides randomness");
        Self::from_seed(name, seed)
    }

    /// The key pair derived from a 32-byte seed (for reproducible test keys).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Self {
        SigningKeyPair {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The JSON secret key file (keep it private: mode 0600).
    pub fn to_file(&self) -> String {
        let file = KeyFile {
            kind: SECRET_KIND.into(),
            name: self.name.clone(),
            key_id: self.public().id().0,
            key: B64.encode(self.key.to_bytes()),
        };
        serde_json::to_string_pretty(&file).expect("key file serialises") + "\n"
    }

    /// Reads a JSON secret key file.
    pub fn from_file(text: &str) -> Result<Self, KeyError> {
        let file: KeyFile = serde_json::from_str(text)?;
        if file.kind != SECRET_KIND {
            return Err(KeyError::Kind {
                found: file.kind,
                expected: SECRET_KIND,
            });
        }
        let seed: [u8; 32] = decode(&file.key, "key")?;
        let pair = Self::from_seed(&file.name, seed);
        check_id(&file.key_id, &pair.public().id())?;
        Ok(pair)
    }
}

/// What a root endorsed a key for. A key signs only for its role: a
/// plugin publisher cannot sign an agent release, and a release key cannot
/// sign a plugin. Roots sign for both.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// Signs plugin packages (every endorsement made before roles existed).
    #[default]
    Plugins,
    /// Signs agent releases.
    Releases,
}

impl KeyRole {
    /// The role's name, as the API and the CLI spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Plugins => "plugins",
            KeyRole::Releases => "releases",
        }
    }

    fn is_plugins(&self) -> bool {
        *self == KeyRole::Plugins
    }
}

/// A root key's signature over another publisher key: how a registry adds
/// publishers that agents trust without re-pinning anything. An agent trusts
/// an endorsed key only when the endorsing root is one it pinned itself,
/// and only for the endorsement's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Endorsement {
    /// The root key that signed.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub by: KeyId,
    /// What the key may sign; `plugins` when absent.
    #[serde(default, skip_serializing_if = "KeyRole::is_plugins")]
    pub role: KeyRole,
    /// base64 of the 64-byte ed25519 signature over
    /// `"vantage-key-endorsement-v1\n" ‖ name ‖ "\n" ‖ public key bytes`
    /// for the `plugins` role, and over
    /// `"vantage-key-endorsement-v2\n" ‖ role ‖ "\n" ‖ name ‖ "\n" ‖ public key bytes`
    /// for any other, so that no endorsement stands for another role.
    pub signature: String,
}

fn endorsement_message(key: &PublicKey, role: KeyRole) -> Vec<u8> {
    let head: Vec<u8> = match role {
        KeyRole::Plugins => b"vantage-key-endorsement-v1\n".to_vec(),
        other => [
            b"vantage-key-endorsement-v2\n".as_slice(),
            other.as_str().as_bytes(),
            b"\n",
        ]
        .concat(),
    };
    [
        head.as_slice(),
        key.name.as_bytes(),
        b"\n",
        key.key.as_bytes(),
    ]
    .concat()
}

impl SigningKeyPair {
    /// Endorses `key` with this (root) key to sign plugins.
    pub fn endorse(&self, key: &PublicKey) -> Endorsement {
        self.endorse_for(key, KeyRole::Plugins)
    }

    /// Endorses `key` with this (root) key for `role`.
    pub fn endorse_for(&self, key: &PublicKey, role: KeyRole) -> Endorsement {
        Endorsement {
            by: self.public().id(),
            role,
            signature: B64.encode(self.sign(&endorsement_message(key, role))),
        }
    }
}

impl Endorsement {
    /// Whether `root` made this endorsement of `key` (for its role).
    pub fn verify(&self, key: &PublicKey, root: &PublicKey) -> bool {
        if self.by != root.id() {
            return false;
        }
        match decode::<64>(&self.signature, "signature") {
            Ok(sig) => root.verify(&endorsement_message(key, self.role), &sig),
            Err(_) => false,
        }
    }
}

fn key_id(key: &VerifyingKey) -> KeyId {
    let digest = Sha256::digest(key.as_bytes());
    KeyId(hex::encode(&digest[..8]))
}

fn check_id(claimed: &str, actual: &KeyId) -> Result<(), KeyError> {
    if claimed == actual.0 {
        Ok(())
    } else {
        Err(KeyError::IdMismatch {
            claimed: claimed.to_owned(),
            actual: actual.0.clone(),
        })
    }
}

pub(crate) fn decode<const N: usize>(text: &str, field: &'static str) -> Result<[u8; N], KeyError> {
    B64.decode(text)
        .ok()
        .and_then(|v| <[u8; N]>::try_from(v).ok())
        .ok_or(KeyError::Encoding(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_mismatches_are_refused() {
        let pair = SigningKeyPair::from_seed("dev", [7; 32]);
        let again = SigningKeyPair::from_file(&pair.to_file()).unwrap();
        assert_eq!(again.public(), pair.public());
        let public = PublicKey::from_file(&pair.public().to_file()).unwrap();
        assert!(public.verify(b"hi", &pair.sign(b"hi")));
        assert!(!public.verify(b"ho", &pair.sign(b"hi")));

        let err = PublicKey::from_file(&pair.to_file()).unwrap_err();
        assert!(
            err.to_string().contains("expected a vantage-public-key"),
            "{err}"
        );
        let forged = pair
            .public()
            .to_file()
            .replace(&pair.public().id().0, "0000000000000000");
        assert!(matches!(
            PublicKey::from_file(&forged),
            Err(KeyError::IdMismatch { .. })
        ));
    }

    #[test]
    fn endorsements_bind_the_root_the_key_and_its_name() {
        let root = SigningKeyPair::from_seed("root", [1; 32]);
        let other_root = SigningKeyPair::from_seed("other", [2; 32]);
        let publisher = SigningKeyPair::from_seed("team", [3; 32]).public();
        let e = root.endorse(&publisher);
        assert!(e.verify(&publisher, &root.public()));
        // Another root, another key, or the same key renamed: refused.
        assert!(!e.verify(&publisher, &other_root.public()));
        assert!(!e.verify(&other_root.public(), &root.public()));
        let mut renamed = publisher.clone();
        renamed.name = "impostor".into();
        assert!(!e.verify(&renamed, &root.public()));
        let garbled = Endorsement {
            signature: "AAAA".into(),
            ..e.clone()
        };
        assert!(!garbled.verify(&publisher, &root.public()));
    }

    #[test]
    fn an_endorsement_holds_for_its_role_only() {
        let root = SigningKeyPair::from_seed("root", [1; 32]);
        let publisher = SigningKeyPair::from_seed("ci", [3; 32]).public();
        let plugins = root.endorse(&publisher);
        let releases = root.endorse_for(&publisher, KeyRole::Releases);
        assert!(releases.verify(&publisher, &root.public()));
        // A plugin endorsement relabelled as a release one, or the other
        // way round, does not verify.
        let promoted = Endorsement {
            role: KeyRole::Releases,
            ..plugins.clone()
        };
        assert!(!promoted.verify(&publisher, &root.public()));
        let demoted = Endorsement {
            role: KeyRole::Plugins,
            ..releases.clone()
        };
        assert!(!demoted.verify(&publisher, &root.public()));
        // The plugins role is the default, and is not written out: older
        // endorsements read and verify as before.
        let text = serde_json::to_string(&plugins).unwrap();
        assert!(!text.contains("role"), "{text}");
        let back: Endorsement = serde_json::from_str(&text).unwrap();
        assert!(back.verify(&publisher, &root.public()));
        let text = serde_json::to_string(&releases).unwrap();
        assert!(text.contains(r#""role":"releases""#), "{text}");
    }
}

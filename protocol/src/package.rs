//! The `.vpkg` package: one file carrying a component, its manifest and signatures.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! b"VNTGPKG\x01"                     magic and format version
//! u32 manifest length, manifest      canonical manifest JSON
//! u64 component length, component    the WebAssembly component
//! u32 signatures length, signatures  JSON list of {key_id, signature}
//! ```
//!
//! The signed digest is `sha256("vantage-package-v1\n" ‖ sha256(manifest) ‖
//! sha256(component))`: it covers the exact manifest bytes and the component,
//! and not the signatures, so that co-signing adds a signature without
//! changing what is signed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::keys::{KeyId, PublicKey, SigningKeyPair};
use crate::manifest::{Manifest, ManifestError};

const MAGIC: &[u8; 8] = b"VNTGPKG\x01";
const DIGEST_DOMAIN: &[u8] = b"vantage-package-v1\n";
/// The largest component a package may carry.
pub const MAX_COMPONENT_BYTES: u64 = 256 << 20;
const MAX_MANIFEST_BYTES: u32 = 1 << 20;
const MAX_SIGNATURES_BYTES: u32 = 1 << 20;

/// The sha256 digest a package's signatures cover.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackageDigest(pub [u8; 32]);

impl fmt::Display for PackageDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PackageDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PackageDigest({self})")
    }
}

/// One publisher's signature over a package digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The id of the key that signed.
    pub key_id: KeyId,
    /// base64 of the 64-byte ed25519 signature.
    pub signature: String,
}

impl Signature {
    fn message(digest: &PackageDigest) -> Vec<u8> {
        [b"vantage-package-signature-v1\n".as_slice(), &digest.0].concat()
    }

    /// Checks this signature over `digest` with `key`.
    pub fn verify(&self, digest: &PackageDigest, key: &PublicKey) -> Result<(), TrustError> {
        let bytes: [u8; 64] = crate::keys::decode(&self.signature, "signature").map_err(|_| {
            TrustError::Malformed {
                key_id: self.key_id.clone(),
            }
        })?;
        if key.verify(&Self::message(digest), &bytes) {
            Ok(())
        } else {
            Err(TrustError::BadSignature {
                key_id: self.key_id.clone(),
            })
        }
    }
}

/// Why a package file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The file does not start with the magic bytes of this format version.
    #[error("not a Vantage plugin package (bad magic bytes)")]
    Magic,
    /// The file ends inside the named part.
    #[error("package is truncated: {0}")]
    Truncated(&'static str),
    /// The named section is longer than allowed (1 MiB for the manifest and
    /// the signatures, [`MAX_COMPONENT_BYTES`] for the component).
    #[error("package section `{0}` is larger than allowed")]
    TooLarge(&'static str),
    /// This many bytes follow the signatures section.
    #[error("package has {0} trailing bytes after its last section")]
    Trailing(usize),
    /// The manifest section is not a valid manifest.
    #[error("package manifest: {0}")]
    Manifest(ManifestError),
    /// The signatures section is not a JSON list of signatures.
    #[error("package signatures are not valid JSON: {0}")]
    Signatures(serde_json::Error),
    /// The component section does not start with a WebAssembly component's
    /// preamble (a core module, say).
    #[error("package component is not a WebAssembly component")]
    NotAComponent,
}

// The inner error is part of the message, so it is not also a `source`,
// which would print it twice in an error chain.
impl From<ManifestError> for PackageError {
    fn from(e: ManifestError) -> Self {
        PackageError::Manifest(e)
    }
}

/// A package as read from disk or the network: signed, not yet verified.
#[derive(Clone)]
pub struct Package {
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    component: Vec<u8>,
    signatures: Vec<Signature>,
}

impl fmt::Debug for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Package")
            .field("plugin", &self.manifest.id())
            .field("digest", &self.digest())
            .field("component_bytes", &self.component.len())
            .field("signatures", &self.signatures.len())
            .finish()
    }
}

impl Package {
    /// A new, unsigned package.
    pub fn new(manifest: Manifest, component: Vec<u8>) -> Result<Self, PackageError> {
        check_component(&component)?;
        manifest.validate()?;
        let manifest_bytes = manifest.to_canonical_json();
        Ok(Package {
            manifest,
            manifest_bytes,
            component,
            signatures: Vec::new(),
        })
    }

    /// The parsed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The WebAssembly component.
    pub fn component(&self) -> &[u8] {
        &self.component
    }

    /// The signatures, verified or not.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// The digest that signatures cover.
    pub fn digest(&self) -> PackageDigest {
        let mut h = Sha256::new();
        h.update(DIGEST_DOMAIN);
        h.update(Sha256::digest(&self.manifest_bytes));
        h.update(Sha256::digest(&self.component));
        PackageDigest(h.finalize().into())
    }

    /// Adds (or replaces) the signature of `key`.
    pub fn sign(&mut self, key: &SigningKeyPair) {
        let key_id = key.public().id();
        let signature = B64.encode(key.sign(&Signature::message(&self.digest())));
        self.signatures.retain(|s| s.key_id != key_id);
        self.signatures.push(Signature { key_id, signature });
    }

    /// The package file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let signatures = serde_json::to_vec(&self.signatures).expect("signatures serialise");
        let mut out = Vec::with_capacity(
            32 + self.manifest_bytes.len() + self.component.len() + signatures.len(),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.manifest_bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.manifest_bytes);
        out.extend_from_slice(&(self.component.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.component);
        out.extend_from_slice(&(signatures.len() as u32).to_le_bytes());
        out.extend_from_slice(&signatures);
        out
    }

    /// Reads a package file. This checks the format, not the signatures.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PackageError> {
        let mut r = Reader(bytes);
        if r.take(8, "magic")? != MAGIC {
            return Err(PackageError::Magic);
        }
        let n = r.u32("manifest length")?;
        if n > MAX_MANIFEST_BYTES {
            return Err(PackageError::TooLarge("manifest"));
        }
        let manifest_bytes = r.take(n as usize, "manifest")?.to_vec();
        let n = r.u64("component length")?;
        if n > MAX_COMPONENT_BYTES {
            return Err(PackageError::TooLarge("component"));
        }
        let component = r.take(n as usize, "component")?.to_vec();
        let n = r.u32("signatures length")?;
        if n > MAX_SIGNATURES_BYTES {
            return Err(PackageError::TooLarge("signatures"));
        }
        let signatures = serde_json::from_slice(r.take(n as usize, "signatures")?)
            .map_err(PackageError::Signatures)?;
        if !r.0.is_empty() {
            return Err(PackageError::Trailing(r.0.len()));
        }
        check_component(&component)?;
        let manifest = Manifest::from_json(&manifest_bytes)?;
        Ok(Package {
            manifest,
            manifest_bytes,
            component,
            signatures,
        })
    }
}

fn check_component(bytes: &[u8]) -> Result<(), PackageError> {
    // A component's preamble: "\0asm", version 0x0d, layer 1.
    if bytes.len() >= 8 && &bytes[..4] == b"\0asm" && bytes[6..8] == [1, 0] {
        Ok(())
    } else {
        Err(PackageError::NotAComponent)
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PackageError> {
        if self.0.len() < n {
            return Err(PackageError::Truncated(what));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, PackageError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, PackageError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
}

/// Why a package is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The package carries no signature.
    #[error("package is unsigned")]
    Unsigned,
    /// No signer is a key the store holds: the ids of every signer.
    #[error("package is signed only by keys this trust store does not hold: {}", join(.0))]
    UnknownKeys(Vec<KeyId>),
    /// No trusted key signed, and some signers are revoked: their ids.
    #[error("package is signed only by revoked keys: {}", join(.0))]
    Revoked(Vec<KeyId>),
    /// A signature does not verify: the contents changed after signing.
    #[error(
        "signature by key {key_id} does not match the package contents (tampered or corrupted)"
    )]
    BadSignature {
        /// The key whose signature failed.
        key_id: KeyId,
    },
    /// A signature is not base64 of 64 bytes.
    #[error("signature by key {key_id} is malformed")]
    Malformed {
        /// The key the malformed signature names.
        key_id: KeyId,
    },
}

fn join(ids: &[KeyId]) -> String {
    ids.iter()
        .map(|k| k.0.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The publisher keys an agent or a registry trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: BTreeMap<KeyId, PublicKey>,
    revoked: BTreeSet<KeyId>,
}

impl TrustStore {
    /// An empty store, which trusts nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key`.
    pub fn add(&mut self, key: PublicKey) {
        self.keys.insert(key.id(), key);
    }

    /// Stops trusting the key with that id, even if it is added again.
    pub fn revoke(&mut self, id: KeyId) {
        self.revoked.insert(id);
    }

    /// The trusted keys.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.values()
    }

    /// Whether the key with that id was revoked here.
    pub fn is_revoked(&self, id: &KeyId) -> bool {
        self.revoked.contains(id)
    }

    /// Whether the key with that id is trusted: known and not revoked.
    pub fn trusts(&self, id: &KeyId) -> bool {
        self.keys.contains_key(id) && !self.revoked.contains(id)
    }

    /// Checks that a trusted, unrevoked key signed the package. A signature by
    /// a trusted key that does not verify refuses the package outright.
    pub fn verify(&self, package: &Package) -> Result<PublicKey, TrustError> {
        let sigs = package.signatures();
        if sigs.is_empty() {
            return Err(TrustError::Unsigned);
        }
        let digest = package.digest();
        let mut trusted = None;
        let mut revoked = Vec::new();
        for sig in sigs {
            if self.revoked.contains(&sig.key_id) {
                revoked.push(sig.key_id.clone());
                continue;
            }
            if let Some(key) = self.keys.get(&sig.key_id) {
                sig.verify(&digest, key)?;
                trusted.get_or_insert_with(|| key.clone());
            }
        }
        match trusted {
            Some(key) => Ok(key),
            None if !revoked.is_empty() => Err(TrustError::Revoked(revoked)),
            None => Err(TrustError::UnknownKeys(
                sigs.iter().map(|s| s.key_id.clone()).collect(),
            )),
        }
    }
}

#[cfg(test)]
mod tests;

//! The on-disk cache of precompiled plugin artifacts, keyed by the package
//! digest and the engine's compatibility hash.
//!
//! This is the agent's one `unsafe` module: wasmtime deserialises native
//! code without validating it, so an artifact must only ever be one that this
//! agent wrote. Each artifact is stored with an HMAC-SHA256 over the engine's
//! compatibility hash, the package digest and the bytes, under a random
//! per-agent key (`artifact.key`, mode 0600, made on first use). An artifact
//! whose tag does not verify — written by anyone else, moved from another
//! package, or damaged — is never loaded: the verified component is compiled
//! again. Files are 0600 in a 0700 folder.

#![allow(unsafe_code)]

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use vantage_protocol::package::PackageDigest;
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::files::{private_dir, private_tmp, write_private};

/// The file of the agent's artifact key, in the cache folder.
pub(crate) const KEY_FILE: &str = "artifact.key";

/// Precompiled artifacts in one directory.
#[derive(Debug)]
pub(crate) struct ArtifactCache {
    dir: PathBuf,
    engine: Engine,
    compat: String,
    key: [u8; 32],
}

impl ArtifactCache {
    /// The cache in `dir`, with the agent's key (made when missing).
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> anyhow::Result<Self> {
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        private_dir(&dir)?;
        let key = artifact_key(&dir.join(KEY_FILE))?;
        Ok(ArtifactCache {
            dir,
            engine: engine.clone(),
            compat: format!("{:016x}", h.finish()),
            key,
        })
    }

    fn path(&self, digest: &PackageDigest) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.compat))
    }

    /// The tag of `artifact` as the artifact of `digest` for this engine.
    fn tag(&self, digest: &PackageDigest, artifact: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(self.compat.as_bytes());
        mac.update(digest.to_string().as_bytes());
        mac.update(artifact);
        mac
    }

    /// The compiled component for `digest`: from the cache when a sound
    /// artifact is there, else compiled from `component` and stored.
    pub(crate) fn load_or_compile(
        &self,
        digest: &PackageDigest,
        component: &[u8],
    ) -> anyhow::Result<Component> {
        let path = self.path(digest);
        if let Some(loaded) = self.load(digest, &path) {
            return Ok(loaded);
        }
        let artifact = self
            .engine
            .precompile_component(component)
            .map_err(anyhow::Error::from)
            .context("compiling plugin")?;
        if let Err(e) = self.store(digest, &path, &artifact) {
            tracing::warn!(path = %path.display(), error = %e, "Could not cache a precompiled plugin.");
        }
        // SAFETY: `artifact` was produced just now by this engine.
        unsafe { Component::deserialize(&self.engine, &artifact) }
            .map_err(anyhow::Error::from)
            .context("loading compiled plugin")
    }

    fn load(&self, digest: &PackageDigest, path: &Path) -> Option<Component> {
        let bytes = std::fs::read(path).ok()?;
        let tag = std::fs::read_to_string(path.with_extension("mac")).ok()?;
        let tag = hex::decode(tag.trim()).unwrap_or_default();
        if self.tag(digest, &bytes).verify_slice(&tag).is_err() {
            tracing::warn!(path = %path.display(), "A precompiled plugin's tag does not verify (not written by this agent for this package): recompiling.");
            return None;
        }
        // SAFETY: the bytes are an artifact this agent wrote for this
        // package and engine: their tag verifies under the agent's own key.
        // wasmtime still checks that a compatible engine compiled them.
        match unsafe { Component::deserialize(&self.engine, &bytes) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "Precompiled plugin unusable; recompiling.");
                None
            }
        }
    }

    fn store(&self, digest: &PackageDigest, path: &Path, artifact: &[u8]) -> anyhow::Result<()> {
        let tag = hex::encode(self.tag(digest, artifact).finalize().into_bytes());
        write_private(&path.with_extension("mac"), tag.as_bytes())?;
        write_private(path, artifact)?;
        Ok(())
    }
}

/// The key in `path`: 32 bytes readable by this user only; made when
/// missing. One that others may read is replaced (its artifacts then fail
/// their tags and are compiled again).
fn artifact_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    if let Ok(meta) = std::fs::metadata(path) {
        let key = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if crate::platform::private_to_owner(&meta)
            && let Ok(key) = <[u8; 32]>::try_from(key.as_slice())
        {
            return Ok(key);
        }
        tracing::warn!(path = %path.display(), "The artifact key is readable by others or damaged: replacing it.");
        let _ = std::fs::remove_file(path);
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    // The first writer wins; a racing one reads the winner's key.
    let tmp = private_tmp(path, &key)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let key = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            <[u8; 32]>::try_from(key.as_slice())
                .map_err(|_| anyhow::anyhow!("{} is not a 32-byte key", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

//! The on-disk cache of precompiled plugin artifacts, keyed by the package
//! digest and the engine's compatibility hash.
//!
//! This is the agent's one `unsafe` module: wasmtime deserialises native
//! code without validating it, so an artifact must only ever be one that this
//! agent wrote. We write artifacts atomically into the agent's own data
//! directory together with their sha256, and check that hash before loading;
//! anything that does not match is recompiled from the verified component.

#![allow(unsafe_code)]

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use vantage_protocol::package::PackageDigest;
use wasmtime::Engine;
use wasmtime::component::Component;

/// Precompiled artifacts in one directory.
#[derive(Debug)]
pub(crate) struct ArtifactCache {
    dir: PathBuf,
    engine: Engine,
    compat: String,
}

impl ArtifactCache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> Self {
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        ArtifactCache {
            dir,
            engine: engine.clone(),
            compat: format!("{:016x}", h.finish()),
        }
    }

    fn path(&self, digest: &PackageDigest) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.compat))
    }

    /// The compiled component for `digest`: from the cache when a sound
    /// artifact is there, else compiled from `component` and stored.
    pub(crate) fn load_or_compile(
        &self,
        digest: &PackageDigest,
        component: &[u8],
    ) -> anyhow::Result<Component> {
        let path = self.path(digest);
        if let Some(loaded) = self.load(&path) {
            return Ok(loaded);
        }
        let artifact = self
            .engine
            .precompile_component(component)
            .map_err(anyhow::Error::from)
            .context("compiling plugin")?;
        if let Err(e) = self.store(&path, &artifact) {
            tracing::warn!(path = %path.display(), error = %e, "Could not cache a precompiled plugin.");
        }
        // SAFETY: `artifact` was produced just now by this engine.
        unsafe { Component::deserialize(&self.engine, &artifact) }
            .map_err(anyhow::Error::from)
            .context("loading compiled plugin")
    }

    fn load(&self, path: &Path) -> Option<Component> {
        let bytes = std::fs::read(path).ok()?;
        let expected = std::fs::read_to_string(path.with_extension("sha256")).ok()?;
        if hex::encode(Sha256::digest(&bytes)) != expected.trim() {
            tracing::warn!(path = %path.display(), "Precompiled plugin does not match its hash; recompiling.");
            return None;
        }
        // SAFETY: the bytes are an artifact this agent wrote (see the module
        // docs) and match the hash recorded when it was written; wasmtime
        // still checks that it was compiled by a compatible engine.
        match unsafe { Component::deserialize(&self.engine, &bytes) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "Precompiled plugin unusable; recompiling.");
                None
            }
        }
    }

    fn store(&self, path: &Path, artifact: &[u8]) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, artifact)?;
        std::fs::write(
            path.with_extension("sha256"),
            hex::encode(Sha256::digest(artifact)),
        )?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

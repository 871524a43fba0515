//! A plugin's lifecycle in types:
//! [`Package`] (signed, as read) → [`VerifiedPlugin`] (a trusted key signed
//! it) → [`CompiledPlugin`] (compiled and linked) → one instance per run.
//!
//! The only way to a `VerifiedPlugin` is [`VerifiedPlugin::verify`], and the
//! only way to a `CompiledPlugin` is [`VerifiedPlugin::compile`], so an
//! unverified component cannot be compiled, let alone run. This module uses
//! the [`PluginHost`] (engine, linker, services); the host knows nothing of
//! plugins' lifecycle.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use vantage_protocol::keys::PublicKey;
use vantage_protocol::manifest::Manifest;
use vantage_protocol::package::{Package, PackageDigest, TrustError, TrustStore};
use vantage_protocol::result::CheckResult;

use crate::bindings::PluginPre;
use crate::host::PluginHost;
use crate::normalise::{RunMeta, normalise};
use crate::run::{RunRequest, RunState, execute};

/// A package whose signature a trusted publisher key checked.
#[derive(Debug, Clone)]
pub struct VerifiedPlugin {
    package: Package,
    signer: PublicKey,
}

impl VerifiedPlugin {
    /// Verifies `package` against `trust`.
    pub fn verify(package: Package, trust: &TrustStore) -> Result<Self, TrustError> {
        let signer = trust.verify(&package)?;
        Ok(VerifiedPlugin { package, signer })
    }

    pub fn manifest(&self) -> &Manifest {
        self.package.manifest()
    }

    pub fn digest(&self) -> PackageDigest {
        self.package.digest()
    }

    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }

    /// Compiles the plugin with `host` (or loads its precompiled artifact)
    /// and links it.
    pub fn compile(self, host: &PluginHost) -> anyhow::Result<CompiledPlugin> {
        let digest = self.digest();
        let pre = host.prepare(&self.manifest().id(), &digest, self.package.component())?;
        let VerifiedPlugin { package, signer } = self;
        Ok(CompiledPlugin {
            manifest: Arc::new(package.manifest().clone()),
            digest,
            signer,
            pre,
        })
    }
}

/// A verified plugin, compiled and linked, ready for a run.
pub struct CompiledPlugin {
    manifest: Arc<Manifest>,
    digest: PackageDigest,
    signer: PublicKey,
    pre: PluginPre<RunState>,
}

impl std::fmt::Debug for CompiledPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledPlugin")
            .field("plugin", &self.manifest.id())
            .field("digest", &self.digest)
            .field("signer", &self.signer.id())
            .finish()
    }
}

impl CompiledPlugin {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn digest(&self) -> PackageDigest {
        self.digest
    }

    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }

    /// Runs the plugin once and normalises what came back.
    pub async fn run(&self, host: &PluginHost, agent: &str, request: &RunRequest) -> CheckResult {
        let started_at = Utc::now();
        let start = Instant::now();
        let awake = host.epoch_awake();
        let outcome = execute(&self.pre, &self.manifest.name, host.services(), request).await;
        drop(awake);
        let meta = RunMeta {
            agent,
            check: &request.check,
            target: &request.target,
            manifest: &self.manifest,
            started_at,
            duration: start.elapsed(),
        };
        normalise(&meta, outcome, request.limits.output_bytes)
    }
}

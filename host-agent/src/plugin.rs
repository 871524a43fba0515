//! A plugin's lifecycle in types:
//! [`Package`] (signed, as read) → [`VerifiedPlugin`] (a trusted key signed
//! it) → [`CompiledPlugin`] (compiled and linked) → one instance per run.
//!
//! The only way to a `VerifiedPlugin` is [`VerifiedPlugin::verify`], and the
//! only way to a `CompiledPlugin` is [`PluginHost::compile`] of a verified
//! one, so an unverified component cannot be compiled, let alone run.

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

    pub(crate) fn component(&self) -> &[u8] {
        self.package.component()
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
    pub(crate) fn new(plugin: VerifiedPlugin, pre: PluginPre<RunState>) -> Self {
        let digest = plugin.digest();
        let VerifiedPlugin { package, signer } = plugin;
        CompiledPlugin {
            manifest: Arc::new(package.manifest().clone()),
            digest,
            signer,
            pre,
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn digest(&self) -> PackageDigest {
        self.digest
    }

    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }

    pub(crate) fn pre(&self) -> &PluginPre<RunState> {
        &self.pre
    }

    /// Runs the plugin once and normalises what came back.
    pub async fn run(&self, host: &PluginHost, agent: &str, request: &RunRequest) -> CheckResult {
        let started_at = Utc::now();
        let start = Instant::now();
        let outcome = execute(host, self, request).await;
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

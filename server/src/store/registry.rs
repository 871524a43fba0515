//! Rows of the plugin registry and of the checks defined on the server.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::{CheckSpec, PluginPin, PluginVersion};
use vantage_protocol::keys::KeyId;
use vantage_protocol::manifest::{Capability, Manifest};

/// A published package, without its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageRow {
    pub manifest: Manifest,
    /// The signed package digest, hex.
    pub digest: String,
    /// sha256 of the package file, hex.
    pub sha256: String,
    pub size: u64,
    /// The key whose signature the registry checked.
    pub signer: KeyId,
    pub published_at: DateTime<Utc>,
    pub published_by: Uuid,
    pub yanked_at: Option<DateTime<Utc>>,
}

impl PackageRow {
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    pub fn version(&self) -> &semver::Version {
        &self.manifest.version
    }

    /// Exactly this package, for an agent.
    pub fn pin(&self) -> PluginPin {
        PluginPin {
            name: self.manifest.name.clone(),
            version: self.manifest.version.clone(),
            digest: self.digest.clone(),
            sha256: self.sha256.clone(),
            size: self.size,
        }
    }

    /// The version as the API shows it.
    pub fn view(&self) -> PluginVersion {
        let m = &self.manifest;
        PluginVersion {
            name: m.name.clone(),
            version: m.version.clone(),
            description: m.description.clone(),
            capabilities: m.capabilities.clone(),
            config_schema: m.config_schema.clone(),
            metrics: m.metrics.clone(),
            digest: self.digest.clone(),
            sha256: self.sha256.clone(),
            size: self.size,
            signer: self.signer.clone(),
            published_at: self.published_at,
            yanked_at: self.yanked_at,
        }
    }
}

/// Orders packages by name, newest version first (what every listing shows).
pub fn sort_packages(rows: &mut [PackageRow]) {
    rows.sort_by(|a, b| {
        a.name()
            .cmp(b.name())
            .then_with(|| b.version().cmp(a.version()))
    });
}

/// A check defined on the server.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub spec: CheckSpec,
    /// Capabilities the operator reviewed when saving.
    pub reviewed: BTreeSet<Capability>,
    pub revision: i64,
    pub updated_at: DateTime<Utc>,
}

/// What saving a check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckSaved {
    pub revision: i64,
    /// No check of that name existed.
    pub created: bool,
}

//! The plugin registry: publisher keys, packages and their files, yanks.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::{PluginPin, PluginVersion, PublisherKey};
use vantage_protocol::keys::KeyId;
use vantage_protocol::manifest::Manifest;

use super::dispatch::store_trait;
use super::types::StoreResult;

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

store_trait! {
    /// Publisher keys and plugin packages.
    pub trait RegistryStore {
        /// Inserts a publisher key; false when its id exists.
        async fn put_key(&self, key: &PublisherKey) -> StoreResult<bool>;
        /// Every publisher key, oldest first.
        async fn keys(&self) -> StoreResult<Vec<PublisherKey>>;
        /// True when the key exists (revoking twice keeps the first time).
        async fn revoke_key(&self, id: &KeyId, now: DateTime<Utc>) -> StoreResult<bool>;
        /// Stores a package and its file; false when its name and version exist.
        async fn publish_package(&self, package: &PackageRow, bytes: &[u8]) -> StoreResult<bool>;
        /// Packages (of one plugin, when named) without their files, by name
        /// and newest version first.
        async fn packages(&self, name: Option<&str>) -> StoreResult<Vec<PackageRow>>;
        /// The package file with that sha256 (hex).
        async fn package_blob(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>>;
        /// Yanks (`Some`: keeping an earlier time) or restores (`None`) a
        /// version; true when it exists.
        async fn set_yanked(
            &self,
            name: &str,
            version: &str,
            at: Option<DateTime<Utc>>
        ) -> StoreResult<bool>;
        /// Stores a registry statement (its JSON) unless one with the same
        /// or a higher sequence is stored; true when stored.
        async fn put_statement(
            &self,
            sequence: u64,
            statement: &str,
            expires_at: DateTime<Utc>,
            now: DateTime<Utc>
        ) -> StoreResult<bool>;
        /// The JSON of the stored statement with the highest sequence.
        async fn latest_statement(&self) -> StoreResult<Option<String>>;
    }
}

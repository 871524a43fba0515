//! Agent releases: archives addressed by their sha256, and the signed
//! manifests published for them.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::ReleaseView;
use vantage_protocol::keys::KeyId;
use vantage_protocol::update::{ReleaseBody, SignedRelease};

use super::dispatch::store_trait;
use super::types::StoreResult;

/// A published release: one version for one platform.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRow {
    /// The manifest's body, as verified when published.
    pub body: ReleaseBody,
    /// The signed manifest, as agents check it.
    pub manifest: SignedRelease,
    /// The key whose signature the registry checked.
    pub signer: KeyId,
    pub published_at: DateTime<Utc>,
    pub published_by: Uuid,
    pub yanked_at: Option<DateTime<Utc>>,
}

impl ReleaseRow {
    /// The release as the API shows it.
    pub fn view(&self) -> ReleaseView {
        let b = &self.body;
        ReleaseView {
            version: b.version.clone(),
            platform: b.platform.clone(),
            sha256: b.sha256.clone(),
            size: b.size,
            min_version: b.min_version.clone(),
            seq: b.seq,
            signer: self.signer.clone(),
            expires_at: b.expires_at,
            published_at: self.published_at,
            yanked_at: self.yanked_at,
            manifest: self.manifest.clone(),
        }
    }
}

/// Newest version first, then by platform (what every listing shows).
pub fn sort_releases(rows: &mut [ReleaseRow]) {
    rows.sort_by(|a, b| {
        b.body
            .version
            .cmp(&a.body.version)
            .then_with(|| a.body.platform.cmp(&b.body.platform))
    });
}

store_trait! {
    /// Agent archives and release manifests.
    pub trait ReleaseStore {
        /// Stores an archive under its sha256 (hex); false when it is there.
        async fn put_release_blob(
            &self,
            sha256: &str,
            bytes: &[u8],
            now: DateTime<Utc>
        ) -> StoreResult<bool>;
        /// The size of the archive with that sha256, when stored.
        async fn release_blob_size(&self, sha256: &str) -> StoreResult<Option<u64>>;
        /// The archive with that sha256.
        async fn release_blob(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>>;
        /// Publishes a release; false when its version and platform (or its
        /// seq) exist.
        async fn insert_release(&self, release: &ReleaseRow) -> StoreResult<bool>;
        /// Replaces the manifest of the release of the same version,
        /// platform and archive, when the new seq is higher; true when
        /// replaced. Its yank stays as it was.
        async fn refresh_release(&self, release: &ReleaseRow) -> StoreResult<bool>;
        /// Every release, newest version first.
        async fn releases(&self) -> StoreResult<Vec<ReleaseRow>>;
        /// Yanks (`Some`: keeping an earlier time) or restores (`None`)
        /// every platform of a version; how many there are.
        async fn set_release_yanked(
            &self,
            version: &str,
            at: Option<DateTime<Utc>>
        ) -> StoreResult<u64>;
    }
}

//! The packages a desired state names: content-addressed in
//! `<data_dir>/packages`, downloaded when missing, and refused unless they
//! match their pin exactly.

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use vantage_protocol::config::{BLOB_PATH, CheckState, PluginPin};
use vantage_protocol::package::{MAX_COMPONENT_BYTES, Package};

use super::{Refusal, Remote};
use crate::uplink::client::ServerClient;

impl Remote {
    /// The package a pin names: from the cache, or downloaded and cached.
    /// Anything that does not match the pin exactly is refused.
    pub(super) async fn package(
        &self,
        pin: &PluginPin,
        client: Option<&mut ServerClient>,
    ) -> Result<Package, Refusal> {
        let refused = |why: String| (CheckState::Refused, why);
        if pin.sha256.len() != 64 || !pin.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(refused(format!("`{}` is not a sha256", pin.sha256)));
        }
        let cache = self.data_dir.join("packages");
        let path = cache.join(format!("{}.vpkg", pin.sha256.to_ascii_lowercase()));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) if hex::encode(Sha256::digest(&bytes)) == pin.sha256 => bytes,
            _ => {
                let Some(client) = client else {
                    return Err((
                        CheckState::Failed,
                        "the package is not cached and the server is unreachable".into(),
                    ));
                };
                let bytes = download(client, pin).await.map_err(|e| {
                    (
                        CheckState::Failed,
                        format!("downloading the package: {e:#}"),
                    )
                })?;
                if hex::encode(Sha256::digest(&bytes)) != pin.sha256.to_ascii_lowercase() {
                    return Err(refused(
                        "the downloaded package does not match its sha256".into(),
                    ));
                }
                if let Err(e) = crate::files::write_private(&path, &bytes) {
                    tracing::warn!(error = %format!("{e:#}"), "Caching a package failed.");
                }
                bytes
            }
        };
        let package =
            Package::from_bytes(&bytes).map_err(|e| refused(format!("not a package: {e}")))?;
        let manifest = package.manifest();
        if package.digest().to_string() != pin.digest
            || manifest.name != pin.name
            || manifest.version != pin.version
        {
            return Err(refused(format!(
                "the package is {} (digest {}), not the {}@{} (digest {}) the server named",
                manifest.id(),
                package.digest(),
                pin.name,
                pin.version,
                pin.digest
            )));
        }
        Ok(package)
    }
}

async fn download(client: &mut ServerClient, pin: &PluginPin) -> anyhow::Result<Vec<u8>> {
    let size = usize::try_from(pin.size.min(MAX_COMPONENT_BYTES + (4 << 20))).unwrap_or(usize::MAX);
    let reply = client
        .get(
            &format!("{BLOB_PATH}{}", pin.sha256),
            None,
            size.max(1),
            Duration::from_secs(300),
        )
        .await?;
    anyhow::ensure!(reply.status == 200, "{}", reply.problem_text());
    Ok(reply.body.to_vec())
}

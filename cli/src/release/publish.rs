//! `vantage release publish`: sign a manifest for an agent archive with a
//! root or release key, upload the archive by its sha256, then publish the
//! manifest. The version and platform come from the archive's name
//! (`vantage[-agent]-<version>-<target triple>.tar.gz`, as `cargo xtask
//! dist` names it) unless given.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use chrono::Utc;
use clap::Args;
use reqwest::{Method, StatusCode};
use sha2::{Digest as _, Sha256};
use vantage_protocol::config::{RELEASE_BLOB_PATH, ReleaseView};
use vantage_protocol::update::{AGENT_PRODUCT, ReleaseBody, SignedRelease};

use super::RELEASES;
use crate::files;
use crate::server::{self, ProblemError, ServerArgs};

#[derive(Args)]
pub(crate) struct PublishArgs {
    /// The agent archive: a .tar.gz holding a `vantage-agent` binary.
    #[arg(value_name = "ARCHIVE.tar.gz")]
    archive: PathBuf,
    /// A root's secret key file, or one a root endorsed for releases.
    #[arg(long, value_name = "KEY.key")]
    key: PathBuf,
    /// The agent version (default: from the archive's name).
    #[arg(long)]
    version: Option<semver::Version>,
    /// The Rust target triple (default: from the archive's name).
    #[arg(long)]
    platform: Option<String>,
    /// Agents older than this must update to an intermediate release first.
    #[arg(long)]
    min_version: Option<semver::Version>,
    /// How long agents take the manifest; re-publish before it runs out.
    #[arg(long, default_value = "180d", value_parser = humantime::parse_duration)]
    expires_in: Duration,
    /// The manifest's sequence number (default: one above the server's highest).
    #[arg(long)]
    seq: Option<u64>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Archs a target triple starts with, to split `<version>-<triple>` where a
/// pre-release version holds dashes too.
const ARCHS: [&str; 9] = [
    "x86_64",
    "aarch64",
    "i686",
    "armv7",
    "arm",
    "riscv64gc",
    "powerpc64le",
    "s390x",
    "loongarch64",
];

/// The version and platform in `vantage[-agent]-<version>-<triple>.tar.gz`.
pub(crate) fn from_name(path: &Path) -> Option<(semver::Version, String)> {
    let name = path.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".tar.gz")
        .or_else(|| name.strip_suffix(".tgz"))?;
    let rest = stem
        .strip_prefix("vantage-agent-")
        .or_else(|| stem.strip_prefix("vantage-"))?;
    rest.match_indices('-').find_map(|(i, _)| {
        let (version, platform) = (&rest[..i], &rest[i + 1..]);
        let arch = platform.split('-').next()?;
        if !ARCHS.contains(&arch) {
            return None;
        }
        Some((version.parse().ok()?, platform.to_owned()))
    })
}

pub(crate) fn publish(args: PublishArgs) -> Result<()> {
    let key = files::read_secret_key(&args.key)?;
    let bytes = files::read(&args.archive, "archive")?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        bail!("{} is not a gzip archive (.tar.gz)", args.archive.display());
    }
    let named = from_name(&args.archive);
    let version = match (args.version, &named) {
        (Some(v), _) => v,
        (None, Some((v, _))) => v.clone(),
        (None, None) => bail!(
            "cannot read a version from the name {}: pass --version and --platform",
            args.archive.display()
        ),
    };
    let platform = match (args.platform, named) {
        (Some(p), _) => p,
        (None, Some((_, p))) => p,
        (None, None) => bail!("cannot read a platform from the archive's name: pass --platform"),
    };
    let server = args.server.connect()?;
    let seq = match args.seq {
        Some(seq) => seq,
        None => {
            let releases: Vec<ReleaseView> = server.get(server.url(RELEASES, &[]))?;
            releases.iter().map(|r| r.seq).max().unwrap_or(0) + 1
        }
    };
    let now = Utc::now();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let body = ReleaseBody {
        product: AGENT_PRODUCT.into(),
        version,
        platform,
        sha256: sha256.clone(),
        size: bytes.len() as u64,
        min_version: args.min_version,
        seq,
        issued_at: now,
        expires_at: now
            + chrono::Duration::from_std(args.expires_in).context("--expires-in is too long")?,
    };
    body.validate()?;
    let manifest = SignedRelease::sign(&body, &key);

    let url = server.url(RELEASE_BLOB_PATH.trim_end_matches('/'), &[&sha256]);
    let upload = server
        .request(Method::PUT, url)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(bytes);
    server
        .send(upload)
        .with_context(|| format!("uploading {}", args.archive.display()))?;
    let url = server.url(RELEASES, &[]);
    let view: ReleaseView =
        match server.send(server.request(Method::POST, url.clone()).json(&manifest)) {
            Ok(response) => server::decode(response, &url)?,
            Err(e) if ProblemError::status_of(&e) == Some(StatusCode::CONFLICT) => {
                return Err(e.context(format!(
                    "{} for {} was not published",
                    body.version, body.platform
                )));
            }
            Err(e) => return Err(e.context("publishing the release manifest")),
        };
    println!(
        "published vantage-agent {} for {} (seq {}, sha256 {}, signed by {}, expires {})",
        view.version,
        view.platform,
        view.seq,
        view.sha256,
        view.signer,
        view.expires_at.to_rfc3339()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_and_platform_come_from_the_archive_name() {
        let read = |n: &str| from_name(Path::new(n)).map(|(v, p)| (v.to_string(), p));
        assert_eq!(
            read("dist/vantage-0.1.0-x86_64-unknown-linux-gnu.tar.gz"),
            Some(("0.1.0".into(), "x86_64-unknown-linux-gnu".into()))
        );
        assert_eq!(
            read("vantage-agent-1.4.0-rc.1-aarch64-unknown-linux-musl.tgz"),
            Some(("1.4.0-rc.1".into(), "aarch64-unknown-linux-musl".into()))
        );
        assert_eq!(read("agent.tar.gz"), None);
        assert_eq!(read("vantage-1.0-x86_64-unknown-linux-gnu.tar.gz"), None);
        assert_eq!(read("vantage-1.0.0-x86_64-unknown-linux-gnu.zip"), None);
    }
}

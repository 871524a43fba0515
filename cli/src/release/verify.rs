//! `vantage keys verify-release`: a downloaded release checked before it is
//! unpacked: `SHA256SUMS` signed by the release key (`protocol/src/release.rs`),
//! then every archive it lists that sits beside it against its sum.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use sha2::{Digest as _, Sha256};
use vantage_protocol::keys::PublicKey;
use vantage_protocol::package::Signature;

#[derive(clap::Args)]
pub(crate) struct VerifyReleaseArgs {
    /// The release's SHA256SUMS.
    #[arg(value_name = "SHA256SUMS")]
    sums: PathBuf,
    /// Its signature (SHA256SUMS.sig).
    #[arg(value_name = "SHA256SUMS.sig")]
    signature: PathBuf,
    /// The release key, compared out of band.
    #[arg(long, value_name = "RELEASE.pub")]
    key: PathBuf,
}

pub(crate) fn verify(args: VerifyReleaseArgs) -> Result<()> {
    let key = PublicKey::from_file(&read_text(&args.key)?)
        .with_context(|| format!("{} is not a public key", args.key.display()))?;
    let sums =
        std::fs::read(&args.sums).with_context(|| format!("reading {}", args.sums.display()))?;
    let signature: Signature = serde_json::from_str(&read_text(&args.signature)?)
        .with_context(|| format!("{} is not a signature", args.signature.display()))?;
    if !vantage_protocol::release::verify_sums(&key, &sums, &signature) {
        bail!(
            "{} is not signed by key {} ({}): do not use these files",
            args.sums.display(),
            key.id(),
            key.name
        );
    }
    let dir = args.sums.parent().unwrap_or(Path::new("."));
    let text = String::from_utf8(sums).context("SHA256SUMS is not text")?;
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (sum, name) = line
            .split_once("  ")
            .with_context(|| format!("SHA256SUMS: not `<sum>  <file>`: {line}"))?;
        let path = dir.join(name);
        if !path.is_file() {
            continue;
        }
        let got = hex::encode(Sha256::digest(std::fs::read(&path)?));
        if got != sum {
            bail!("{name}: its SHA-256 is {got}, not {sum} as signed: do not use it");
        }
        println!("{name}: OK");
        checked += 1;
    }
    if checked == 0 {
        bail!("none of the files SHA256SUMS lists is beside it");
    }
    println!("signed by key {} ({})", key.id(), key.name);
    Ok(())
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

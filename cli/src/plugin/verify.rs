//! `vantage plugin verify`: offline check that a trusted key signed a package.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use vantage_protocol::package::TrustStore;

use crate::files;

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// The .vpkg package to verify.
    package: PathBuf,
    /// A trusted public key file (NAME.pub); repeat for several.
    #[arg(long = "trust", value_name = "KEYFILE")]
    trust: Vec<PathBuf>,
    /// Trust every *.pub file in this directory.
    #[arg(long, value_name = "DIR")]
    trust_dir: Option<PathBuf>,
}

pub(crate) fn run(args: VerifyArgs) -> Result<()> {
    let mut key_files = args.trust;
    if let Some(dir) = &args.trust_dir {
        key_files.extend(public_key_files(dir)?);
    }
    if key_files.is_empty() {
        bail!("no trusted keys: pass --trust KEYFILE.pub or --trust-dir DIR");
    }
    let mut store = TrustStore::new();
    for path in &key_files {
        store.add(files::read_public_key(path)?);
    }

    let package = files::read_package(&args.package)?;
    let signer = store
        .verify(&package)
        .with_context(|| format!("package {} is not trusted", args.package.display()))?;
    println!(
        "verified: {} signed by {} ({})",
        package.manifest().id(),
        signer.id(),
        signer.name
    );
    Ok(())
}

/// The `*.pub` files of a directory, sorted.
fn public_key_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let context = || format!("reading trust directory {}", dir.display());
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).with_context(context)? {
        let path = entry.with_context(context)?.path();
        if path.extension().is_some_and(|e| e == "pub") && path.is_file() {
            found.push(path);
        }
    }
    if found.is_empty() {
        bail!("trust directory {} holds no .pub key files", dir.display());
    }
    found.sort();
    Ok(found)
}

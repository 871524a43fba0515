//! `vantage plugin sign`: add a publisher's signature to a package.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::files;

#[derive(Args)]
pub(crate) struct SignArgs {
    /// The .vpkg package to sign.
    package: PathBuf,
    /// The secret key file (NAME.key from `vantage keys generate`).
    #[arg(long)]
    key: PathBuf,
    /// Write the signed package here instead of replacing PACKAGE.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: SignArgs) -> Result<()> {
    let key = files::read_secret_key(&args.key)?;
    let mut package = files::read_package(&args.package)?;
    package.sign(&key);
    let out = args.out.unwrap_or(args.package);
    files::write_atomic(&out, &package.to_bytes())?;
    println!(
        "signed {} in {} with key {} ({})",
        package.manifest().id(),
        out.display(),
        key.public().id(),
        key.name
    );
    println!("digest {}", package.digest());
    Ok(())
}

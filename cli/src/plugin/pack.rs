//! `vantage plugin pack`: manifest + component → unsigned `.vpkg`.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use vantage_protocol::manifest::Manifest;
use vantage_protocol::package::{MAX_COMPONENT_BYTES, Package, PackageError};

use crate::files;

#[derive(Args)]
pub(crate) struct PackArgs {
    /// The plugin's manifest.json.
    #[arg(long, default_value = "manifest.json")]
    manifest: PathBuf,
    /// The WebAssembly component (e.g. target/wasm32-wasip2/release/NAME.wasm).
    #[arg(long)]
    component: PathBuf,
    /// Where to write the package [default: NAME-VERSION.vpkg].
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: PackArgs) -> Result<()> {
    let manifest_bytes = files::read(&args.manifest, "manifest file")?;
    let manifest = Manifest::from_json(&manifest_bytes)
        .with_context(|| format!("invalid manifest file {}", args.manifest.display()))?;

    let component = files::read(&args.component, "component file")?;
    let component_path = args.component.display();
    if component.len() as u64 > MAX_COMPONENT_BYTES {
        bail!(
            "component file {component_path} is {} bytes, more than the {MAX_COMPONENT_BYTES} a package may carry",
            component.len()
        );
    }
    if is_core_module(&component) {
        bail!(
            "component file {component_path} is a core WebAssembly module, not a component \
             (build for wasm32-wasip2, or wrap it with `wasm-tools component new`)"
        );
    }
    let package = match Package::new(manifest, component) {
        Ok(package) => package,
        Err(PackageError::NotAComponent) => {
            bail!("component file {component_path} is not a WebAssembly component")
        }
        Err(e) => return Err(e).context("building the package"),
    };

    let manifest = package.manifest();
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}-{}.vpkg", manifest.name, manifest.version)));
    files::write_atomic(&out, &package.to_bytes())?;
    println!("packed {} into {} (unsigned)", manifest.id(), out.display());
    println!("digest {}", package.digest());
    Ok(())
}

/// A core module's preamble: "\0asm" and version 1 (a component has layer 1).
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..8] == *b"\0asm\x01\0\0\0"
}

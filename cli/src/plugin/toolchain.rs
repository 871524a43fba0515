//! `vantage plugin wit | bindgen | componentize`: what a plugin author needs
//! besides a compiler, for languages whose toolchain does not read WIT itself.
//!
//! - `wit` writes the contract (`wit/plugin.wit`) that componentize-py and
//!   jco read.
//! - `bindgen --lang c` generates C bindings (`plugin.h`, `plugin.c` and the
//!   component-type object) with wit-bindgen's C generator.
//! - `componentize` wraps a core WebAssembly module built against WASI
//!   preview 1 (clang with wasi-libc) into a component, with the preview 1
//!   reactor adapter of the wasmtime release the agent runs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use wit_bindgen_core::Files;
use wit_bindgen_core::wit_parser::{Resolve, WorldId};

/// The plugin contract, as the agent implements it.
pub(crate) const PLUGIN_WIT: &str = include_str!("../../../wit/plugin.wit");
/// The world a plugin implements.
const WORLD: &str = "plugin";

#[derive(Args)]
pub(crate) struct WitArgs {
    /// Write `plugin.wit` into this directory (created if missing) instead of printing it.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum BindgenLang {
    /// C (wit-bindgen's C generator): plugin.h, plugin.c, plugin_component_type.o.
    C,
}

#[derive(Args)]
pub(crate) struct BindgenArgs {
    /// The language to generate bindings for (Rust uses vantage-plugin-sdk;
    /// componentize-py and jco generate their own from `vantage plugin wit`).
    #[arg(long, value_enum)]
    lang: BindgenLang,
    /// The directory to write the bindings into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Args)]
pub(crate) struct ComponentizeArgs {
    /// A core WebAssembly module built for wasm32-wasi (WASI preview 1) as a
    /// reactor, exporting the probe's functions.
    module: PathBuf,
    /// Where to write the component.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
}

pub(crate) fn wit(args: WitArgs) -> Result<()> {
    match args.out {
        None => print!("{PLUGIN_WIT}"),
        Some(dir) => {
            fs::create_dir_all(&dir)
                .with_context(|| format!("creating directory {}", dir.display()))?;
            let path = dir.join("plugin.wit");
            fs::write(&path, PLUGIN_WIT).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

fn plugin_world() -> Result<(Resolve, WorldId)> {
    let mut resolve = Resolve::default();
    let package = resolve
        .push_source("plugin.wit", PLUGIN_WIT)
        .context("parsing the built-in plugin.wit")?;
    let world = resolve.select_world(&[package], Some(WORLD))?;
    Ok((resolve, world))
}

pub(crate) fn bindgen(args: BindgenArgs) -> Result<()> {
    let BindgenLang::C = args.lang;
    let files = c_bindings()?;
    fs::create_dir_all(&args.out)
        .with_context(|| format!("creating directory {}", args.out.display()))?;
    for (name, bytes) in files.iter() {
        let path = args.out.join(name);
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The C bindings of the plugin world, by file name.
pub(crate) fn c_bindings() -> Result<Files> {
    let (mut resolve, world) = plugin_world()?;
    let mut files = Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .context("generating C bindings")?;
    Ok(files)
}

pub(crate) fn componentize(args: ComponentizeArgs) -> Result<()> {
    let module =
        fs::read(&args.module).with_context(|| format!("reading {}", args.module.display()))?;
    let component = componentize_module(&module)
        .with_context(|| format!("componentizing {}", args.module.display()))?;
    write_atomically(&args.out, &component)?;
    eprintln!("wrote {} ({} bytes)", args.out.display(), component.len());
    Ok(())
}

/// A component from a WASI preview 1 reactor module that carries the plugin
/// world's type information (linked in from `plugin_component_type.o`).
pub(crate) fn componentize_module(module: &[u8]) -> Result<Vec<u8>> {
    if module.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        if module.starts_with(b"\0asm") {
            bail!("this is already a component, not a core module: pack it as it is");
        }
        bail!("not a WebAssembly module");
    }
    wit_component::ComponentEncoder::default()
        .module(module)
        .context("reading the module's component type (link plugin_component_type.o from `vantage plugin bindgen`)")?
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .validate(true)
        .encode()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("wasm.tmp");
    fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

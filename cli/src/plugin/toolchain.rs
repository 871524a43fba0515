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
    if !custom_section_names(module)?
        .iter()
        .any(|name| name.starts_with("component-type"))
    {
        bail!(
            "the module carries no component type: link plugin_component_type.o \
             from `vantage plugin bindgen`"
        );
    }
    wit_component::ComponentEncoder::default()
        .module(module)
        .context("reading the module's component type")?
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .validate(true)
        .encode()
}

/// The names of a core module's custom sections.
fn custom_section_names(module: &[u8]) -> Result<Vec<String>> {
    fn leb128(bytes: &[u8], at: &mut usize) -> Result<usize> {
        let mut value = 0usize;
        for shift in (0..35).step_by(7) {
            let byte = *bytes.get(*at).context("the module is truncated")?;
            *at += 1;
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("the module has a malformed section length")
    }
    let mut names = Vec::new();
    let mut at = 8;
    while at < module.len() {
        let id = module[at];
        at += 1;
        let size = leb128(module, &mut at)?;
        let end = at
            .checked_add(size)
            .filter(|end| *end <= module.len())
            .context("the module is truncated")?;
        if id == 0 {
            let mut name_at = at;
            let len = leb128(module, &mut name_at)?;
            let name = module
                .get(name_at..name_at + len)
                .context("the module has a malformed custom section")?;
            names.push(String::from_utf8_lossy(name).into_owned());
        }
        at = end;
    }
    Ok(names)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("wasm.tmp");
    fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_bindings_declare_the_probe_export_and_carry_the_world() {
        let files = c_bindings().unwrap();
        let names: Vec<_> = files.iter().map(|(name, _)| name.to_owned()).collect();
        assert_eq!(names, ["plugin.c", "plugin.h", "plugin_component_type.o"]);
        let (_, header) = files.iter().find(|(n, _)| *n == "plugin.h").unwrap();
        let header = String::from_utf8_lossy(header);
        assert!(header.contains("void exports_vantage_plugin_probe_run("));
        assert!(header.contains("vantage_plugin_tcp_connect("));
    }

    #[test]
    fn componentize_refuses_what_it_cannot_wrap() {
        let error = |bytes: &[u8]| format!("{:#}", componentize_module(bytes).unwrap_err());
        assert_eq!(error(b"#!/bin/sh\n"), "not a WebAssembly module");
        assert!(error(b"\0asm\x0d\0\x01\0").contains("already a component"));
        // An empty core module: no component type linked in.
        assert!(error(b"\0asm\x01\0\0\0").contains("link plugin_component_type.o"));
        // A custom section that claims more bytes than there are.
        assert!(error(b"\0asm\x01\0\0\0\0\x7f\x01").contains("truncated"));
    }

    #[test]
    fn custom_sections_are_read_by_name() {
        // "\0asm" v1, one custom section "component-type:x" holding nothing else.
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        let name = b"component-type:x";
        module.extend([0, (name.len() + 1) as u8, name.len() as u8]);
        module.extend(name);
        assert_eq!(custom_section_names(&module).unwrap(), ["component-type:x"]);
    }
}

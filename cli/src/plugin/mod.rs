//! `vantage plugin …`: scaffold, pack, sign, verify and inspect plugin packages;
//! publish, yank and search them in a server's registry.

mod inspect;
mod new;
mod pack;
mod registry;
mod sign;
pub(crate) mod toolchain;
mod verify;

use anyhow::Result;
use clap::Subcommand;
use vantage_protocol::manifest::Manifest;

#[derive(Subcommand)]
pub(crate) enum PluginCommand {
    /// Scaffold a working plugin (a TCP-connect probe) in Rust, Python, JavaScript or C at PARENT/NAME.
    New(new::NewArgs),
    /// Print the plugin contract (wit/plugin.wit), or write it into a directory.
    Wit(toolchain::WitArgs),
    /// Generate bindings of the plugin world for a language without its own generator (C).
    Bindgen(toolchain::BindgenArgs),
    /// Turn a WASI preview 1 reactor module (clang + wasi-libc) into a plugin component.
    Componentize(toolchain::ComponentizeArgs),
    /// Build an unsigned .vpkg package from a manifest and a WebAssembly component.
    Pack(pack::PackArgs),
    /// Add a signature to a package.
    Sign(sign::SignArgs),
    /// Check offline that a trusted key signed a package.
    Verify(verify::VerifyArgs),
    /// Show what a package holds.
    Inspect(inspect::InspectArgs),
    /// Print the JSON Schema of the plugin manifest format.
    ManifestSchema,
    /// Upload signed packages to the server's registry (operator).
    Publish(registry::PublishArgs),
    /// Hide a published version from resolution, or restore it with --undo (operator).
    Yank(registry::YankArgs),
    /// Search the server's registry.
    List(registry::ListArgs),
}

impl PluginCommand {
    pub(crate) fn run(self) -> Result<()> {
        match self {
            PluginCommand::New(args) => new::run(args),
            PluginCommand::Wit(args) => toolchain::wit(args),
            PluginCommand::Bindgen(args) => toolchain::bindgen(args),
            PluginCommand::Componentize(args) => toolchain::componentize(args),
            PluginCommand::Pack(args) => pack::run(args),
            PluginCommand::Sign(args) => sign::run(args),
            PluginCommand::Verify(args) => verify::run(args),
            PluginCommand::Inspect(args) => inspect::run(args),
            PluginCommand::ManifestSchema => {
                let schema = serde_json::to_string_pretty(&Manifest::json_schema())?;
                println!("{schema}");
                Ok(())
            }
            PluginCommand::Publish(args) => registry::publish(args),
            PluginCommand::Yank(args) => registry::yank(args),
            PluginCommand::List(args) => registry::list(args),
        }
    }
}

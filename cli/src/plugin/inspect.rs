//! `vantage plugin inspect`: what a package holds, for people or for scripts.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde_json::json;
use vantage_protocol::package::Package;

use crate::files;

#[derive(Args)]
pub(crate) struct InspectArgs {
    /// The .vpkg package to inspect.
    package: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: InspectArgs) -> Result<()> {
    let package = files::read_package(&args.package)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&package))?);
    } else {
        print!("{}", to_text(&package)?);
    }
    Ok(())
}

fn to_json(package: &Package) -> serde_json::Value {
    let m = package.manifest();
    json!({
        "name": m.name,
        "version": m.version.to_string(),
        "description": m.description,
        "digest": package.digest().to_string(),
        "component_bytes": package.component().len(),
        "capabilities": m.capabilities,
        "metrics": m.metrics,
        "config_schema": m.config_schema,
        "signatures": package
            .signatures()
            .iter()
            .map(|s| json!({ "key_id": s.key_id }))
            .collect::<Vec<_>>(),
    })
}

fn to_text(package: &Package) -> Result<String> {
    use std::fmt::Write as _;

    let m = package.manifest();
    let mut out = String::new();
    let capabilities: Vec<&str> = m.capabilities.iter().map(|c| c.as_str()).collect();
    writeln!(out, "name:         {}", m.name)?;
    writeln!(out, "version:      {}", m.version)?;
    writeln!(out, "description:  {}", m.description)?;
    writeln!(out, "digest:       {}", package.digest())?;
    writeln!(out, "component:    {} bytes", package.component().len())?;
    writeln!(
        out,
        "capabilities: {}",
        none_if_empty(&capabilities.join(", "))
    )?;
    writeln!(
        out,
        "metrics:{}",
        if m.metrics.is_empty() { " none" } else { "" }
    )?;
    for metric in &m.metrics {
        writeln!(
            out,
            "  {} ({}): {}",
            metric.name,
            metric.unit.as_str(),
            metric.help
        )?;
    }
    writeln!(out, "config schema:")?;
    for line in serde_json::to_string_pretty(&m.config_schema)?.lines() {
        writeln!(out, "  {line}")?;
    }
    let signatures = package.signatures();
    writeln!(
        out,
        "signatures:{}",
        if signatures.is_empty() {
            " none (unsigned)"
        } else {
            ""
        }
    )?;
    for signature in signatures {
        writeln!(out, "  key {}", signature.key_id)?;
    }
    Ok(out)
}

fn none_if_empty(s: &str) -> &str {
    if s.is_empty() { "none" } else { s }
}

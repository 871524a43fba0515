//! `vantage plugin publish | yank | list`: the server's plugin registry.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use reqwest::{Method, StatusCode};
use vantage_protocol::config::{PluginSummary, PluginVersion};
use vantage_protocol::package::Package;

use crate::server::{self, ProblemError, ServerArgs};
use crate::{files, table};

const PLUGINS: &str = "/api/v1/registry/plugins";

#[derive(Args)]
pub(crate) struct PublishArgs {
    /// The signed .vpkg packages to upload.
    #[arg(required = true, value_name = "FILE.vpkg")]
    packages: Vec<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Uploads each package; one that fails does not stop the others.
pub(crate) fn publish(args: PublishArgs) -> Result<()> {
    let server = args.server.connect()?;
    let mut failed = 0;
    for path in &args.packages {
        let outcome = files::read(path, "package").and_then(|bytes| {
            // Read here first, so that a file that is no package is named as such.
            let id = Package::from_bytes(&bytes)
                .with_context(|| format!("reading package {}", path.display()))?
                .manifest()
                .id();
            let url = server.url(PLUGINS, &[]);
            let request = server
                .request(Method::POST, url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(bytes);
            match server.send(request) {
                Ok(response) => Ok(server::decode::<PluginVersion>(response, &url)?),
                Err(e) if ProblemError::status_of(&e) == Some(StatusCode::CONFLICT) => {
                    bail!("{id} already exists in the registry; nothing changed")
                }
                Err(e) => Err(e.context(format!("publishing {}", path.display()))),
            }
        });
        match outcome {
            Ok(v) => println!(
                "published {}@{} (sha256 {}, signed by {})",
                v.name, v.version, v.sha256, v.signer
            ),
            Err(e) => {
                failed += 1;
                eprintln!("error: {}", crate::report(&e));
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} packages were not published",
            args.packages.len()
        );
    }
    Ok(())
}

#[derive(Args)]
pub(crate) struct YankArgs {
    /// The version to hide from resolution.
    #[arg(value_name = "NAME@VERSION")]
    plugin: String,
    /// Restore a yanked version instead.
    #[arg(long)]
    undo: bool,
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) fn yank(args: YankArgs) -> Result<()> {
    let Some((name, version)) = args
        .plugin
        .split_once('@')
        .filter(|(n, v)| !n.is_empty() && !v.is_empty())
    else {
        bail!("`{}` is not NAME@VERSION (e.g. tcp@1.2.0)", args.plugin);
    };
    let server = args.server.connect()?;
    let (method, done) = if args.undo {
        (Method::DELETE, "restored")
    } else {
        (Method::POST, "yanked")
    };
    let url = server.url(PLUGINS, &[name, version, "yank"]);
    server.send(server.request(method, url)).with_context(|| {
        format!(
            "{} {}",
            if args.undo { "restoring" } else { "yanking" },
            args.plugin
        )
    })?;
    println!("{done} {name}@{version}");
    Ok(())
}

#[derive(Args)]
pub(crate) struct ListArgs {
    /// Only plugins whose name or description contains this.
    query: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) fn list(args: ListArgs) -> Result<()> {
    let server = args.server.connect()?;
    let mut url = server.url(PLUGINS, &[]);
    if let Some(q) = &args.query {
        url.query_pairs_mut().append_pair("q", q);
    }
    let plugins: Vec<PluginSummary> = server.get(url)?;
    let mut rows = vec![["NAME", "LATEST", "VERSIONS"].map(String::from).to_vec()];
    for p in plugins {
        let versions: Vec<String> = p.versions.iter().map(ToString::to_string).collect();
        let latest = p.latest.map_or("-".to_owned(), |v| v.to_string());
        rows.push(vec![p.name, latest, versions.join(", ")]);
    }
    table::print(&rows);
    Ok(())
}

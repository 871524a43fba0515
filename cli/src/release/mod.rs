//! `vantage release …`: agent releases in a server's registry, and
//! `vantage keys verify-release` ([`verify`]) for downloaded artefacts.

mod publish;
pub(crate) mod verify;

use anyhow::Result;
use clap::Subcommand;
use reqwest::Method;
use vantage_protocol::config::ReleaseView;

use crate::server::{self, ServerArgs};
use crate::table;

const RELEASES: &str = "/api/v1/releases";

#[derive(Subcommand)]
pub(crate) enum ReleaseCommand {
    /// Sign a release manifest for an agent archive and publish both.
    Publish(publish::PublishArgs),
    /// List the agent releases a server holds.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Yank a version on every platform: no rollout starts with it.
    Yank {
        /// The version.
        version: semver::Version,
        /// Restore a yanked version instead.
        #[arg(long)]
        undo: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

impl ReleaseCommand {
    pub(crate) fn run(self) -> Result<()> {
        match self {
            ReleaseCommand::Publish(args) => publish::publish(args),
            ReleaseCommand::List { server } => list(server),
            ReleaseCommand::Yank {
                version,
                undo,
                server,
            } => yank(&version, undo, server),
        }
    }
}

fn list(server: ServerArgs) -> Result<()> {
    let server = server.connect()?;
    let releases: Vec<ReleaseView> = server.get(server.url(RELEASES, &[]))?;
    let mut rows = vec![
        [
            "VERSION", "PLATFORM", "SEQ", "SIZE", "SIGNER", "EXPIRES", "YANKED",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in releases {
        rows.push(vec![
            r.version.to_string(),
            r.platform,
            r.seq.to_string(),
            r.size.to_string(),
            r.signer.0,
            r.expires_at.format("%Y-%m-%d").to_string(),
            r.yanked_at.map_or("-".into(), |t| t.to_rfc3339()),
        ]);
    }
    table::print(&rows);
    Ok(())
}

fn yank(version: &semver::Version, undo: bool, server: ServerArgs) -> Result<()> {
    let server = server.connect()?;
    let url = server.url(RELEASES, &[&version.to_string(), "yank"]);
    let method = if undo { Method::DELETE } else { Method::POST };
    let response = server.send(server.request(method, url.clone()))?;
    let releases: Vec<ReleaseView> = server::decode(response, &url)?;
    let platforms: Vec<&str> = releases.iter().map(|r| r.platform.as_str()).collect();
    println!(
        "{} {version} ({})",
        if undo { "restored" } else { "yanked" },
        platforms.join(", ")
    );
    Ok(())
}

//! `vantage checks …`: the checks the server hands its agents.

mod apply;
mod diff;
mod file;

use anyhow::Result;
use clap::Subcommand;
use reqwest::Method;
use vantage_protocol::config::{CheckSpec, CheckView};

use crate::server::{self, Server, ServerArgs};
use crate::table;

const CHECKS: &str = "/api/v1/checks";

#[derive(Subcommand)]
pub(crate) enum ChecksCommand {
    /// Make the server's checks those of a checks file: prints the diff, then applies it (operator).
    Apply(apply::ApplyArgs),
    /// List the server's checks and the plugin version each runs.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print the server's checks as a checks file that `apply` accepts.
    Export {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Save a check again as it is, approving the capabilities a pending upgrade requests (operator).
    Approve {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

impl ChecksCommand {
    pub(crate) fn run(self) -> Result<()> {
        match self {
            ChecksCommand::Apply(args) => apply::run(args),
            ChecksCommand::List { server } => list(server),
            ChecksCommand::Export { server } => {
                let server = server.connect()?;
                let views: Vec<CheckView> = server.get(server.url(CHECKS, &[]))?;
                let specs: Vec<CheckSpec> = views.into_iter().map(|v| v.spec).collect();
                print!("{}", file::to_toml(&specs)?);
                Ok(())
            }
            ChecksCommand::Approve { name, server } => approve(&name, server),
        }
    }
}

/// `PUT`s a check; the server's view of it after.
fn put(server: &Server, spec: &CheckSpec) -> Result<CheckView> {
    let url = server.url(CHECKS, &[&spec.name]);
    let response = server.send(server.request(Method::PUT, url.clone()).json(spec))?;
    server::decode(response, &url)
}

/// What an operator should know about how a check resolves.
fn notes(view: &CheckView) -> Vec<String> {
    let name = &view.spec.name;
    let mut notes = Vec::new();
    if let Some(why) = &view.unresolved {
        notes.push(format!(
            "{name}: no version of {} runs: {why}",
            view.spec.plugin
        ));
    }
    if let Some(p) = &view.pending_upgrade {
        let new: Vec<&str> = p.new_capabilities.iter().map(|c| c.as_str()).collect();
        notes.push(format!(
            "{name}: {}@{} waits for approval: it also requests {} \
             (`vantage checks approve {name}` approves it)",
            view.spec.plugin,
            p.version,
            new.join(", ")
        ));
    }
    notes
}

fn list(server: ServerArgs) -> Result<()> {
    let server = server.connect()?;
    let views: Vec<CheckView> = server.get(server.url(CHECKS, &[]))?;
    let mut rows = vec![
        ["NAME", "PLUGIN", "PROBES", "PENDING"]
            .map(String::from)
            .to_vec(),
    ];
    for v in views {
        let s = &v.spec;
        let plugin = match &v.resolved {
            Some(pin) => format!("{}@{}", pin.name, pin.version),
            None => format!("{}@{} (unresolved)", s.plugin, s.version),
        };
        let probes = match &s.mesh {
            Some(mesh) => format!("mesh {}", mesh.group),
            None => s.targets.join(", "),
        };
        let pending = match &v.pending_upgrade {
            Some(p) => format!("{} (needs approval)", p.version),
            None => "-".into(),
        };
        rows.push(vec![s.name.clone(), plugin, probes, pending]);
    }
    table::print(&rows);
    Ok(())
}

fn approve(name: &str, server: ServerArgs) -> Result<()> {
    let server = server.connect()?;
    let view: CheckView = server.get(server.url(CHECKS, &[name]))?;
    if view.pending_upgrade.is_none() {
        println!("{name}: no version waits for approval");
        return Ok(());
    }
    let view = put(&server, &view.spec)?;
    let runs = match &view.resolved {
        Some(pin) => format!("{}@{}", pin.name, pin.version),
        None => "nothing".into(),
    };
    println!("approved {name} (revision {}): runs {runs}", view.revision);
    for note in notes(&view) {
        println!("note: {note}");
    }
    Ok(())
}

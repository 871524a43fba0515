//! `vantage alerts …`: the server's alert rules, channels and routes
//! (docs/alerting.md), and the alerts they raise.

mod apply;
mod file;

use anyhow::Result;
use clap::Subcommand;
use serde::Deserialize;
use vantage_protocol::config::{AlertView, ChannelView, Routing, RuleView, SlaView, WindowView};

use crate::server::ServerArgs;
use crate::table;

const RULES: &str = "/api/v1/alerts/rules";
const CHANNELS: &str = "/api/v1/alerts/channels";
const ROUTES: &str = "/api/v1/alerts/routes";
const WINDOWS: &str = "/api/v1/alerts/windows";
const ALERTS: &str = "/api/v1/alerts";
const SLAS: &str = "/api/v1/slas";

/// `GET /api/v1/alerts/routes` (its revision is not needed here).
#[derive(Deserialize)]
struct Routes {
    routing: Routing,
}

#[derive(Subcommand)]
pub(crate) enum AlertsCommand {
    /// Make the server's alert rules, channels, routes, maintenance windows and SLAs those of an alerts file: prints the diff, then applies it (admin for channels and routes).
    Apply(apply::ApplyArgs),
    /// Print the server's rules, channels (without their secrets), routes, windows and SLAs as an alerts file that `apply` accepts.
    Export {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the alerts that are not ok.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
}

impl AlertsCommand {
    pub(crate) fn run(self) -> Result<()> {
        match self {
            AlertsCommand::Apply(args) => apply::run(args),
            AlertsCommand::Export { server } => {
                let server = server.connect()?;
                let rules: Vec<RuleView> = server.get(server.url(RULES, &[]))?;
                let channels: Vec<ChannelView> = server.get(server.url(CHANNELS, &[]))?;
                let routes: Routes = server.get(server.url(ROUTES, &[]))?;
                let windows: Vec<WindowView> = server.get(server.url(WINDOWS, &[]))?;
                let slas: Vec<SlaView> = server.get(server.url(SLAS, &[]))?;
                let file = file::AlertsFile {
                    rule: rules.into_iter().map(|v| v.spec).collect(),
                    channel: channels.into_iter().map(|v| v.spec).collect(),
                    route: Some(routes.routing.routes),
                    window: windows.into_iter().map(|v| v.spec).collect(),
                    sla: slas.into_iter().map(|v| v.spec).collect(),
                };
                print!("{}", file::to_toml(&file)?);
                Ok(())
            }
            AlertsCommand::List { server } => {
                let server = server.connect()?;
                let alerts: Vec<AlertView> = server.get(server.url(ALERTS, &[]))?;
                table::print(&rows(&alerts));
                Ok(())
            }
        }
    }
}

/// RULE, STATE, SINCE, WHAT (check → target, or the agent), AGENTS, VALUE.
fn rows(alerts: &[AlertView]) -> Vec<Vec<String>> {
    let mut rows = vec![
        ["RULE", "STATE", "SINCE", "WHAT", "AGENTS", "VALUE"]
            .map(String::from)
            .to_vec(),
    ];
    for a in alerts {
        let s = &a.subject;
        let what = if s.check.is_empty() {
            "(agent)".to_owned()
        } else {
            format!("{} → {}", s.check, s.target)
        };
        let agents = match &s.agent {
            Some(agent) => agent.clone(),
            None => a.agents.join(", "),
        };
        let mut state = a.state.as_str().to_owned();
        if a.flapping {
            state.push_str(" (flapping)");
        }
        rows.push(vec![
            s.rule.clone(),
            state,
            a.since.format("%Y-%m-%d %H:%M:%SZ").to_string(),
            what,
            agents,
            a.value.map_or("-".into(), |v| v.to_string()),
        ]);
    }
    rows
}

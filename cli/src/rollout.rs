//! `vantage rollout start | list | status | pause | resume | abort`: an
//! agent version brought to a fleet in waves (docs/updates.md).

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use reqwest::Method;
use uuid::Uuid;
use vantage_protocol::config::{RolloutSpec, RolloutView, Wave};

use crate::server::{self, ServerArgs};
use crate::table;

const ROLLOUTS: &str = "/api/v1/rollouts";

#[derive(Subcommand)]
pub(crate) enum RolloutCommand {
    /// Start rolling a published version out.
    Start {
        /// The agent version (`vantage release list`).
        version: semver::Version,
        /// Only the agents of this group.
        #[arg(long)]
        group: Option<String>,
        /// The waves, each reaching at least as far as the one before.
        #[arg(long, value_delimiter = ',', default_value = "canary=1,10%,50%,100%")]
        waves: Vec<String>,
        /// How long each wave stays healthy before the next starts.
        #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
        wait: std::time::Duration,
        /// The share of agents asked that may fail before it halts (`2%`).
        #[arg(long, default_value = "0%")]
        max_failures: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List rollouts, newest first.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One rollout, agent by agent.
    Status {
        id: Uuid,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Hold a running rollout: no new wave starts.
    Pause {
        id: Uuid,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Let a paused rollout go on.
    Resume {
        id: Uuid,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Stop a rollout: no agent is offered its version any more.
    Abort {
        id: Uuid,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn percent(text: &str) -> Result<f64> {
    let number = text.trim().trim_end_matches('%');
    let value: f64 = number
        .parse()
        .with_context(|| format!("--max-failures `{text}` is not a share such as `2%`"))?;
    if !(0.0..=100.0).contains(&value) {
        bail!("--max-failures `{text}` is not between 0% and 100%");
    }
    Ok(value)
}

impl RolloutCommand {
    pub(crate) fn run(self) -> Result<()> {
        match self {
            RolloutCommand::Start {
                version,
                group,
                waves,
                wait,
                max_failures,
                server,
            } => {
                let waves = waves
                    .into_iter()
                    .map(|w| Wave::try_from(w).map_err(anyhow::Error::msg))
                    .collect::<Result<Vec<_>>>()?;
                let spec = RolloutSpec {
                    version,
                    group,
                    waves,
                    wait,
                    max_failures_percent: percent(&max_failures)?,
                };
                let server = server.connect()?;
                let url = server.url(ROLLOUTS, &[]);
                let response =
                    server.send(server.request(Method::POST, url.clone()).json(&spec))?;
                let view: RolloutView = server::decode(response, &url)?;
                println!(
                    "started rollout {} of {}: wave 1 of {} asks {} agents",
                    view.id,
                    view.spec.version,
                    view.spec.waves.len(),
                    view.agents.len()
                );
                Ok(())
            }
            RolloutCommand::List { server } => {
                let server = server.connect()?;
                let views: Vec<RolloutView> = server.get(server.url(ROLLOUTS, &[]))?;
                let mut rows = vec![
                    [
                        "ID", "VERSION", "STATE", "WAVE", "AGENTS", "FAILED", "STARTED",
                    ]
                    .map(String::from)
                    .to_vec(),
                ];
                for v in views {
                    let failed = v
                        .agents
                        .iter()
                        .filter(|a| a.step.is_some_and(|s| s.failed()))
                        .count();
                    rows.push(vec![
                        v.id.to_string(),
                        v.spec.version.to_string(),
                        v.state.as_str().to_owned(),
                        format!("{}/{}", v.wave + 1, v.spec.waves.len()),
                        v.agents.len().to_string(),
                        failed.to_string(),
                        v.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    ]);
                }
                table::print(&rows);
                Ok(())
            }
            RolloutCommand::Status { id, server } => {
                let server = server.connect()?;
                let v: RolloutView = server.get(server.url(ROLLOUTS, &[&id.to_string()]))?;
                show(&v);
                Ok(())
            }
            RolloutCommand::Pause { id, server } => steer(id, "pause", server),
            RolloutCommand::Resume { id, server } => steer(id, "resume", server),
            RolloutCommand::Abort { id, server } => steer(id, "abort", server),
        }
    }
}

fn steer(id: Uuid, action: &str, server: ServerArgs) -> Result<()> {
    let server = server.connect()?;
    let url = server.url(ROLLOUTS, &[&id.to_string(), action]);
    let response = server.send(server.request(Method::POST, url.clone()))?;
    let v: RolloutView = server::decode(response, &url)?;
    println!(
        "rollout {} of {} is {}",
        v.id,
        v.spec.version,
        v.state.as_str()
    );
    Ok(())
}

fn show(v: &RolloutView) {
    let waves: Vec<String> = v.spec.waves.iter().map(ToString::to_string).collect();
    println!(
        "rollout {} of {}: {} at wave {} of {} ({})",
        v.id,
        v.spec.version,
        v.state.as_str(),
        v.wave + 1,
        waves.len(),
        waves.join(", ")
    );
    if let Some(reason) = &v.reason {
        println!("reason: {reason}");
    }
    let mut rows = vec![
        ["AGENT", "WAVE", "RUNNING", "STEP", "REASON"]
            .map(String::from)
            .to_vec(),
    ];
    for a in &v.agents {
        rows.push(vec![
            a.name.clone(),
            (a.wave + 1).to_string(),
            a.running.clone(),
            a.step.map_or("asked".to_owned(), |s| {
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            }),
            a.reason.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    table::print(&rows);
}

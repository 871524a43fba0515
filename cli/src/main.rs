//! `vantage`: the command line for Vantage plugin authors and admins.

mod alerts;
mod checks;
mod diff;
mod files;
mod keys;
mod plugin;
mod release;
mod report;
mod rollout;
mod server;
mod statement;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The command line for Vantage plugin authors and admins.
#[derive(Parser)]
#[command(name = "vantage", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage publisher signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Scaffold, pack, sign, verify and inspect plugins; publish them to a server.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Define the checks a server hands its agents.
    #[command(subcommand)]
    Checks(checks::ChecksCommand),
    /// Define a server's alert rules, channels and routes; list its alerts.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Publish, list and yank agent releases on a server.
    #[command(subcommand)]
    Release(release::ReleaseCommand),
    /// Roll an agent version out in waves; follow, pause, resume or abort it.
    #[command(subcommand)]
    Rollout(rollout::RolloutCommand),
    /// Fetch an SLA's report as JSON, CSV, HTML or PDF.
    Report(report::ReportCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keys(command) => command.run(),
        Command::Plugin(command) => command.run(),
        Command::Checks(command) => command.run(),
        Command::Alerts(command) => command.run(),
        Command::Release(command) => command.run(),
        Command::Rollout(command) => command.run(),
        Command::Report(command) => command.run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", report(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, `: `-separated. A cause that its
/// parent's message already ends with (`#[error("…: {0}")]` with `#[from]`)
/// is shown once.
pub(crate) fn report(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if line.ends_with(&cause) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    line.trim_end().to_owned()
}

//! The launcher: `vantage-agent run` as installed starts here. With no
//! version installed beside it, it runs in this process. Otherwise it
//! starts the version `current` names as its child and stays as a thin
//! supervisor: it passes on a request to stop, starts again what
//! `current` names when the child asks to (status [`EXIT_RESTART`]), and
//! during a trial rolls back when the new version exits, or has delivered
//! no result when its health window ends. A trial that was started once
//! already and is still not healthy (the launcher was killed, the host
//! rebooted) is rolled back too: a version that starts is always there,
//! the installed binary itself if nothing else.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use tokio::process::{Child, Command};
use vantage_protocol::config::UpdateStep;

use super::{EXIT_RESTART, Layout, SUPERVISED_ENV, UpdateState};
use crate::config::AgentConfig;
use crate::platform::{StopRequests, ask_to_stop, tie_to_launcher};

/// How often a trial's state is read.
const POLL: Duration = Duration::from_millis(200);
/// How long a child has to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What the caller does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// Run the agent in this process.
    Here,
    /// Exit with this status: the supervised child ended so.
    Exit(i32),
    /// Run the installed binary afresh (`exec`): the launcher's signal
    /// handlers must not outlive it in the process that runs the agent.
    Again,
}

/// Decides where `vantage-agent run --config CONFIG` runs; supervises a
/// child until it ends when that is not here.
pub fn launch(config_path: &Path) -> Launch {
    if std::env::var_os(SUPERVISED_ENV).is_some() {
        if !tie_to_launcher() {
            return Launch::Exit(1);
        }
        return Launch::Here;
    }
    // A configuration that does not load is reported by the agent itself.
    let Ok(config) = AgentConfig::load(config_path) else {
        return Launch::Here;
    };
    let layout = Layout::new(&config.resolve(&config.agent.data_dir));
    let window = config.update.health_window;
    // Nothing installed beside this binary: no runtime, and no signal
    // handler that would outlive it and swallow a SIGTERM meant for the agent.
    let first = plan(&layout, window);
    if matches!(first, Plan::Here) {
        return Launch::Here;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "The launcher cannot start; running the installed version.");
            return Launch::Here;
        }
    };
    runtime.block_on(supervise(&layout, window, first))
}

enum Plan {
    Here,
    Run(PathBuf),
    Trial(PathBuf, chrono::DateTime<Utc>),
}

fn plan(layout: &Layout, window: Duration) -> Plan {
    let mut state = UpdateState::load(layout);
    if let Some(trial) = state.trial.clone().filter(|t| !t.healthy) {
        let binary = layout.binary(&trial.version);
        let reason = if trial.started_at.is_some() {
            Some("it stopped before it delivered a result (a crash, or the launcher restarted within its health window)".to_owned())
        } else if !binary.is_file() {
            Some("its installed files are missing".to_owned())
        } else {
            None
        };
        if let Some(reason) = reason {
            rollback(layout, &mut state, &reason);
            return plan(layout, window);
        }
        let deadline = Utc::now() + chrono::Duration::from_std(window).unwrap_or_default();
        if let Some(t) = state.trial.as_mut() {
            t.started_at = Some(Utc::now());
            t.deadline = Some(deadline);
        }
        let saved = state
            .save(layout)
            .and_then(|()| layout.switch(Some(&trial.version)));
        if let Err(e) = saved {
            rollback(layout, &mut state, &format!("starting its trial: {e:#}"));
            return plan(layout, window);
        }
        tracing::info!(version = trial.version, window = ?window, "Starting a new version on trial.");
        return Plan::Trial(binary, deadline);
    }
    match layout.current() {
        Some(v) if v != crate::VERSION => Plan::Run(layout.binary(&v)),
        _ => Plan::Here,
    }
}

/// Puts back what ran before the trial and notes why, for the server.
fn rollback(layout: &Layout, state: &mut UpdateState, reason: &str) {
    let Some(trial) = state.trial.take() else {
        return;
    };
    let previous = trial.previous.filter(|p| layout.binary(p).is_file());
    if let Err(e) = layout.switch(previous.as_deref()) {
        tracing::error!(error = %format!("{e:#}"), "Switching back failed; the installed version runs.");
        let _ = layout.switch(None);
    }
    let running = previous.as_deref().unwrap_or(crate::VERSION).to_owned();
    state
        .failed
        .insert(trial.version.clone(), reason.to_owned());
    state.owe(
        UpdateStep::RolledBack,
        &running,
        &trial.version,
        Some(reason.to_owned()),
    );
    if let Err(e) = state.save(layout) {
        tracing::error!(error = %format!("{e:#}"), "Saving the update state failed.");
    }
    tracing::error!(
        version = trial.version,
        back_to = running,
        reason,
        "The new version was rolled back."
    );
}

async fn supervise(layout: &Layout, window: Duration, first: Plan) -> Launch {
    let mut stops = match StopRequests::listen() {
        Ok(stops) => stops,
        Err(e) => {
            tracing::error!(error = %e, "The launcher cannot listen for stop requests; running the installed version.");
            return Launch::Here;
        }
    };
    let mut next = Some(first);
    loop {
        let planned = next.take().unwrap_or_else(|| plan(layout, window));
        let (binary, mut deadline) = match planned {
            Plan::Here => return Launch::Again,
            Plan::Run(binary) => (binary, None),
            Plan::Trial(binary, deadline) => (binary, Some(deadline)),
        };
        let mut child = match Command::new(&binary)
            .args(std::env::args_os().skip(1))
            .env(SUPERVISED_ENV, "1")
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                let mut state = UpdateState::load(layout);
                if state.in_trial() {
                    rollback(layout, &mut state, &format!("it cannot start: {e}"));
                    continue;
                }
                tracing::error!(error = %e, binary = %binary.display(), "The current version cannot start; running the installed one.");
                let _ = layout.switch(None);
                return Launch::Again;
            }
        };
        let status = loop {
            tokio::select! {
                status = child.wait() => break status.ok().and_then(|s| s.code()).unwrap_or(1),
                _ = stops.recv() => return Launch::Exit(stop(&mut child).await),
                _ = tokio::time::sleep(POLL), if deadline.is_some() => {
                    let state = UpdateState::load(layout);
                    if !state.in_trial() {
                        deadline = None;
                    } else if deadline.is_some_and(|d| Utc::now() >= d) {
                        stop(&mut child).await;
                        let mut state = UpdateState::load(layout);
                        if state.in_trial() {
                            rollback(layout, &mut state, &format!(
                                "it delivered no result within its health window of {}s",
                                window.as_secs()
                            ));
                        }
                        break EXIT_RESTART;
                    }
                }
            }
        };
        if status == EXIT_RESTART {
            continue;
        }
        let mut state = UpdateState::load(layout);
        if state.in_trial() {
            rollback(
                layout,
                &mut state,
                &format!("it exited with status {status} before it delivered a result"),
            );
            continue;
        }
        return Launch::Exit(status);
    }
}

/// Asks the child to stop (SIGTERM), ends it after the grace or where it
/// cannot be asked; the child's exit status.
async fn stop(child: &mut Child) -> i32 {
    let grace = if ask_to_stop(child) {
        STOP_GRACE
    } else {
        Duration::ZERO
    };
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(status) => status.ok().and_then(|s| s.code()).unwrap_or(0),
        Err(_) => {
            let _ = child.kill().await;
            137
        }
    }
}

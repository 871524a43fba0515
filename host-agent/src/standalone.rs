//! Standalone mode: a local TOML configuration, results as JSON lines.

use std::path::Path;
use std::sync::Arc;

use tokio::io::AsyncWriteExt as _;
use tokio::sync::{mpsc, watch};
use vantage_protocol::result::CheckResult;

use crate::catalog::{Catalog, build_jobs, load_trust};
use crate::config::{AgentConfig, ConfigError};
use crate::host::{HostOptions, PluginHost};
use crate::icmp::IcmpOptions;
use crate::scheduler::{Job, Scheduler};

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is wrong: the operator must fix it.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Anything else (the engine, the data folder…).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// A configured agent, ready to run.
#[derive(Debug)]
pub struct Agent {
    pub scheduler: Scheduler,
    pub jobs: Vec<Job>,
}

impl Agent {
    /// Loads the configuration, verifies and compiles the plugins, builds
    /// every job. Nothing runs until [`Agent::run_once`] or [`Agent::run`].
    pub fn prepare(config_path: &Path) -> Result<Agent, StartError> {
        let config = AgentConfig::load(config_path)?;
        let trust = load_trust(&config)?;
        let dirs: Vec<_> = config
            .plugins
            .dirs
            .iter()
            .map(|d| config.resolve(d))
            .collect();
        let catalog = Catalog::load(&dirs, &trust);
        let options = HostOptions {
            cache_dir: Some(config.resolve(&config.agent.data_dir).join("compiled")),
            max_instances: config.agent.max_concurrent_runs,
            max_memory_bytes: (config
                .checks
                .iter()
                .filter_map(|c| c.memory_mib)
                .chain([config.limits.memory_mib])
                .max()
                .unwrap_or(64) as usize)
                << 20,
            extra_ca_files: config
                .tls
                .ca_files
                .iter()
                .map(|f| config.resolve(f))
                .collect(),
            icmp: IcmpOptions {
                mode: config.icmp.mode,
                max_pps: config.icmp.max_pps,
            },
        };
        let host = Arc::new(PluginHost::new(&options)?);
        let jobs = build_jobs(&config, &catalog, &host)?;
        let scheduler = Scheduler::new(
            host,
            &config.agent_name(),
            config.agent.max_concurrent_runs as usize,
        );
        tracing::info!(
            jobs = jobs.len(),
            agent = config.agent_name(),
            "Agent configured."
        );
        Ok(Agent { scheduler, jobs })
    }

    /// Runs every job once and writes the results.
    pub async fn run_once(self) -> anyhow::Result<Vec<CheckResult>> {
        self.scheduler.start_services(&self.jobs);
        Ok(self.scheduler.run_once(&self.jobs).await)
    }

    /// Runs until `stop` turns true, writing each result as a JSON line.
    pub async fn run(self, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
        self.scheduler.start_services(&self.jobs);
        let (tx, mut rx) = mpsc::channel::<CheckResult>(1024);
        let writer = tokio::spawn(async move {
            let mut out = tokio::io::stdout();
            while let Some(result) = rx.recv().await {
                write_line(&mut out, &result).await?;
            }
            anyhow::Ok(())
        });
        self.scheduler.run_forever(self.jobs, tx, stop).await;
        writer.await??;
        Ok(())
    }
}

/// Writes one result as a JSON line and flushes it.
pub async fn write_line(
    out: &mut (impl tokio::io::AsyncWrite + Unpin),
    result: &CheckResult,
) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(result)?;
    line.push(b'\n');
    out.write_all(&line).await?;
    out.flush().await?;
    Ok(())
}

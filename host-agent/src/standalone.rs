//! Running the agent from its local TOML configuration: results as JSON
//! lines on stdout, and, once enrolled, through the durable outbox to the
//! server.

use std::path::Path;
use std::sync::Arc;

use tokio::io::AsyncWriteExt as _;
use tokio::sync::{mpsc, watch};
use vantage_protocol::package::TrustStore;
use vantage_protocol::result::CheckResult;

use crate::catalog::{Catalog, build_jobs, load_trust};
use crate::config::{
    AgentConfig, ConfigError, LimitsSection, OutboxSection, ServerSection, UpdateSection,
};
use crate::enroll::Credential;
use crate::host::{HostOptions, JournalOptions, PluginHost};
use crate::icmp::IcmpOptions;
use crate::managed::Remote;
use crate::outbox::Outbox;
use crate::scheduler::{Job, Scheduler};
use crate::uplink::Link;
use crate::uplink::client::ServerClient;

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
    /// Set when the agent is enrolled: results go to this server too.
    pub managed: Option<Managed>,
}

/// What managed mode needs: the credential, where the outbox lives, and
/// what remote configuration needs.
#[derive(Debug)]
pub struct Managed {
    pub credential: Credential,
    pub outbox_dir: std::path::PathBuf,
    pub outbox: OutboxSection,
    pub server: ServerSection,
    pub data_dir: std::path::PathBuf,
    pub trust: TrustStore,
    pub limits: LimitsSection,
    pub host: Arc<PluginHost>,
    /// What the heartbeats report as this agent's addresses.
    pub addresses: Vec<String>,
    /// The configuration file (a new build's self-test loads it).
    pub config_path: std::path::PathBuf,
    pub update: UpdateSection,
}

/// How [`Agent::run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Asked to stop.
    Stopped,
    /// A new version is installed: start it.
    Restart,
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
            state_dir: Some(config.resolve(&config.agent.data_dir).join("state")),
            log_positions_dir: Some(config.resolve(&config.agent.data_dir).join("log-positions")),
            journal: JournalOptions {
                command: config.logs.journalctl.as_ref().map(|p| config.resolve(p)),
                directory: config
                    .logs
                    .journal_directory
                    .as_ref()
                    .map(|p| config.resolve(p)),
            },
        };
        let host = Arc::new(PluginHost::new(&options)?);
        let jobs = build_jobs(&config, &catalog, &host)?;
        let data_dir = config.resolve(&config.agent.data_dir);
        let managed = Credential::load(&data_dir)?.map(|credential| Managed {
            credential,
            outbox_dir: data_dir.join("outbox"),
            outbox: config.outbox.clone(),
            server: config.server.clone(),
            data_dir: data_dir.clone(),
            trust,
            limits: config.limits.clone(),
            host: host.clone(),
            addresses: if config.agent.advertise.is_empty() {
                crate::enroll::addresses()
            } else {
                config
                    .agent
                    .advertise
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            },
            config_path: config_path.to_owned(),
            update: config.update.clone(),
        });
        // An enrolled agent is known to the server by its enrolled name.
        let name = match &managed {
            Some(m) => m.credential.name.clone(),
            None => config.agent_name(),
        };
        let scheduler = Scheduler::new(host, &name, config.agent.max_concurrent_runs as usize);
        tracing::info!(
            jobs = jobs.len(),
            agent = name,
            server = managed.as_ref().map(|m| m.credential.server.as_str()),
            "Agent configured."
        );
        Ok(Agent {
            scheduler,
            jobs,
            managed,
        })
    }

    /// Runs every job once and writes the results.
    pub async fn run_once(self) -> anyhow::Result<Vec<CheckResult>> {
        self.scheduler.start_services(&self.jobs);
        Ok(self.scheduler.run_once(&self.jobs).await)
    }

    /// Runs until `stop` turns true, writing each result as a JSON line and,
    /// when enrolled, first appending it to the outbox that the uplink ships.
    pub async fn run(self, outer_stop: watch::Receiver<bool>) -> anyhow::Result<Exit> {
        // Stopping is asked from outside, or by an installed update.
        let (stop_tx, stop) = watch::channel(false);
        let (restart_tx, mut restart) = watch::channel(false);
        let mut outer = outer_stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = outer.wait_for(|s| *s) => {}
                _ = restart.wait_for(|r| *r) => {}
            }
            let _ = stop_tx.send(true);
        });
        let restarting = restart_tx.subscribe();
        let (tx, mut rx) = mpsc::channel::<CheckResult>(1024);
        let (jobs_tx, jobs) = watch::channel(Arc::new(self.jobs.clone()));
        let remote = self.managed.as_ref().map(|m| {
            Remote::new(
                m.host.clone(),
                m.credential.clone(),
                m.trust.clone(),
                m.limits.clone(),
                m.server.clone(),
                m.data_dir.clone(),
                self.jobs.clone(),
                jobs_tx,
                crate::managed::Updates {
                    config_path: m.config_path.clone(),
                    settings: m.update.clone(),
                    restart: restart_tx.clone(),
                    again: true,
                },
            )
        });
        // Remote configuration (starting from the last-known-good state) runs
        // beside the scheduler, handing it each new job set.
        let remote_task = remote.map(|r| tokio::spawn(r.run(stop.clone())));
        let link = match &self.managed {
            Some(m) => Some(start_link(m, stop.clone())?),
            None => None,
        };
        if let (Some(link), Some(m)) = (&link, &self.managed) {
            // The first result the server takes ends a new version's trial.
            let delivered = link.delivered.clone();
            let layout = crate::update::Layout::new(&m.data_dir);
            tokio::spawn(async move {
                delivered.notified().await;
                match crate::update::mark_healthy(&layout) {
                    Ok(true) => tracing::info!(
                        version = crate::VERSION,
                        "This version delivered a result: its update is complete."
                    ),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "Recording this version healthy failed.")
                    }
                }
            });
        }
        let writer_link = link.clone();
        let writer = tokio::spawn(async move {
            let mut out = tokio::io::stdout();
            while let Some(result) = rx.recv().await {
                if let Some(link) = &writer_link {
                    // Produced = durable in the outbox: before anyone else sees it.
                    let appended = link
                        .outbox
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .append(&result);
                    if let Err(e) = appended {
                        tracing::error!(error = %e, id = %result.id, "A result could not be written to the outbox.");
                    }
                    link.appended.notify_one();
                }
                write_line(&mut out, &result).await?;
            }
            anyhow::Ok(())
        });
        let mut stopped = stop.clone();
        self.scheduler.run_swappable(jobs, tx, stop).await;
        writer.await??;
        if let Some(task) = remote_task {
            let _ = task.await;
        }
        if let Some(link) = link {
            // With no checks left to run, an enrolled agent still ships its
            // backlog and sends heartbeats until it is stopped.
            let _ = stopped.wait_for(|s| *s).await;
            let mut outbox = link.outbox.lock().unwrap_or_else(|p| p.into_inner());
            outbox.sync()?;
        }
        if *restarting.borrow() {
            return Ok(Exit::Restart);
        }
        Ok(Exit::Stopped)
    }
}

/// Opens the outbox and starts the uplink, the heartbeats and the outbox's
/// periodic sync.
fn start_link(m: &Managed, stop: watch::Receiver<bool>) -> anyhow::Result<Link> {
    let outbox = Outbox::open(&m.outbox_dir, &m.outbox)
        .map_err(|e| anyhow::anyhow!("opening the outbox in {}: {e}", m.outbox_dir.display()))?;
    let stats = outbox.stats();
    tracing::info!(
        backlog = stats.backlog_results,
        dropped = stats.dropped_results,
        server = m.credential.server,
        "Results go to the server through the outbox."
    );
    let link = Link {
        outbox: Arc::new(std::sync::Mutex::new(outbox)),
        appended: Arc::new(tokio::sync::Notify::new()),
        delivered: Arc::new(tokio::sync::Notify::new()),
        config: m.server.clone(),
        batch_results: m.outbox.batch_results,
    };
    let client = |c: &Credential| {
        ServerClient::new(&c.server, c.ca_file.as_deref(), Some(c.credential.clone()))
    };
    let shipper = client(&m.credential)?;
    if shipper.is_plaintext_remote() {
        tracing::warn!(
            server = m.credential.server,
            "The server is remote and plain HTTP: results and the credential cross the network unencrypted."
        );
    }
    if crate::update::Fault::injected() == Some(crate::update::Fault::Silent) {
        tracing::warn!("Test build: this agent sends no result (fault `silent`).");
    } else {
        tokio::spawn(link.clone().ship(shipper, stop.clone()));
    }
    tokio::spawn(link.clone().heartbeats(
        client(&m.credential)?,
        chrono::Utc::now(),
        m.addresses.clone(),
        stop.clone(),
    ));
    let syncing = link.outbox.clone();
    let mut sync_stop = stop;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = sync_stop.changed() => return,
            }
            let outbox = syncing.clone();
            let synced = tokio::task::spawn_blocking(move || {
                outbox.lock().unwrap_or_else(|p| p.into_inner()).sync()
            })
            .await;
            if let Ok(Err(e)) = synced {
                tracing::warn!(error = %e, "Syncing the outbox to disk failed.");
            }
        }
    });
    Ok(link)
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

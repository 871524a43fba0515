//! `vantage-agent`: the Vantage agent's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;
use vantage_agent::standalone::{Agent, Exit, StartError, write_line};

#[derive(Parser)]
#[command(
    name = "vantage-agent",
    version = vantage_agent::VERSION,
    about = "Runs signed WebAssembly probe plugins and reports their results"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the checks of a local configuration, printing each result as a JSON line.
    Run {
        /// The agent's TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
        /// Runs every check once, prints the results and exits.
        #[arg(long)]
        once: bool,
        #[command(flatten)]
        first: FirstStart,
    },
    /// Checks a configuration (plugins verified and compiled, check configs
    /// validated) without running anything.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// What an update runs a new build with before switching to it: loads
    /// the configuration, reads the credential and trust keys, compiles
    /// one plugin and reads the outbox, changing nothing.
    SelfTest {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Enrolls this agent with a server: exchanges a one-time enrollment
    /// token for the agent's credential, kept in its data folder. From then
    /// on `run` ships results to that server.
    Enroll {
        /// The agent's TOML configuration (for its data folder).
        #[arg(long, short)]
        config: PathBuf,
        #[command(flatten)]
        with: EnrollArgs,
    },
    /// Installs this agent as a systemd service: the binary in
    /// /usr/local/bin, a managed configuration in /etc/vantage/agent.toml,
    /// the credential in /var/lib/vantage-agent and a hardened unit, enabled
    /// and started when systemd runs this host. Running it again changes
    /// only what differs.
    Install {
        #[command(flatten)]
        with: EnrollArgs,
        /// Installs under this folder instead of / (for images, packages and
        /// tests): systemd is left alone.
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// Writes everything but neither enables nor starts the service.
        #[arg(long)]
        no_start: bool,
    },
    /// Stops and removes the service and the binary. The configuration, the
    /// credential and the outbox (results not sent yet) stay.
    Uninstall {
        /// The folder `install` was given.
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// Also removes the configuration, the credential and the outbox.
        #[arg(long)]
        purge: bool,
    },
}

/// Enrollment on first start, for containers: when both are given and the
/// data folder holds no credential yet, `run` enrolls first.
#[derive(clap::Args)]
struct FirstStart {
    /// The server to enroll with on first start.
    #[arg(long = "enroll-server", env = "VANTAGE_SERVER")]
    server: Option<String>,
    /// The enrollment token for the first start.
    #[arg(
        long = "enroll-token",
        env = "VANTAGE_ENROLL_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// The agent's name on the server [default: the host name].
    #[arg(long = "enroll-name", env = "VANTAGE_AGENT_NAME")]
    name: Option<String>,
    /// Allows plain http:// to a server on another host (a private
    /// container network).
    #[arg(long = "enroll-insecure-http", env = "VANTAGE_INSECURE_HTTP")]
    insecure_http: bool,
}

impl FirstStart {
    /// Enrolls into the data folder of `config` unless it holds a credential.
    async fn enroll_if_new(self, config: &std::path::Path) -> Result<(), StartError> {
        let (Some(server), Some(token)) = (self.server, self.token) else {
            return Ok(());
        };
        let config = vantage_agent::config::AgentConfig::load(config)?;
        let data_dir = config.resolve(&config.agent.data_dir);
        if let Some(c) = vantage_agent::enroll::Credential::load(&data_dir)? {
            tracing::debug!(server = c.server, "Enrolled already.");
            return Ok(());
        }
        let request = vantage_agent::enroll::Enrollment {
            server,
            token,
            name: self.name,
            insecure_http: self.insecure_http,
            ..Default::default()
        };
        let c = vantage_agent::enroll::enroll(&data_dir, request).await?;
        tracing::info!(name = c.name, server = c.server, "Enrolled on first start.");
        Ok(())
    }
}

/// How to reach and join a server.
#[derive(clap::Args)]
struct EnrollArgs {
    /// The server's URL, e.g. https://vantage.example.com
    #[arg(long)]
    server: String,
    /// The enrollment token (`ve_…`) an admin created.
    #[arg(long, env = "VANTAGE_ENROLL_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The agent's name on the server [default: the host name].
    #[arg(long)]
    name: Option<String>,
    /// A PEM file of a CA to trust for the server's certificate.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The id of a registry root key this agent must pin (repeatable):
    /// exactly the roots named are pinned, and enrollment fails unless
    /// the server offers each. Without it every root offered is pinned
    /// and their ids printed. Compare the ids out of band, like an SSH
    /// host key fingerprint.
    #[arg(long = "trust-root", value_name = "KEY_ID")]
    trust_roots: Vec<String>,
    /// Allows enrolling over plain http:// with a server that is not on
    /// this host (the credential crosses the network unencrypted).
    #[arg(long)]
    insecure_http: bool,
}

impl EnrollArgs {
    fn request(self) -> vantage_agent::enroll::Enrollment {
        vantage_agent::enroll::Enrollment {
            server: self.server,
            token: self.token.unwrap_or_default(),
            name: self.name,
            ca_file: self.ca,
            trust_roots: self.trust_roots,
            insecure_http: self.insecure_http,
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    if let Command::Enroll { with, .. } = &cli.command
        && with.token.is_none()
    {
        use clap::CommandFactory as _;
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "enroll needs --token (or VANTAGE_ENROLL_TOKEN)",
            )
            .exit();
    }
    if let Command::Run {
        config,
        once: false,
        ..
    } = &cli.command
    {
        // The installed binary starts the version an update installed, and
        // watches a new one through its trial.
        match vantage_agent::update::launch(config) {
            vantage_agent::update::Launch::Here => {}
            vantage_agent::update::Launch::Exit(code) => {
                return ExitCode::from(u8::try_from(code).unwrap_or(1));
            }
            vantage_agent::update::Launch::Again => return restart(),
        }
        if vantage_agent::update::Fault::injected() == Some(vantage_agent::update::Fault::Crash) {
            eprintln!("error: test build: crashing at start (fault `crash`)");
            return ExitCode::from(3);
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(Exit::Stopped) => ExitCode::SUCCESS,
        Ok(Exit::Restart) => {
            drop(runtime);
            restart()
        }
        Err(StartError::Config(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(StartError::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Starts what `current` names: a supervised agent asks its launcher to,
/// the installed binary becomes the launcher by running itself again.
fn restart() -> ExitCode {
    if std::env::var_os(vantage_agent::update::SUPERVISED_ENV).is_some() {
        return ExitCode::from(vantage_agent::update::EXIT_RESTART as u8);
    }
    match vantage_agent::platform::run_again() {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("error: cannot start the new version: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<Exit, StartError> {
    match command {
        Command::Check { config } => {
            let agent = Agent::prepare(&config)?;
            println!("{}: {} jobs ready", config.display(), agent.jobs.len());
            Ok(Exit::Stopped)
        }
        Command::SelfTest { config } => {
            for line in vantage_agent::selftest::self_test(&config)? {
                println!("{line}");
            }
            Ok(Exit::Stopped)
        }
        Command::Enroll { config, with } => {
            let config = vantage_agent::config::AgentConfig::load(&config)?;
            let data_dir = config.resolve(&config.agent.data_dir);
            let request = with.request();
            let enrolled = vantage_agent::enroll::enroll(&data_dir, request).await?;
            println!(
                "enrolled as {} ({}) with {}; credential in {}; pinned root keys: {}",
                enrolled.name,
                enrolled.agent_id,
                enrolled.server,
                data_dir
                    .join(vantage_agent::enroll::CREDENTIAL_FILE)
                    .display(),
                enrolled.pinned_ids()
            );
            Ok(Exit::Stopped)
        }
        Command::Install {
            with,
            root,
            no_start,
        } => {
            let request = vantage_agent::install::Install {
                root,
                enrollment: with.request(),
                no_start,
            };
            for step in vantage_agent::install::install(request).await? {
                println!("{step}");
            }
            Ok(Exit::Stopped)
        }
        Command::Uninstall { root, purge } => {
            for step in vantage_agent::install::uninstall(&root, purge)? {
                println!("{step}");
            }
            Ok(Exit::Stopped)
        }
        Command::Run {
            config,
            once: true,
            first,
        } => {
            first.enroll_if_new(&config).await?;
            let agent = Agent::prepare(&config)?;
            let mut out = tokio::io::stdout();
            for result in agent.run_once().await? {
                write_line(&mut out, &result).await?;
            }
            Ok(Exit::Stopped)
        }
        Command::Run {
            config,
            once: false,
            first,
        } => {
            first.enroll_if_new(&config).await?;
            let agent = Agent::prepare(&config)?;
            let (stop_tx, stop) = watch::channel(false);
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("Stopping: letting runs in flight finish.");
                let _ = stop_tx.send(true);
            });
            Ok(agent.run(stop).await?)
        }
    }
}

async fn shutdown_signal() {
    let mut stops = vantage_agent::platform::StopRequests::listen().expect("stop handlers install");
    stops.recv().await;
}

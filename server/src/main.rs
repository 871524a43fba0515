//! `vantage-server`: the Vantage server's command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vantage_server::config::ServerConfig;

/// mimalloc: ingest makes and drops many small objects a batch (rows,
/// readings, alert states), and glibc's allocator spent a fifth of the
/// server's time on them under load (docs/benchmarks.md#alerting).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Flags override `VANTAGE_*` environment variables, which override the file.
#[derive(Parser)]
#[command(
    name = "vantage-server",
    version,
    about = "Stores and serves Vantage agents' results"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A TOML configuration file (see docs/server-config.md).
    #[arg(long, short, env = "VANTAGE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to serve on [default: 127.0.0.1:8080].
    #[arg(long, env = "VANTAGE_LISTEN")]
    listen: Option<SocketAddr>,
    /// Folder of the embedded SQLite database [default: ./vantage-data].
    #[arg(long, env = "VANTAGE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// `postgres://…` to store in PostgreSQL instead of SQLite.
    #[arg(long, env = "VANTAGE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Database connections [default: 16].
    #[arg(long, env = "VANTAGE_MAX_CONNECTIONS")]
    max_connections: Option<u32>,
    /// Require this bearer token on /metrics.
    #[arg(long, env = "VANTAGE_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, env = "VANTAGE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "VANTAGE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// The key that seals stored secrets (32 random bytes, base64); every
    /// replica on one PostgreSQL must share it [default: `secrets.key`
    /// beside the SQLite database].
    #[arg(long, env = "VANTAGE_SECRETS_KEY_FILE")]
    secrets_key_file: Option<PathBuf>,
    /// How often the rollup and retention jobs run, e.g. `10s`.
    #[arg(long, env = "VANTAGE_JOBS_INTERVAL", value_parser = humantime::parse_duration)]
    jobs_interval: Option<std::time::Duration>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print the OpenAPI document of the API (JSON) and exit: the dashboard's
    /// types are generated from it.
    Openapi,
    /// Copies the SQLite database, consistent, while the server runs, with
    /// the secrets key beside it (`FILE.secrets.key`). PostgreSQL: pg_dump.
    Backup {
        /// The file to write (never overwritten).
        #[arg(long)]
        to: PathBuf,
    },
    /// Puts a backup (and its key) into an empty data folder.
    Restore {
        /// The backup `backup --to` wrote.
        #[arg(long)]
        from: PathBuf,
    },
}

impl Cli {
    fn config(self) -> anyhow::Result<ServerConfig> {
        let mut c = match &self.config {
            Some(path) => ServerConfig::from_file(path)?,
            None => ServerConfig::default(),
        };
        c.listen = self.listen.unwrap_or(c.listen);
        c.data_dir = self.data_dir.unwrap_or(c.data_dir);
        c.database_url = self.database_url.or(c.database_url);
        c.max_connections = self.max_connections.unwrap_or(c.max_connections);
        c.metrics_token = self.metrics_token.or(c.metrics_token);
        c.jobs_interval = self.jobs_interval.unwrap_or(c.jobs_interval);
        c.tls_cert = self.tls_cert.or(c.tls_cert);
        c.tls_key = self.tls_key.or(c.tls_key);
        c.secrets_key_file = self.secrets_key_file.or(c.secrets_key_file);
        Ok(c)
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
    let mut cli = Cli::parse();
    let command = cli.command.take();
    if let Some(Command::Openapi) = command {
        let doc = vantage_server::api::openapi();
        return match doc.to_pretty_json() {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match cli.config().and_then(|c| c.validate().map(|()| c)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let copied = match &command {
        Some(Command::Backup { to }) => {
            Some(runtime.block_on(vantage_server::backup::backup(&config, to)))
        }
        Some(Command::Restore { from }) => {
            Some(runtime.block_on(vantage_server::backup::restore(&config, from)))
        }
        _ => None,
    };
    match copied {
        Some(Ok(said)) => {
            for line in said {
                println!("{line}");
            }
            return ExitCode::SUCCESS;
        }
        Some(Err(e)) => {
            eprintln!("error: {e:#}");
            let refused = e
                .downcast_ref::<vantage_server::backup::Refused>()
                .is_some();
            return if refused {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            };
        }
        None => {}
    }
    match runtime.block_on(vantage_server::serve(config, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("Stopping: finishing requests in flight.");
}

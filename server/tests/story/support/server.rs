//! A server on a free loopback port, in this process, over either backend.

use std::net::SocketAddr;

use tempfile::TempDir;
use vantage_server::alerting::notify;
use vantage_server::client::PeerAddr;
use vantage_server::config::ServerConfig;
use vantage_server::store::{Store, postgres::PgStore, sqlite::SqliteStore};
use vantage_server::{AppState, app, bootstrap_admin};

use super::http::Client;
use super::pg;

pub const ADMIN_PASSWORD: &str = "correct-horse-battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// PostgreSQL with TimescaleDB preloaded (Timescale license), on a
    /// cluster of its own; skipped where the extension is not installed
    /// (`support::pg`).
    Timescale,
}

/// A fresh, migrated, empty store. `None` when PostgreSQL is not installed
/// and not required (the harness says so).
pub async fn store(backend: Backend) -> Option<(Store, Option<TempDir>, String)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("vantage.db");
            let store = Store::Sqlite(SqliteStore::open(&path).await.unwrap());
            Some((store, Some(dir), format!("sqlite://{}", path.display())))
        }
        Backend::Postgres => {
            let url = pg::fresh_database().await?;
            let store = Store::Postgres(PgStore::connect(&url, 10).await.unwrap());
            Some((store, None, url))
        }
        Backend::Timescale => {
            let url = pg::fresh_database_of(pg::Flavour::Timescale).await?;
            let store = Store::Postgres(PgStore::connect(&url, 10).await.unwrap());
            Some((store, None, url))
        }
    }
}

#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    /// An admin session.
    pub admin: Client,
    /// The database URL (for the binaries of other stories).
    pub url: String,
    _dir: Option<TempDir>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub fn client(&self) -> Client {
        Client::new(&format!("http://{}", self.addr))
    }

    /// Another server process in all but name on the same database, with
    /// nothing of this one's memory: a replica, or this one restarted. On
    /// PostgreSQL it has a pool (and what a store knows) of its own.
    pub async fn replica(&self) -> Replica {
        let config = (*self.state.config).clone();
        let store = match &self.state.store {
            Store::Postgres(_) => Store::Postgres(PgStore::connect(&self.url, 10).await.unwrap()),
            sqlite => sqlite.clone(),
        };
        let state = AppState::new(store, config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = serve(listener, state);
        Replica {
            base: format!("http://{addr}"),
            task,
        }
    }
}

/// A server on the same database as a [`TestServer`], until dropped.
#[derive(Debug)]
pub struct Replica {
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Replica {
    /// `client`'s credential, sent to this replica.
    pub fn as_(&self, client: &Client) -> Client {
        Client {
            base: self.base.clone(),
            ..client.clone()
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the API and runs the notifier and the fan-out to other replicas,
/// as `vantage_server::serve` does, until the task is aborted.
fn serve(listener: tokio::net::TcpListener, state: AppState) -> tokio::task::JoinHandle<()> {
    let router = app(state.clone());
    tokio::spawn(async move {
        // Never stopped: the task is aborted whole.
        let (_stop_tx, stop) = tokio::sync::watch::channel(false);
        let notifier = notify::run(
            state.store.clone(),
            state.rules.clone(),
            state.notifier.clone(),
            notify::Timing::of(&state.config),
            state.live.clone(),
            stop.clone(),
        );
        let fanout = vantage_server::fanout::run(state.clone(), stop);
        let service = router.into_make_service_with_connect_info::<PeerAddr>();
        let server = async move { axum::serve(listener, service).await.unwrap() };
        tokio::join!(server, notifier, fanout);
    })
}

/// Starts a server with `config` (its listen address and database ignored).
pub async fn start_with(backend: Backend, config: ServerConfig) -> Option<TestServer> {
    let (store, dir, url) = store(backend).await?;
    bootstrap_admin(&store, Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let state = AppState::new(store, config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = serve(listener, state.clone());
    let admin = super::http::login(&format!("http://{addr}"), ADMIN_PASSWORD).await;
    Some(TestServer {
        addr,
        state,
        admin,
        url,
        _dir: dir,
        task,
    })
}

pub async fn start(backend: Backend) -> Option<TestServer> {
    start_with(backend, ServerConfig::default()).await
}

/// A test per backend named, each calling `story(Backend)`: what `both!`
/// and `all_three!` write.
#[macro_export]
macro_rules! story_on {
    ($story:ident: $($leg:ident => $backend:ident),+) => {
        mod $story {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $leg() {
                    super::$story($crate::support::server::Backend::$backend).await
                }
            )+
        }
    };
}

/// A story on SQLite, PostgreSQL and TimescaleDB (where installed): for
/// what must answer the same on all three (rollups).
#[macro_export]
macro_rules! all_three {
    ($story:ident) => {
        $crate::story_on!($story: sqlite => Sqlite, postgres => Postgres, timescaledb => Timescale);
    };
}

/// Runs a story on both backends: `both!(story)` makes `story::sqlite` and
/// `story::postgres`, each calling `story(Backend)`.
#[macro_export]
macro_rules! both {
    ($story:ident) => {
        $crate::story_on!($story: sqlite => Sqlite, postgres => Postgres);
    };
}

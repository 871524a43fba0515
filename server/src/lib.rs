//! `vantage-server`: ingest, storage, queries and the HTTP API.
//!
//! [`app`] builds the whole HTTP application over a [`Store`]; [`serve`]
//! runs it with the background jobs until a shutdown signal.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use vantage_server::{config::ServerConfig, serve};
//! let config = ServerConfig::default(); // 127.0.0.1:8080, SQLite in ./vantage-data
//! serve(config, std::future::pending()).await
//! # }
//! ```

pub mod alerting;
pub mod api;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod client;
pub mod config;
pub mod error;
pub mod fanout;
pub mod ingest;
pub mod jobs;
pub mod live;
mod process_stats;
pub mod query;
pub mod ratelimit;
pub mod remote;
pub mod reports;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod tls;
pub mod web;

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use chrono::Utc;
use tokio::net::TcpListener;
use tower_http::decompression::RequestDecompressionLayer;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};
use vantage_protocol::ingest::MAX_BATCH_BYTES;

use crate::config::ServerConfig;
use crate::ingest::{IdCache, IngestGate};
use crate::store::{
    AccountStore as _, AuditStore as _, JobStore as _, Store, SystemStore as _, User,
};
use crate::telemetry::Telemetry;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    pub telemetry: Arc<Telemetry>,
    pub ids: Arc<IdCache>,
    pub gate: Arc<IngestGate>,
    /// Wakes the agents long-polling their desired state.
    pub changes: Arc<remote::Changes>,
    /// Stored results and heartbeats, for the dashboard's WebSockets.
    pub live: Arc<live::Live>,
    /// The alert rules ingest judges results with.
    pub rules: Arc<alerting::book::RuleBook>,
    /// Wakes the notifier when ingest stored alert steps to tell.
    pub notifier: Arc<alerting::notify::Notifier>,
    /// A hash to verify against when a login names no user, so that unknown
    /// and known names take the same time.
    pub dummy_hash: Arc<str>,
    /// Failed logins per client address and user name.
    pub logins: Arc<throttle::LoginThrottle>,
    /// Each client's budget of `/api/` requests.
    pub rate_limiter: Arc<ratelimit::RateLimiter>,
    /// Seals and opens the secrets in check configuration.
    pub secrets: Arc<secrets::Sealer>,
    /// `trusted_proxies`, parsed: peers whose `X-Forwarded-For` names the client.
    pub proxies: Arc<Vec<vantage_protocol::net::Network>>,
}

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> anyhow::Result<AppState> {
        let proxies = config
            .trusted_proxies
            .iter()
            .map(|p| vantage_protocol::net::Network::parse(p.trim()))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
        // Two connections stay free for queries, logins and health checks.
        let concurrent = config.max_connections.saturating_sub(2).max(1) as usize;
        Ok(AppState {
            store,
            gate: Arc::new(IngestGate::new(concurrent, config.ingest_queue)),
            changes: Arc::default(),
            live: Arc::default(),
            rules: Arc::default(),
            notifier: Arc::default(),
            config: Arc::new(config),
            telemetry: Arc::new(Telemetry::default()),
            ids: Arc::new(IdCache::default()),
            dummy_hash: auth::hash_password(&auth::generate_password())?.into(),
            logins: Arc::default(),
            rate_limiter: Arc::default(),
            // `serve` loads the configured key; in-process servers (tests)
            // keep this one, which lives as long as they do.
            secrets: Arc::new(secrets::Sealer::ephemeral()),
            proxies: Arc::new(proxies),
        })
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (router, openapi) = api::routes().split_for_parts();
    let docs = SwaggerUi::new("/api/docs")
        .url("/api/v1/openapi.json", openapi)
        .config(SwaggerConfig::new(["/api/v1/openapi.json"]).validator_url("none"));
    router
        .merge(docs)
        .fallback(web::serve)
        .layer(DefaultBodyLimit::max(MAX_BATCH_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        .layer(
            RequestDecompressionLayer::new()
                .gzip(true)
                .pass_through_unaccepted(false),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client::forwarded,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.telemetry.clone(),
            telemetry::track,
        ))
        .layer(axum::middleware::from_fn(error::problem_fallback))
        .with_state(state)
}

/// Creates the first admin when there are no users yet, with `password`
/// (`VANTAGE_ADMIN_PASSWORD` for [`serve`]) or a generated one, printed once.
/// Returns the generated password.
pub async fn bootstrap_admin(
    store: &Store,
    password: Option<String>,
) -> anyhow::Result<Option<String>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) if !p.is_empty() => (p, false),
        _ => (auth::generate_password(), true),
    };
    anyhow::ensure!(
        password.chars().count() >= auth::MIN_PASSWORD_CHARS,
        "VANTAGE_ADMIN_PASSWORD must be at least {} characters",
        auth::MIN_PASSWORD_CHARS
    );
    let user = User {
        id: uuid::Uuid::now_v7(),
        username: "admin".into(),
        password_hash: auth::hash_password(&password)?,
        role: store::Role::Admin,
        disabled: false,
    };
    // Replicas starting together race safely: only one insert wins.
    if !store.create_user(&user, Utc::now()).await? {
        return Ok(None);
    }
    store
        .record_audit(&store::AuditEntry {
            id: 0,
            at: Utc::now(),
            actor: store::Actor::system(),
            source: String::new(),
            action: "create the first admin".into(),
            target: format!("/api/v1/users/{}", user.id),
            status: 201,
            detail: serde_json::json!({"username": user.username, "role": "admin",
                "password_from": if generated { "generated, printed once" } else { "VANTAGE_ADMIN_PASSWORD" }}),
        })
        .await?;
    if generated {
        println!(
            "Created the first user: admin / {password}  (shown once; set VANTAGE_ADMIN_PASSWORD to choose it)"
        );
        tracing::info!(
            "Created the first user `admin` with a generated password, printed once on stdout."
        );
        Ok(Some(password))
    } else {
        tracing::info!(
            "Created the first user `admin` with the password from VANTAGE_ADMIN_PASSWORD."
        );
        Ok(None)
    }
}

/// Opens the store, bootstraps, starts the jobs and serves until `shutdown`
/// completes; then lets requests in flight finish.
pub async fn serve(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    config.validate()?;
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
    }
    let url = config.database();
    // Held until serving ends: one server per SQLite database.
    let _single = match store::sqlite_path(&url) {
        Some(db) => Some(store::sqlite::ServerLock::take(db).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let store = Store::open(&url, config.max_connections)
        .await
        .context("opening the database")?;
    tracing::info!(mode = ?store.mode(), "Storage is ready.");
    bootstrap_admin(&store, std::env::var("VANTAGE_ADMIN_PASSWORD").ok()).await?;
    let now = Utc::now();
    let raw = chrono::Duration::from_std(config.retention.raw).unwrap_or(chrono::Duration::days(7));
    store
        .ensure_partitions(now - raw, now + chrono::Duration::days(2))
        .await?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        _ => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let local = listener.local_addr()?;
    let sealer = secrets::Sealer::load(&config)?;
    let mut state = AppState::new(store.clone(), config)?;
    state.secrets = Arc::new(sealer);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let jobs = tokio::spawn(jobs::run(
        store,
        state.config.clone(),
        state.telemetry.clone(),
        stop.clone(),
    ));
    let notifier = tokio::spawn(alerting::notify::run(
        state.store.clone(),
        state.rules.clone(),
        state.notifier.clone(),
        alerting::notify::Timing::of(&state.config),
        state.live.clone(),
        stop.clone(),
    ));
    let fanout = tokio::spawn(fanout::run(state.clone(), stop));
    // Long polls answer at once when the server stops, instead of holding it up.
    let changes = state.changes.clone();
    let shutdown = async move {
        shutdown.await;
        changes.close();
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %local, scheme, "Serving the API.");
    // Scripts and tests read the bound address (it may be port 0) from this line.
    println!("listening on {scheme}://{local}");
    let served = match tls {
        Some(tls) => {
            axum::serve(
                tls::TlsListener::new(listener, tls)?,
                app(state).into_make_service_with_connect_info::<client::PeerAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
        }
        None => {
            axum::serve(
                listener,
                app(state).into_make_service_with_connect_info::<client::PeerAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
        }
    };
    served.context("serving")?;
    let _ = stop_tx.send(true);
    let _ = jobs.await;
    let _ = notifier.await;
    let _ = fanout.await;
    Ok(())
}

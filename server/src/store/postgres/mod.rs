//! PostgreSQL backend, in one of two storage modes (see [`mode`]): native
//! daily range partitions, or TimescaleDB hypertables.
//!
//! Queries are runtime `sqlx::query` with `Row::try_get` (no sqlx macros:
//! docs/design/server.md § 1.1); bulk rows go in as arrays through `UNNEST`.

/// The SQL of a statement on `rollup_1m`, `rollup_1h` or `rollup_1d`, as a `&'static str`.
macro_rules! rollup_sql {
    ($resolution:expr, $before:literal, $after:literal) => {
        match $resolution {
            Rollup::Minute => concat!($before, "rollup_1m", $after),
            Rollup::Hour => concat!($before, "rollup_1h", $after),
            Rollup::Day => concat!($before, "rollup_1d", $after),
        }
    };
}

/// The SQL of a statement on the rollup rows the server itself writes:
/// `rollup_1m`, `rollup_1h` or `rollup_1d`, or with TimescaleDB's own
/// rollups (`$native`) the distributions' `rollup_own_*` (`native.rs`).
macro_rules! own_rollup_sql {
    ($native:expr, $resolution:expr, $before:literal, $after:literal) => {
        match ($native, $resolution) {
            (false, Rollup::Minute) => concat!($before, "rollup_1m", $after),
            (false, Rollup::Hour) => concat!($before, "rollup_1h", $after),
            (false, Rollup::Day) => concat!($before, "rollup_1d", $after),
            (true, Rollup::Minute) => concat!($before, "rollup_own_1m", $after),
            (true, Rollup::Hour) => concat!($before, "rollup_own_1h", $after),
            (true, Rollup::Day) => concat!($before, "rollup_own_1d", $after),
        }
    };
}

mod accounts;
mod agents;
mod alert_cache;
mod alert_groups;
mod alert_judge;
mod alert_states;
mod alerts;
mod audit;
mod checks;
mod columns;
mod depends;
mod events;
mod grouped;
mod ingest;
mod jobs;
mod leader;
mod live;
mod mode;
mod named;
mod native;
mod notify;
mod registry;
mod releases;
mod repeats;
mod reports;
mod rollouts;
mod series;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Row, SqlSafeStr};

use super::*;

pub use live::Named;

/// The server's PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    mode: StorageMode,
    /// `timescale` or `apache` in TimescaleDB mode.
    tsdb_license: Option<Arc<str>>,
    /// TimescaleDB rolls `samples` up itself (`meta.rollups`, `native.rs`).
    native: bool,
    /// Alert states this replica knows (see `alert_cache`).
    alerts: Arc<alert_cache::AlertCache>,
    /// The jobs this replica leads, each on a session of its own.
    leads: Arc<leader::Leads>,
}

fn migrator() -> Migrator {
    let migration = |version, name: &'static str, sql: &'static str| {
        Migration::new(
            version,
            name.into(),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(
            1,
            "init",
            include_str!("../../../migrations/postgres/0001_init.sql"),
        ),
        migration(
            2,
            "registry",
            include_str!("../../../migrations/postgres/0002_registry.sql"),
        ),
        migration(
            3,
            "distributions",
            include_str!("../../../migrations/postgres/0003_distributions.sql"),
        ),
        migration(
            4,
            "alerts",
            include_str!("../../../migrations/postgres/0004_alerts.sql"),
        ),
        migration(
            5,
            "alert states",
            include_str!("../../../migrations/postgres/0005_alert_states.sql"),
        ),
        migration(
            6,
            "notifications",
            include_str!("../../../migrations/postgres/0006_notifications.sql"),
        ),
        migration(
            7,
            "dependencies",
            include_str!("../../../migrations/postgres/0007_dependencies.sql"),
        ),
        migration(
            8,
            "windows",
            include_str!("../../../migrations/postgres/0008_windows.sql"),
        ),
        migration(
            9,
            "groups",
            include_str!("../../../migrations/postgres/0009_groups.sql"),
        ),
        migration(
            10,
            "check names",
            include_str!("../../../migrations/postgres/0010_check_names.sql"),
        ),
        migration(
            11,
            "token parents",
            include_str!("../../../migrations/postgres/0011_token_parents.sql"),
        ),
        migration(
            12,
            "audit log",
            include_str!("../../../migrations/postgres/0012_audit.sql"),
        ),
        migration(
            13,
            "session origin",
            include_str!("../../../migrations/postgres/0013_session_origin.sql"),
        ),
        migration(
            14,
            "registry statements",
            include_str!("../../../migrations/postgres/0014_statements.sql"),
        ),
        migration(
            15,
            "enrollment token uses",
            include_str!("../../../migrations/postgres/0015_enrollment_uses.sql"),
        ),
        migration(
            16,
            "agent releases",
            include_str!("../../../migrations/postgres/0016_agent_releases.sql"),
        ),
        migration(
            17,
            "rollouts",
            include_str!("../../../migrations/postgres/0017_rollouts.sql"),
        ),
        migration(
            18,
            "reminder intervals",
            include_str!("../../../migrations/postgres/0018_reminder_intervals.sql"),
        ),
        migration(
            19,
            "packed alert states",
            include_str!("../../../migrations/postgres/0019_packed_alert_states.sql"),
        ),
        migration(
            20,
            "slas",
            include_str!("../../../migrations/postgres/0020_slas.sql"),
        ),
        migration(
            21,
            "report deliveries",
            include_str!("../../../migrations/postgres/0021_report_deliveries.sql"),
        ),
        migration(
            22,
            "day rollups",
            include_str!("../../../migrations/postgres/0022_day_rollups.sql"),
        ),
        migration(
            23,
            "suppressed parents",
            include_str!("../../../migrations/postgres/0023_suppressed_parents.sql"),
        ),
        migration(
            24,
            "events",
            include_str!("../../../migrations/postgres/0024_events.sql"),
        ),
        migration(
            25,
            "native rollups",
            include_str!("../../../migrations/postgres/0025_native_rollups.sql"),
        ),
        migration(
            26,
            "dirty range ids",
            include_str!("../../../migrations/postgres/0026_dirty_ids.sql"),
        ),
    ])
}

impl PgStore {
    /// Connects, applies the migrations (the first one picks the storage
    /// mode) and reads the mode back. Replicas may call this concurrently:
    /// sqlx serialises migrations with an advisory lock.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<PgStore> {
        let options = PgConnectOptions::from_str(url)?.application_name("vantage-server");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;

        let mut mode = None;
        let mut tsdb_license = None;
        let mut native = false;
        for row in sqlx::query("SELECT key, value FROM meta")
            .fetch_all(&pool)
            .await?
        {
            let value: String = row.try_get("value")?;
            match row.try_get::<&str, _>("key")? {
                "storage_mode" => mode = Some(value),
                "tsdb_license" => tsdb_license = Some(Arc::from(value)),
                "rollups" => native = value == "native",
                _ => {}
            }
        }
        let mode = match mode.as_deref() {
            Some("postgres") => StorageMode::Postgres,
            Some("timescaledb") => StorageMode::Timescaledb,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "storage mode {other:?} in meta"
                )));
            }
        };
        Ok(PgStore {
            pool,
            mode,
            tsdb_license,
            native,
            alerts: Arc::default(),
            leads: Arc::default(),
        })
    }

    /// The TimescaleDB license (`timescale` or `apache`) in TimescaleDB mode.
    pub fn tsdb_license(&self) -> Option<&str> {
        self.tsdb_license.as_deref()
    }

    /// The connection pool, for callers that need to look at the database
    /// directly (tests, benchmarks' COPY baseline).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// An id as the database keeps it (`serial`, int4).
fn id32(id: i64) -> StoreResult<i32> {
    i32::try_from(id).map_err(|_| StoreError::Corrupt(format!("id {id} is out of range")))
}

/// Ids that can exist in an int4 column; the others match nothing.
fn ids32(ids: &[i64]) -> Vec<i32> {
    ids.iter()
        .filter_map(|id| i32::try_from(*id).ok())
        .collect()
}

impl SystemStore for PgStore {
    fn mode(&self) -> StorageMode {
        self.mode
    }

    fn pool_stats(&self) -> (u32, u32) {
        (self.pool.size(), self.pool.num_idle() as u32)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

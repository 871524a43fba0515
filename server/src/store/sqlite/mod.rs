//! SQLite backend: one database file in WAL mode.
//!
//! Every write goes through a pool of exactly one connection, so our own
//! transactions queue in the pool instead of meeting `SQLITE_BUSY`, and a
//! read pool serves queries beside it (WAL readers never block the writer).
//! `synchronous=FULL`: an acknowledged batch survives a power loss. Ingest
//! batches that arrive together share one transaction ([`group`]).
//!
//! Queries are runtime `sqlx::query` with `Row::try_get` (no sqlx macros:
//! docs/design/server.md § 1.1). Timestamps are INTEGER microseconds, UUIDs
//! 16-byte BLOBs (`migrations/sqlite/0001_init.sql`). Bulk rows go in as
//! multi-row `VALUES` ([`bulk`]).

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

mod accounts;
mod agents;
mod alert_states;
mod alerts;
mod audit;
mod batches;
mod bulk;
mod checks;
mod depends;
mod events;
mod group;
mod grouped;
mod ingest;
mod jobs;
mod named;
mod notify;
mod registry;
mod releases;
mod repeats;
mod reports;
mod rollouts;
mod series;
mod single;
#[cfg(test)]
mod tests;

pub use single::ServerLock;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr, Sqlite, Transaction};

use super::*;

/// Connections of the read pool.
const READERS: u32 = 4;
/// How long a statement waits for a lock another process holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a caller waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Page cache of the write connection, in KiB: index inserts touch a page
/// per series, more than the default 2 MiB holds on a busy server.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// Rows the writer's SQLite thread hands back before it waits for them to
/// be read: with sqlx's 50 the thread stopped every 50 rows until a runtime
/// worker came, when ingest read back its results' ids.
const WRITER_ROW_BUFFER: usize = 4096;

/// The server's SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write.
    write: SqlitePool,
    /// Reads only.
    read: SqlitePool,
    /// Ingest's writes, grouped into shared transactions ([`group`]).
    writer: group::Writer,
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
            include_str!("../../../migrations/sqlite/0001_init.sql"),
        ),
        migration(
            2,
            "registry",
            include_str!("../../../migrations/sqlite/0002_registry.sql"),
        ),
        migration(
            3,
            "distributions",
            include_str!("../../../migrations/sqlite/0003_distributions.sql"),
        ),
        migration(
            4,
            "alerts",
            include_str!("../../../migrations/sqlite/0004_alerts.sql"),
        ),
        migration(
            5,
            "alert states",
            include_str!("../../../migrations/sqlite/0005_alert_states.sql"),
        ),
        migration(
            6,
            "notifications",
            include_str!("../../../migrations/sqlite/0006_notifications.sql"),
        ),
        migration(
            7,
            "dependencies",
            include_str!("../../../migrations/sqlite/0007_dependencies.sql"),
        ),
        migration(
            8,
            "windows",
            include_str!("../../../migrations/sqlite/0008_windows.sql"),
        ),
        migration(
            9,
            "groups",
            include_str!("../../../migrations/sqlite/0009_groups.sql"),
        ),
        migration(
            10,
            "check names",
            include_str!("../../../migrations/sqlite/0010_check_names.sql"),
        ),
        migration(
            11,
            "token parents",
            include_str!("../../../migrations/sqlite/0011_token_parents.sql"),
        ),
        migration(
            12,
            "audit log",
            include_str!("../../../migrations/sqlite/0012_audit.sql"),
        ),
        migration(
            13,
            "session origin",
            include_str!("../../../migrations/sqlite/0013_session_origin.sql"),
        ),
        migration(
            14,
            "registry statements",
            include_str!("../../../migrations/sqlite/0014_statements.sql"),
        ),
        migration(
            15,
            "enrollment token uses",
            include_str!("../../../migrations/sqlite/0015_enrollment_uses.sql"),
        ),
        migration(
            16,
            "agent releases",
            include_str!("../../../migrations/sqlite/0016_agent_releases.sql"),
        ),
        migration(
            17,
            "rollouts",
            include_str!("../../../migrations/sqlite/0017_rollouts.sql"),
        ),
        migration(
            18,
            "reminder intervals",
            include_str!("../../../migrations/sqlite/0018_reminder_intervals.sql"),
        ),
        // 19 is PostgreSQL's alone (packed alert states): versions stay
        // one per change across both backends.
        migration(
            20,
            "slas",
            include_str!("../../../migrations/sqlite/0020_slas.sql"),
        ),
        migration(
            21,
            "report deliveries",
            include_str!("../../../migrations/sqlite/0021_report_deliveries.sql"),
        ),
        migration(
            22,
            "day rollups",
            include_str!("../../../migrations/sqlite/0022_day_rollups.sql"),
        ),
        migration(
            23,
            "suppressed parents",
            include_str!("../../../migrations/sqlite/0023_suppressed_parents.sql"),
        ),
        migration(
            24,
            "events",
            include_str!("../../../migrations/sqlite/0024_events.sql"),
        ),
    ])
}

impl SqliteStore {
    /// Opens the database at `path`, creating it and its folder if missing,
    /// and applies the migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Full)
            .statement_cache_capacity(256);
        // The writer comes first: it creates the file and switches it to WAL
        // (a lasting property of the file), then migrates.
        let write = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(
                options
                    .clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
                    .row_buffer_size(WRITER_ROW_BUFFER),
            )
            .await?;
        migrator().run(&write).await?;
        let mode: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'storage_mode'")
                .fetch_optional(&write)
                .await?;
        if mode.as_deref() != Some("sqlite") {
            return Err(StoreError::Corrupt(format!(
                "storage mode {mode:?} in meta"
            )));
        }
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.read_only(true))
            .await?;
        let writer = group::Writer::start(write.clone());
        Ok(SqliteStore {
            write,
            read,
            writer,
        })
    }

    /// A write transaction ([`begin_immediate`]).
    async fn begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(begin_immediate(&self.write).await?)
    }
}

/// A write transaction on `write`. `IMMEDIATE` takes the file's write lock
/// at once, so a transaction that reads first never fails to upgrade its
/// lock when another process writes to the same file.
async fn begin_immediate(write: &SqlitePool) -> sqlx::Result<Transaction<'static, Sqlite>> {
    write.begin_with("BEGIN IMMEDIATE").await
}

/// A timestamp as stored: microseconds since the epoch.
fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(us: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {us} is out of range")))
}

fn time_at(row: &SqliteRow, column: &str) -> StoreResult<DateTime<Utc>> {
    time(row.try_get(column)?)
}

fn optional_time_at(row: &SqliteRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    row.try_get::<Option<i64>, _>(column)?.map(time).transpose()
}

/// A count column, which no valid row has negative.
fn count_at(row: &SqliteRow, column: &str) -> StoreResult<u32> {
    let n: i64 = row.try_get(column)?;
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{column} {n}")))
}

/// Ids as a JSON array, for `IN (SELECT value FROM json_each(?))`: one
/// statement whatever the number of ids.
fn id_list(ids: &[i64]) -> String {
    let mut s = String::with_capacity(2 + ids.len() * 8);
    s.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    s.push(']');
    s
}

impl SystemStore for SqliteStore {
    fn mode(&self) -> StorageMode {
        StorageMode::Sqlite
    }

    /// Over both pools.
    fn pool_stats(&self) -> (u32, u32) {
        (
            self.write.size() + self.read.size(),
            (self.write.num_idle() + self.read.num_idle()) as u32,
        )
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }
}

//! Leading the singleton jobs on PostgreSQL: a session advisory lock per
//! job name, on a connection of its own that is not the pool's.
//!
//! The database releases a session's locks the moment the session ends:
//! a leader killed outright (its socket closed by the kernel) hands over on
//! the next try of another replica, within [`crate::jobs`]' second. A
//! leader that hangs or loses the network is ended by the server after
//! [`IDLE`] without a word (`idle_session_timeout`, PostgreSQL 14+) or
//! when keepalives go unanswered; a leader whose session ended learns it
//! on its next check, and leads again only after another try.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::{Connection as _, PgConnection, PgPool};
use tokio::sync::Mutex;

use crate::store::StoreResult;

/// How long the server keeps a silent leader's session (and its lock).
/// Leaders speak every second.
const IDLE: &str = "10s";
/// How long one check of the session may take before it counts as lost.
const CHECK: Duration = Duration::from_secs(5);

/// The sessions this replica holds, by job name.
#[derive(Default)]
pub(super) struct Leads(Mutex<HashMap<String, Session>>);

impl std::fmt::Debug for Leads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leads").finish_non_exhaustive()
    }
}

struct Session {
    conn: PgConnection,
    held: bool,
}

/// The lock's key: "vant" above the name's CRC-32, apart from the keys of
/// the partitions' lock and of sqlx's migrations.
fn key(name: &str) -> i64 {
    (0x7661_6e74_i64 << 32) | i64::from(crc32fast::hash(name.as_bytes()))
}

impl Leads {
    /// Whether this replica leads `name`: still, when its session is alive;
    /// newly, when the lock is free.
    pub(super) async fn lead(&self, pool: &PgPool, name: &str) -> StoreResult<bool> {
        let mut sessions = self.0.lock().await;
        if !sessions.contains_key(name) {
            sessions.insert(name.to_owned(), open(pool).await?);
        }
        let session = sessions.get_mut(name).expect("inserted above");
        let (held, conn) = (session.held, &mut session.conn);
        let ask = async move {
            if held {
                sqlx::query_scalar::<_, i32>("SELECT 1")
                    .fetch_one(conn)
                    .await
                    .map(|_| true)
            } else {
                sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                    .bind(key(name))
                    .fetch_one(conn)
                    .await
            }
        };
        match tokio::time::timeout(CHECK, ask).await {
            Ok(Ok(held)) => {
                session.held = held;
                Ok(held)
            }
            Ok(Err(e)) => {
                // The session is gone, and with it the lock if it held it.
                sessions.remove(name);
                Err(e.into())
            }
            Err(_) => {
                sessions.remove(name);
                Ok(false)
            }
        }
    }

    /// Ends the session of `name`: its lock is free at once. Unlocked
    /// first, since the server ends a closed session (and frees its locks)
    /// only some time after the client has gone: a replica trying at once
    /// would find the lock still held.
    pub(super) async fn resign(&self, name: &str) -> StoreResult<()> {
        if let Some(mut session) = self.0.lock().await.remove(name) {
            if session.held {
                sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
                    .bind(key(name))
                    .fetch_one(&mut session.conn)
                    .await?;
            }
            session.conn.close().await?;
        }
        Ok(())
    }
}

async fn open(pool: &PgPool) -> StoreResult<Session> {
    let options = pool
        .connect_options()
        .as_ref()
        .clone()
        .application_name("vantage-server leader");
    let mut conn = PgConnection::connect_with(&options).await?;
    for set in [
        format!("SET idle_session_timeout = '{IDLE}'"),
        "SET tcp_keepalives_idle = 5".to_owned(),
        "SET tcp_keepalives_interval = 2".to_owned(),
        "SET tcp_keepalives_count = 2".to_owned(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(set))
            .execute(&mut conn)
            .await?;
    }
    Ok(Session { conn, held: false })
}

//! The storage contract: what every backend does, checked through the
//! storage traits on [`Store`], on SQLite and on PostgreSQL (each story runs
//! on both, see `both!`). One module per trait; PostgreSQL-only checks (the
//! recorded mode, partitions) are in `storage/postgres.rs`.

mod accounts;
mod agents;
mod checks;
mod distributions;
mod ingest;
mod jobs;
mod judging;
mod postgres;
mod query;
mod registry;
mod releases;
mod rollups;
mod timescale;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tempfile::TempDir;
use uuid::Uuid;
use vantage_protocol::ingest::AgentInfo;
use vantage_server::store::*;

use crate::both;
use crate::support::server::{self, Backend};

/// A migrated, empty store and what keeps it alive.
struct Db {
    store: Store,
    url: String,
    _dir: Option<TempDir>,
}

async fn open(backend: Backend) -> Option<Db> {
    let (store, dir, url) = server::store(backend).await?;
    Some(Db {
        store,
        url,
        _dir: dir,
    })
}

/// A fixed instant, whole seconds (both backends keep microseconds).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 15, 12, 0, 0).unwrap()
}

/// Every raw sample in `[from, to)`, as the rollup job reads them; checks
/// that their number is the one the store gives.
async fn all_raw_samples(store: &Store, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<RawPoint> {
    let mut points = Vec::new();
    let n = store
        .each_raw_sample(from, to, &mut |p| points.push(p))
        .await
        .unwrap();
    assert_eq!(n, points.len() as u64);
    points
}

/// A distinct token hash per `n`.
fn sha(n: u8) -> TokenHash {
    [n; 32]
}

fn user(name: &str, role: Role, disabled: bool) -> User {
    User {
        id: Uuid::now_v7(),
        username: name.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role,
        disabled,
    }
}

fn info(hostname: &str) -> AgentInfo {
    AgentInfo {
        hostname: hostname.into(),
        os: "linux".into(),
        arch: "x86_64".into(),
        version: "0.1.0".into(),
        addresses: vec!["192.0.2.7".into()],
    }
}

/// An admin and an enrollment token hashed `token`, valid for an hour from `now`.
async fn admin_and_enrollment(store: &Store, token: TokenHash, now: DateTime<Utc>) {
    let admin = match store.user_by_name("admin").await.unwrap() {
        Some(admin) => admin,
        None => {
            let admin = user("admin", Role::Admin, false);
            assert!(store.create_user(&admin, now).await.unwrap());
            admin
        }
    };
    let enrollment = NewEnrollment {
        id: Uuid::now_v7(),
        token_sha: token,
        created_by: admin.id,
        created_at: now,
        expires_at: now + Duration::hours(1),
        uses: 1,
    };
    store.create_enrollment(&enrollment).await.unwrap();
}

/// An enrolled agent called `name`, with credential hash `sha(credential)`.
async fn agent(store: &Store, name: &str, credential: u8) -> Uuid {
    let token = sha(credential.wrapping_add(100));
    admin_and_enrollment(store, token, t0()).await;
    store
        .enroll(&token, name, &info(name), &sha(credential), t0())
        .await
        .unwrap()
        .unwrap()
}

both!(the_database_answers_and_names_its_mode);
async fn the_database_answers_and_names_its_mode(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    db.store.ping().await.unwrap();
    let mode = db.store.mode();
    match backend {
        Backend::Sqlite => assert_eq!(mode, StorageMode::Sqlite),
        Backend::Postgres => assert!(
            matches!(mode, StorageMode::Postgres | StorageMode::Timescaledb),
            "{mode:?}"
        ),
        Backend::Timescale => assert_eq!(mode, StorageMode::Timescaledb),
    }
    let (open_connections, idle) = db.store.pool_stats();
    assert!(open_connections >= 1, "the ping left a connection open");
    assert!(idle <= open_connections);
}

//! The SQLite backend on a file in a temporary folder. The backend contract
//! (both backends) is in `tests/story/storage/`; these check what is
//! SQLite's own: pragmas, statement sizes, chunked deletes, plans.

use chrono::{Duration, TimeZone};
use tempfile::TempDir;
use uuid::Uuid;
use vantage_protocol::ingest::{AgentInfo, IngestAck, OutboxStats};
use vantage_protocol::manifest::BaseUnit;
use vantage_protocol::result::Status;

use super::*;

mod ingest;
mod jobs;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 15, 12, 0, 0).unwrap()
}

fn info() -> AgentInfo {
    AgentInfo {
        hostname: "edge-1".into(),
        os: "linux".into(),
        arch: "x86_64".into(),
        version: "0.1.0".into(),
        addresses: vec![],
    }
}

async fn open() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vantage.db"))
        .await
        .unwrap();
    (store, dir)
}

/// An enrollment token hashed `[token; 32]`, valid for an hour from t0.
async fn enrollment(store: &SqliteStore, token: u8) {
    let admin = match store.user_by_name("admin").await.unwrap() {
        Some(admin) => admin.id,
        None => {
            let id = Uuid::now_v7();
            let admin = User {
                id,
                username: "admin".into(),
                password_hash: "x".into(),
                role: Role::Admin,
                disabled: false,
            };
            assert!(store.create_user(&admin, t0()).await.unwrap());
            id
        }
    };
    let e = NewEnrollment {
        id: Uuid::now_v7(),
        token_sha: [token; 32],
        created_by: admin,
        created_at: t0(),
        expires_at: t0() + Duration::hours(1),
        uses: 1,
    };
    store.create_enrollment(&e).await.unwrap();
}

/// An agent, one check and `n` series on it.
async fn fixture(store: &SqliteStore, n: usize) -> (Uuid, i64, Vec<i64>) {
    enrollment(store, 1).await;
    let agent = store
        .enroll(&[1; 32], "edge-1", &info(), &[2; 32], t0())
        .await
        .unwrap()
        .unwrap();
    let check = CheckKey {
        agent_id: agent,
        check: "ping".into(),
        target: "10.0.0.1".into(),
        plugin: "ping".into(),
    };
    let check_id = store.check_id(&check).await.unwrap();
    let mut series = Vec::new();
    for i in 0..n {
        let key = SeriesKey {
            check_id,
            metric: format!("m{i}"),
            unit: BaseUnit::Seconds,
            labels: "{}".into(),
        };
        series.push(store.series_id(&key).await.unwrap());
    }
    (agent, check_id, series)
}

fn run(check_id: i64, started_at: DateTime<Utc>, series: &[i64], value: f64) -> ResultRow {
    ResultRow {
        id: Uuid::now_v7(),
        check_id,
        started_at,
        status: Status::Ok,
        duration: 0.1,
        plugin_version: "0.1.0".into(),
        message: None,
        samples: series
            .iter()
            .map(|&series_id| SampleRow { series_id, value })
            .collect(),
        distributions: Vec::new(),
        events: Vec::new(),
    }
}

fn batch(agent_id: Uuid, results: Vec<ResultRow>) -> StoreBatch {
    StoreBatch {
        agent_id,
        batch_id: Uuid::now_v7(),
        results,
        outbox: OutboxStats::default(),
        expired: 0,
        alerts: Vec::new(),
    }
}

async fn rows(store: &SqliteStore, table: &'static str) -> i64 {
    let sql = match table {
        "results" => "SELECT count(*) FROM results",
        "samples" => "SELECT count(*) FROM samples",
        "ingest_batches" => "SELECT count(*) FROM ingest_batches",
        other => panic!("no count for {other}"),
    };
    sqlx::query_scalar(sql)
        .fetch_one(&store.read)
        .await
        .unwrap()
}

#[tokio::test]
async fn opens_twice_with_its_pragmas_and_creates_folders() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/vantage.db");
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.mode(), StorageMode::Sqlite);
    enrollment(&store, 1).await;
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&store.write)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    let pragma = |sql: &'static str| {
        let pool = store.write.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(pragma("PRAGMA synchronous").await, 2, "FULL");
    assert_eq!(pragma("PRAGMA foreign_keys").await, 1);
    assert_eq!(pragma("PRAGMA busy_timeout").await, 5000);
    assert_eq!(store.write.options().get_max_connections(), 1);
    drop(store);

    // The second open applies nothing and keeps the data.
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.count_users().await.unwrap(), 1);
    store.ping().await.unwrap();
    let readonly = sqlx::query("DELETE FROM users").execute(&store.read).await;
    assert!(readonly.is_err(), "readers cannot write");
}

#[tokio::test]
async fn enrollment_refuses_unknown_expired_used_and_taken() {
    let (store, _dir) = open().await;
    enrollment(&store, 1).await;
    let enroll = |token: u8, name: &'static str, credential: u8, at| {
        let store = store.clone();
        async move {
            store
                .enroll(&[token; 32], name, &info(), &[credential; 32], at)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        enroll(9, "a", 50, t0()).await,
        Err(EnrollRefusal::UnknownToken)
    );
    assert_eq!(
        enroll(1, "a", 50, t0() + Duration::hours(1)).await,
        Err(EnrollRefusal::Expired)
    );
    let a = enroll(1, "a", 50, t0()).await.unwrap();
    assert_eq!(
        enroll(1, "b", 51, t0()).await,
        Err(EnrollRefusal::AlreadyUsed)
    );
    enrollment(&store, 2).await;
    assert_eq!(
        enroll(2, "a", 52, t0()).await,
        Err(EnrollRefusal::NameTaken)
    );
    let b = enroll(2, "b", 52, t0()).await.unwrap();
    assert_ne!(a, b);
    let used: Option<Uuid> =
        sqlx::query_scalar("SELECT agent_id FROM enrollment_tokens WHERE token_sha = ?1")
            .bind(&[2u8; 32][..])
            .fetch_one(&store.read)
            .await
            .unwrap();
    assert_eq!(used, Some(b), "the token names the agent it made");
}

#[tokio::test]
async fn bad_rows_are_errors_not_panics() {
    let (store, _dir) = open().await;
    let (agent, check, series) = fixture(&store, 1).await;
    store
        .ingest(&batch(agent, vec![run(check, t0(), &series, 1.0)]), t0())
        .await
        .unwrap();
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&store.write)
        .await
        .unwrap();
    sqlx::query("UPDATE results SET status = 9")
        .execute(&store.write)
        .await
        .unwrap();
    assert!(matches!(
        store.latest(None).await,
        Err(StoreError::Corrupt(_))
    ));
    sqlx::query("UPDATE agents SET outbox = '{', enrolled_at = 'x'")
        .execute(&store.write)
        .await
        .unwrap();
    assert!(store.agent(agent).await.is_err());
    sqlx::query("INSERT INTO rollup_1m VALUES (?1, ?2, 1, 1, 1, 1, x'09')")
        .bind(series[0])
        .bind(micros(t0() - Duration::hours(1)))
        .execute(&store.write)
        .await
        .unwrap();
    let rollups = store
        .rollups(
            Rollup::Minute,
            &series,
            t0() - Duration::days(1),
            t0(),
            usize::MAX,
        )
        .await;
    assert!(
        matches!(rollups, Err(StoreError::Corrupt(_))),
        "{rollups:?}"
    );
}

/// The plans that must seek per id rather than scan a table or a whole
/// index (`INDEXED BY` alone allows the latter).
#[tokio::test]
async fn reads_use_the_indexes() {
    let (store, _dir) = open().await;
    for sql in [
        "EXPLAIN QUERY PLAN SELECT series_id, ts, value FROM samples INDEXED BY samples_series_ts
         WHERE series_id IN (SELECT value FROM json_each('[1,2]')) AND ts >= 0 AND ts < 9",
        "EXPLAIN QUERY PLAN SELECT series_id, ts, value FROM samples INDEXED BY samples_series_ts
         WHERE series_id IN (SELECT id FROM series) AND ts >= 0 AND ts < 9",
        "EXPLAIN QUERY PLAN DELETE FROM samples WHERE rowid IN (
             SELECT rowid FROM samples INDEXED BY samples_series_ts
             WHERE series_id IN (SELECT id FROM series) AND ts < 9 LIMIT 10)",
        "EXPLAIN QUERY PLAN SELECT status, count(*) FROM results INDEXED BY results_check_started
         WHERE check_id IN (SELECT value FROM json_each('[1]')) AND started_at >= 0 AND started_at < 9
         GROUP BY status",
        "EXPLAIN QUERY PLAN SELECT series_id, bucket FROM rollup_1m
         WHERE series_id IN (SELECT value FROM json_each('[1,2]')) AND bucket >= 0 AND bucket < 9",
        "EXPLAIN QUERY PLAN SELECT c.id FROM checks c JOIN results r ON r.id = (
             SELECT id FROM results WHERE check_id = c.id ORDER BY started_at DESC LIMIT 1)",
        // Ingest's, over a `VALUES` list (`batches.rs`): each row by key.
        "EXPLAIN QUERY PLAN SELECT b.accepted FROM (VALUES (?, ?), (?, ?)) AS v
         JOIN ingest_batches b ON b.agent_id = v.column1 AND b.batch_id = v.column2",
        "EXPLAIN QUERY PLAN UPDATE agents SET outbox = v.column2 FROM (VALUES (?, ?), (?, ?)) AS v
         WHERE agents.id = v.column1",
    ] {
        let plan: Vec<String> = sqlx::query(sql)
            .fetch_all(&store.read)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("detail"))
            .collect();
        let scans: Vec<&String> = plan
            .iter()
            .filter(|d| {
                d.starts_with("SCAN")
                    && !d.contains("json_each")
                    && !d.starts_with("SCAN c")
                    && !d.contains("VALUES CLAUSE")
            })
            .collect();
        assert!(scans.is_empty(), "{plan:#?}");
    }
}

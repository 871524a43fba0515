//! PostgreSQL only: the storage mode, the daily partitions, and leading
//! the jobs (a session advisory lock).

use chrono::{Duration, NaiveDate};
use sqlx::Row;
use vantage_protocol::result::Status;
use vantage_server::store::postgres::PgStore;
use vantage_server::store::*;

use super::ingest::{batch, fixture, run};
use super::open;
use crate::support::server::Backend;

fn timescale_expected() -> bool {
    std::env::var("VANTAGE_TEST_PG_PRELOAD").is_ok_and(|p| p.contains("timescaledb"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_is_chosen_once_and_read_back() {
    let Some(db) = open(Backend::Postgres).await else {
        return;
    };
    let want = if timescale_expected() {
        StorageMode::Timescaledb
    } else {
        StorageMode::Postgres
    };
    assert_eq!(db.store.mode(), want);
    let again = PgStore::connect(&db.url, 2).await.unwrap();
    assert_eq!(again.mode(), want);
    let pool = again.pool();
    let migrations: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(migrations, 26, "0001_init … 0026_dirty_ids");
    let recorded: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'storage_mode'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        recorded,
        if timescale_expected() {
            "timescaledb"
        } else {
            "postgres"
        }
    );
    if want == StorageMode::Timescaledb {
        let hypertables: Vec<String> = sqlx::query_scalar(
            "SELECT hypertable_name::text FROM timescaledb_information.hypertables ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert_eq!(hypertables, ["distributions", "results", "samples"]);
        // Compression (Timescale License) only when the license has it.
        let policies: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM timescaledb_information.jobs
             WHERE proc_name = 'policy_compression'
               AND hypertable_name IN ('samples', 'distributions')",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        let license = again.tsdb_license().unwrap();
        assert_eq!(
            policies,
            2 * i64::from(license == "timescale"),
            "license {license}"
        );
        eprintln!("TimescaleDB license {license}, compression policies {policies}.");
    }
}

/// The daily partitions of the raw tables, as `(table, day)`.
async fn partitions(store: &PgStore) -> Vec<(String, String)> {
    let rows = sqlx::query(
        "SELECT p.relname::text AS parent, c.relname::text AS child
         FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_class c ON c.oid = i.inhrelid
         WHERE p.relname IN ('results', 'samples', 'distributions') ORDER BY 1, 2",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            let (parent, child): (String, String) = (r.get("parent"), r.get("child"));
            let day = child
                .strip_prefix(&format!("{parent}_p"))
                .unwrap()
                .to_owned();
            (parent, day)
        })
        .collect()
}

fn days(list: &[&str]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = ["results", "samples", "distributions"]
        .iter()
        .flat_map(|t| list.iter().map(|d| (t.to_string(), d.to_string())))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_follow_the_days() {
    let Some(db) = open(Backend::Postgres).await else {
        return;
    };
    if db.store.mode() != StorageMode::Postgres {
        // TimescaleDB makes chunks on insert: nothing to do here.
        let now = chrono::Utc::now();
        db.store
            .ensure_partitions(now, now + Duration::days(2))
            .await
            .unwrap();
        eprintln!(
            "Not in postgres mode ({:?}): no partitions to check.",
            db.store.mode()
        );
        return;
    }
    let Store::Postgres(pg) = &db.store else {
        unreachable!()
    };
    let day = |d: u32| {
        NaiveDate::from_ymd_opt(2030, 6, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
    };
    assert!(partitions(pg).await.is_empty(), "none until asked for");

    // [14th 12:00, 17th 00:00) touches the 14th, 15th and 16th. Replicas may
    // ask at once.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let store = db.store.clone();
        tasks.spawn(async move {
            store
                .ensure_partitions(day(14) + Duration::hours(12), day(17))
                .await
                .unwrap()
        });
    }
    tasks.join_all().await;
    assert_eq!(
        partitions(pg).await,
        days(&["20300614", "20300615", "20300616"])
    );
    db.store.ensure_partitions(day(15), day(16)).await.unwrap();
    db.store.ensure_partitions(day(16), day(16)).await.unwrap();
    assert_eq!(partitions(pg).await.len(), 9, "nothing new");

    // Ingest creates a missing day itself.
    let f = fixture(&db.store).await;
    let runs = vec![
        run(
            f.check1,
            day(15) + Duration::hours(23),
            Status::Ok,
            &[(f.rtt1, 0.1)],
        ),
        run(
            f.check1,
            day(20) + Duration::hours(1),
            Status::Ok,
            &[(f.rtt1, 0.2)],
        ),
    ];
    assert_eq!(
        db.store
            .ingest(&batch(f.agent, runs, 0), day(20))
            .await
            .unwrap()
            .ack
            .accepted,
        2
    );
    assert_eq!(
        partitions(pg).await,
        days(&["20300614", "20300615", "20300616", "20300620"])
    );

    // Retention drops whole days that end at or before the cut: a cut at the
    // 16th 06:00 keeps the 16th, with what is in it.
    assert_eq!(
        db.store
            .delete_raw_before(day(16) + Duration::hours(6))
            .await
            .unwrap(),
        2
    );
    assert_eq!(partitions(pg).await, days(&["20300616", "20300620"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_session_the_database_ends_hands_over_at_once() {
    let Some(db) = open(Backend::Postgres).await else {
        return;
    };
    let other = Store::open(&db.url, 4).await.unwrap();
    let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let (now, ttl) = (chrono::Utc::now(), Duration::seconds(30));
    assert!(db.store.lead("jobs", a, now, ttl).await.unwrap());
    assert!(!other.lead("jobs", b, now, ttl).await.unwrap());
    // What the database does when the leader's process dies: its session
    // ends (b's session, which holds nothing, is spared). The call waits
    // for the session to be gone.
    let Store::Postgres(pg) = &db.store else {
        unreachable!("a PostgreSQL store")
    };
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(l.pid, 5000)) FROM pg_locks l
         JOIN pg_stat_activity s ON s.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted
           AND s.datname = current_database() AND s.application_name = 'vantage-server leader'",
    )
    .fetch_one(pg.pool())
    .await
    .unwrap();
    assert_eq!(ended, 1, "one session holds the lock");
    assert!(
        other.lead("jobs", b, now, ttl).await.unwrap(),
        "the lock went with the session: b leads on its next try"
    );
    assert!(
        db.store.lead("jobs", a, now, ttl).await.is_err(),
        "a learns its session is gone"
    );
    assert!(
        !db.store.lead("jobs", a, now, ttl).await.unwrap(),
        "and then that b leads"
    );
}

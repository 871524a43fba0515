//! TimescaleDB only (a cluster of its own, started where the extension is
//! installed; `support::pg`): its own rollups, their policies, late data
//! into compressed chunks, and retention by chunks.

use chrono::Duration;
use sqlx::{Connection as _, Row};
use vantage_protocol::result::Status;
use vantage_server::jobs;
use vantage_server::store::postgres::PgStore;
use vantage_server::store::*;

use super::ingest::{batch, fixture, run};
use super::{open, t0};
use crate::support::pg;
use crate::support::server::Backend;

/// `(table, policy, seconds)` of the retention and refresh policies.
async fn policies(pool: &sqlx::PgPool) -> Vec<(String, String, i64)> {
    let rows = sqlx::query(
        "SELECT coalesce(a.view_name, j.hypertable_name)::text AS t, j.proc_name::text AS p,
                extract(epoch FROM coalesce((j.config->>'drop_after')::interval,
                                            (j.config->>'start_offset')::interval))::int8 AS s
         FROM timescaledb_information.jobs j
         LEFT JOIN timescaledb_information.continuous_aggregates a
           ON a.materialization_hypertable_name = j.hypertable_name
         WHERE j.proc_name IN ('policy_retention', 'policy_refresh_continuous_aggregate')
         ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.iter()
        .map(|r| (r.get("t"), r.get("p"), r.get("s")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timescaledb_keeps_its_rollups_by_policies_that_follow_the_retention() {
    let Some(db) = open(Backend::Timescale).await else {
        return;
    };
    let Store::Postgres(pg) = &db.store else {
        unreachable!("a PostgreSQL store");
    };
    let pool = pg.pool();
    assert!(db.store.native_rollups());
    let aggregates: Vec<String> = sqlx::query_scalar(
        "SELECT view_name::text FROM timescaledb_information.continuous_aggregates ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        aggregates,
        ["rollup_hist_1d", "rollup_hist_1h", "rollup_hist_1m"]
    );
    assert!(
        policies(pool).await.is_empty(),
        "none before the jobs' first round"
    );

    let day = Duration::days(1);
    let keep = NativeRetention {
        raw: day * 7,
        minute: day * 90,
        hour: day * 400,
        day: day * 400,
    };
    db.store.keep_native_policies(&keep).await.unwrap();
    let (d7, d90, d400) = (7 * 86_400, 90 * 86_400, 400 * 86_400);
    let retention = "policy_retention".to_string();
    let refresh = "policy_refresh_continuous_aggregate".to_string();
    let want = vec![
        ("distributions".to_string(), retention.clone(), d7),
        ("results".into(), retention.clone(), d7),
        ("rollup_hist_1d".into(), refresh.clone(), d7),
        ("rollup_hist_1d".into(), retention.clone(), d400),
        ("rollup_hist_1h".into(), refresh.clone(), d7),
        ("rollup_hist_1h".into(), retention.clone(), d400),
        ("rollup_hist_1m".into(), refresh.clone(), d7),
        ("rollup_hist_1m".into(), retention.clone(), d90),
        ("samples".into(), retention.clone(), d7),
    ];
    assert_eq!(policies(pool).await, want);
    let ids = || async {
        sqlx::query_scalar::<_, i32>("SELECT job_id FROM timescaledb_information.jobs ORDER BY 1")
            .fetch_all(pool)
            .await
            .unwrap()
    };
    let before = ids().await;
    db.store.keep_native_policies(&keep).await.unwrap();
    assert_eq!(
        ids().await,
        before,
        "policies already in line are left alone"
    );

    // A shorter raw retention replaces exactly the policies it reaches.
    let shorter = NativeRetention {
        raw: day * 3,
        ..keep
    };
    db.store.keep_native_policies(&shorter).await.unwrap();
    let now = policies(pool).await;
    let reaching: Vec<_> = now.iter().filter(|p| p.2 == 3 * 86_400).collect();
    assert_eq!(
        reaching.len(),
        6,
        "3 raw retentions, 3 refresh windows: {now:?}"
    );
    assert_eq!(now.len(), want.len(), "replaced, not added");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_data_into_a_compressed_chunk_is_rolled_up_and_retention_drops_rollup_chunks() {
    let Some(db) = open(Backend::Timescale).await else {
        return;
    };
    let Store::Postgres(pg) = &db.store else {
        unreachable!("a PostgreSQL store");
    };
    let (store, pool, f) = (&db.store, pg.pool(), fixture(&db.store).await);
    let now = t0() + Duration::days(3);
    let at = |m: i64| t0() + Duration::minutes(m);
    let results: Vec<_> = (0..10)
        .map(|m| {
            run(
                f.check2,
                at(m),
                Status::Ok,
                &[(f.rtt2, 0.010 + 0.001 * m as f64)],
            )
        })
        .collect();
    store
        .ingest(&batch(f.agent, results, 0), now)
        .await
        .unwrap();
    jobs::rollup(store, now).await.unwrap();

    // The day's samples are compressed (the policy does it after two days).
    let compressed: i64 = sqlx::query_scalar(
        "SELECT count(compress_chunk(c, if_not_compressed => true))
         FROM show_chunks('samples') c",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(compressed >= 1);
    let status: i32 = sqlx::query_scalar(
        "SELECT count(*)::int4 FROM timescaledb_information.chunks
         WHERE hypertable_name = 'samples' AND is_compressed",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(status >= 1, "a compressed chunk");

    // An outbox emptied days later: a run into that compressed day.
    let late = run(
        f.check2,
        at(3) + Duration::seconds(30),
        Status::Ok,
        &[(f.rtt2, 0.5)],
    );
    let ack = store
        .ingest(&batch(f.agent, vec![late], 0), now)
        .await
        .unwrap()
        .ack;
    assert_eq!((ack.accepted, ack.samples), (1, 1));
    jobs::rollup(store, now).await.unwrap();
    let minutes = store
        .rollups(Rollup::Minute, &[f.rtt2], at(3), at(4), usize::MAX)
        .await
        .unwrap();
    assert_eq!(minutes.len(), 1);
    assert_eq!(
        (minutes[0].count, minutes[0].max),
        (2, 0.5),
        "the late run is in its minute"
    );
    let hour = store
        .rollups(Rollup::Hour, &[f.rtt2], at(0), at(60), usize::MAX)
        .await
        .unwrap();
    assert_eq!((hour[0].count, hour[0].max), (11, 0.5), "and in its hour");
    let day = store
        .rollups(Rollup::Day, &[f.rtt2], at(-720), at(720), usize::MAX)
        .await
        .unwrap();
    assert_eq!((day[0].count, day[0].max), (11, 0.5), "and in its day");

    // Retention of minute rollups drops the aggregate's chunks before the cut.
    let removed = store
        .delete_rollups_before(Rollup::Minute, t0() + Duration::days(30))
        .await
        .unwrap();
    assert!(removed >= 10, "{removed} rows dropped");
    assert!(
        store
            .rollups(Rollup::Minute, &[f.rtt2], at(0), at(60), usize::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .rollups(Rollup::Hour, &[f.rtt2], at(0), at(60), usize::MAX)
            .await
            .unwrap()
            .len(),
        1,
        "hours are kept by their own retention"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_may_keep_the_servers_rollups_on_timescaledb() {
    let Some(url) = pg::fresh_database_of(pg::Flavour::Timescale).await else {
        return;
    };
    // Before the first start, as docs/server.md says.
    let name = url.rsplit('/').next().unwrap().to_owned();
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {name} SET vantage.rollups = 'server'"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
    let store = Store::Postgres(PgStore::connect(&url, 4).await.unwrap());
    assert_eq!(store.mode(), StorageMode::Timescaledb);
    assert!(!store.native_rollups());
    let Store::Postgres(pg) = &store else {
        unreachable!()
    };
    let recorded: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'rollups'")
        .fetch_one(pg.pool())
        .await
        .unwrap();
    assert_eq!(recorded, "server");
    let aggregates: i64 =
        sqlx::query_scalar("SELECT count(*) FROM timescaledb_information.continuous_aggregates")
            .fetch_one(pg.pool())
            .await
            .unwrap();
    assert_eq!(aggregates, 0);

    // The server's job writes the rows, as on plain PostgreSQL.
    let f = fixture(&store).await;
    let now = t0() + Duration::days(1);
    let results: Vec<_> = (0..3)
        .map(|m| {
            run(
                f.check2,
                t0() + Duration::minutes(m),
                Status::Ok,
                &[(f.rtt2, 0.02)],
            )
        })
        .collect();
    store
        .ingest(&batch(f.agent, results, 0), now)
        .await
        .unwrap();
    assert!(jobs::rollup(&store, now).await.unwrap() >= 3);
    let minutes = store
        .rollups(
            Rollup::Minute,
            &[f.rtt2],
            t0(),
            t0() + Duration::hours(1),
            usize::MAX,
        )
        .await
        .unwrap();
    assert_eq!(minutes.len(), 3);
}

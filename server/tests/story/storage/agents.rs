//! [`AgentStore`]: enrollment, credentials, heartbeats, placement and the
//! configuration status agents report.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use vantage_protocol::ingest::{Heartbeat, OutboxStats};
use vantage_server::store::*;

use super::{admin_and_enrollment, info, open, sha, t0};
use crate::both;
use crate::support::server::Backend;

both!(enrollment_and_agents);
async fn enrollment_and_agents(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let (store, now) = (&db.store, t0());
    admin_and_enrollment(store, sha(1), now).await;
    let enroll = |token: u8, name: &'static str, credential: u8, at: DateTime<Utc>| {
        let store = store.clone();
        async move {
            store
                .enroll(&sha(token), name, &info(name), &sha(credential), at)
                .await
                .unwrap()
        }
    };

    assert_eq!(
        enroll(9, "a", 50, now).await,
        Err(EnrollRefusal::UnknownToken)
    );
    assert_eq!(
        enroll(1, "a", 50, now + Duration::hours(1)).await,
        Err(EnrollRefusal::Expired)
    );
    let a = enroll(1, "a", 50, now).await.unwrap();
    assert_eq!(
        enroll(1, "b", 51, now).await,
        Err(EnrollRefusal::AlreadyUsed)
    );
    // A taken name refuses without using the token up.
    admin_and_enrollment(store, sha(2), now).await;
    assert_eq!(enroll(2, "a", 52, now).await, Err(EnrollRefusal::NameTaken));
    let b = enroll(2, "b", 52, now).await.unwrap();

    let auth = store.agent_by_credential(&sha(50)).await.unwrap().unwrap();
    assert_eq!((auth.id, auth.name.as_str(), auth.revoked), (a, "a", false));
    assert!(store.agent_by_credential(&sha(53)).await.unwrap().is_none());

    let row = store.agent(a).await.unwrap().unwrap();
    assert_eq!(
        (row.name.as_str(), &row.info, row.enrolled_at),
        ("a", &info("a"), now)
    );
    assert_eq!(
        (row.last_seen_at, row.revoked_at, row.outbox),
        (None, None, OutboxStats::default())
    );
    assert!(store.agent(Uuid::now_v7()).await.unwrap().is_none());

    let heartbeat = Heartbeat {
        version: "0.2.0".into(),
        started_at: now - Duration::hours(1),
        outbox: OutboxStats {
            backlog_results: 3,
            backlog_bytes: 300,
            dropped_results: 1,
            dropped_bytes: 100,
        },
        addresses: vec!["198.51.100.1".into()],
    };
    store
        .heartbeat(b, &heartbeat, now + Duration::seconds(30))
        .await
        .unwrap();
    let row = store.agent(b).await.unwrap().unwrap();
    assert_eq!(
        (row.info.version.as_str(), row.outbox),
        ("0.2.0", heartbeat.outbox)
    );
    assert_eq!(
        (row.info.addresses, row.last_seen_at),
        (
            heartbeat.addresses.clone(),
            Some(now + Duration::seconds(30))
        )
    );
    assert_eq!(store.agents_seen_since(now).await.unwrap(), 1);
    assert_eq!(
        store
            .agents_seen_since(now + Duration::minutes(1))
            .await
            .unwrap(),
        0
    );

    let names = |rows: Vec<AgentRow>| rows.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(names(store.agents(None, 10).await.unwrap()), ["a", "b"]);
    assert_eq!(names(store.agents(None, 1).await.unwrap()), ["a"]);
    assert_eq!(names(store.agents(Some("a"), 10).await.unwrap()), ["b"]);
    assert!(store.agents(Some("b"), 10).await.unwrap().is_empty());

    assert!(store.revoke_agent(a, now).await.unwrap());
    assert!(
        store
            .revoke_agent(a, now + Duration::hours(1))
            .await
            .unwrap(),
        "twice is not an error"
    );
    assert_eq!(
        store.agent(a).await.unwrap().unwrap().revoked_at,
        Some(now),
        "the first revocation counts"
    );
    assert!(
        store
            .agent_by_credential(&sha(50))
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(!store.revoke_agent(Uuid::now_v7(), now).await.unwrap());
}

both!(enrollment_token_is_single_use_under_concurrency);
async fn enrollment_token_is_single_use_under_concurrency(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    admin_and_enrollment(&db.store, sha(1), t0()).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8u8 {
        let store = db.store.clone();
        tasks.spawn(async move {
            let name = format!("racer-{i}");
            store
                .enroll(&sha(1), &name, &info(&name), &sha(100 + i), t0())
                .await
                .unwrap()
        });
    }
    let outcomes = tasks.join_all().await;
    let enrolled = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(enrolled, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| o.is_ok() || *o == Err(EnrollRefusal::AlreadyUsed)),
        "{outcomes:?}"
    );
    assert_eq!(db.store.agents(None, 100).await.unwrap().len(), 1);
}

both!(placement_and_config_status);
async fn placement_and_config_status(backend: Backend) {
    use std::collections::BTreeMap;
    use vantage_protocol::config::{CheckState, CheckStatus, ConfigSource, ConfigStatus};

    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    let a = super::agent(store, "a", 1).await;
    let row = store.agent(a).await.unwrap().unwrap();
    assert!(row.groups.is_empty() && row.labels.is_empty());
    assert!(row.config_status.is_none());

    // Each of groups and labels is replaced only when given.
    let groups = vec!["edge".to_owned(), "eu".to_owned()];
    let labels = BTreeMap::from([("site".to_owned(), "par1".to_owned())]);
    assert!(
        store
            .set_placement(a, Some(&groups), Some(&labels))
            .await
            .unwrap()
    );
    let row = store.agent(a).await.unwrap().unwrap();
    assert_eq!((&row.groups, &row.labels), (&groups, &labels));
    assert!(
        store
            .set_placement(a, Some(&["core".to_owned()]), None)
            .await
            .unwrap()
    );
    let row = store.agent(a).await.unwrap().unwrap();
    assert_eq!(
        (row.groups, row.labels),
        (vec!["core".to_owned()], labels.clone()),
        "labels kept"
    );
    assert!(
        store
            .set_placement(a, None, Some(&BTreeMap::new()))
            .await
            .unwrap()
    );
    let row = store.agent(a).await.unwrap().unwrap();
    assert_eq!(
        (row.groups, row.labels),
        (vec!["core".to_owned()], BTreeMap::new()),
        "groups kept, labels emptied"
    );
    assert!(
        !store
            .set_placement(Uuid::now_v7(), Some(&groups), None)
            .await
            .unwrap(),
        "unknown agent"
    );

    // The last status reported replaces the one before.
    let status = |version: &str, state: CheckState| ConfigStatus {
        version: version.into(),
        applied_at: t0(),
        source: ConfigSource::Server,
        checks: vec![CheckStatus {
            name: "web".into(),
            plugin: "http@1.0.0".into(),
            state,
            problem: (state != CheckState::Running).then(|| "no such package".into()),
        }],
        trust: None,
    };
    store
        .put_config_status(a, &status("1", CheckState::Failed))
        .await
        .unwrap();
    store
        .put_config_status(a, &status("2", CheckState::Running))
        .await
        .unwrap();
    assert_eq!(
        store.agent(a).await.unwrap().unwrap().config_status,
        Some(status("2", CheckState::Running))
    );
    let listed = store.agents(None, 10).await.unwrap();
    assert_eq!(
        listed[0].config_status,
        Some(status("2", CheckState::Running)),
        "the list reads it too"
    );
}

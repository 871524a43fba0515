//! The storage contract: what every backend does, checked through [`Store`]
//! on SQLite and on PostgreSQL (each story runs on both, see `both!`).
//! PostgreSQL-only checks (the recorded mode, partitions) are in
//! `storage/postgres.rs`.

mod ingest;
mod jobs;
mod postgres;
mod query;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tempfile::TempDir;
use uuid::Uuid;
use vantage_protocol::ingest::{AgentInfo, Heartbeat, OutboxStats};
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

both!(users_sessions_and_api_tokens);
async fn users_sessions_and_api_tokens(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let (store, now) = (&db.store, t0());
    assert_eq!(store.count_users().await.unwrap(), 0);
    let admin = user("admin", Role::Admin, false);
    assert!(store.create_user(&admin, now).await.unwrap());
    assert!(
        !store
            .create_user(&user("admin", Role::Viewer, false), now)
            .await
            .unwrap(),
        "names are unique"
    );
    let carol = user("carol", Role::Operator, true);
    assert!(store.create_user(&carol, now).await.unwrap());
    assert_eq!(store.count_users().await.unwrap(), 2);

    let found = store.user_by_name("admin").await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.role, found.disabled),
        (admin.id, Role::Admin, false)
    );
    assert_eq!(found.password_hash, admin.password_hash);
    assert!(store.user_by_name("carol").await.unwrap().unwrap().disabled);
    assert!(store.user_by_name("nobody").await.unwrap().is_none());

    // Sessions: live until they expire or are deleted; never for a disabled user.
    store
        .create_session(&sha(1), admin.id, now, now + Duration::hours(1))
        .await
        .unwrap();
    let who = store
        .session_user(&sha(1), now + Duration::minutes(59))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (who.user_id, who.username.as_str(), who.role),
        (admin.id, "admin", Role::Admin)
    );
    assert!(
        store
            .session_user(&sha(1), now + Duration::hours(1))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        store.session_user(&sha(2), now).await.unwrap().is_none(),
        "unknown"
    );
    assert_eq!(
        store
            .delete_expired_sessions(now + Duration::hours(1))
            .await
            .unwrap(),
        1,
        "the expired session is cleaned up"
    );
    store.delete_session(&sha(1)).await.unwrap();
    assert!(
        store.session_user(&sha(1), now).await.unwrap().is_none(),
        "deleted"
    );
    store
        .create_session(&sha(3), carol.id, now, now + Duration::hours(1))
        .await
        .unwrap();
    assert!(
        store.session_user(&sha(3), now).await.unwrap().is_none(),
        "disabled user"
    );

    // API tokens carry their own role; expiry, revocation and a disabled user end them.
    let token = |n: u8, user_id: Uuid, role: Role, expires_at: Option<DateTime<Utc>>| NewApiToken {
        id: Uuid::now_v7(),
        user_id,
        name: format!("token {n}"),
        token_sha: sha(n),
        role,
        created_at: now,
        expires_at,
    };
    let forever = token(10, admin.id, Role::Viewer, None);
    let hour = token(11, admin.id, Role::Operator, Some(now + Duration::hours(1)));
    let disabled = token(12, carol.id, Role::Viewer, None);
    for t in [&forever, &hour, &disabled] {
        store.create_api_token(t).await.unwrap();
    }
    let who = store
        .api_token_user(&sha(10), now + Duration::days(400))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (who.user_id, who.username.as_str(), who.role),
        (admin.id, "admin", Role::Viewer)
    );
    assert_eq!(
        store
            .api_token_user(&sha(11), now)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Operator
    );
    assert!(
        store
            .api_token_user(&sha(11), now + Duration::hours(1))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        store.api_token_user(&sha(12), now).await.unwrap().is_none(),
        "disabled user"
    );
    assert!(
        store.api_token_user(&sha(13), now).await.unwrap().is_none(),
        "unknown"
    );
    // A token never acts above its user's role, whatever it was created with.
    let vic = user("vic", Role::Viewer, false);
    assert!(store.create_user(&vic, now).await.unwrap());
    store
        .create_api_token(&token(14, vic.id, Role::Admin, None))
        .await
        .unwrap();
    assert_eq!(
        store
            .api_token_user(&sha(14), now)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Viewer
    );
    assert!(store.revoke_api_token(forever.id, now).await.unwrap());
    assert!(
        !store.revoke_api_token(forever.id, now).await.unwrap(),
        "already revoked"
    );
    assert!(
        !store.revoke_api_token(Uuid::now_v7(), now).await.unwrap(),
        "unknown"
    );
    assert!(
        store.api_token_user(&sha(10), now).await.unwrap().is_none(),
        "revoked"
    );
}

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

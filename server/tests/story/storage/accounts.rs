//! [`AccountStore`]: users, sessions and API tokens.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use vantage_server::store::*;

use super::{open, sha, t0, user};
use crate::both;
use crate::support::server::Backend;

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
        .create_session(&session(sha(1), admin.id, now))
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
        .create_session(&session(sha(3), carol.id, now))
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
        parent_id: None,
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

both!(users_and_api_tokens_are_listed);
async fn users_and_api_tokens_are_listed(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let (store, now) = (&db.store, t0());
    let (bob, amy) = (
        user("bob", Role::Viewer, true),
        user("amy", Role::Admin, false),
    );
    for u in [&bob, &amy] {
        assert!(store.create_user(u, now).await.unwrap());
    }
    let users: Vec<_> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.username, u.role, u.disabled))
        .collect();
    assert_eq!(
        users,
        [
            (amy.id, "amy".to_owned(), Role::Admin, false),
            (bob.id, "bob".to_owned(), Role::Viewer, true)
        ],
        "by name"
    );

    let token = |n: u8, user_id: Uuid, minutes: i64| NewApiToken {
        id: Uuid::now_v7(),
        user_id,
        name: format!("token {n}"),
        token_sha: sha(n),
        role: Role::Viewer,
        created_at: now + Duration::minutes(minutes),
        expires_at: Some(now + Duration::days(1)),
        parent_id: None,
    };
    let (old, new, bobs) = (
        token(1, amy.id, 0),
        token(2, amy.id, 2),
        token(3, bob.id, 1),
    );
    for t in [&old, &new, &bobs] {
        store.create_api_token(t).await.unwrap();
    }
    let used = now + Duration::minutes(5);
    assert!(store.api_token_user(&sha(1), used).await.unwrap().is_some());
    // A request that started earlier (another replica, a slow one) never
    // moves the last use back.
    assert!(
        store
            .api_token_user(&sha(1), used - Duration::minutes(1))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.revoke_api_token(new.id, used).await.unwrap());

    let all = store.api_tokens(None).await.unwrap();
    let ids: Vec<Uuid> = all.iter().map(|t| t.id).collect();
    assert_eq!(ids, [new.id, bobs.id, old.id], "newest first");
    let listed = &all[2];
    assert_eq!(
        (listed.username.as_str(), listed.name.as_str(), listed.role),
        ("amy", "token 1", Role::Viewer)
    );
    assert_eq!(
        (
            listed.created_at,
            listed.expires_at,
            listed.last_used_at,
            listed.revoked_at
        ),
        (now, old.expires_at, Some(used), None),
        "last use stamped"
    );
    assert_eq!((all[0].last_used_at, all[0].revoked_at), (None, Some(used)));
    let amys: Vec<Uuid> = store
        .api_tokens(Some(amy.id))
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(amys, [new.id, old.id], "one user's");
    assert!(
        store
            .api_tokens(Some(Uuid::now_v7()))
            .await
            .unwrap()
            .is_empty()
    );
}

fn session(token_sha: TokenHash, user_id: uuid::Uuid, now: DateTime<Utc>) -> NewSession {
    NewSession {
        token_sha,
        user_id,
        created_at: now,
        expires_at: now + Duration::hours(1),
        source: "192.0.2.7".into(),
        user_agent: "story".into(),
    }
}

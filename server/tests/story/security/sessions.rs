//! A user sees where their sessions were opened and ends one without the
//! others; they revoke their own API tokens but nobody else's; an admin
//! deletes a user, whose sessions and tokens end at once.

use hyper::Method;
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::both;
use crate::support::http::{Client, loopback};
use crate::support::server::{Backend, TestServer, start};

const PASSWORD: &str = "kims-long-password";

/// Logs `name` in from `127.0.0.<last>` with a browser's name.
async fn login_from(server: &TestServer, name: &str, last: u8, browser: &str) -> Client {
    let body = json!({"username": name, "password": PASSWORD});
    let reply = server
        .client()
        .from(loopback(last))
        .send(
            Method::POST,
            "/api/v1/auth/login",
            &[
                ("content-type", "application/json"),
                ("user-agent", browser),
            ],
            Bytes::from(body.to_string()),
        )
        .await
        .expect(200)
        .json();
    server
        .client()
        .from(loopback(last))
        .with_token(reply["token"].as_str().unwrap())
}

async fn create(server: &TestServer, name: &str, role: &str) -> String {
    server
        .admin
        .post(
            "/api/v1/users",
            &json!({"username": name, "password": PASSWORD, "role": role}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn sessions(list: &Value) -> &Vec<Value> {
    list.as_array().unwrap()
}

both!(a_user_ends_one_of_their_sessions_and_the_others_live_on);
async fn a_user_ends_one_of_their_sessions_and_the_others_live_on(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    create(&server, "kim", "viewer").await;
    let laptop = login_from(&server, "kim", 31, "Firefox/140.0").await;
    let phone = login_from(&server, "kim", 32, "Mobile Safari/18").await;

    let list = laptop.get("/api/v1/auth/sessions").await.expect(200).json();
    let list = sessions(&list);
    assert_eq!(list.len(), 2, "{list:#?}");
    let of = |source: &str| {
        list.iter()
            .find(|s| s["source"] == source)
            .unwrap_or_else(|| panic!("a session from {source}: {list:#?}"))
    };
    let (mine, other) = (of("127.0.0.31"), of("127.0.0.32"));
    assert_eq!(
        (mine["current"].as_bool(), mine["user_agent"].as_str()),
        (Some(true), Some("Firefox/140.0"))
    );
    assert_eq!(
        (other["current"].as_bool(), other["user_agent"].as_str()),
        (Some(false), Some("Mobile Safari/18"))
    );
    // The admin's sessions are not in kim's list, nor can kim end one.
    let admin_list = server
        .admin
        .get("/api/v1/auth/sessions")
        .await
        .expect(200)
        .json();
    let admin_session = sessions(&admin_list)[0]["id"].as_str().unwrap().to_owned();
    assert!(list.iter().all(|s| s["id"] != admin_session.as_str()));
    laptop
        .delete(&format!("/api/v1/auth/sessions/{admin_session}"))
        .await
        .problem(404);
    server.admin.get("/api/v1/auth/me").await.expect(200);

    // The phone's session ends; the laptop's lives on.
    let phone_id = other["id"].as_str().unwrap();
    laptop
        .delete(&format!("/api/v1/auth/sessions/{phone_id}"))
        .await
        .expect(204);
    phone.get("/api/v1/auth/me").await.problem(401);
    laptop.get("/api/v1/auth/me").await.expect(200);
    laptop
        .delete(&format!("/api/v1/auth/sessions/{phone_id}"))
        .await
        .problem(404);
    let left = laptop.get("/api/v1/auth/sessions").await.expect(200).json();
    assert_eq!(sessions(&left).len(), 1);
    // Ending the current one logs out.
    let own = mine["id"].as_str().unwrap();
    laptop
        .delete(&format!("/api/v1/auth/sessions/{own}"))
        .await
        .expect(204);
    laptop.get("/api/v1/auth/me").await.problem(401);
}

both!(users_revoke_their_own_tokens_only_and_a_deleted_user_is_gone_at_once);
async fn users_revoke_their_own_tokens_only_and_a_deleted_user_is_gone_at_once(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let kim_id = create(&server, "kim", "admin").await;
    create(&server, "lee", "operator").await;
    let kim = login_from(&server, "kim", 33, "curl/8").await;
    let lee = login_from(&server, "lee", 34, "curl/8").await;
    let token = |client: Client, name: &'static str| async move {
        client
            .post("/api/v1/tokens", &json!({"name": name}))
            .await
            .expect(201)
            .json()
    };
    let lees = token(lee.clone(), "lee-ci").await;
    let lees_other = token(lee.clone(), "lee-cron").await;
    let kims = token(kim.clone(), "kim-ci").await;
    let lee_ci = server.client().with_token(lees["token"].as_str().unwrap());

    // Lee revokes his own token, and cannot tell kim's from none.
    let lees_id = lees["id"].as_str().unwrap();
    lee.delete(&format!("/api/v1/tokens/{lees_id}"))
        .await
        .expect(204);
    lee_ci.get("/api/v1/auth/me").await.problem(401);
    let kims_id = kims["id"].as_str().unwrap();
    let refused = lee
        .delete(&format!("/api/v1/tokens/{kims_id}"))
        .await
        .problem(404);
    let unknown = lee
        .delete("/api/v1/tokens/0190b4a8-7c3e-7000-8000-000000000000")
        .await
        .problem(404);
    assert_eq!(refused["title"], unknown["title"]);
    let kim_ci = server.client().with_token(kims["token"].as_str().unwrap());
    kim_ci.get("/api/v1/auth/me").await.expect(200);

    // Kim made an enrollment token; deleting kim ends her session, her
    // API token and her enrollment token.
    let enrollment = kim
        .post("/api/v1/enrollment-tokens", &json!({"expires_in": "10m"}))
        .await
        .expect(201)
        .json();
    server
        .admin
        .delete(&format!("/api/v1/users/{kim_id}"))
        .await
        .expect(204);
    kim.get("/api/v1/auth/me").await.problem(401);
    kim_ci.get("/api/v1/auth/me").await.problem(401);
    server
        .client()
        .post(
            "/api/v1/agents/enroll",
            &json!({"token": enrollment["token"], "name": "edge-9", "agent": {
                "hostname": "edge-9", "os": "linux", "arch": "x86_64", "version": "0.1.0",
                "addresses": ["10.1.2.9"]}}),
        )
        .await
        .problem(401);
    let users = server.admin.get("/api/v1/users").await.expect(200).json();
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["username"] != "kim"),
        "{users}"
    );
    // Lee's other token is untouched; the name is free again.
    server
        .client()
        .with_token(lees_other["token"].as_str().unwrap())
        .get("/api/v1/auth/me")
        .await
        .expect(200);
    create(&server, "kim", "viewer").await;
    // The audit log keeps who deleted whom.
    let log = server
        .admin
        .get("/api/v1/audit?target=/api/v1/users/")
        .await
        .expect(200)
        .json();
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "DELETE /api/v1/users/{id}"
                && e["target"] == format!("/api/v1/users/{kim_id}")
                && e["actor"]["name"] == "admin"),
        "{log:#}"
    );

    // Bad requests: oneself, nobody, not an id; a non-admin.
    let me = server.admin.get("/api/v1/auth/me").await.expect(200).json();
    let my_id = me["user_id"].as_str().unwrap();
    server
        .admin
        .delete(&format!("/api/v1/users/{my_id}"))
        .await
        .problem(409);
    server
        .admin
        .delete("/api/v1/users/0190b4a8-7c3e-7000-8000-000000000000")
        .await
        .problem(404);
    server.admin.delete("/api/v1/users/kim").await.problem(400);
    lee.delete(&format!("/api/v1/users/{my_id}"))
        .await
        .problem(403);
}

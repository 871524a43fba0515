//! Admins change users: role, disabled, a new password; a user changes
//! their own password. Disabling or a new password ends sessions at once.

use hyper::Method;
use serde_json::{Value, json};

use crate::both;
use crate::remote::send_json;
use crate::support::fields;
use crate::support::http::Client;
use crate::support::server::{ADMIN_PASSWORD, Backend, TestServer, start};

const FIRST: &str = "first-long-password";
const RESET: &str = "reset-long-password";
const OWN: &str = "own-long-password";

async fn login(server: &TestServer, name: &str, password: &str) -> Option<Client> {
    let reply = server
        .client()
        .post(
            "/api/v1/auth/login",
            &json!({"username": name, "password": password}),
        )
        .await;
    match reply.status.as_u16() {
        200 => Some(
            server
                .client()
                .with_token(reply.json()["token"].as_str().unwrap()),
        ),
        _ => {
            reply.problem(401);
            None
        }
    }
}

async fn patch(admin: &Client, id: &str, body: Value) -> crate::support::http::Reply {
    send_json(admin, Method::PATCH, &format!("/api/v1/users/{id}"), &body).await
}

both!(an_admin_changes_disables_and_resets_a_user_and_sessions_end_at_once);
async fn an_admin_changes_disables_and_resets_a_user_and_sessions_end_at_once(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let id = admin
        .post(
            "/api/v1/users",
            &json!({"username": "ops", "password": FIRST, "role": "admin"}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ops = login(&server, "ops", FIRST).await.expect("ops logs in");
    let token = ops
        .post("/api/v1/tokens", &json!({"name": "ops-ci"}))
        .await
        .expect(201)
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ci = server.client().with_token(&token);
    ops.get("/api/v1/users").await.expect(200);

    // A new role holds for the session already open.
    let changed = patch(admin, &id, json!({"role": "viewer"}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        (changed["role"].as_str(), changed["disabled"].as_bool()),
        (Some("viewer"), Some(false))
    );
    ops.get("/api/v1/users").await.problem(403);

    // Disabled: the session, the token and a new login all stop at once.
    patch(admin, &id, json!({"disabled": true}))
        .await
        .expect(200);
    ops.get("/api/v1/auth/me").await.problem(401);
    ci.get("/api/v1/agents").await.problem(401);
    assert!(login(&server, "ops", FIRST).await.is_none());

    // Enabled with a reset password: the old one is gone.
    let back = patch(admin, &id, json!({"disabled": false, "password": RESET}))
        .await
        .expect(200)
        .json();
    assert_eq!(back["disabled"], false);
    assert!(login(&server, "ops", FIRST).await.is_none());
    let ops = login(&server, "ops", RESET)
        .await
        .expect("the reset password works");

    // Their own password: the current one is checked, every session ends.
    let wrong = send_json(
        &ops,
        Method::PUT,
        "/api/v1/auth/password",
        &json!({"current": FIRST, "new": OWN}),
    )
    .await
    .problem(401);
    assert!(
        wrong["detail"]
            .as_str()
            .unwrap()
            .contains("current password"),
        "{wrong}"
    );
    let short = send_json(
        &ops,
        Method::PUT,
        "/api/v1/auth/password",
        &json!({"current": RESET, "new": "short"}),
    )
    .await
    .problem(422);
    assert_eq!(fields(&short), ["new"]);
    send_json(
        &ops,
        Method::PUT,
        "/api/v1/auth/password",
        &json!({"current": RESET, "new": OWN}),
    )
    .await
    .expect(204);
    ops.get("/api/v1/auth/me").await.problem(401);
    assert!(login(&server, "ops", OWN).await.is_some());

    // Bad requests are named; an admin cannot demote or disable themselves.
    let me = admin.get("/api/v1/auth/me").await.expect(200).json();
    let my_id = me["user_id"].as_str().unwrap();
    patch(admin, my_id, json!({"role": "viewer"}))
        .await
        .problem(409);
    patch(admin, my_id, json!({"disabled": true}))
        .await
        .problem(409);
    let nothing = patch(admin, &id, json!({})).await.problem(422);
    assert_eq!(fields(&nothing), ["body"]);
    let short = patch(admin, &id, json!({"password": "short"}))
        .await
        .problem(422);
    assert_eq!(fields(&short), ["password"]);
    patch(admin, &id, json!({"colour": "red"}))
        .await
        .problem(422);
    patch(
        admin,
        "0190b4a8-7c3e-7000-8000-000000000000",
        json!({"role": "admin"}),
    )
    .await
    .problem(404);
    // The admin's own password still works: nothing above touched it.
    assert!(login(&server, "admin", ADMIN_PASSWORD).await.is_some());
}

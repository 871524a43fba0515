//! Checks defined on the server, on both backends: validation that names
//! every bad field, resolution through yanks and capability approvals,
//! placement and selectors, the long-polled desired state, and the mesh.

use std::time::{Duration, Instant};

use chrono::Utc;
use hyper::Method;
use hyper::body::Bytes;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::enroll;
use crate::both;
use crate::registry::{Packages, publish, send_json, user};
use crate::support::http::{Client, Reply};
use crate::support::server::{Backend, TestServer, start};
use crate::support::{batch, result};

mod desired;

pub(crate) async fn put(client: &Client, spec: &Value) -> Reply {
    let name = spec["name"].as_str().unwrap_or("unnamed");
    send_json(client, Method::PUT, &format!("/api/v1/checks/{name}"), spec).await
}

/// A registry with tcp 1.0.0 and 1.1.0 (both asking for `tcp`).
pub(crate) async fn registry(server: &TestServer) -> Packages {
    let packages = Packages::new();
    packages.register_keys(&server.admin).await;
    for v in ["1.0.0", "1.1.0"] {
        publish(
            &server.admin,
            packages.tcp(v, &["tcp"], &packages.publisher),
        )
        .await
        .expect(201);
    }
    packages
}

pub(crate) fn port_check() -> Value {
    json!({
        "name": "port", "plugin": "tcp", "version": "^1",
        "targets": ["db.example.com:5432"], "interval": "30s",
        "config": {"timeout_ms": 2000}, "grants": ["tcp"],
        "agents": {"groups": ["edge"]},
    })
}

/// A spec with `field` changed (or removed, for `null`).
pub(crate) fn with(mut spec: Value, field: &str, value: Value) -> Value {
    if value.is_null() {
        spec.as_object_mut().unwrap().remove(field);
    } else {
        spec[field] = value;
    }
    spec
}

pub(crate) async fn desired(client: &Client, if_none_match: Option<&str>, wait: u64) -> Reply {
    let etag = if_none_match.map(|v| format!("\"{v}\""));
    let headers: Vec<(&str, &str)> = etag.iter().map(|e| ("if-none-match", e.as_str())).collect();
    client
        .send(
            Method::GET,
            &format!("/api/v1/agents/desired?wait={wait}"),
            &headers,
            Bytes::new(),
        )
        .await
}

pub(crate) async fn place(server: &TestServer, id: Uuid, placement: Value) -> Reply {
    send_json(
        &server.admin,
        Method::PATCH,
        &format!("/api/v1/agents/{id}"),
        &placement,
    )
    .await
}

both!(checks_are_validated_whole);
async fn checks_are_validated_whole(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    registry(&server).await;
    let viewer = user(&server, "vic", "viewer").await;
    put(&viewer, &port_check()).await.problem(403);

    // Each refusal names its field; nothing is stored.
    for (spec, field, says) in [
        (
            with(port_check(), "version", json!("^one")),
            "version",
            "semver",
        ),
        (
            with(port_check(), "version", json!("^2")),
            "version",
            "1.1.0, 1.0.0",
        ),
        (
            with(port_check(), "config", json!({"timeout_ms": 0})),
            "config",
            "config.timeout_ms",
        ),
        (
            with(port_check(), "config", json!({"colour": "red"})),
            "config",
            "colour",
        ),
        (
            with(port_check(), "plugin", json!("teleport")),
            "plugin",
            "unknown plugin",
        ),
        (
            with(port_check(), "grants", json!(["tcp", "dns"])),
            "grants",
            "dns",
        ),
        (
            with(port_check(), "mesh", json!({"group": "core"})),
            "targets",
            "exactly one",
        ),
        (
            with(port_check(), "targets", Value::Null),
            "targets",
            "exactly one",
        ),
        (with(port_check(), "targets", json!([""])), "targets[0]", ""),
        (
            with(port_check(), "interval", json!("10ms")),
            "interval",
            "100ms",
        ),
        (
            with(port_check(), "timeout", json!("1m")),
            "timeout",
            "interval",
        ),
        (
            with(port_check(), "allow", json!(["10.0.0.0/99"])),
            "allow[0]",
            "prefix length outside 0–32",
        ),
        (
            with(
                port_check(),
                "allow",
                json!(["/var/log/*.log", "/var/log/../shadow"]),
            ),
            "allow[1]",
            "`.` or `..` component",
        ),
        (
            with(port_check(), "agents", json!({"groups": ["no spaces"]})),
            "agents.groups[0]",
            "",
        ),
    ] {
        let p = put(admin, &spec).await.problem(422);
        let named = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("no error on {field}: {p}"));
        assert!(named["reason"].as_str().unwrap().contains(says), "{p}");
    }
    let p = send_json(
        admin,
        Method::PUT,
        "/api/v1/checks/other-name",
        &port_check(),
    )
    .await
    .problem(422);
    assert_eq!(p["errors"][0]["field"], "name", "{p}");
    let mesh = json!({"name": "m", "plugin": "tcp", "mesh": {"group": "core", "max_peers": 0},
        "interval": "1s", "grants": [], "agents": {"groups": ["edge"]}});
    let p = put(admin, &mesh).await.problem(422);
    let fields = crate::support::fields(&p);
    assert_eq!(fields, ["mesh.max_peers", "agents"], "{p}");
    assert_eq!(
        admin.get("/api/v1/checks").await.expect(200).json(),
        json!([])
    );
    admin.get("/api/v1/checks/port").await.problem(404);
    admin.delete("/api/v1/checks/port").await.problem(404);
}

both!(resolution_follows_yanks_and_approvals);
async fn resolution_follows_yanks_and_approvals(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let packages = registry(&server).await;
    let (_agent, agent_id) = enroll(&server, "edge-1").await;
    place(&server, agent_id, json!({"groups": ["edge"]}))
        .await
        .expect(200);
    let pinned = || async {
        let d = admin
            .get(&format!("/api/v1/agents/{agent_id}/desired"))
            .await
            .expect(200)
            .json();
        d["checks"][0]["plugin"]["version"].clone()
    };

    let created = put(admin, &port_check()).await.expect(201).json();
    assert_eq!(created["resolved"]["version"], "1.1.0", "{created}");
    assert_eq!(created["reviewed"], json!(["tcp"]));
    let again = put(admin, &port_check()).await.expect(200).json();
    assert_eq!(
        again["revision"], created["revision"],
        "an identical save changes nothing"
    );
    assert_eq!(pinned().await, "1.1.0");

    // Yanked: back to the newest version `^1` still allows; restored: forward again.
    admin
        .post("/api/v1/registry/plugins/tcp/1.1.0/yank", &json!({}))
        .await
        .expect(200);
    let view = admin.get("/api/v1/checks/port").await.expect(200).json();
    assert_eq!(view["resolved"]["version"], "1.0.0", "{view}");
    assert_eq!(pinned().await, "1.0.0");
    admin
        .delete("/api/v1/registry/plugins/tcp/1.1.0/yank")
        .await
        .expect(200);
    assert_eq!(pinned().await, "1.1.0");

    // A version that asks for more waits for the operator; saving approves it.
    publish(
        admin,
        packages.tcp("1.2.0", &["tcp", "dns"], &packages.publisher),
    )
    .await
    .expect(201);
    let view = admin.get("/api/v1/checks/port").await.expect(200).json();
    assert_eq!(view["resolved"]["version"], "1.1.0", "{view}");
    assert_eq!(
        view["pending_upgrade"],
        json!({"version": "1.2.0", "new_capabilities": ["dns"]})
    );
    assert_eq!(pinned().await, "1.1.0");
    let approved = put(admin, &port_check()).await.expect(200).json();
    assert_eq!(approved["resolved"]["version"], "1.2.0", "{approved}");
    assert_eq!(approved["reviewed"], json!(["tcp", "dns"]));
    assert!(approved.get("pending_upgrade").is_none(), "{approved}");
    assert_eq!(
        approved["revision"].as_i64(),
        created["revision"].as_i64().map(|r| r + 1)
    );
    let d = admin
        .get(&format!("/api/v1/agents/{agent_id}/desired"))
        .await
        .expect(200)
        .json();
    assert_eq!(d["checks"][0]["plugin"]["version"], "1.2.0");
    assert_eq!(
        d["checks"][0]["grants"],
        json!(["tcp"]),
        "reviewed is not granted"
    );

    // Nothing left to run: the check says why and agents drop it.
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        admin
            .post(
                &format!("/api/v1/registry/plugins/tcp/{v}/yank"),
                &json!({}),
            )
            .await
            .expect(200);
    }
    let view = admin.get("/api/v1/checks/port").await.expect(200).json();
    assert!(view.get("resolved").is_none(), "{view}");
    assert!(
        view["unresolved"].as_str().unwrap().contains("yanked"),
        "{view}"
    );
    let d = admin
        .get(&format!("/api/v1/agents/{agent_id}/desired"))
        .await
        .expect(200)
        .json();
    assert_eq!(d["checks"], json!([]));
    let listed = admin.get("/api/v1/checks").await.expect(200).json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    admin.delete("/api/v1/checks/port").await.expect(204);
    admin.get("/api/v1/checks/port").await.problem(404);
}

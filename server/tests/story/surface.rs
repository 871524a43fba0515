//! The API's surface as a whole: every operation the OpenAPI document marks
//! as protected refuses anonymous and wrong-role requests, the document and
//! its viewer are served, and `/metrics` passes `promtool check metrics`.

use std::collections::BTreeSet;

use hyper::Method;
use serde_json::json;
use uuid::Uuid;

use crate::api::enroll;
use crate::registry::user;
use crate::support::http::Client;
use crate::support::required;
use crate::support::server::{Backend, start};

/// Operations anyone may call.
const PUBLIC: &[&str] = &[
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/session",
    "POST /api/v1/agents/enroll",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protected_operation_refuses_anonymous_and_wrong_role_requests() {
    let server = start(Backend::Sqlite).await.expect("sqlite always works");
    let viewer = user(&server, "vic", "viewer").await;
    let operator = user(&server, "otto", "operator").await;
    let (agent, _) = enroll(&server, "walker").await;
    let doc = server
        .client()
        .get("/api/v1/openapi.json")
        .await
        .expect(200)
        .json();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut walked = BTreeSet::new();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            // Generated clients name their types by operation id.
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(
                operation_ids.insert(id.clone()),
                "{name}: operation id `{id}` is taken"
            );
            // Query parameters documented as path ones break generated clients.
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path" {
                    let placeholder = format!("{{{}}}", param["name"].as_str().unwrap());
                    assert!(
                        path.contains(&placeholder),
                        "{name}: parameter {param} is not in the path"
                    );
                }
            }
            let security = op["security"].as_array().cloned().unwrap_or_default();
            if security.is_empty() {
                assert!(
                    PUBLIC.contains(&name.as_str()),
                    "{name} declares no security but is not meant to be public"
                );
                continue;
            }
            let url = path
                .replace("{id}", &Uuid::now_v7().to_string())
                .replace("{key_id}", "0000000000000000")
                .replace("{name}", "nothing")
                .replace("{version}", "1.0.0")
                .replace("{sha256}", &"0".repeat(64));
            assert!(
                !url.contains('{'),
                "{name}: fill its path parameters in this test"
            );
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = serde_json::to_vec(&json!({})).unwrap();
            let call = |c: Client| {
                let (m, url, body) = (m.clone(), url.clone(), body.clone());
                async move {
                    c.send(
                        m,
                        &url,
                        &[("content-type", "application/json")],
                        body.into(),
                    )
                    .await
                }
            };
            let anon = call(server.client()).await;
            assert_eq!(anon.status, 401, "{name} anonymous: {:?}", anon.body);
            let requirement = &security[0];
            // An operation that users and agents may both call has no role below.
            let anyone = ["bearer", "agent"]
                .iter()
                .all(|scheme| security.iter().any(|r| r.get(scheme).is_some()));
            if anyone {
                walked.insert(name);
                continue;
            }
            let below = if let Some(scopes) = requirement.get("bearer") {
                match scopes[0].as_str() {
                    Some("viewer") => agent.clone(),
                    Some("operator") => viewer.clone(),
                    Some("admin") => operator.clone(),
                    other => panic!("{name}: unknown role scope {other:?}"),
                }
            } else if requirement.get("agent").is_some() {
                viewer.clone()
            } else {
                panic!("{name}: unknown security scheme {requirement}");
            };
            let wrong = call(below).await;
            assert_eq!(
                wrong.status, 403,
                "{name} with the role below: {:?}",
                wrong.body
            );
            assert_eq!(wrong.content_type(), "application/problem+json");
            walked.insert(name);
        }
    }
    assert!(walked.len() >= 15, "walked only {walked:?}");
    for public in PUBLIC {
        let (m, p) = public.split_once(' ').unwrap();
        assert!(
            doc["paths"][p][m.to_lowercase()].is_object(),
            "{public} is missing from the document"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_viewer_is_served_from_embedded_assets() {
    let server = start(Backend::Sqlite).await.unwrap();
    let page = server.client().get("/api/docs/").await.expect(200);
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert!(html.contains("swagger"), "{html}");
    for asset in ["swagger-ui-bundle.js", "swagger-initializer.js"] {
        let r = server
            .client()
            .get(&format!("/api/docs/{asset}"))
            .await
            .expect(200);
        let text = String::from_utf8_lossy(&r.body).to_string();
        assert!(!text.contains("validator.swagger.io") || asset != "swagger-initializer.js");
    }
    let init = server
        .client()
        .get("/api/docs/swagger-initializer.js")
        .await
        .expect(200);
    let init = String::from_utf8_lossy(&init.body).to_string();
    assert!(
        init.contains("/api/v1/openapi.json") && init.contains("\"validatorUrl\": \"none\"")
            || init.contains("validatorUrl\":\"none\""),
        "{init}"
    );
    assert!(
        !html.contains("https://"),
        "the viewer page loads nothing from the network: {html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool() {
    let Some(promtool) = which("promtool") else {
        assert!(
            !required(),
            "promtool is missing (Debian package `prometheus`; `cargo xtask test` installs it)"
        );
        eprintln!("skipped: promtool is not installed");
        return;
    };
    let server = start(Backend::Sqlite).await.unwrap();
    let (agent, _) = enroll(&server, "metered").await;
    let now = chrono::Utc::now();
    agent
        .post(
            "/api/v1/ingest",
            &crate::support::batch(vec![crate::support::result(
                "metered",
                "c",
                now,
                &[0.001, 0.002],
            )]),
        )
        .await
        .expect(200);
    server.client().get("/api/v1/nope").await.expect(404);
    let text = server.client().get("/metrics").await.expect(200);
    assert!(text.content_type().starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(text.body.to_vec()).unwrap();
    for want in [
        "vantage_ingest_samples_total 5", // two RTTs, their average, the loss, and check_up
        "vantage_ingest_batches_total{outcome=\"stored\"} 1",
        "vantage_http_request_duration_seconds_bucket{route=\"/api/v1/ingest\",method=\"POST\",le=\"+Inf\"} 1",
        "vantage_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} 1",
        "vantage_db_pool_connections{state=\"idle\"}",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A configured metrics token closes the endpoint.
    let config = vantage_server::config::ServerConfig {
        metrics_token: Some("m-secret".into()),
        ..Default::default()
    };
    let closed = crate::support::server::start_with(Backend::Sqlite, config)
        .await
        .unwrap();
    closed.client().get("/metrics").await.problem(401);
    closed
        .client()
        .with_token("m-secret")
        .get("/metrics")
        .await
        .expect(200);
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(tool))
        .find(|p| p.is_file())
}

//! Bad SLAs and report queries: each a 422 naming the field.

use hyper::Method;
use serde_json::{Value, json};

use super::{config, put};
use crate::both;
use crate::registry::send_json;
use crate::support::server::{Backend, start_with};

both!(bad_slas_and_report_queries_get_422s_naming_the_field);
async fn bad_slas_and_report_queries_get_422s_naming_the_field(backend: Backend) {
    // A Chromium that is not there: PDF reports cannot be made.
    let config = vantage_server::config::ServerConfig {
        chromium: Some("/nonexistent/chromium".into()),
        ..config()
    };
    let Some(server) = start_with(backend, config).await else {
        return;
    };
    let admin = &server.admin;
    let bad = json!({"name": "edge", "objective": 100.5, "period": "month", "timezone": "Mars/Olympus",
        "exclude_windows": ["nowhere"]});
    let problem = send_json(admin, Method::PUT, "/api/v1/slas/edge", &bad)
        .await
        .expect(422)
        .json();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["objective", "timezone", "exclude_windows[0]"]);
    // Counting by alerts names rules that exist; counting by runs none.
    for (sla, want) in [
        (
            json!({"name": "edge", "objective": 99.9, "period": "month", "count_by": "alerts"}),
            "rules",
        ),
        (
            json!({"name": "edge", "objective": 99.9, "period": "month", "count_by": "alerts",
                "rules": ["no-such-rule"]}),
            "rules[0]",
        ),
        (
            json!({"name": "edge", "objective": 99.9, "period": "month", "rules": ["web-down"]}),
            "rules",
        ),
        (
            json!({"name": "edge", "objective": 99.9, "period": "month", "count_by": "time"}),
            "",
        ),
    ] {
        let problem = send_json(admin, Method::PUT, "/api/v1/slas/edge", &sla)
            .await
            .expect(422)
            .json();
        if !want.is_empty() {
            assert_eq!(problem["errors"][0]["field"], want, "{sla}: {problem}");
        }
    }
    let unknown_period = json!({"name": "edge", "objective": 99.9, "period": "fortnight"});
    send_json(admin, Method::PUT, "/api/v1/slas/edge", &unknown_period)
        .await
        .expect(422);
    let good = json!({"name": "edge", "objective": 99.9, "period": "month"});
    put(admin, "/api/v1/slas/edge", &good).await;
    let unchanged = send_json(admin, Method::PUT, "/api/v1/slas/edge", &good)
        .await
        .expect(200)
        .json();
    assert_eq!(unchanged["revision"], 1);

    for (query, field) in [
        ("sla=nope", "sla"),
        ("sla=edge&period=2026-W45", "period"),
        ("sla=edge&period=2026-13", "period"),
        (
            "sla=edge&from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
            "to",
        ),
        (
            "sla=edge&from=2025-01-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            "to",
        ),
        ("sla=edge&from=2026-11-01T00:00:00Z", "to"),
        (
            "sla=edge&period=2026-11&from=2026-11-01T00:00:00Z",
            "period",
        ),
        ("sla=edge&format=docx", "format"),
        ("sla=edge&format=pdf", "format"),
    ] {
        let reply = admin.get(&format!("/api/v1/reports?{query}")).await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body_text());
        let problem = reply.json();
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    // With no runs at all, a report says so rather than inventing 100 %.
    let empty = admin
        .get("/api/v1/reports?sla=edge&period=2026-11")
        .await
        .expect(200)
        .json();
    assert_eq!(empty["summary"]["runs"], 0);
    assert_eq!(empty["summary"]["availability"], Value::Null);
    admin.delete("/api/v1/slas/edge").await.expect(204);
    admin.delete("/api/v1/slas/edge").await.expect(404);
}

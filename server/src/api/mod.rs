//! The HTTP API: one module per resource, each with its `router()`; this
//! module joins them and generates the OpenAPI 3.1 document from them.

mod agents;
mod alerts;
mod audit;
mod auth;
mod blobs;
mod checks;
mod desired;
mod events;
mod ingest;
mod keys;
mod latest;
mod live;
mod registry;
mod releases;
mod reported;
mod reports;
mod rollouts;
mod run_samples;
mod series;
mod sessions;
mod statements;
mod system;
mod tokens;
mod users;

use base64::Engine as _;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vantage API",
        description = "Agents, results and configuration of a Vantage monitoring server. Errors are `application/problem+json` (RFC 9457). \
User endpoints take `Authorization: Bearer <token>` (a session from `/api/v1/auth/login` or an API token), or the dashboard's \
session cookie from `POST /api/v1/auth/session` (then a request that changes anything also sends `X-CSRF-Token`); the scopes of the `bearer` \
scheme name the least role an operation needs (viewer < operator < admin). Agent endpoints take the agent's credential (`agent` scheme).",
        license(name = "Apache-2.0")
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "system", description = "Health, readiness and metrics"),
        (name = "auth", description = "Login sessions"),
        (name = "users", description = "Users, API tokens and the audit log"),
        (name = "agents", description = "Enrollment and the agent inventory"),
        (name = "ingest", description = "Results from agents"),
        (name = "results", description = "Latest results, history, statistics and events"),
        (name = "registry", description = "Publisher keys and signed plugin packages"),
        (name = "releases", description = "Signed agent releases"),
        (name = "checks", description = "Checks defined on the server, and the mesh matrix"),
        (name = "alerts", description = "Alert rules, the alerts they raise and their history"),
        (name = "reports", description = "SLAs and the reports made of them")
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |desc: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(desc))
                    .build(),
            )
        };
        components.add_security_scheme(
            "bearer",
            bearer(
                "A session token (`vs_…`) or an API token (`vt_…`). Scopes name the least role.",
            ),
        );
        components.add_security_scheme(
            "agent",
            bearer("An agent credential (`va_…`) from enrollment."),
        );
    }
}

/// Every API route, with the OpenAPI document describing them.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::router())
        .merge(auth::router())
        .merge(sessions::router())
        .merge(users::router())
        .merge(tokens::router())
        .merge(audit::router())
        .merge(agents::router())
        .merge(ingest::router())
        .merge(latest::router())
        .merge(run_samples::router())
        .merge(events::router())
        .merge(series::router())
        .merge(keys::router())
        .merge(registry::router())
        .merge(statements::router())
        .merge(releases::router())
        .merge(rollouts::router())
        .merge(checks::router())
        .merge(alerts::router())
        .merge(reports::router())
        .merge(desired::router())
        .merge(live::router())
}

/// The generated OpenAPI document (also served at `/api/v1/openapi.json`).
pub fn openapi() -> OpenApiDoc {
    routes().into_openapi()
}

/// Whether `If-None-Match` names the entity tag `tag` (or `*`).
pub(crate) fn none_match(headers: &axum::http::HeaderMap, tag: &str) -> bool {
    headers
        .get_all(axum::http::header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|t| t == tag || t == "*")
}

/// Cursors are opaque to clients: base64url of the sort key.
pub(crate) fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::field("cursor", "is not a cursor this server gave out"))
}

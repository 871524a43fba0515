//! Desired state: what each agent should run, long-polled by the agent
//! (`ETag` = the state's version), and what it reports having applied.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::time::Instant;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use vantage_protocol::config::{ConfigStatus, DesiredState, MAX_DESIRED_WAIT_SECS};

use crate::AppState;
use crate::auth::{AgentCredential, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::remote::{RECHECK, Snapshot};
use crate::store::AgentStore as _;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(own_desired))
        .routes(routes!(agent_desired))
        .routes(routes!(config_status))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct Wait {
    /// With `If-None-Match`: seconds to wait for a change (at most 60).
    wait: Option<u64>,
}

fn with_etag(status: StatusCode, version: &str, body: Option<DesiredState>) -> Response {
    let etag =
        HeaderValue::from_str(&format!("\"{version}\"")).expect("hex is a valid header value");
    let mut response = match body {
        Some(state) => (status, axum::Json(state)).into_response(),
        None => status.into_response(),
    };
    response.headers_mut().insert(header::ETAG, etag);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The calling agent's desired state. With `If-None-Match` naming the
/// current version: 304 at once, or after waiting up to `wait` seconds for
/// a change (200 as soon as there is one).
#[utoipa::path(get, path = "/api/v1/agents/desired", tag = "agents", security(("agent" = [])), params(Wait), responses(
    (status = 200, body = DesiredState, headers(("ETag" = String, description = "the state's version, quoted"))),
    (status = 304, description = "unchanged", headers(("ETag" = String))),
    (status = 401, description = "unknown or revoked agent", content_type = "application/problem+json")
))]
async fn own_desired(
    State(state): State<AppState>,
    AgentCredential(agent): AgentCredential,
    headers: HeaderMap,
    QueryParams(q): QueryParams<Wait>,
) -> ApiResult<Response> {
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_DESIRED_WAIT_SECS));
    let deadline = Instant::now() + wait;
    // Subscribed before the first look, so no change slips between.
    let mut changed = state.changes.subscribe();
    loop {
        let snapshot = state.changes.snapshot(&state.store, &state.secrets).await?;
        let desired = snapshot
            .desired(agent.id)
            .ok_or(ApiError::Unauthorized("unknown agent"))?;
        if !super::none_match(&headers, &desired.version) {
            let version = desired.version.clone();
            return Ok(with_etag(StatusCode::OK, &version, Some(desired)));
        }
        let now = Instant::now();
        if now >= deadline || state.changes.closing() {
            return Ok(with_etag(StatusCode::NOT_MODIFIED, &desired.version, None));
        }
        let nap = (deadline - now).min(RECHECK);
        tokio::select! {
            woke = changed.changed() => if woke.is_err() {
                tokio::time::sleep(nap).await;
            },
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

/// What an agent is told to run now; secrets in its checks' configuration
/// are `[redacted]`.
#[utoipa::path(get, path = "/api/v1/agents/{id}/desired", tag = "agents", security(("bearer" = ["viewer"])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = DesiredState),
    (status = 404, description = "no such agent", content_type = "application/problem+json")
))]
async fn agent_desired(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<axum::Json<DesiredState>> {
    Snapshot::load(&state.store, &state.secrets)
        .await?
        .shown(id)
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("no agent {id}")))
}

/// The agent reports what it made of its desired state.
#[utoipa::path(post, path = "/api/v1/agents/config-status", tag = "agents", security(("agent" = [])), request_body = ConfigStatus, responses(
    (status = 204, description = "noted"),
    (status = 401, description = "unknown or revoked agent", content_type = "application/problem+json")
))]
async fn config_status(
    State(state): State<AppState>,
    AgentCredential(agent): AgentCredential,
    JsonBody(status): JsonBody<ConfigStatus>,
) -> ApiResult<StatusCode> {
    if status.checks.len() > 10_000 {
        return Err(ApiError::field("checks", "at most 10000"));
    }
    state.store.put_config_status(agent.id, &status).await?;
    Ok(StatusCode::NO_CONTENT)
}

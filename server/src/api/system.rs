//! `/healthz`, `/readyz` and `/metrics`: public, for load balancers and Prometheus.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::Digest as _;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::store::{StorageMode, SystemStore as _};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<StorageMode>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        storage: None,
    })
}

/// The database answers and its migrations are applied.
#[utoipa::path(get, path = "/readyz", tag = "system", responses(
    (status = 200, body = Health),
    (status = 503, description = "the database does not answer", content_type = "application/problem+json")
))]
async fn readyz(State(state): State<AppState>) -> Result<axum::Json<Health>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(axum::Json(Health {
            status: "ready",
            storage: Some(state.store.mode()),
        })),
        Err(e) => {
            tracing::warn!(error = %e, "The database does not answer: not ready.");
            Err(ApiError::Unavailable {
                retry_after_secs: 5,
            })
        }
    }
}

/// The server's metrics in the Prometheus text format. Public unless
/// `metrics_token` is configured, then it asks for that bearer token.
#[utoipa::path(get, path = "/metrics", tag = "system", responses(
    (status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain"),
    (status = 401, description = "a metrics token is configured and was not given", content_type = "application/problem+json")
))]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(want) = &state.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Compare digests, so that the comparison's time tells nothing.
        let digest = |t: &str| sha2::Sha256::digest(t.as_bytes());
        if given.map(digest) != Some(digest(want)) {
            return Err(ApiError::Unauthorized(
                "this server's metrics need its metrics token",
            ));
        }
    }
    let body = state.telemetry.render(state.store.pool_stats());
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

//! Your own login sessions: where and when each was opened, and ending
//! one (a lost laptop, a shared browser) without ending the others.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Viewer, token_hash, user_credential};
use crate::error::{ApiError, ApiResult, PathParams};
use crate::store::{AccountStore as _, SessionRow, TokenHash};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
}

/// Bytes of a session's hash that name it: enough never to collide, and
/// not the whole key the server looks sessions up by.
const ID_BYTES: usize = 12;

fn session_id(sha: &TokenHash) -> String {
    hex::encode(&sha[..ID_BYTES])
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SessionView {
    /// Names the session for `DELETE /api/v1/auth/sessions/{id}`.
    id: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// The address it logged in from.
    source: String,
    /// The browser or client that logged in.
    user_agent: String,
    /// Whether this request came with it.
    current: bool,
}

/// The hash of the session this request came with, if it came with one.
fn this_session(headers: &HeaderMap, method: &Method) -> Option<TokenHash> {
    user_credential(headers, method).ok().map(token_hash)
}

fn view(row: SessionRow, current: Option<&TokenHash>) -> SessionView {
    SessionView {
        id: session_id(&row.token_sha),
        current: current == Some(&row.token_sha),
        created_at: row.created_at,
        expires_at: row.expires_at,
        source: row.source,
        user_agent: row.user_agent,
    }
}

/// Your live login sessions, newest first.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = Vec<SessionView>)
))]
async fn list_sessions(
    State(state): State<AppState>,
    who: Viewer,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<axum::Json<Vec<SessionView>>> {
    let current = this_session(&headers, &method);
    let rows = state.store.sessions(who.0.user_id, Utc::now()).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|r| view(r, current.as_ref()))
            .collect(),
    ))
}

/// Ends one of your sessions at once (its open live streams close within
/// seconds). Ending the one this request came with logs you out.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = ["viewer"])), params(("id" = String, Path)), responses(
    (status = 204, description = "ended"),
    (status = 404, description = "no live session of yours with that id", content_type = "application/problem+json")
))]
async fn end_session(
    State(state): State<AppState>,
    who: Viewer,
    PathParams(id): PathParams<String>,
) -> ApiResult<StatusCode> {
    let rows = state.store.sessions(who.0.user_id, Utc::now()).await?;
    let row = rows
        .iter()
        .find(|r| session_id(&r.token_sha) == id)
        .ok_or_else(|| ApiError::NotFound(format!("no live session {id} of yours")))?;
    state.store.delete_session(&row.token_sha).await?;
    Ok(StatusCode::NO_CONTENT)
}

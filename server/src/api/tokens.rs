//! API tokens: a user's own, created with at most their role, living no
//! longer than the server and their parent allow, revoked down the line.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{TokenKind, Viewer, new_token};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::store::{AccountStore as _, ApiTokenSummary, NewApiToken, Role};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
}

/// API tokens, newest first, without their secrets: your own, or every
/// user's for an admin.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "users", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = Vec<ApiTokenSummary>)
))]
async fn list_tokens(
    State(state): State<AppState>,
    who: Viewer,
) -> ApiResult<axum::Json<Vec<ApiTokenSummary>>> {
    let whose = (who.0.role != Role::Admin).then_some(who.0.user_id);
    Ok(axum::Json(state.store.api_tokens(whose).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    name: String,
    /// At most your own role; your role when absent.
    #[serde(default)]
    role: Option<Role>,
    /// Lifetime such as `30d`. When absent, the token does not expire,
    /// unless the server has a `token_max_lifetime` or the request comes
    /// with an API token that expires: a token never outlives either.
    #[serde(default)]
    expires_in: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TokenCreated {
    id: Uuid,
    /// The bearer token (`vt_…`). Shown once.
    token: String,
    role: Role,
    expires_at: Option<chrono::DateTime<Utc>>,
}

/// Creates an API token for automation, acting as you with at most your role.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "users", security(("bearer" = ["viewer"])), request_body = NewToken, responses(
    (status = 201, body = TokenCreated),
    (status = 403, description = "the role asked is above yours", content_type = "application/problem+json")
))]
async fn create_token(
    State(state): State<AppState>,
    who: Viewer,
    JsonBody(body): JsonBody<NewToken>,
) -> ApiResult<(StatusCode, axum::Json<TokenCreated>)> {
    let role = body.role.unwrap_or(who.0.role);
    if role > who.0.role {
        return Err(ApiError::Forbidden(
            "a token cannot have a role above its creator's",
        ));
    }
    if body.name.is_empty() || body.name.len() > 128 {
        return Err(ApiError::field("name", "must be 1–128 bytes"));
    }
    // Microseconds, as the database keeps times: a child's expiry is then
    // exactly its parent's.
    let now = Utc::now().trunc_subsecs(6);
    let asked = match &body.expires_in {
        None => None,
        Some(s) => {
            let d = humantime::parse_duration(s)
                .map_err(|e| ApiError::field("expires_in", e.to_string()))?;
            Some(
                now + chrono::Duration::from_std(d)
                    .map_err(|_| ApiError::field("expires_in", "is too long"))?,
            )
        }
    };
    let parent = who.0.token.as_ref();
    let expires_at = token_expiry(
        asked,
        state.config.token_max_lifetime,
        parent.and_then(|p| p.expires_at),
        now,
    )?;
    let (token, hash) = new_token(TokenKind::Api);
    let id = Uuid::now_v7();
    state
        .store
        .create_api_token(&NewApiToken {
            id,
            user_id: who.0.user_id,
            name: body.name,
            token_sha: hash,
            role,
            created_at: now,
            expires_at,
            parent_id: parent.map(|p| p.id),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(TokenCreated {
            id,
            token,
            role,
            expires_at,
        }),
    ))
}

/// When a new token expires: as asked, but never later than
/// `token_max_lifetime` from now nor than the token creating it (a token
/// cannot outlive its parent); absent, the earliest of those, if any.
fn token_expiry(
    asked: Option<chrono::DateTime<Utc>>,
    max_lifetime: Option<std::time::Duration>,
    parent: Option<chrono::DateTime<Utc>>,
    now: chrono::DateTime<Utc>,
) -> ApiResult<Option<chrono::DateTime<Utc>>> {
    let max = max_lifetime.and_then(|d| chrono::Duration::from_std(d).ok().map(|d| now + d));
    if let (Some(asked), Some(max)) = (asked, max)
        && asked > max
    {
        return Err(ApiError::field(
            "expires_in",
            format!("is longer than this server's token_max_lifetime (until {max})"),
        ));
    }
    if let (Some(asked), Some(parent)) = (asked, parent)
        && asked > parent
    {
        return Err(ApiError::field(
            "expires_in",
            format!("would outlive the token creating it (it expires at {parent})"),
        ));
    }
    Ok([asked, max, parent].into_iter().flatten().min())
}

/// Revokes an API token and every token it created, down the line: one
/// of your own, or anyone's for an admin.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "users", security(("bearer" = ["viewer"])), params(("id" = Uuid, Path)), responses(
    (status = 204, description = "revoked"),
    (status = 404, description = "no such live token of yours", content_type = "application/problem+json")
))]
async fn revoke_token(
    State(state): State<AppState>,
    who: Viewer,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    let gone = || ApiError::NotFound(format!("no live API token {id} of yours"));
    if who.0.role != Role::Admin {
        // Another user's token is answered as if it did not exist.
        let own = state.store.api_tokens(Some(who.0.user_id)).await?;
        if !own.iter().any(|t| t.id == id) {
            return Err(gone());
        }
    }
    if state.store.revoke_api_token(id, Utc::now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(gone())
    }
}

//! Login sessions, users and API tokens.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use chrono::{SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::audit::Audit;
use crate::auth::{
    Admin, SESSION_COOKIE, TokenKind, Viewer, bearer, csrf_token, new_token, token_hash,
    user_credential, verify_password,
};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::store::{AccountStore as _, Actor, ActorKind, ApiTokenSummary, NewApiToken, Role, User};
use crate::throttle::ClientAddr;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(open_session, session, close_session))
        .routes(routes!(me))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Session {
    /// A bearer token (`vs_…`) for this session.
    token: String,
    expires_at: chrono::DateTime<Utc>,
    username: String,
    role: Role,
}

/// Exchanges a username and password for a session token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Login, responses(
    (status = 200, body = Session),
    (status = 401, description = "wrong username or password", content_type = "application/problem+json"),
    (status = 429, description = "too many failed logins from this address or for this user", content_type = "application/problem+json"),
    (status = 503, description = "every password check is busy", content_type = "application/problem+json")
))]
async fn login(
    State(state): State<AppState>,
    from: ClientAddr,
    audit: Audit,
    JsonBody(body): JsonBody<Login>,
) -> ApiResult<axum::Json<Session>> {
    let (token, expires_at, user) = start_session(&state, from, &audit, body).await?;
    Ok(axum::Json(Session {
        token,
        expires_at,
        username: user.username,
        role: user.role,
    }))
}

/// Checks a username and password and stores a new session for them.
/// Failures count against the client's address and the user name; past a
/// few, the login is answered 429 without checking the password. The
/// audit log keeps every login checked, failed ones too.
async fn start_session(
    state: &AppState,
    from: ClientAddr,
    audit: &Audit,
    body: Login,
) -> ApiResult<(String, chrono::DateTime<Utc>, User)> {
    state.logins.check(from, &body.username)?;
    let user = state.store.user_by_name(&body.username).await?;
    // An unknown name costs the same as a wrong password.
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| state.dummy_hash.to_string());
    let ok = verify_password(body.password, phc).await?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => {
            audit.0.actor(Actor {
                name: body.username.clone(),
                ..Actor::anonymous()
            });
            audit.0.always();
            state.logins.failed(from, &body.username);
            return Err(ApiError::Unauthorized("wrong username or password"));
        }
    };
    state.logins.succeeded(from);
    audit.0.actor(Actor {
        kind: ActorKind::User,
        name: user.username.clone(),
        id: Some(user.id),
        token_id: None,
    });
    let (token, hash) = new_token(TokenKind::Session);
    let now = Utc::now();
    let expires_at = now
        + chrono::Duration::from_std(state.config.session_ttl)
            .unwrap_or(chrono::Duration::hours(12));
    state
        .store
        .create_session(&hash, user.id, now, expires_at)
        .await?;
    Ok((token, expires_at, user))
}

/// The dashboard's view of its session. The session token itself stays in
/// the `HttpOnly` cookie, out of the page's reach.
#[derive(Serialize, ToSchema)]
pub(crate) struct BrowserSession {
    username: String,
    role: Role,
    /// Send as `X-CSRF-Token` with every request that changes anything.
    csrf_token: String,
    /// An agent not heard from for this long is offline.
    offline_after_seconds: u64,
}

fn browser_session(state: &AppState, token: &str, username: String, role: Role) -> BrowserSession {
    BrowserSession {
        username,
        role,
        csrf_token: csrf_token(token),
        offline_after_seconds: state.config.offline_after.as_secs(),
    }
}

fn session_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("a session token is a valid header value")
}

/// Logs the dashboard in: the session travels in an `HttpOnly`,
/// `SameSite=Strict` cookie.
#[utoipa::path(post, path = "/api/v1/auth/session", tag = "auth", request_body = Login, responses(
    (status = 200, body = BrowserSession, headers(("set-cookie" = String, description = "the session cookie"))),
    (status = 401, description = "wrong username or password", content_type = "application/problem+json"),
    (status = 429, description = "too many failed logins from this address or for this user", content_type = "application/problem+json"),
    (status = 503, description = "every password check is busy", content_type = "application/problem+json")
))]
async fn open_session(
    State(state): State<AppState>,
    from: ClientAddr,
    audit: Audit,
    JsonBody(body): JsonBody<Login>,
) -> ApiResult<impl IntoResponse> {
    let (token, expires_at, user) = start_session(&state, from, &audit, body).await?;
    let max_age = (expires_at - Utc::now()).num_seconds().max(0) as u64;
    let cookie = session_cookie(&state, &token, max_age);
    let body = browser_session(&state, &token, user.username, user.role);
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(body)))
}

/// The session of this request, with its anti-forgery token.
#[utoipa::path(get, path = "/api/v1/auth/session", tag = "auth", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = BrowserSession),
    (status = 401, description = "no session, or it expired", content_type = "application/problem+json")
))]
async fn session(
    State(state): State<AppState>,
    who: Viewer,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<axum::Json<BrowserSession>> {
    let token = user_credential(&headers, &method)?;
    Ok(axum::Json(browser_session(
        &state,
        token,
        who.0.username,
        who.0.role,
    )))
}

/// Logs the dashboard out: ends the session and clears its cookie.
#[utoipa::path(delete, path = "/api/v1/auth/session", tag = "auth", security(("bearer" = ["viewer"])), responses(
    (status = 204, description = "the session is gone"),
    (status = 403, description = "no or a wrong X-CSRF-Token", content_type = "application/problem+json")
))]
async fn close_session(
    State(state): State<AppState>,
    _who: Viewer,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let token = user_credential(&headers, &method)?;
    state.store.delete_session(&token_hash(token)).await?;
    let cookie = session_cookie(&state, "", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]))
}

/// Ends the session whose token authenticates this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = ["viewer"])), responses(
    (status = 204, description = "the session is gone")
))]
async fn logout(
    State(state): State<AppState>,
    _who: Viewer,
    headers: axum::http::HeaderMap,
) -> ApiResult<StatusCode> {
    if let Some(token) = bearer(&headers) {
        state.store.delete_session(&token_hash(token)).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Me {
    user_id: Uuid,
    username: String,
    role: Role,
}

/// Who this credential belongs to.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = ["viewer"])), responses((status = 200, body = Me)))]
async fn me(who: Viewer) -> axum::Json<Me> {
    let p = who.0;
    axum::Json(Me {
        user_id: p.user_id,
        username: p.username,
        role: p.role,
    })
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

/// Revokes an API token and every token it created, down the line.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "users", security(("bearer" = ["admin"])), params(("id" = Uuid, Path)), responses(
    (status = 204, description = "revoked"),
    (status = 404, description = "no such live token", content_type = "application/problem+json")
))]
async fn revoke_token(
    State(state): State<AppState>,
    _admin: Admin,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    if state.store.revoke_api_token(id, Utc::now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no live API token {id}")))
    }
}

//! Logins: sessions by bearer token or by the dashboard's cookie.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::audit::Audit;
use crate::auth::{
    SESSION_COOKIE, TokenKind, Viewer, bearer, csrf_token, new_token, token_hash, user_credential,
    verify_password,
};
use crate::client::{ClientAddr, Peer};
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::store::{AccountStore as _, Actor, ActorKind, NewSession, Role, User};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(open_session, session, close_session))
        .routes(routes!(me))
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
    peer: Peer,
    headers: HeaderMap,
    audit: Audit,
    JsonBody(body): JsonBody<Login>,
) -> ApiResult<axum::Json<Session>> {
    let client = Client::of(from, peer, &headers);
    let (token, expires_at, user) = start_session(&state, &client, &audit, body).await?;
    Ok(axum::Json(Session {
        token,
        expires_at,
        username: user.username,
        role: user.role,
    }))
}

/// Who is logging in: the throttles' key, the exact address and the
/// browser, which the user's list of sessions shows.
struct Client {
    from: ClientAddr,
    peer: Peer,
    user_agent: String,
}

impl Client {
    fn of(from: ClientAddr, peer: Peer, headers: &HeaderMap) -> Client {
        let agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut end = agent.len().min(256);
        while !agent.is_char_boundary(end) {
            end -= 1;
        }
        Client {
            from,
            peer,
            user_agent: agent[..end].to_owned(),
        }
    }
}

/// Checks a username and password and stores a new session for them.
/// Failures count against the client's address and the user name; past a
/// few, the login is answered 429 without checking the password. The
/// audit log keeps every login checked, failed ones too.
async fn start_session(
    state: &AppState,
    client: &Client,
    audit: &Audit,
    body: Login,
) -> ApiResult<(String, chrono::DateTime<Utc>, User)> {
    let from = client.from;
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
        .create_session(&NewSession {
            token_sha: hash,
            user_id: user.id,
            created_at: now,
            expires_at,
            source: client.peer.shown(),
            user_agent: client.user_agent.clone(),
        })
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
    peer: Peer,
    headers: HeaderMap,
    audit: Audit,
    JsonBody(body): JsonBody<Login>,
) -> ApiResult<impl IntoResponse> {
    let client = Client::of(from, peer, &headers);
    let (token, expires_at, user) = start_session(&state, &client, &audit, body).await?;
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

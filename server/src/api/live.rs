//! `GET /api/v1/live`: the dashboard's WebSocket of live events.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{TokenKind, Viewer, token_hash, user_credential, user_of};
use crate::error::{ApiError, ApiResult};
use crate::live::LiveEvent;
use crate::store::TokenHash;

/// How often an open socket is pinged and its credential checked again.
const RECHECK: Duration = Duration::from_secs(20);

/// The close code that tells the page its session ended (4000–4999 are the
/// application's own).
pub(crate) const SESSION_ENDED: u16 = 4401;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(live))
}

/// Streams live events as JSON text messages (`LiveEvent`): every stored
/// result and every agent heartbeat. A browser authenticates with its
/// session cookie and must open the socket from this server's own origin.
/// The socket closes with code 4401 when the session ends.
#[utoipa::path(get, path = "/api/v1/live", tag = "results", security(("bearer" = ["viewer"])), responses(
    (status = 101, description = "a WebSocket of `LiveEvent` messages", body = LiveEvent),
    (status = 400, description = "not a WebSocket upgrade", content_type = "application/problem+json"),
    (status = 401, description = "no valid credential", content_type = "application/problem+json"),
    (status = 403, description = "opened from another origin", content_type = "application/problem+json")
))]
async fn live(
    State(state): State<AppState>,
    who: Viewer,
    method: Method,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    same_origin(&headers)?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::BadRequest(format!("this endpoint is a WebSocket: {}", e.body_text()))
    })?;
    let token = user_credential(&headers, &method)?;
    let credential = (TokenKind::of(token), token_hash(token));
    tracing::debug!(user = who.0.username, "A live stream opened.");
    let events = state.live.subscribe();
    Ok(upgrade.on_upgrade(move |socket| stream(state, socket, events, credential)))
}

/// Cross-site WebSocket hijacking: browsers send cookies with a socket
/// opened by any page, so only this server's own pages may open one.
fn same_origin(headers: &HeaderMap) -> ApiResult<()> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Not a browser: the credential alone decides.
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest);
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(ApiError::Forbidden(
            "a live stream may only be opened from this server's own pages",
        )),
    }
}

async fn stream(
    state: AppState,
    mut socket: WebSocket,
    mut events: tokio::sync::broadcast::Receiver<axum::extract::ws::Utf8Bytes>,
    credential: (Option<TokenKind>, TokenHash),
) {
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            event = events.recv() => {
                let text = match event {
                    Ok(text) => text,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "A live stream fell behind: it resynchronises.");
                        LiveEvent::Resync.to_text()
                    }
                    Err(RecvError::Closed) => break,
                };
                if socket.send(Message::Text(text)).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = recheck.tick() => {
                if !still_valid(&state, &credential).await {
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: SESSION_ENDED,
                            reason: "the session ended".into(),
                        })))
                        .await;
                    break;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// Whether the socket's credential is still good (a logout, an expiry or a
/// revoked token ends the stream within [`RECHECK`]).
async fn still_valid(state: &AppState, (kind, hash): &(Option<TokenKind>, TokenHash)) -> bool {
    // A database hiccup does not end a stream; only a definite "no" does.
    !matches!(user_of(state, *kind, hash).await, Ok(None))
}

//! The audit log's recorder: a middleware around every `/api/` request
//! that can change something (POST, PUT, PATCH, DELETE) writes one entry
//! once the handler has answered: who (the credential extractors fill an
//! [`AuditCell`]), when, from where, the route and path, the status, and
//! the request with its secrets redacted. Handlers add what the request
//! does not say (the agent an enrollment created) with [`Audit`].
//!
//! What is recorded: every answer in 2xx (a change was made), every 403
//! (someone tried what their role does not allow), and what a handler
//! marks (a failed login). Agents' own traffic (results, heartbeats) is
//! data, not a change, and is left out; so are validation errors, which
//! change nothing, and the requests the rate limit turned away. The entry
//! is written before the answer leaves, so a client that saw its change
//! succeed finds it in the log.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::client::Peer;
use crate::error::ApiError;
use crate::store::{Actor, ActorKind, AuditEntry, AuditStore as _, UserPrincipal};

/// The largest request body kept in an entry; a bigger one is recorded by
/// its size.
const MAX_RECORDED_BODY: usize = 64 * 1024;

pub use vantage_protocol::secrets::REDACTED;

/// Keys whose values are secrets wherever they appear in a request body,
/// matched case-insensitively as parts of the key (`new_password`).
const SECRET_KEYS: [&str; 9] = [
    "password",
    "secret",
    "token",
    "credential",
    "private",
    "authorization",
    "cookie",
    "api_key",
    "apikey",
];

#[derive(Debug, Default)]
struct Noted {
    actor: Option<Actor>,
    detail: Map<String, Value>,
    always: bool,
}

/// Who a request came from and what its handler adds, shared by the
/// middleware, the credential extractors and the handler.
#[derive(Debug, Clone, Default)]
pub struct AuditCell(Arc<Mutex<Noted>>);

impl AuditCell {
    fn with<T>(&self, f: impl FnOnce(&mut Noted) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Names who made the request.
    pub fn actor(&self, actor: Actor) {
        self.with(|n| n.actor = Some(actor));
    }

    /// Adds `key` to the entry's detail.
    pub fn note(&self, key: &str, value: impl serde::Serialize) {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.with(|n| n.detail.insert(key.to_owned(), value));
    }

    /// Records the request whatever its answer (a failed login).
    pub fn always(&self) {
        self.with(|n| n.always = true);
    }

    /// Names the user behind a session or an API token.
    pub fn user(&self, who: &UserPrincipal) {
        self.actor(Actor {
            kind: match who.token {
                Some(_) => ActorKind::Token,
                None => ActorKind::User,
            },
            name: who.username.clone(),
            id: Some(who.user_id),
            token_id: who.token.as_ref().map(|t| t.id),
        });
    }
}

/// Fills the request's cell, if the recorder runs around it.
pub fn noted_by(parts: &Parts, f: impl FnOnce(&AuditCell)) {
    if let Some(cell) = parts.extensions.get::<AuditCell>() {
        f(cell);
    }
}

/// A handler's way to add to the entry; detached (recording nothing) when
/// the request is not one the recorder watches.
#[derive(Debug, Clone, Default)]
pub struct Audit(pub AuditCell);

impl<S: Send + Sync> FromRequestParts<S> for Audit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Audit(
            parts
                .extensions
                .get::<AuditCell>()
                .cloned()
                .unwrap_or_default(),
        ))
    }
}

fn changes(method: &Method, path: &str) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) && path.starts_with("/api/")
}

/// The middleware (`lib.rs` puts it inside the rate limit).
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !changes(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let cell = AuditCell::default();
    parts.extensions.insert(cell.clone());
    let action = format!(
        "{} {}",
        parts.method,
        parts
            .extensions
            .get::<MatchedPath>()
            .map_or(parts.uri.path(), |m| m.as_str())
    );
    let target = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let source = Peer::of(&parts.extensions).shown();
    let (body, captured) = match capture(&parts.headers, body).await {
        Ok(captured) => captured,
        Err(e) => return e.into_response(),
    };
    let response = next.run(Request::from_parts(parts, body)).await;

    let status = response.status();
    let noted = std::mem::take(&mut *cell.0.lock().unwrap_or_else(|e| e.into_inner()));
    let actor = noted.actor.unwrap_or_else(Actor::anonymous);
    let wanted = noted.always
        || status == StatusCode::FORBIDDEN
        || (status.is_success() && actor.kind != ActorKind::Agent);
    if !wanted {
        return response;
    }
    let mut detail = noted.detail;
    if let Some(query) = query {
        detail.insert("query".into(), Value::String(query));
    }
    // A handler's own account of the request (secrets it knows of
    // redacted) wins over the body as sent.
    if !detail.contains_key("request")
        && let Some(described) = captured.describe()
    {
        detail.insert("request".into(), described);
    }
    let entry = AuditEntry {
        id: 0,
        at: Utc::now(),
        actor,
        source,
        action,
        target,
        status: status.as_u16(),
        detail: Value::Object(detail),
    };
    if let Err(e) = state.store.record_audit(&entry).await {
        state.telemetry.audit_failed();
        tracing::error!(error = %e, action = entry.action, target = entry.target, actor = entry.actor.name,
            "A change could not be written to the audit log.");
    }
    response
}

/// What the recorder kept of a request body: read only when an entry is
/// written, so requests that are not recorded (agents' results) are never
/// parsed twice.
enum Captured {
    None,
    /// JSON up to [`MAX_RECORDED_BODY`], whole.
    Json(axum::body::Bytes, String),
    /// Anything else, by type and size.
    Other(String, Option<usize>),
}

impl Captured {
    /// The body as the entry shows it: JSON with its secrets redacted,
    /// anything else by type and size.
    fn describe(self) -> Option<Value> {
        match self {
            Captured::None => None,
            Captured::Json(bytes, content_type) => {
                Some(match serde_json::from_slice::<Value>(&bytes) {
                    Ok(mut value) => {
                        redact(&mut value);
                        value
                    }
                    Err(_) => json!({"content_type": content_type, "bytes": bytes.len()}),
                })
            }
            Captured::Other(content_type, length) => {
                Some(json!({"content_type": content_type, "bytes": length}))
            }
        }
    }
}

/// The body to hand on, and what the entry may say of it.
async fn capture(headers: &HeaderMap, body: Body) -> Result<(Body, Captured), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let json = content_type.starts_with("application/json")
        || content_type.starts_with("application/merge-patch+json");
    match length {
        Some(0) => Ok((body, Captured::None)),
        Some(n) if json && n <= MAX_RECORDED_BODY => {
            let bytes = axum::body::to_bytes(body, MAX_RECORDED_BODY)
                .await
                .map_err(|e| {
                    ApiError::BadRequest(format!("the request body could not be read: {e}"))
                })?;
            Ok((
                Body::from(bytes.clone()),
                Captured::Json(bytes, content_type),
            ))
        }
        _ if content_type.is_empty() && length.is_none() => Ok((body, Captured::None)),
        _ => Ok((body, Captured::Other(content_type, length))),
    }
}

fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| key.contains(s))
}

/// Replaces every secret-named value, at any depth, with [`REDACTED`].
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if secret_key(key) && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_the_rest_is_kept() {
        let mut v = json!({
            "username": "ann",
            "password": "hunter2hunter2",
            "config": {"headers": {"Authorization": "Bearer x", "Accept": "text/html"},
                       "smtp": [{"New_Password": "p", "host": "mx"}]},
            "token": null
        });
        redact(&mut v);
        assert_eq!(
            v,
            json!({
                "username": "ann",
                "password": REDACTED,
                "config": {"headers": {"Authorization": REDACTED, "Accept": "text/html"},
                           "smtp": [{"New_Password": REDACTED, "host": "mx"}]},
                "token": null
            })
        );
    }

    #[test]
    fn only_api_changes_are_watched() {
        assert!(changes(&Method::PUT, "/api/v1/checks/web"));
        assert!(changes(&Method::DELETE, "/api/v1/tokens/x"));
        assert!(!changes(&Method::GET, "/api/v1/checks"));
        assert!(!changes(&Method::POST, "/login"));
    }
}

//! A per-client rate limit on every `/api/` route (`rate_limit` requests a
//! minute, GCRA: a minute's worth may come in a burst). A request that
//! carries a credential (bearer token or session cookie) counts against
//! that credential, so agents behind one NAT do not share a budget;
//! anything else counts against its address. A credential's request
//! answered 401 is charged to a second budget of its address, and a
//! credential's request is refused while that one is spent: made-up
//! tokens do not buy a fresh budget each.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::auth::{SESSION_COOKIE, bearer, cookie, token_hash};
use crate::client::ClientAddr;
use crate::error::ApiError;
use crate::store::TokenHash;

/// The window a client's budget refills over.
const WINDOW: Duration = Duration::from_secs(60);
/// Clients tracked at most; past it, idle ones go, then new ones are let
/// through untracked.
const MAX_CLIENTS: usize = 200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Addr(ClientAddr),
    /// Requests from the address whose credential was refused (401).
    Refused(ClientAddr),
    /// The credential's SHA-256, as the store keys it.
    Credential(TokenHash),
}

/// Budgets per client: each key's theoretical arrival time.
#[derive(Debug, Default)]
pub struct RateLimiter {
    due: Mutex<HashMap<Key, Instant>>,
}

impl RateLimiter {
    /// Takes one request from `key`'s budget of `per_minute`, or says how
    /// long until one is free.
    fn take(&self, key: Key, per_minute: u32, now: Instant) -> Result<(), Duration> {
        let step = WINDOW / per_minute.max(1);
        let mut due = self.due.lock().unwrap_or_else(|e| e.into_inner());
        let at = due.get(&key).copied().unwrap_or(now).max(now);
        let next = at + step;
        let ahead = next - now;
        if ahead > WINDOW {
            return Err(ahead - WINDOW);
        }
        if !due.contains_key(&key) && due.len() >= MAX_CLIENTS {
            due.retain(|_, at| *at > now);
            if due.len() >= MAX_CLIENTS {
                return Ok(());
            }
        }
        due.insert(key, next);
        Ok(())
    }

    /// How long until `key` may send again, if it is spent.
    fn spent(&self, key: Key, per_minute: u32, now: Instant) -> Option<Duration> {
        let step = WINDOW / per_minute.max(1);
        let due = self.due.lock().unwrap_or_else(|e| e.into_inner());
        let ahead = due.get(&key)?.checked_duration_since(now)? + step;
        (ahead > WINDOW).then(|| ahead - WINDOW)
    }
}

fn credential_key(request: &Request) -> Option<Key> {
    let headers = request.headers();
    let token = bearer(headers).or_else(|| cookie(headers, SESSION_COOKIE))?;
    Some(Key::Credential(token_hash(token)))
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::Limited {
        detail: format!("over the rate limit for this client: retry in {secs} s"),
        retry_after_secs: secs,
    }
    .into_response()
}

/// The middleware: `/api/` requests only; off when `rate_limit` is 0.
pub async fn limit(
    State(state): State<AppState>,
    from: ClientAddr,
    request: Request,
    next: Next,
) -> Response {
    let per_minute = state.config.rate_limit;
    if per_minute == 0 || !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let limiter = &state.rate_limiter;
    let now = Instant::now();
    let address = Key::Addr(from);
    let refused = Key::Refused(from);
    let credential = credential_key(&request);
    match credential {
        Some(key) => {
            if let Some(wait) = limiter.spent(refused, per_minute, now) {
                return too_many(wait);
            }
            if let Err(wait) = limiter.take(key, per_minute, now) {
                return too_many(wait);
            }
        }
        None => {
            if let Err(wait) = limiter.take(address, per_minute, now) {
                return too_many(wait);
            }
        }
    }
    let response = next.run(request).await;
    if credential.is_some() && response.status() == StatusCode::UNAUTHORIZED {
        let _ = limiter.take(refused, per_minute, Instant::now());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> Key {
        Key::Addr(ClientAddr::of([127, 0, 0, last].into()))
    }

    #[test]
    fn a_minutes_worth_passes_at_once_then_one_per_step() {
        let limiter = RateLimiter::default();
        let now = Instant::now();
        for i in 0..60 {
            assert!(limiter.take(addr(1), 60, now).is_ok(), "request {i}");
        }
        let wait = limiter.take(addr(1), 60, now).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        assert!(limiter.spent(addr(1), 60, now).is_some());
        assert!(limiter.take(addr(2), 60, now).is_ok(), "another client");
        let later = now + Duration::from_secs(1);
        assert!(limiter.take(addr(1), 60, later).is_ok());
        assert!(limiter.take(addr(1), 60, later).is_err());
    }

    #[test]
    fn an_unseen_client_is_not_spent() {
        let limiter = RateLimiter::default();
        assert_eq!(limiter.spent(addr(9), 10, Instant::now()), None);
    }
}

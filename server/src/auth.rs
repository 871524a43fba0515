//! Credentials: argon2id passwords, random bearer tokens stored as SHA-256,
//! and the extractors that admit a request by role or as an agent.
//!
//! Tokens are 32 random bytes in base64url behind a prefix naming their kind:
//! `vs_` login session, `vt_` API token, `va_` agent credential, `ve_`
//! enrollment token. The database keeps only hashes, looked up directly, so a
//! request costs no argon2.
//!
//! The dashboard holds its session in an `HttpOnly`, `SameSite=Strict`
//! cookie instead of a header. A request authenticated by that cookie that
//! changes anything must also carry `X-CSRF-Token`: a value derived from the
//! session token, which the page learns from `GET /api/v1/auth/session` and
//! which another site can neither read nor compute.

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::store::{AccountStore as _, AgentAuth, AgentStore as _, Role, TokenHash, UserPrincipal};

/// What kind of secret a token is, from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Api,
    Agent,
    Enrollment,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "vs_",
            TokenKind::Api => "vt_",
            TokenKind::Agent => "va_",
            TokenKind::Enrollment => "ve_",
        }
    }

    pub fn of(token: &str) -> Option<TokenKind> {
        [
            TokenKind::Session,
            TokenKind::Api,
            TokenKind::Agent,
            TokenKind::Enrollment,
        ]
        .into_iter()
        .find(|k| token.starts_with(k.prefix()))
    }
}

/// A new random token of a kind, and its hash.
pub fn new_token(kind: TokenKind) -> (String, TokenHash) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    let token = format!(
        "{}{}",
        kind.prefix(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// A PHC string for a password (argon2id, the crate's defaults: m=19 MiB, t=2, p=1).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// The fewest characters a password may have (users and the first admin).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// How long a login waits for an argon2 slot before it is answered 503.
pub const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Password checks running at once: one per core. Each holds 19 MiB; a
/// flood waits here instead of filling every blocking thread.
static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::sync::Semaphore::new(cores.clamp(1, 8))
});

/// No argon2 slot was free within [`HASHING_WAIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingBusy;

impl From<HashingBusy> for ApiError {
    /// A 503: retry in a second.
    fn from(_: HashingBusy) -> Self {
        ApiError::Unavailable {
            retry_after_secs: 1,
        }
    }
}

/// True when the password matches. Runs on a blocking thread (≈ 30 ms of
/// CPU), once a slot of the argon2 semaphore is free.
pub async fn verify_password(password: String, phc: String) -> Result<bool, HashingBusy> {
    let permit = tokio::time::timeout(HASHING_WAIT, HASHING.acquire())
        .await
        .map_err(|_| HashingBusy)?
        .map_err(|_| HashingBusy)?;
    let ok = tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false);
    drop(permit);
    Ok(ok)
}

/// A password for the first admin when none is configured: 20 characters.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The dashboard's session cookie.
pub const SESSION_COOKIE: &str = "vantage_session";
/// The header that a cookie-authenticated request must carry to change anything.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of a cookie of a request, if any.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// The anti-forgery token of a session: known to the session's page, derived
/// so that the server keeps nothing more.
pub fn csrf_token(session: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"vantage csrf\0")
        .chain_update(session.as_bytes())
        .finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// The credential of a user's request: the `Authorization` header, else the
/// session cookie, which admits a request that changes state only with the
/// session's anti-forgery token.
pub fn user_credential<'a>(
    headers: &'a axum::http::HeaderMap,
    method: &axum::http::Method,
) -> Result<&'a str, ApiError> {
    if let Some(token) = bearer(headers) {
        return Ok(token);
    }
    let token = cookie(headers, SESSION_COOKIE)
        .filter(|t| TokenKind::of(t) == Some(TokenKind::Session))
        .ok_or(ApiError::Unauthorized("credentials are required"))?;
    if !method.is_safe() {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Forbidden(
                "a session cookie needs the X-CSRF-Token header to change anything",
            ))?;
        // Compare digests, so that the comparison's time tells nothing.
        if Sha256::digest(sent.as_bytes()) != Sha256::digest(csrf_token(token).as_bytes()) {
            return Err(ApiError::Forbidden(
                "the X-CSRF-Token header does not match this session",
            ));
        }
    }
    Ok(token)
}

/// A user admitted with at least the role `MIN` (0 viewer, 1 operator, 2 admin).
#[derive(Debug, Clone)]
pub struct Authed<const MIN: u8>(pub UserPrincipal);

pub type Viewer = Authed<0>;
pub type Operator = Authed<1>;
pub type Admin = Authed<2>;

const fn role_of(min: u8) -> Role {
    match min {
        0 => Role::Viewer,
        1 => Role::Operator,
        _ => Role::Admin,
    }
}

impl<const MIN: u8> FromRequestParts<AppState> for Authed<MIN> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = user_credential(&parts.headers, &parts.method)?;
        let hash = token_hash(token);
        let kind = TokenKind::of(token);
        if kind == Some(TokenKind::Agent) {
            return match state.store.agent_by_credential(&hash).await? {
                Some(a) if !a.revoked => {
                    crate::audit::noted_by(parts, |c| c.actor(agent_actor(&a)));
                    Err(ApiError::Forbidden("agents may not use this endpoint"))
                }
                _ => Err(ApiError::Unauthorized("unknown or revoked credential")),
            };
        }
        let principal = user_of(state, kind, &hash).await?;
        let principal = principal.ok_or(ApiError::Unauthorized(
            "unknown, expired or revoked credential",
        ))?;
        crate::audit::noted_by(parts, |c| c.user(&principal));
        if principal.role < role_of(MIN) {
            return Err(ApiError::Forbidden("your role does not allow this"));
        }
        Ok(Authed(principal))
    }
}

/// The user a live session or API token belongs to; `None` for an unknown,
/// expired or revoked one, and for any other kind of token.
pub async fn user_of(
    state: &AppState,
    kind: Option<TokenKind>,
    hash: &TokenHash,
) -> crate::store::StoreResult<Option<UserPrincipal>> {
    let now = chrono::Utc::now();
    match kind {
        Some(TokenKind::Session) => state.store.session_user(hash, now).await,
        Some(TokenKind::Api) => state.store.api_token_user(hash, now).await,
        _ => Ok(None),
    }
}

fn agent_actor(agent: &AgentAuth) -> crate::store::Actor {
    crate::store::Actor {
        kind: crate::store::ActorKind::Agent,
        name: agent.name.clone(),
        id: Some(agent.id),
        token_id: None,
    }
}

/// An enrolled agent, admitted by its credential.
#[derive(Debug, Clone)]
pub struct AgentCredential(pub AgentAuth);

impl FromRequestParts<AppState> for AgentCredential {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)
            .ok_or(ApiError::Unauthorized("an agent credential is required"))?;
        if TokenKind::of(token) != Some(TokenKind::Agent) {
            return match TokenKind::of(token) {
                Some(TokenKind::Session | TokenKind::Api) => {
                    Err(ApiError::Forbidden("only agents may use this endpoint"))
                }
                _ => Err(ApiError::Unauthorized("unknown credential")),
            };
        }
        match state.store.agent_by_credential(&token_hash(token)).await? {
            Some(agent) if !agent.revoked => {
                crate::audit::noted_by(parts, |c| c.actor(agent_actor(&agent)));
                Ok(AgentCredential(agent))
            }
            Some(_) => Err(ApiError::Unauthorized(
                "this agent's credential was revoked",
            )),
            None => Err(ApiError::Unauthorized("unknown agent credential")),
        }
    }
}

/// Any valid credential: a user's session or API token (any role), or an
/// agent's credential. For what users and agents both read (package files).
#[derive(Debug, Clone)]
pub struct AnyCredential;

impl FromRequestParts<AppState> for AnyCredential {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if bearer(&parts.headers).is_some_and(|t| TokenKind::of(t) == Some(TokenKind::Agent)) {
            AgentCredential::from_request_parts(parts, state).await?;
        } else {
            Viewer::from_request_parts(parts, state).await?;
        }
        Ok(AnyCredential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_kind_and_hash_stably() {
        let (token, hash) = new_token(TokenKind::Agent);
        assert!(token.starts_with("va_") && token.len() == 3 + 43, "{token}");
        assert_eq!(TokenKind::of(&token), Some(TokenKind::Agent));
        assert_eq!(token_hash(&token), hash);
        assert_ne!(new_token(TokenKind::Agent).0, token);
        assert_eq!(TokenKind::of("Basic abc"), None);
    }

    #[tokio::test]
    async fn passwords_verify_and_wrong_ones_do_not() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert_eq!(
            verify_password("correct horse".into(), phc.clone()).await,
            Ok(true)
        );
        assert_eq!(verify_password("wrong".into(), phc).await, Ok(false));
        assert_eq!(
            verify_password("x".into(), "not a phc".into()).await,
            Ok(false)
        );
        assert_eq!(generate_password().len(), 20);
    }
}

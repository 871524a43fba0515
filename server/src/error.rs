//! One error type at the edge: every failure becomes an RFC 9457
//! `application/problem+json` answer. Causes of a 500 are logged, never sent.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use vantage_protocol::ingest::{FieldError, Problem};

use crate::store::StoreError;

/// The content type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{detail}")]
    Unprocessable {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// A 429 that says why (a login lock-out, a client over its rate).
    #[error("{detail}")]
    Limited {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("service unavailable")]
    Unavailable { retry_after_secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn invalid(errors: Vec<FieldError>) -> ApiError {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.reason),
            many => format!("{} fields are invalid", many.len()),
        };
        ApiError::Unprocessable { detail, errors }
    }

    pub fn field(field: &str, reason: impl Into<String>) -> ApiError {
        ApiError::invalid(vec![FieldError {
            index: None,
            field: field.into(),
            reason: reason.into(),
        }])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } | ApiError::Limited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(StoreError::Db(sqlx::Error::PoolTimedOut)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (detail, errors, retry_after) = match self {
            ApiError::Unprocessable { detail, errors } => (Some(detail), errors, None),
            ApiError::TooManyRequests { retry_after_secs } => (
                Some("the server is busy: retry later".into()),
                vec![],
                Some(retry_after_secs),
            ),
            ApiError::Limited {
                detail,
                retry_after_secs,
            } => (Some(detail), vec![], Some(retry_after_secs)),
            ApiError::Unavailable { retry_after_secs } => (
                Some("the server cannot serve this now: retry later".into()),
                vec![],
                Some(retry_after_secs),
            ),
            ApiError::Store(StoreError::Db(sqlx::Error::PoolTimedOut)) => {
                tracing::warn!("No database connection was free in time: answering 503.");
                (
                    Some("the database is busy: retry later".into()),
                    vec![],
                    Some(2),
                )
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "A request failed in storage.");
                (None, vec![], None)
            }
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "A request failed.");
                (None, vec![], None)
            }
            other => (Some(other.to_string()), vec![], None),
        };
        let mut response = problem(status, detail, errors);
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A problem+json response.
pub fn problem(status: StatusCode, detail: Option<String>, errors: Vec<FieldError>) -> Response {
    let body = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail,
        errors,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], bytes).into_response()
}

/// Turns error answers that did not come from [`ApiError`] (unknown route,
/// wrong method, an unsupported `Content-Encoding`…) into problem+json too.
pub async fn problem_fallback(request: Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let allow = response.headers().get(header::ALLOW).cloned();
        let detail = match status {
            StatusCode::NOT_FOUND => Some("no such resource".to_owned()),
            StatusCode::METHOD_NOT_ALLOWED => {
                Some("this resource does not answer that method".into())
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Some("unsupported content type or encoding (use JSON, optionally gzip)".into())
            }
            _ => None,
        };
        let mut replaced = problem(status, detail, vec![]);
        if let Some(allow) = allow {
            replaced.headers_mut().insert(header::ALLOW, allow);
        }
        return replaced;
    }
    response
}

/// `Json<T>` whose every rejection is a problem: 400 bad syntax, 413 too
/// large, 415 not JSON, 422 wrong shape or type.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::field("body", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("expected `Content-Type: application/json`".into())
        }
        JsonRejection::BytesRejection(e) => bytes_rejection(e),
        other => ApiError::BadRequest(other.body_text()),
    }
}

fn bytes_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(
            "the body is larger than this endpoint accepts (after decompression)".into(),
        )
    } else {
        ApiError::BadRequest(format!(
            "the body could not be read: {}",
            rejection.body_text()
        ))
    }
}

/// `Query<T>` with problem rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|e: QueryRejection| ApiError::field("query", e.body_text()))
    }
}

/// `Path<T>` with problem rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S>
    for PathParams<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|e: PathRejection| ApiError::BadRequest(e.body_text()))
    }
}

//! Content-addressed files (plugin packages, agent archives): the sha256
//! in a path, and the answer that lets a client cache one forever.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ApiResult};

pub(crate) const OCTET_STREAM: &str = "application/octet-stream";

/// A sha256 from a path: 64 hex digits, lowercased.
pub(crate) fn sha256_param(text: &str) -> ApiResult<String> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::field("sha256", "must be 64 hex digits"));
    }
    Ok(text.to_ascii_lowercase())
}

/// The file named by `sha256`: 304 when `If-None-Match` names it (without
/// reading it), else what `read` finds, or 404 saying `what` is missing.
/// Immutable: cached forever, privately (it needs a credential, so no
/// shared cache may keep it).
pub(crate) async fn immutable<F>(
    headers: &HeaderMap,
    sha256: &str,
    what: &str,
    read: F,
) -> ApiResult<Response>
where
    F: std::future::Future<Output = crate::store::StoreResult<Option<Vec<u8>>>>,
{
    let etag =
        HeaderValue::from_str(&format!("\"{sha256}\"")).expect("hex is a valid header value");
    let cache = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=31536000, immutable"),
        ),
        (header::ETAG, etag),
    ];
    if super::none_match(headers, sha256) {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let Some(bytes) = read.await? else {
        return Err(ApiError::NotFound(format!("no {what} {sha256}")));
    };
    Ok((
        cache,
        [(header::CONTENT_TYPE, HeaderValue::from_static(OCTET_STREAM))],
        bytes,
    )
        .into_response())
}

/// Refuses a body that is not `application/octet-stream` (absent counts as it).
pub(crate) fn octet_stream(headers: &HeaderMap, what: &str) -> ApiResult<()> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(OCTET_STREAM);
    if content_type.starts_with(OCTET_STREAM) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "expected `Content-Type: {OCTET_STREAM}` ({what})"
        )))
    }
}

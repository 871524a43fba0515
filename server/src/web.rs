//! The dashboard: the static build of `web/` (`cargo xtask web`), embedded
//! in release binaries and read from `web/dist` in debug builds. Any path
//! outside `/api/` that names no file is a dashboard route: it gets
//! `index.html`, and the page's router takes it from there.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, problem};

#[derive(rust_embed::Embed)]
#[folder = "../web/dist/"]
#[allow_missing = true]
struct Assets;

/// What the page may load: only this server's own scripts, styles and
/// sockets; no framing by other sites.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The fallback of every route the API does not know.
pub async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") {
        return problem(
            StatusCode::NOT_FOUND,
            Some("no such resource".into()),
            vec![],
        );
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::BadRequest("the dashboard's pages answer only GET".into())
            .into_response();
    }
    if let Some(file) = Assets::get(path).filter(|_| !path.is_empty()) {
        // Vite names what it builds under assets/ by content hash.
        let cache = if path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return asset(file, cache);
    }
    let looks_like_a_file = path
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    match Assets::get("index.html") {
        Some(index) if !looks_like_a_file => asset(index, "no-cache"),
        Some(_) => problem(StatusCode::NOT_FOUND, Some("no such file".into()), vec![]),
        None => problem(
            StatusCode::NOT_FOUND,
            Some("this server was built without the dashboard: run `cargo xtask web`, then build it again".into()),
            vec![],
        ),
    }
}

fn asset(file: rust_embed::EmbeddedFile, cache: &'static str) -> Response {
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let mut response = Response::new(Body::from(file.data.into_owned()));
    let headers = response.headers_mut();
    let mime = file.metadata.mimetype();
    if let Ok(v) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if mime.starts_with("text/html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    response
}

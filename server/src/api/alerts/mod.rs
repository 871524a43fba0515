//! Alerting's API (docs/alerting.md): rules, the alerts they raise,
//! channels and routes, silences and maintenance windows.

mod active;
mod channels;
mod rules;
mod silences;
mod windows;

use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use vantage_protocol::ingest::FieldError;

use crate::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    rules::router()
        .merge(active::router())
        .merge(channels::router())
        .merge(silences::router())
        .merge(windows::router())
}

/// The `name` error of a saved spec whose body names another than the path.
pub(super) fn renamed(body: &str, path: &str) -> Option<FieldError> {
    (body != path).then(|| FieldError {
        index: None,
        field: "name".into(),
        reason: format!("`{body}` differs from the path's `{path}`"),
    })
}

/// A save's answer: 201 when it created the spec, 200 otherwise.
pub(super) fn saved_status(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

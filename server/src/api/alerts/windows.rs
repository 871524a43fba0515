//! Maintenance windows: silences that recur on a cron schedule in a named
//! time zone (operators save them; viewers see which are open).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::config::{WindowSpec, WindowView};

use crate::AppState;
use crate::alerting::windows::Window;
use crate::auth::{Operator, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::store::{Saved, WindowStore as _};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_windows))
        .routes(routes!(put_window, delete_window))
}

fn view(saved: Saved<WindowSpec>) -> WindowView {
    let now = Utc::now();
    let window = Window::compile(saved.spec.clone()).ok();
    WindowView {
        open_since: window.as_ref().and_then(|w| w.open_since(now)),
        next_start: window.as_ref().and_then(|w| w.next_start(now)),
        spec: saved.spec,
        revision: saved.revision,
        updated_at: saved.updated_at,
    }
}

/// Every maintenance window, whether it is open and when it next opens.
#[utoipa::path(get, path = "/api/v1/alerts/windows", tag = "alerts", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = Vec<WindowView>)
))]
async fn list_windows(
    State(state): State<AppState>,
    _who: Viewer,
) -> ApiResult<axum::Json<Vec<WindowView>>> {
    let windows = state.store.windows().await?;
    Ok(axum::Json(windows.into_iter().map(view).collect()))
}

/// Creates or replaces a maintenance window. Every bad field is named: a
/// schedule that is not five cron fields, an unknown time zone, a
/// duration out of range, an empty match or comment.
#[utoipa::path(put, path = "/api/v1/alerts/windows/{name}", tag = "alerts", security(("bearer" = ["operator"])), params(("name" = String, Path)), request_body = WindowSpec, responses(
    (status = 200, body = WindowView, description = "replaced (or unchanged)"),
    (status = 201, body = WindowView, description = "created"),
    (status = 422, description = "every bad field, named", content_type = "application/problem+json")
))]
async fn put_window(
    State(state): State<AppState>,
    who: Operator,
    PathParams(name): PathParams<String>,
    JsonBody(spec): JsonBody<WindowSpec>,
) -> ApiResult<(StatusCode, axum::Json<WindowView>)> {
    let mut errors = Window::compile(spec.clone()).err().unwrap_or_default();
    errors.extend(super::renamed(&spec.name, &name));
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let saved = state.store.put_window(&spec, Utc::now()).await?;
    tracing::info!(
        window = name,
        revision = saved.revision,
        by = who.0.username,
        "A maintenance window was saved."
    );
    let status = super::saved_status(saved.created);
    let stored = state
        .store
        .windows()
        .await?
        .into_iter()
        .find(|w| w.spec.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("no maintenance window `{name}`")))?;
    Ok((status, axum::Json(view(stored))))
}

/// Deletes a maintenance window.
#[utoipa::path(delete, path = "/api/v1/alerts/windows/{name}", tag = "alerts", security(("bearer" = ["operator"])), params(("name" = String, Path)), responses(
    (status = 204, description = "deleted"),
    (status = 404, description = "no such window", content_type = "application/problem+json")
))]
async fn delete_window(
    State(state): State<AppState>,
    who: Operator,
    PathParams(name): PathParams<String>,
) -> ApiResult<StatusCode> {
    if !state.store.delete_window(&name).await? {
        return Err(ApiError::NotFound(format!(
            "no maintenance window `{name}`"
        )));
    }
    tracing::info!(
        window = name,
        by = who.0.username,
        "A maintenance window was deleted."
    );
    Ok(StatusCode::NO_CONTENT)
}

//! The alerts rules raise (`GET /api/v1/alerts`) and their history
//! (`GET /api/v1/alerts/history`).

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::config::{AlertEventView, AlertState, AlertView};

use crate::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult, QueryParams};
use crate::store::{AlertFilter, AlertStore as _, HistoryFilter};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_alerts))
        .routes(routes!(alert_history))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AlertQuery {
    /// Only this rule's alerts.
    rule: Option<String>,
    /// Only alerts in this state (`pending`, `firing`, `recovering`,
    /// `no_data`, `error`).
    state: Option<AlertState>,
}

/// Every alert that is not `ok`: each (rule, check target, agent) that is
/// pending, firing, recovering, without data or in error, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", security(("bearer" = ["viewer"])), params(AlertQuery), responses(
    (status = 200, body = Vec<AlertView>),
    (status = 422, description = "a bad filter, named", content_type = "application/problem+json")
))]
async fn list_alerts(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<AlertQuery>,
) -> ApiResult<axum::Json<Vec<AlertView>>> {
    if q.state == Some(AlertState::Ok) {
        return Err(ApiError::field(
            "state",
            "alerts that are ok are not listed; ask for another state",
        ));
    }
    let filter = AlertFilter {
        rule: q.rule,
        state: q.state,
    };
    Ok(axum::Json(state.store.alerts(&filter).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    /// Only this rule's history.
    rule: Option<String>,
    /// Steps with an id below this one (the smallest of the previous page).
    before: Option<i64>,
    /// 1–1000, default 100.
    limit: Option<u32>,
}

/// The alert history, newest first: every change of state with the result
/// ids that caused it, and every notice.
#[utoipa::path(get, path = "/api/v1/alerts/history", tag = "alerts", security(("bearer" = ["viewer"])), params(HistoryQuery), responses(
    (status = 200, body = Vec<AlertEventView>),
    (status = 422, description = "a bad limit, named", content_type = "application/problem+json")
))]
async fn alert_history(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<HistoryQuery>,
) -> ApiResult<axum::Json<Vec<AlertEventView>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1–1000"));
    }
    let filter = HistoryFilter {
        rule: q.rule,
        before: q.before,
        limit,
    };
    Ok(axum::Json(state.store.alert_history(&filter).await?))
}

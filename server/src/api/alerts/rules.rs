//! Alert rules: saved whole after every field is checked (docs/alerting.md).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::config::{RuleSpec, RuleView};
use vantage_protocol::ingest::FieldError;

use crate::AppState;
use crate::alerting::rule::Rule;
use crate::auth::{Operator, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::store::{AlertStore as _, CheckStore as _, RuleRow};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules))
        .routes(routes!(get_rule, put_rule, delete_rule))
}

fn view(row: RuleRow) -> RuleView {
    RuleView {
        spec: row.spec,
        revision: row.revision,
        updated_at: row.updated_at,
    }
}

async fn find(state: &AppState, name: &str) -> ApiResult<RuleView> {
    state
        .store
        .rules()
        .await?
        .into_iter()
        .find(|r| r.spec.name == name)
        .map(view)
        .ok_or_else(|| ApiError::NotFound(format!("no alert rule `{name}`")))
}

/// Every alert rule, by name.
#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "alerts", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = Vec<RuleView>)
))]
async fn list_rules(
    State(state): State<AppState>,
    _who: Viewer,
) -> ApiResult<axum::Json<Vec<RuleView>>> {
    Ok(axum::Json(
        state.store.rules().await?.into_iter().map(view).collect(),
    ))
}

/// One alert rule.
#[utoipa::path(get, path = "/api/v1/alerts/rules/{name}", tag = "alerts", security(("bearer" = ["viewer"])), params(("name" = String, Path)), responses(
    (status = 200, body = RuleView),
    (status = 404, description = "no such rule", content_type = "application/problem+json")
))]
async fn get_rule(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams(name): PathParams<String>,
) -> ApiResult<axum::Json<RuleView>> {
    Ok(axum::Json(find(&state, &name).await?))
}

/// Whether a selector names checks by a glob rather than one name.
fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

/// Creates or replaces an alert rule. Every bad field is named: a bad
/// setting, conflicting settings, or a check name (not a glob) that no
/// check on the server and no agent's results carry.
#[utoipa::path(put, path = "/api/v1/alerts/rules/{name}", tag = "alerts", security(("bearer" = ["operator"])), params(("name" = String, Path)), request_body = RuleSpec, responses(
    (status = 200, body = RuleView, description = "replaced (or unchanged)"),
    (status = 201, body = RuleView, description = "created"),
    (status = 422, description = "every bad field, named", content_type = "application/problem+json")
))]
async fn put_rule(
    State(state): State<AppState>,
    who: Operator,
    PathParams(name): PathParams<String>,
    JsonBody(spec): JsonBody<RuleSpec>,
) -> ApiResult<(StatusCode, axum::Json<RuleView>)> {
    let mut errors: Vec<FieldError> = match Rule::compile(spec.clone()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    errors.extend(super::renamed(&spec.name, &name));
    if let Some(check) = spec.select.check.as_deref().filter(|c| !is_glob(c))
        && !state.store.is_check_name(check).await?
    {
        errors.push(FieldError {
            index: None,
            field: "select.check".into(),
            reason: format!(
                "no check is named `{check}` (use a glob such as `{check}*` for checks to come)"
            ),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let saved = state.store.put_rule(&spec, Utc::now()).await?;
    state.rules.invalidate();
    tracing::info!(
        rule = name,
        revision = saved.revision,
        by = who.0.username,
        "An alert rule was saved."
    );
    let status = super::saved_status(saved.created);
    // As saved (read back, with 10 000 rules, is a read of them all).
    let view = RuleView {
        spec,
        revision: saved.revision,
        updated_at: saved.updated_at,
    };
    Ok((status, axum::Json(view)))
}

/// Deletes an alert rule.
#[utoipa::path(delete, path = "/api/v1/alerts/rules/{name}", tag = "alerts", security(("bearer" = ["operator"])), params(("name" = String, Path)), responses(
    (status = 204, description = "deleted"),
    (status = 404, description = "no such rule", content_type = "application/problem+json")
))]
async fn delete_rule(
    State(state): State<AppState>,
    who: Operator,
    PathParams(name): PathParams<String>,
) -> ApiResult<StatusCode> {
    if !state.store.delete_rule(&name).await? {
        return Err(ApiError::NotFound(format!("no alert rule `{name}`")));
    }
    state.rules.invalidate();
    tracing::info!(
        rule = name,
        by = who.0.username,
        "An alert rule was deleted."
    );
    Ok(StatusCode::NO_CONTENT)
}

//! Silences: operators hold back the notifications of matching alerts
//! for a while; the steps stay in the history, marked.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use vantage_protocol::config::{AlertMatch, MAX_SILENCE_DAYS, SilenceSpec, SilenceView};
use vantage_protocol::ingest::FieldError;

use crate::AppState;
use crate::alerting::matcher::Matcher;
use crate::auth::{Operator, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::store::NotifyStore as _;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_silences, add_silence))
        .routes(routes!(expire_silence))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SilenceQuery {
    /// Include silences that have ended.
    #[serde(default)]
    all: bool,
}

/// Silences that are on or to come (`all=true`: ended ones too), newest first.
#[utoipa::path(get, path = "/api/v1/alerts/silences", tag = "alerts", security(("bearer" = ["viewer"])), params(SilenceQuery), responses(
    (status = 200, body = Vec<SilenceView>)
))]
async fn list_silences(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<SilenceQuery>,
) -> ApiResult<axum::Json<Vec<SilenceView>>> {
    let after = (!q.all).then(Utc::now);
    Ok(axum::Json(state.store.silences(after).await?))
}

/// Every rule a silence breaks, named.
fn check(spec: &SilenceSpec, starts_at: chrono::DateTime<Utc>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, reason: &str| {
        errors.push(FieldError {
            index: None,
            field: field.into(),
            reason: reason.into(),
        })
    };
    if spec.matches == AlertMatch::default() {
        bad(
            "match",
            "needs at least one of rule, check, target, agent: a silence of everything hides every alert",
        );
    }
    if spec.ends_at <= starts_at {
        bad("ends_at", "must be after the start");
    } else if spec.ends_at <= Utc::now() {
        bad("ends_at", "must be in the future");
    } else if spec.ends_at - starts_at > Duration::days(MAX_SILENCE_DAYS) {
        bad("ends_at", "must be within a year of the start");
    }
    let comment = spec.comment.trim();
    if comment.is_empty() || spec.comment.chars().count() > 1024 {
        bad("comment", "must be 1–1024 characters: say why");
    }
    Matcher::compile(&spec.matches, "match", &mut errors);
    errors
}

/// Silences the alerts it matches from `starts_at` (default now) to
/// `ends_at`: their steps are kept in the history and sent nowhere.
#[utoipa::path(post, path = "/api/v1/alerts/silences", tag = "alerts", security(("bearer" = ["operator"])), request_body = SilenceSpec, responses(
    (status = 201, body = SilenceView),
    (status = 422, description = "every bad field, named", content_type = "application/problem+json")
))]
async fn add_silence(
    State(state): State<AppState>,
    who: Operator,
    JsonBody(spec): JsonBody<SilenceSpec>,
) -> ApiResult<(StatusCode, axum::Json<SilenceView>)> {
    let now = Utc::now();
    let starts_at = spec.starts_at.unwrap_or(now);
    let errors = check(&spec, starts_at);
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let silence = SilenceView {
        id: Uuid::now_v7(),
        matches: spec.matches,
        starts_at,
        ends_at: spec.ends_at,
        comment: spec.comment.trim().to_owned(),
        author: who.0.username.clone(),
        created_at: now,
    };
    state.store.add_silence(&silence).await?;
    tracing::info!(silence = %silence.id, by = who.0.username, until = %silence.ends_at, "A silence was added.");
    Ok((StatusCode::CREATED, axum::Json(silence)))
}

/// Ends a silence now; it stays listed with `all=true`.
#[utoipa::path(delete, path = "/api/v1/alerts/silences/{id}", tag = "alerts", security(("bearer" = ["operator"])), params(("id" = Uuid, Path)), responses(
    (status = 204, description = "ended"),
    (status = 404, description = "no such silence, or it already ended", content_type = "application/problem+json")
))]
async fn expire_silence(
    State(state): State<AppState>,
    who: Operator,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    if !state.store.expire_silence(id, Utc::now()).await? {
        return Err(ApiError::NotFound(format!(
            "no silence {id} that is still on"
        )));
    }
    tracing::info!(silence = %id, by = who.0.username, "A silence was ended.");
    Ok(StatusCode::NO_CONTENT)
}

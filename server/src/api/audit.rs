//! The audit log, for admins: every change made through the API
//! (`crate::audit` records them).

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult, QueryParams};
use crate::store::{AuditEntry, AuditFilter, AuditStore as _};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    /// From a previous page's `next_cursor`.
    cursor: Option<String>,
    /// 1–1000, default 100.
    limit: Option<u32>,
    /// Entries at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
    /// Only this actor (a user's or an agent's name).
    actor: Option<String>,
    /// Only targets starting with this (`/api/v1/users`).
    target: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AuditPage {
    items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last one.
    next_cursor: Option<String>,
}

/// The audit log, newest first: who changed what, when and from where,
/// with the request (secrets redacted). Failed logins and refused
/// requests (403) are in it too.
#[utoipa::path(get, path = "/api/v1/audit", tag = "users", security(("bearer" = ["admin"])), params(AuditQuery), responses(
    (status = 200, body = AuditPage),
    (status = 422, description = "a bad limit, cursor or time", content_type = "application/problem+json")
))]
async fn list_audit(
    State(state): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<AuditQuery>,
) -> ApiResult<axum::Json<AuditPage>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1–1000"));
    }
    let before = match &q.cursor {
        Some(c) => Some(
            crate::api::decode_cursor(c)?
                .parse::<i64>()
                .map_err(|_| ApiError::field("cursor", "is not a cursor this server gave out"))?,
        ),
        None => None,
    };
    if let (Some(since), Some(until)) = (q.since, q.until)
        && since >= until
    {
        return Err(ApiError::field("until", "must be after since"));
    }
    let filter = AuditFilter {
        before,
        since: q.since,
        until: q.until,
        actor: q.actor,
        target: q.target,
        limit: limit + 1,
    };
    let mut items = state.store.audit(&filter).await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = more
        .then(|| {
            items
                .last()
                .map(|e| crate::api::encode_cursor(&e.id.to_string()))
        })
        .flatten();
    Ok(axum::Json(AuditPage { items, next_cursor }))
}

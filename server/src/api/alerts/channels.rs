//! Notification channels (admins edit, secrets never shown), their test
//! and delivery log, and the routes that send alerts to them.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::config::{
    AlertState, AlertSubject, ChannelSpec, ChannelView, Notice, Notification, Routing,
};

use crate::AppState;
use crate::alerting::channel::check_channel;
use crate::alerting::notify::{self, SendOutcome, message};
use crate::alerting::route::Router;
use crate::auth::{Admin, Operator, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::store::{Attempt, ChannelRow, NotifyStore as _};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels))
        .routes(routes!(get_channel, put_channel, delete_channel))
        .routes(routes!(test_channel))
        .routes(routes!(channel_deliveries))
        .routes(routes!(get_routes, put_routes))
}

/// A channel without its secrets, naming the ones set.
fn view(row: ChannelRow) -> ChannelView {
    let mut spec = row.spec;
    let mut secrets_set = Vec::new();
    for (name, value) in spec.kind.secrets_mut() {
        if value.take().is_some_and(|v| !v.is_empty()) {
            secrets_set.push(name.to_owned());
        }
    }
    ChannelView {
        spec,
        secrets_set,
        revision: row.revision,
        updated_at: row.updated_at,
    }
}

async fn find(state: &AppState, name: &str) -> ApiResult<ChannelRow> {
    state
        .store
        .channels()
        .await?
        .into_iter()
        .find(|c| c.spec.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("no channel `{name}`")))
}

/// Every channel, by name, without secrets.
#[utoipa::path(get, path = "/api/v1/alerts/channels", tag = "alerts", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = Vec<ChannelView>)
))]
async fn list_channels(
    State(state): State<AppState>,
    _who: Viewer,
) -> ApiResult<axum::Json<Vec<ChannelView>>> {
    Ok(axum::Json(
        state
            .store
            .channels()
            .await?
            .into_iter()
            .map(view)
            .collect(),
    ))
}

/// One channel, without secrets.
#[utoipa::path(get, path = "/api/v1/alerts/channels/{name}", tag = "alerts", security(("bearer" = ["viewer"])), params(("name" = String, Path)), responses(
    (status = 200, body = ChannelView),
    (status = 404, description = "no such channel", content_type = "application/problem+json")
))]
async fn get_channel(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams(name): PathParams<String>,
) -> ApiResult<axum::Json<ChannelView>> {
    Ok(axum::Json(view(find(&state, &name).await?)))
}

/// Creates or replaces a channel. A secret left out keeps the stored one;
/// `""` removes it. Secrets are never shown again.
#[utoipa::path(put, path = "/api/v1/alerts/channels/{name}", tag = "alerts", security(("bearer" = ["admin"])), params(("name" = String, Path)), request_body = ChannelSpec, responses(
    (status = 200, body = ChannelView, description = "replaced (or unchanged)"),
    (status = 201, body = ChannelView, description = "created"),
    (status = 422, description = "every bad field, named", content_type = "application/problem+json")
))]
async fn put_channel(
    State(state): State<AppState>,
    who: Admin,
    PathParams(name): PathParams<String>,
    JsonBody(mut spec): JsonBody<ChannelSpec>,
) -> ApiResult<(StatusCode, axum::Json<ChannelView>)> {
    // Secrets not given stay as stored (of the same kind); "" removes one.
    if let Ok(mut old) = find(&state, &name).await
        && old.spec.kind.name() == spec.kind.name()
    {
        let kept = old.spec.kind.secrets_mut();
        for ((_, new), (_, old)) in spec.kind.secrets_mut().into_iter().zip(kept) {
            if new.is_none() {
                *new = old.take();
            }
        }
    }
    for (_, value) in spec.kind.secrets_mut() {
        if value.as_deref() == Some("") {
            *value = None;
        }
    }
    let mut errors = check_channel(&spec);
    errors.extend(super::renamed(&spec.name, &name));
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let saved = state.store.put_channel(&spec, Utc::now()).await?;
    tracing::info!(
        channel = name,
        revision = saved.revision,
        by = who.0.username,
        "A notification channel was saved."
    );
    let status = super::saved_status(saved.created);
    Ok((status, axum::Json(view(find(&state, &name).await?))))
}

/// Deletes a channel that no route names.
#[utoipa::path(delete, path = "/api/v1/alerts/channels/{name}", tag = "alerts", security(("bearer" = ["admin"])), params(("name" = String, Path)), responses(
    (status = 204, description = "deleted"),
    (status = 404, description = "no such channel", content_type = "application/problem+json"),
    (status = 409, description = "a route names it: change the routes first", content_type = "application/problem+json")
))]
async fn delete_channel(
    State(state): State<AppState>,
    who: Admin,
    PathParams(name): PathParams<String>,
) -> ApiResult<StatusCode> {
    let (routing, _) = state.store.routing().await?;
    let named: Vec<usize> = routing
        .routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.channels.contains(&name))
        .map(|(i, _)| i)
        .collect();
    if !named.is_empty() {
        return Err(ApiError::Conflict(format!(
            "routes {named:?} send alerts to `{name}`: change the routes first"
        )));
    }
    if !state.store.delete_channel(&name).await? {
        return Err(ApiError::NotFound(format!("no channel `{name}`")));
    }
    tracing::info!(
        channel = name,
        by = who.0.username,
        "A notification channel was deleted."
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test notification now and says what the receiver answered.
/// Not retried, not in the delivery log.
#[utoipa::path(post, path = "/api/v1/alerts/channels/{name}/test", tag = "alerts", security(("bearer" = ["operator"])), params(("name" = String, Path)), responses(
    (status = 200, body = SendOutcome, description = "sent; `ok` says whether it was taken"),
    (status = 404, description = "no such channel", content_type = "application/problem+json")
))]
async fn test_channel(
    State(state): State<AppState>,
    _who: Operator,
    PathParams(name): PathParams<String>,
) -> ApiResult<axum::Json<SendOutcome>> {
    let channel = find(&state, &name).await?;
    let now = Utc::now();
    let event = vantage_protocol::config::AlertEventView {
        id: 0,
        subject: AlertSubject {
            rule: "vantage-test".into(),
            agent_id: None,
            agent: Some("vantage".into()),
            check: "test".into(),
            target: name.clone(),
            plugin: "none".into(),
        },
        at: now,
        from: AlertState::Ok,
        to: AlertState::Firing,
        value: None,
        agents: Vec::new(),
        causes: Vec::new(),
        notices: vec![Notice::Firing],
        silenced_by: None,
        suppressed_by: None,
        window: None,
        repeat_every: None,
    };
    let mut body: Notification =
        message::notification(&event, None, state.config.public_url.as_deref());
    body.summary = format!("TEST from Vantage to channel {name}: delivery works");
    let client = notify::client().map_err(|e| ApiError::Internal(e.into()))?;
    let delivery = format!("test-{}", now.timestamp_millis());
    let sent = notify::timed(notify::send(&client, &channel, &delivery, &body)).await;
    Ok(axum::Json(sent))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    /// 1–1000, default 100.
    limit: Option<u32>,
}

/// A channel's delivery log, newest first: every attempt, with the
/// receiver's status and the latency.
#[utoipa::path(get, path = "/api/v1/alerts/channels/{name}/deliveries", tag = "alerts", security(("bearer" = ["viewer"])), params(("name" = String, Path), LogQuery), responses(
    (status = 200, body = Vec<Attempt>),
    (status = 404, description = "no such channel", content_type = "application/problem+json"),
    (status = 422, description = "a bad limit, named", content_type = "application/problem+json")
))]
async fn channel_deliveries(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams(name): PathParams<String>,
    QueryParams(q): QueryParams<LogQuery>,
) -> ApiResult<axum::Json<Vec<Attempt>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1–1000"));
    }
    find(&state, &name).await?;
    Ok(axum::Json(state.store.attempts(&name, limit).await?))
}

/// The routing as saved.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RoutingView {
    routing: Routing,
    /// 0 before the first save.
    revision: i64,
}

/// The routes that send alerts to channels, in order.
#[utoipa::path(get, path = "/api/v1/alerts/routes", tag = "alerts", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = RoutingView)
))]
async fn get_routes(
    State(state): State<AppState>,
    _who: Viewer,
) -> ApiResult<axum::Json<RoutingView>> {
    let (routing, revision) = state.store.routing().await?;
    Ok(axum::Json(RoutingView { routing, revision }))
}

/// Replaces the routes. Every glob must compile and every channel named
/// must exist.
#[utoipa::path(put, path = "/api/v1/alerts/routes", tag = "alerts", security(("bearer" = ["admin"])), request_body = Routing, responses(
    (status = 200, body = RoutingView),
    (status = 422, description = "every bad field, named", content_type = "application/problem+json")
))]
async fn put_routes(
    State(state): State<AppState>,
    who: Admin,
    JsonBody(routing): JsonBody<Routing>,
) -> ApiResult<axum::Json<RoutingView>> {
    let names: BTreeSet<String> = state
        .store
        .channels()
        .await?
        .into_iter()
        .map(|c| c.spec.name)
        .collect();
    Router::compile(&routing, &names).map_err(ApiError::invalid)?;
    let revision = state.store.put_routing(&routing, Utc::now()).await?;
    tracing::info!(
        revision,
        by = who.0.username,
        "The alert routes were saved."
    );
    Ok(axum::Json(RoutingView { routing, revision }))
}

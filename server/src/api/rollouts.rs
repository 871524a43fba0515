//! Rollouts (`remote::rollout`): start one, follow it, pause, resume or
//! abort it; and the agents' update reports, which move it on.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use vantage_protocol::config::{MAX_WAVES, RolloutSpec, RolloutState, RolloutView, UpdateReport};

use crate::AppState;
use crate::audit::Audit;
use crate::auth::{AgentCredential, Operator, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::remote::rollout;
use crate::store::{AgentStore as _, ReleaseStore as _, RolloutRow, RolloutStore as _};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rollouts, start_rollout))
        .routes(routes!(get_rollout))
        .routes(routes!(pause_rollout))
        .routes(routes!(resume_rollout))
        .routes(routes!(abort_rollout))
        .routes(routes!(update_status))
}

/// Starts a rollout: its first wave is asked at once; the server starts
/// each next wave once every agent asked is healthy and `wait` passed, and
/// halts when more than `max_failures_percent` of them failed.
#[utoipa::path(post, path = "/api/v1/rollouts", tag = "releases", security(("bearer" = ["operator"])), request_body = RolloutSpec, responses(
    (status = 201, body = RolloutView),
    (status = 409, description = "another rollout is running or paused", content_type = "application/problem+json"),
    (status = 422, description = "no such release, bad waves or budget, or no online agent to update", content_type = "application/problem+json")
))]
async fn start_rollout(
    State(state): State<AppState>,
    who: Operator,
    audit: Audit,
    JsonBody(spec): JsonBody<RolloutSpec>,
) -> ApiResult<(StatusCode, axum::Json<RolloutView>)> {
    if spec.waves.is_empty() || spec.waves.len() > MAX_WAVES {
        return Err(ApiError::field(
            "waves",
            format!("give 1 to {MAX_WAVES} waves"),
        ));
    }
    if !(0.0..=100.0).contains(&spec.max_failures_percent) {
        return Err(ApiError::field("max_failures_percent", "between 0 and 100"));
    }
    if spec.wait > std::time::Duration::from_secs(7 * 86_400) {
        return Err(ApiError::field("wait", "at most 7 days"));
    }
    let published = state
        .store
        .releases()
        .await?
        .iter()
        .any(|r| r.body.version == spec.version && r.yanked_at.is_none());
    if !published {
        return Err(ApiError::field(
            "version",
            format!(
                "no release of {} is published (or it is yanked): `vantage release publish` it first",
                spec.version
            ),
        ));
    }
    let now = Utc::now();
    let agents = state.store.agents(None, u32::MAX).await?;
    let eligible = rollout::eligible(
        &agents,
        spec.group.as_deref(),
        state.config.online_since(now),
    );
    if eligible.is_empty() {
        return Err(ApiError::field(
            "group",
            "no online agent is in it: nothing to update",
        ));
    }
    let reach: Vec<usize> = spec.waves.iter().map(|w| w.reach(eligible.len())).collect();
    if reach.windows(2).any(|w| w[1] < w[0]) {
        return Err(ApiError::field(
            "waves",
            format!(
                "each wave reaches at least as far as the one before; with {} agents they reach {reach:?}",
                eligible.len()
            ),
        ));
    }
    let row = RolloutRow::start(spec, who.0.user_id, now);
    if !state.store.insert_rollout(&row).await? {
        return Err(ApiError::Conflict(
            "another rollout is running or paused: abort it or let it finish first".into(),
        ));
    }
    let first: Vec<Uuid> = eligible.into_iter().take(reach[0]).collect();
    state.store.assign_agents(row.id, 0, &first, now).await?;
    state.changes.bump();
    audit.0.note(
        "rollout",
        serde_json::json!({"id": row.id, "version": row.spec.version.to_string(), "group": row.spec.group}),
    );
    tracing::info!(rollout = %row.id, version = %row.spec.version, first_wave = first.len(), by = who.0.username, "A rollout started.");
    Ok((
        StatusCode::CREATED,
        axum::Json(rollout::view(&state.store, row).await?),
    ))
}

/// Rollouts, newest first.
#[utoipa::path(get, path = "/api/v1/rollouts", tag = "releases", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = Vec<RolloutView>)
))]
async fn list_rollouts(
    State(state): State<AppState>,
    _who: Viewer,
) -> ApiResult<axum::Json<Vec<RolloutView>>> {
    let mut views = Vec::new();
    for row in state.store.rollouts().await? {
        views.push(rollout::view(&state.store, row).await?);
    }
    Ok(axum::Json(views))
}

async fn find(state: &AppState, id: Uuid) -> ApiResult<RolloutRow> {
    state
        .store
        .rollouts()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no rollout {id}")))
}

/// One rollout, with every agent it asked.
#[utoipa::path(get, path = "/api/v1/rollouts/{id}", tag = "releases", security(("bearer" = ["viewer"])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = RolloutView),
    (status = 404, description = "no such rollout", content_type = "application/problem+json")
))]
async fn get_rollout(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<axum::Json<RolloutView>> {
    let row = find(&state, id).await?;
    Ok(axum::Json(rollout::view(&state.store, row).await?))
}

async fn steer(
    state: &AppState,
    who: &Operator,
    id: Uuid,
    from: &[RolloutState],
    to: RolloutState,
) -> ApiResult<RolloutView> {
    let row = find(state, id).await?;
    if !from.contains(&row.state) {
        return Err(ApiError::Conflict(format!(
            "the rollout is {}: it cannot become {}",
            row.state.as_str(),
            to.as_str()
        )));
    }
    let next = RolloutRow {
        state: to,
        reason: Some(format!("{} by {}", to.as_str(), who.0.username)),
        revision: row.revision + 1,
        updated_at: Utc::now(),
        ..row
    };
    if !state.store.update_rollout(&next).await? {
        return Err(ApiError::Conflict(
            "the rollout changed meanwhile: look again".into(),
        ));
    }
    state.changes.bump();
    tracing::info!(rollout = %id, state = to.as_str(), by = who.0.username, "A rollout was steered.");
    Ok(rollout::view(&state.store, next).await?)
}

/// Pauses a running rollout: no new wave starts; the agents asked go on.
#[utoipa::path(post, path = "/api/v1/rollouts/{id}/pause", tag = "releases", security(("bearer" = ["operator"])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = RolloutView),
    (status = 404, description = "no such rollout", content_type = "application/problem+json"),
    (status = 409, description = "it is not running", content_type = "application/problem+json")
))]
async fn pause_rollout(
    State(state): State<AppState>,
    who: Operator,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<axum::Json<RolloutView>> {
    Ok(axum::Json(
        steer(
            &state,
            &who,
            id,
            &[RolloutState::Running],
            RolloutState::Paused,
        )
        .await?,
    ))
}

/// Resumes a paused rollout.
#[utoipa::path(post, path = "/api/v1/rollouts/{id}/resume", tag = "releases", security(("bearer" = ["operator"])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = RolloutView),
    (status = 404, description = "no such rollout", content_type = "application/problem+json"),
    (status = 409, description = "it is not paused", content_type = "application/problem+json")
))]
async fn resume_rollout(
    State(state): State<AppState>,
    who: Operator,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<axum::Json<RolloutView>> {
    Ok(axum::Json(
        steer(
            &state,
            &who,
            id,
            &[RolloutState::Paused],
            RolloutState::Running,
        )
        .await?,
    ))
}

/// Aborts a rollout: no agent is offered its version any more (those that
/// run it keep it).
#[utoipa::path(post, path = "/api/v1/rollouts/{id}/abort", tag = "releases", security(("bearer" = ["operator"])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = RolloutView),
    (status = 404, description = "no such rollout", content_type = "application/problem+json"),
    (status = 409, description = "it ended already", content_type = "application/problem+json")
))]
async fn abort_rollout(
    State(state): State<AppState>,
    who: Operator,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<axum::Json<RolloutView>> {
    let from = [RolloutState::Running, RolloutState::Paused];
    Ok(axum::Json(
        steer(&state, &who, id, &from, RolloutState::Aborted).await?,
    ))
}

/// An agent says where its update stands; the active rollout takes it
/// when it asked that agent for that version, and moves on.
#[utoipa::path(post, path = "/api/v1/agents/update-status", tag = "agents", security(("agent" = [])), request_body = UpdateReport, responses(
    (status = 204, description = "noted"),
    (status = 401, description = "unknown or revoked agent", content_type = "application/problem+json")
))]
async fn update_status(
    State(state): State<AppState>,
    AgentCredential(agent): AgentCredential,
    JsonBody(report): JsonBody<UpdateReport>,
) -> ApiResult<StatusCode> {
    if report.reason.as_ref().is_some_and(|r| r.len() > 4096) {
        return Err(ApiError::field("reason", "at most 4096 bytes"));
    }
    let now = Utc::now();
    tracing::info!(agent = agent.name, running = %report.running, target = %report.target, step = ?report.step, reason = report.reason.as_deref().unwrap_or(""), "An agent reported its update.");
    let active = state
        .store
        .rollouts()
        .await?
        .into_iter()
        .find(|r| r.state.active() && r.spec.version == report.target);
    if let Some(rollout) = active {
        let reason = report.reason.as_deref();
        if state
            .store
            .record_update(rollout.id, agent.id, report.step, reason, now)
            .await?
            && rollout::advance(&state.store, state.config.online_since(now), now).await?
        {
            state.changes.bump();
        }
        if report.step.failed() {
            // Its offer goes away.
            state.changes.bump();
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

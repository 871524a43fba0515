//! Enrollment, the agent inventory, placement, revocation and heartbeats.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use vantage_protocol::config::{AgentPlacement, ConfigStatus};
use vantage_protocol::ingest::{EnrollRequest, EnrollResponse, Heartbeat, OutboxStats};

use super::reported;
use crate::AppState;
use crate::audit::Audit;
use crate::auth::{Admin, AgentCredential, Operator, TokenKind, Viewer, new_token, token_hash};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::remote::validate;
use crate::store::{
    Actor, ActorKind, AgentRow, AgentStore as _, EnrollRefusal, NewEnrollment, RegistryStore as _,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_enrollment_token))
        .routes(routes!(enroll))
        .routes(routes!(heartbeat))
        .routes(routes!(list_agents))
        .routes(routes!(get_agent, place_agent))
        .routes(routes!(revoke_agent))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewEnrollmentToken {
    /// Lifetime such as `1h` (default) or `7d`, at most 30 days.
    #[serde(default)]
    expires_in: Option<String>,
    /// How many agents it may enroll (1–100000; default 1): more for a
    /// fleet that enrolls itself, such as a DaemonSet.
    #[serde(default)]
    uses: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct EnrollmentToken {
    id: Uuid,
    /// The token (`ve_…`) for `vantage-agent enroll --token`. Shown once.
    token: String,
    expires_at: DateTime<Utc>,
    /// How many agents it may enroll.
    uses: u32,
}

/// Creates an enrollment token: one-time, or for `uses` agents.
#[utoipa::path(post, path = "/api/v1/enrollment-tokens", tag = "agents", security(("bearer" = ["admin"])), request_body = NewEnrollmentToken, responses(
    (status = 201, body = EnrollmentToken),
    (status = 422, description = "bad lifetime", content_type = "application/problem+json")
))]
async fn create_enrollment_token(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(body): JsonBody<NewEnrollmentToken>,
) -> ApiResult<(StatusCode, axum::Json<EnrollmentToken>)> {
    let lifetime = match &body.expires_in {
        None => std::time::Duration::from_secs(3600),
        Some(s) => humantime::parse_duration(s)
            .map_err(|e| ApiError::field("expires_in", e.to_string()))?,
    };
    if lifetime.is_zero() || lifetime > std::time::Duration::from_secs(30 * 86_400) {
        return Err(ApiError::field("expires_in", "must be between 1s and 30d"));
    }
    let uses = body.uses.unwrap_or(1);
    if !(1..=100_000).contains(&uses) {
        return Err(ApiError::field("uses", "must be between 1 and 100000"));
    }
    let now = Utc::now();
    let expires_at = now
        + chrono::Duration::from_std(lifetime)
            .map_err(|_| ApiError::field("expires_in", "is too long"))?;
    let (token, token_sha) = new_token(TokenKind::Enrollment);
    let id = Uuid::now_v7();
    state
        .store
        .create_enrollment(&NewEnrollment {
            id,
            token_sha,
            created_by: admin.0.user_id,
            created_at: now,
            expires_at,
            uses,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(EnrollmentToken {
            id,
            token,
            expires_at,
            uses,
        }),
    ))
}

fn agent_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Exchanges a one-time enrollment token for the agent's own credential.
#[utoipa::path(post, path = "/api/v1/agents/enroll", tag = "agents", request_body = EnrollRequest, responses(
    (status = 201, body = EnrollResponse),
    (status = 401, description = "unknown enrollment token", content_type = "application/problem+json"),
    (status = 409, description = "token already used, or the name is taken", content_type = "application/problem+json"),
    (status = 410, description = "token expired", content_type = "application/problem+json"),
    (status = 422, description = "bad agent information", content_type = "application/problem+json")
))]
async fn enroll(
    State(state): State<AppState>,
    audit: Audit,
    JsonBody(body): JsonBody<EnrollRequest>,
) -> ApiResult<(StatusCode, axum::Json<EnrollResponse>)> {
    let name = body
        .name
        .clone()
        .unwrap_or_else(|| body.agent.hostname.clone());
    if !agent_name_ok(&name) {
        return Err(ApiError::field(
            "name",
            "1–64 characters from letters, digits and . _ -",
        ));
    }
    reported::check_info(&state.config, &body.agent)?;
    let (credential, credential_sha) = new_token(TokenKind::Agent);
    let outcome = state
        .store
        .enroll(
            &token_hash(&body.token),
            &name,
            &body.agent,
            &credential_sha,
            Utc::now(),
        )
        .await?;
    match outcome {
        Ok(agent_id) => {
            tracing::info!(%agent_id, name, hostname = body.agent.hostname, "An agent enrolled.");
            // Agents' own requests are data, but their enrollment is a change.
            audit.0.actor(Actor {
                kind: ActorKind::Agent,
                name: name.clone(),
                id: Some(agent_id),
                token_id: None,
            });
            audit.0.always();
            state.changes.bump();
            // The agent pins these: from now on it trusts only keys they endorsed.
            let trust_roots = state
                .store
                .keys()
                .await?
                .into_iter()
                .filter(|k| k.root && k.revoked_at.is_none())
                .collect();
            Ok((
                StatusCode::CREATED,
                axum::Json(EnrollResponse {
                    agent_id,
                    name,
                    credential,
                    trust_roots,
                }),
            ))
        }
        Err(EnrollRefusal::UnknownToken) => Err(ApiError::Unauthorized("unknown enrollment token")),
        Err(EnrollRefusal::Expired) => Err(ApiError::Gone(
            "this enrollment token expired: ask for a new one".into(),
        )),
        Err(EnrollRefusal::AlreadyUsed) => Err(ApiError::Conflict(
            "this enrollment token was already used".into(),
        )),
        Err(EnrollRefusal::NameTaken) => Err(ApiError::Conflict(format!(
            "an agent named {name:?} exists: enroll with another --name, or revoke and delete the old one"
        ))),
    }
}

/// Tells the server the agent is alive, and how its outbox is.
#[utoipa::path(post, path = "/api/v1/agents/heartbeat", tag = "agents", security(("agent" = [])), request_body = Heartbeat, responses(
    (status = 204, description = "noted"),
    (status = 401, description = "unknown or revoked agent", content_type = "application/problem+json")
))]
async fn heartbeat(
    State(state): State<AppState>,
    AgentCredential(agent): AgentCredential,
    JsonBody(body): JsonBody<Heartbeat>,
) -> ApiResult<StatusCode> {
    reported::check_addresses(&state.config, "addresses", &body.addresses)?;
    let now = Utc::now();
    if state.store.heartbeat(agent.id, &body, now).await? {
        // Mesh peers probe the new addresses.
        state.changes.bump();
    }
    state.live.agent(agent.id, &agent.name, now);
    Ok(StatusCode::NO_CONTENT)
}

/// An agent as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct AgentView {
    id: Uuid,
    name: String,
    hostname: String,
    os: String,
    arch: String,
    version: String,
    addresses: Vec<String>,
    enrolled_at: DateTime<Utc>,
    last_seen_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    /// Heard from within `offline_after` and not revoked.
    online: bool,
    outbox: OutboxStats,
    /// Checks select agents by these.
    groups: Vec<String>,
    labels: BTreeMap<String, String>,
    /// What the agent last reported applying.
    config_status: Option<ConfigStatus>,
}

impl AgentView {
    fn of(row: AgentRow, online_since: DateTime<Utc>) -> AgentView {
        AgentView {
            online: row.online(online_since),
            id: row.id,
            name: row.name,
            hostname: row.info.hostname,
            os: row.info.os,
            arch: row.info.arch,
            version: row.info.version,
            addresses: row.info.addresses,
            enrolled_at: row.enrolled_at,
            last_seen_at: row.last_seen_at,
            revoked_at: row.revoked_at,
            outbox: row.outbox,
            groups: row.groups,
            labels: row.labels,
            config_status: row.config_status,
        }
    }
}

fn online_since(state: &AppState) -> DateTime<Utc> {
    state.config.online_since(Utc::now())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct Page {
    /// From a previous page's `next_cursor`.
    cursor: Option<String>,
    /// 1–1000, default 100.
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AgentPage {
    items: Vec<AgentView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    next_cursor: Option<String>,
}

/// Lists agents by name, with their status.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", security(("bearer" = ["viewer"])), params(Page), responses((status = 200, body = AgentPage)))]
async fn list_agents(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(page): QueryParams<Page>,
) -> ApiResult<axum::Json<AgentPage>> {
    let limit = page.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1–1000"));
    }
    let after = match &page.cursor {
        Some(c) => Some(crate::api::decode_cursor(c)?),
        None => None,
    };
    let rows = state.store.agents(after.as_deref(), limit + 1).await?;
    let more = rows.len() > limit as usize;
    let since = online_since(&state);
    let items: Vec<AgentView> = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| AgentView::of(r, since))
        .collect();
    let next_cursor = more
        .then(|| items.last().map(|a| crate::api::encode_cursor(&a.name)))
        .flatten();
    Ok(axum::Json(AgentPage { items, next_cursor }))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents", security(("bearer" = ["viewer"])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = AgentView),
    (status = 404, description = "no such agent", content_type = "application/problem+json")
))]
async fn get_agent(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<axum::Json<AgentView>> {
    let row = state
        .store
        .agent(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no agent {id}")))?;
    Ok(axum::Json(AgentView::of(row, online_since(&state))))
}

/// Places an agent: sets its groups and labels (the fields given).
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "agents", security(("bearer" = ["operator"])), params(("id" = Uuid, Path)), request_body = AgentPlacement, responses(
    (status = 200, body = AgentView),
    (status = 404, description = "no such agent", content_type = "application/problem+json"),
    (status = 422, description = "a bad group name or label", content_type = "application/problem+json")
))]
async fn place_agent(
    State(state): State<AppState>,
    _who: Operator,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<AgentPlacement>,
) -> ApiResult<axum::Json<AgentView>> {
    validate::placement(&body).map_err(ApiError::invalid)?;
    let mut groups = body.groups;
    if let Some(g) = &mut groups {
        g.sort();
        g.dedup();
    }
    if !state
        .store
        .set_placement(id, groups.as_deref(), body.labels.as_ref())
        .await?
    {
        return Err(ApiError::NotFound(format!("no agent {id}")));
    }
    state.changes.bump();
    let row = state
        .store
        .agent(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no agent {id}")))?;
    Ok(axum::Json(AgentView::of(row, online_since(&state))))
}

/// Revokes an agent's credential: its requests are refused from now on.
#[utoipa::path(post, path = "/api/v1/agents/{id}/revoke", tag = "agents", security(("bearer" = ["admin"])), params(("id" = Uuid, Path)), responses(
    (status = 204, description = "revoked"),
    (status = 404, description = "no such agent", content_type = "application/problem+json")
))]
async fn revoke_agent(
    State(state): State<AppState>,
    _admin: Admin,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    if state.store.revoke_agent(id, Utc::now()).await? {
        state.changes.bump();
        tracing::info!(agent_id = %id, "An agent's credential was revoked.");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no agent {id}")))
    }
}

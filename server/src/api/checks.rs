//! Checks defined on the server: saved whole after every field is checked,
//! shown with the version each resolves to; and a mesh check's matrix.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::config::{CheckSpec, CheckView, MeshCell, MeshMatrix};

use crate::AppState;
use crate::audit::Audit;
use crate::auth::{Operator, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::remote::{check_view, desired, trust, validate};
use crate::secrets;
use crate::store::{
    AgentStore as _, CheckStore as _, RegistryStore as _, SeriesFilter, SeriesStore as _,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_checks))
        .routes(routes!(get_check, put_check, delete_check))
        .routes(routes!(mesh))
}

/// Every check, by name, with how each resolves now.
#[utoipa::path(get, path = "/api/v1/checks", tag = "checks", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = Vec<CheckView>)
))]
async fn list_checks(
    State(state): State<AppState>,
    _who: Viewer,
) -> ApiResult<axum::Json<Vec<CheckView>>> {
    let packages = state.store.packages(None).await?;
    let keys = state.store.keys().await?;
    let mut views: Vec<CheckView> = state
        .store
        .checks()
        .await?
        .into_iter()
        .map(|row| check_view(row, &packages, &keys, &state.secrets))
        .collect();
    views.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    Ok(axum::Json(views))
}

async fn view_of(state: &AppState, name: &str) -> ApiResult<CheckView> {
    let row = state
        .store
        .checks()
        .await?
        .into_iter()
        .find(|c| c.spec.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("no check `{name}`")))?;
    let packages = state.store.packages(Some(&row.spec.plugin)).await?;
    Ok(check_view(
        row,
        &packages,
        &state.store.keys().await?,
        &state.secrets,
    ))
}

/// One check.
#[utoipa::path(get, path = "/api/v1/checks/{name}", tag = "checks", security(("bearer" = ["viewer"])), params(("name" = String, Path)), responses(
    (status = 200, body = CheckView),
    (status = 404, description = "no such check", content_type = "application/problem+json")
))]
async fn get_check(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams(name): PathParams<String>,
) -> ApiResult<axum::Json<CheckView>> {
    Ok(axum::Json(view_of(&state, &name).await?))
}

/// Creates or replaces a check. Saving reviews the capabilities the newest
/// qualifying version requests; saving the same spec again changes nothing
/// unless a version requesting more waits for that approval.
#[utoipa::path(put, path = "/api/v1/checks/{name}", tag = "checks", security(("bearer" = ["operator"])), params(("name" = String, Path)), request_body = CheckSpec, responses(
    (status = 200, body = CheckView, description = "replaced (or unchanged)"),
    (status = 201, body = CheckView, description = "created"),
    (status = 422, description = "every bad field, named", content_type = "application/problem+json")
))]
async fn put_check(
    State(state): State<AppState>,
    who: Operator,
    audit: Audit,
    PathParams(name): PathParams<String>,
    JsonBody(mut spec): JsonBody<CheckSpec>,
) -> ApiResult<(StatusCode, axum::Json<CheckView>)> {
    let packages = state.store.packages(Some(&spec.plugin)).await?;
    let keys = state.store.keys().await?;
    let stored = state
        .store
        .checks()
        .await?
        .into_iter()
        .find(|c| c.spec.name == name)
        .map(|c| c.spec);
    // `[redacted]` keeps a stored secret: validate with its value.
    let mut filled = Vec::new();
    if let Some(stored) = &stored {
        let mut opened = stored.clone();
        if state.secrets.open_spec(&mut opened).is_ok() {
            filled = secrets::fill_kept(&mut spec, &opened);
        }
    }
    let checked = validate::check(&spec, &name, &packages, &trust::trusted_ids(&keys))
        .map_err(ApiError::invalid)?;
    let secret = vantage_protocol::secrets::secret_pointers(&checked.schema, &spec.config);
    if let Some(pointer) = filled.iter().find(|p| !secret.contains(p)) {
        return Err(ApiError::field(
            &format!("config{pointer}"),
            "is `[redacted]`, but the plugin version it resolves to does not keep it secret: send the value",
        ));
    }
    state
        .secrets
        .seal_spec(&mut spec, &checked.schema, stored.as_ref())
        .map_err(|(field, why)| ApiError::field(&field, why))?;
    let mut shown = spec.clone();
    secrets::redact_spec(&mut shown);
    audit.0.note("request", &shown);
    let saved = state
        .store
        .put_check(&spec, &checked.reviewed, Utc::now())
        .await?;
    state.changes.bump();
    tracing::info!(
        check = name,
        revision = saved.revision,
        by = who.0.username,
        "A check was saved."
    );
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(view_of(&state, &name).await?)))
}

/// Deletes a check: agents stop running it with their next desired state.
#[utoipa::path(delete, path = "/api/v1/checks/{name}", tag = "checks", security(("bearer" = ["operator"])), params(("name" = String, Path)), responses(
    (status = 204, description = "deleted"),
    (status = 404, description = "no such check", content_type = "application/problem+json")
))]
async fn delete_check(
    State(state): State<AppState>,
    who: Operator,
    PathParams(name): PathParams<String>,
) -> ApiResult<StatusCode> {
    if !state.store.delete_check(&name).await? {
        return Err(ApiError::NotFound(format!("no check `{name}`")));
    }
    state.changes.bump();
    tracing::info!(check = name, by = who.0.username, "A check was deleted.");
    Ok(StatusCode::NO_CONTENT)
}

/// The address `target` names: itself, or the host of `host:port`.
fn address_of(target: &str) -> &str {
    match target.parse::<std::net::SocketAddr>() {
        Ok(_) => target.rsplit_once(':').map_or(target, |(host, _)| {
            host.trim_start_matches('[').trim_end_matches(']')
        }),
        Err(_) => target,
    }
}

/// The latest result of every agent → peer pair of a mesh check.
#[utoipa::path(get, path = "/api/v1/checks/{name}/mesh", tag = "checks", security(("bearer" = ["viewer"])), params(("name" = String, Path)), responses(
    (status = 200, body = MeshMatrix),
    (status = 404, description = "no such check", content_type = "application/problem+json"),
    (status = 422, description = "not a mesh check", content_type = "application/problem+json")
))]
async fn mesh(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams(name): PathParams<String>,
) -> ApiResult<axum::Json<MeshMatrix>> {
    let check = state
        .store
        .checks()
        .await?
        .into_iter()
        .find(|c| c.spec.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("no check `{name}`")))?;
    let Some(spec) = &check.spec.mesh else {
        return Err(ApiError::field(
            "name",
            format!("`{name}` is not a mesh check"),
        ));
    };
    let agents = state.store.agents(None, u32::MAX).await?;
    let members = desired::members(&agents, &spec.group);
    let series = state
        .store
        .series(&SeriesFilter {
            check: Some(name.clone()),
            ..SeriesFilter::default()
        })
        .await?;
    let mut cells = Vec::new();
    for latest in state.store.latest(None).await? {
        let Some(from) = members.iter().find(|m| m.id == latest.agent_id) else {
            continue;
        };
        if latest.check != name {
            continue;
        }
        let address = address_of(&latest.target);
        let Some(to) = members
            .iter()
            .find(|m| m.id != from.id && m.info.addresses.iter().any(|a| a == address))
        else {
            continue;
        };
        // The run's samples: its check's series at exactly its start.
        let own: Vec<_> = series
            .iter()
            .filter(|s| s.check_id == latest.check_id)
            .collect();
        let ids: Vec<i64> = own.iter().map(|s| s.series_id).collect();
        let at = latest.started_at;
        let points = state
            .store
            .raw_samples(&ids, at, at + chrono::Duration::microseconds(1), ids.len())
            .await?;
        let mut metrics = BTreeMap::new();
        // Unlabelled series first, so that they win over labelled ones.
        for s in own
            .iter()
            .filter(|s| s.labels == "{}")
            .chain(own.iter().filter(|s| s.labels != "{}"))
        {
            if let Some(p) = points.iter().find(|p| p.series_id == s.series_id) {
                metrics.entry(s.metric.clone()).or_insert(p.value);
            }
        }
        cells.push(MeshCell {
            from: from.name.clone(),
            to: to.name.clone(),
            target: latest.target.clone(),
            status: latest.status.as_str().to_owned(),
            started_at: latest.started_at,
            metrics,
        });
    }
    // A peer probed at an old address too: its newest result stands.
    cells.sort_by(|a, b| (&a.from, &a.to, b.started_at).cmp(&(&b.from, &b.to, a.started_at)));
    cells.dedup_by(|later, kept| (&later.from, &later.to) == (&kept.from, &kept.to));
    Ok(axum::Json(MeshMatrix {
        check: name,
        agents: members.iter().map(|m| m.name.clone()).collect(),
        cells,
    }))
}

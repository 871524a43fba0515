//! `GET /api/v1/results/latest/samples`: every sample of a check target's
//! latest run, whatever its metrics and labels: what a process table or a
//! per-disk panel shows. History queries cap the series they cover, and
//! series labelled by process id accumulate over time; the samples of one
//! run are read by the run's time instead.

use std::collections::BTreeMap;

use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use vantage_protocol::manifest::BaseUnit;

use crate::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult, QueryParams};
use crate::store::{SeriesFilter, SeriesStore as _};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(latest_samples))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunQuery {
    agent_id: Uuid,
    check: String,
    target: String,
}

/// One sample of a run.
#[derive(Serialize, ToSchema)]
pub(crate) struct RunSample {
    metric: String,
    unit: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of a check target's latest run.
#[derive(Serialize, ToSchema)]
pub(crate) struct RunSamples {
    result_id: Uuid,
    started_at: DateTime<Utc>,
    /// Ordered by metric, then labels.
    samples: Vec<RunSample>,
}

/// Every sample of the latest run of one check target (distributions are
/// left out: read them with `/api/v1/series/history`).
#[utoipa::path(get, path = "/api/v1/results/latest/samples", tag = "results", security(("bearer" = ["viewer"])), params(RunQuery), responses(
    (status = 200, body = RunSamples),
    (status = 404, description = "the agent has no result of that check and target", content_type = "application/problem+json"),
    (status = 422, description = "a missing or malformed parameter, or a run with more samples than `max_query_points`", content_type = "application/problem+json")
))]
async fn latest_samples(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<RunQuery>,
) -> ApiResult<axum::Json<RunSamples>> {
    let latest = state
        .store
        .latest(Some(q.agent_id))
        .await?
        .into_iter()
        .find(|r| r.check == q.check && r.target == q.target)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "agent {} has no result of check `{}` on `{}`",
                q.agent_id, q.check, q.target
            ))
        })?;
    let series = state
        .store
        .series(&SeriesFilter {
            agent_id: Some(q.agent_id),
            check: Some(q.check),
            target: Some(q.target),
            metric: None,
        })
        .await?;
    let ids: Vec<i64> = series.iter().map(|s| s.series_id).collect();
    let cap = state.config.max_query_points;
    // A run's samples are stored at its start; the next run of the same
    // target starts an interval (at least 100 ms) later.
    let at = latest.started_at;
    let points = state
        .store
        .raw_samples(&ids, at, at + Duration::milliseconds(1), cap + 1)
        .await?;
    if points.len() > cap {
        return Err(ApiError::field(
            "query",
            format!("the run has more than {cap} samples (max_query_points)"),
        ));
    }
    let by_id: BTreeMap<i64, _> = series.iter().map(|s| (s.series_id, s)).collect();
    let mut samples: Vec<RunSample> = points
        .iter()
        .filter(|p| p.ts == at)
        .filter_map(|p| {
            let s = by_id.get(&p.series_id)?;
            Some(RunSample {
                metric: s.metric.clone(),
                unit: BaseUnit::as_str(s.unit).to_owned(),
                labels: serde_json::from_str(&s.labels).unwrap_or_default(),
                value: p.value,
            })
        })
        .collect();
    samples.sort_by(|a, b| (&a.metric, &a.labels).cmp(&(&b.metric, &b.labels)));
    Ok(axum::Json(RunSamples {
        result_id: latest.result_id,
        started_at: at,
        samples,
    }))
}

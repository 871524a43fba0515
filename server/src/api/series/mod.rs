//! Reading results back: series and history here, statistics in
//! `stats.rs` (the latest results are `latest.rs`).

use std::collections::BTreeMap;

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use vantage_protocol::manifest::BaseUnit;

use crate::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult, QueryParams};
use crate::query::{self, Point, Resolution};
use crate::store::{
    RawDistribution, RawPoint, Rollup, RollupRow, SeriesFilter, SeriesRow, SeriesStore as _,
};

mod stats;

/// Most series one history or stats query may cover.
const MAX_SERIES: usize = 100;

/// Raw samples and distributions of `ids` in `[from, to)`: at most
/// `max_query_points` rows together, or a 422 naming that cap. Each read
/// asks for one row more than is left, to tell "exactly the cap" from "more".
async fn raw_rows(
    state: &AppState,
    ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<(Vec<RawPoint>, Vec<RawDistribution>)> {
    let cap = state.config.max_query_points;
    let samples = state.store.raw_samples(ids, from, to, cap + 1).await?;
    let left = cap
        .checked_sub(samples.len())
        .ok_or_else(|| too_many_points(cap))?;
    let distributions = state
        .store
        .raw_distributions(ids, from, to, left + 1)
        .await?;
    if distributions.len() > left {
        return Err(too_many_points(cap));
    }
    Ok((samples, distributions))
}

/// Rollup rows of `ids` in `[from, to)`: at most `max_query_points`, or a
/// 422 naming that cap.
async fn rollup_rows(
    state: &AppState,
    resolution: Rollup,
    ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Vec<RollupRow>> {
    let cap = state.config.max_query_points;
    let rows = state
        .store
        .rollups(resolution, ids, from, to, cap + 1)
        .await?;
    if rows.len() > cap {
        return Err(too_many_points(cap));
    }
    Ok(rows)
}

fn too_many_points(cap: usize) -> ApiError {
    ApiError::field(
        "query",
        format!(
            "reads more than {cap} points (max_query_points); narrow the range or the series, or ask for a coarser resolution"
        ),
    )
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_series))
        .routes(routes!(history))
        .routes(routes!(stats::stats))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeriesQuery {
    agent_id: Option<Uuid>,
    check: Option<String>,
    target: Option<String>,
    metric: Option<String>,
    /// Start of the range (RFC 3339); an hour before `to` when absent.
    from: Option<DateTime<Utc>>,
    /// End of the range (RFC 3339, exclusive); now when absent.
    to: Option<DateTime<Utc>>,
    /// `raw`, `1m` or `1h`; chosen from the range when absent.
    resolution: Option<Resolution>,
    /// History only: merge each series' points into buckets of this many
    /// seconds (rounded up to whole rollup buckets), with quantiles exact
    /// from raw values or merged from rollup sketches. One point per
    /// sample, run or rollup bucket when absent.
    #[param(minimum = 1)]
    step: Option<u32>,
    /// History only, raw resolution without `step`: each distribution
    /// point carries its values in the order measured.
    values: Option<bool>,
}

impl SeriesQuery {
    fn filter(&self) -> SeriesFilter {
        SeriesFilter {
            agent_id: self.agent_id,
            check: self.check.clone(),
            target: self.target.clone(),
            metric: self.metric.clone(),
        }
    }

    /// `step` and `values` shape history's points; other reads refuse them.
    fn no_history_options(&self) -> ApiResult<()> {
        match (self.step, self.values) {
            (Some(_), _) => Err(ApiError::field(
                "step",
                "is for /api/v1/series/history only",
            )),
            (_, Some(_)) => Err(ApiError::field(
                "values",
                "is for /api/v1/series/history only",
            )),
            _ => Ok(()),
        }
    }

    /// The step asked for, checked against the range.
    fn step(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> ApiResult<Option<u32>> {
        match self.step {
            Some(0) => Err(ApiError::field("step", "must be at least 1 second")),
            Some(s) if chrono::Duration::seconds(s.into()) > to - from => {
                Err(ApiError::field("step", "must not be longer than the range"))
            }
            step => Ok(step),
        }
    }

    fn range(&self, now: DateTime<Utc>) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
        let to = self.to.unwrap_or(now);
        let from = self.from.unwrap_or(to - chrono::Duration::hours(1));
        if from >= to {
            return Err(ApiError::field("from", "must be before `to`"));
        }
        if to - from > chrono::Duration::days(3 * 366) {
            return Err(ApiError::field(
                "from",
                "the range may span at most 3 years",
            ));
        }
        Ok((from, to))
    }
}

/// A series and what names it.
#[derive(Serialize, ToSchema)]
pub(crate) struct SeriesInfo {
    series_id: i64,
    check_id: i64,
    agent_id: Uuid,
    agent: String,
    check: String,
    target: String,
    metric: String,
    unit: String,
    labels: BTreeMap<String, String>,
}

impl From<&SeriesRow> for SeriesInfo {
    fn from(s: &SeriesRow) -> SeriesInfo {
        SeriesInfo {
            series_id: s.series_id,
            check_id: s.check_id,
            agent_id: s.agent_id,
            agent: s.agent.clone(),
            check: s.check.clone(),
            target: s.target.clone(),
            metric: s.metric.clone(),
            unit: BaseUnit::as_str(s.unit).to_owned(),
            labels: serde_json::from_str(&s.labels).unwrap_or_default(),
        }
    }
}

/// Series matching a filter (every field given must match).
#[utoipa::path(get, path = "/api/v1/series", tag = "results", security(("bearer" = ["viewer"])), params(SeriesQuery), responses((status = 200, body = Vec<SeriesInfo>)))]
async fn list_series(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<SeriesQuery>,
) -> ApiResult<axum::Json<Vec<SeriesInfo>>> {
    q.no_history_options()?;
    let rows = state.store.series(&q.filter()).await?;
    Ok(axum::Json(rows.iter().map(SeriesInfo::from).collect()))
}

async fn matching(state: &AppState, q: &SeriesQuery) -> ApiResult<Vec<SeriesRow>> {
    let rows = state.store.series(&q.filter()).await?;
    if rows.len() > MAX_SERIES {
        return Err(ApiError::field(
            "query",
            format!(
                "matches {} series; narrow it to at most {MAX_SERIES} (agent_id, check, target, metric)",
                rows.len()
            ),
        ));
    }
    Ok(rows)
}

fn pick(
    state: &AppState,
    q: &SeriesQuery,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ApiResult<Resolution> {
    let retention = &state.config.retention;
    match q.resolution {
        None => Ok(query::choose(from, to, now, retention)),
        Some(r) if query::covers(r, from, now, retention) => Ok(r),
        Some(_) => Err(ApiError::field(
            "resolution",
            "is not kept that far back; omit it to let the server choose",
        )),
    }
}

/// What a history or stats query reads: the resolution, the range widened
/// to its buckets, and the matching series.
struct Plan {
    resolution: Resolution,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    series: Vec<SeriesRow>,
    ids: Vec<i64>,
}

async fn plan(state: &AppState, q: &SeriesQuery) -> ApiResult<Plan> {
    let now = Utc::now();
    let (from, to) = q.range(now)?;
    let resolution = pick(state, q, from, to, now)?;
    let (from, to) = query::align(resolution, from, to);
    let series = matching(state, q).await?;
    let ids = series.iter().map(|s| s.series_id).collect();
    Ok(Plan {
        resolution,
        from,
        to,
        series,
        ids,
    })
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SeriesPoints {
    series: SeriesInfo,
    points: Vec<Point>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct History {
    resolution: Resolution,
    /// Seconds per point when the query asked for a `step` (after rounding
    /// to whole rollup buckets).
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<i64>,
    /// True for rollups: quantiles are within 1 %.
    approximate: bool,
    /// The range served: rollup ranges widen to whole buckets.
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    series: Vec<SeriesPoints>,
}

/// Points of the matching series over a range, at the resolution the range
/// calls for (raw up to 3 h, 1-minute rollups up to 33 h, else 1-hour);
/// with `step`, merged into buckets of that width by the server.
#[utoipa::path(get, path = "/api/v1/series/history", tag = "results", security(("bearer" = ["viewer"])), params(SeriesQuery), responses(
    (status = 200, body = History),
    (status = 422, description = "bad range, resolution or step, too many series, or more points than `max_query_points`", content_type = "application/problem+json")
))]
async fn history(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<SeriesQuery>,
) -> ApiResult<axum::Json<History>> {
    let Plan {
        resolution,
        from,
        to,
        series,
        ids,
    } = plan(&state, &q).await?;
    let step = q
        .step(from, to)?
        .map(|s| query::effective_step(resolution, s));
    let mut points = match resolution.rollup() {
        None => {
            let (samples, distributions) = raw_rows(&state, &ids, from, to).await?;
            query::raw_points(&samples, &distributions, step, q.values == Some(true))
        }
        Some(r) => query::rollup_points(&rollup_rows(&state, r, &ids, from, to).await?, step),
    };
    let series = series
        .iter()
        .map(|s| SeriesPoints {
            series: s.into(),
            points: points.remove(&s.series_id).unwrap_or_default(),
        })
        .collect();
    Ok(axum::Json(History {
        resolution,
        step: step.map(|s| s.num_seconds()),
        approximate: resolution != Resolution::Raw,
        from,
        to,
        series,
    }))
}

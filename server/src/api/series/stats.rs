//! Statistics of series over a range, and each check's availability.

use std::collections::{BTreeMap, HashSet};

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Plan, SeriesInfo, SeriesQuery, plan, raw_rows, rollup_rows};
use crate::AppState;
use crate::auth::Viewer;
use crate::error::{ApiResult, QueryParams};
use crate::ingest::CHECK_UP;
use crate::query::{Resolution, Stats};
use crate::store::{RollupRow, SeriesFilter, SeriesRow, SeriesStore as _, StatusCounts};

#[derive(Serialize, ToSchema)]
pub(crate) struct SeriesStats {
    series: SeriesInfo,
    stats: Stats,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CheckAvailability {
    check_id: i64,
    /// Runs by status (raw resolution only: results are kept for the raw retention).
    #[serde(skip_serializing_if = "Option::is_none")]
    runs: Option<StatusCountsView>,
    /// Share of runs that ended `ok` (the mean of the check's `check_up`
    /// series); absent without runs.
    availability: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct StatusCountsView {
    ok: u64,
    timeout: u64,
    unreachable: u64,
    refused: u64,
    error: u64,
}

impl From<StatusCounts> for StatusCountsView {
    fn from(c: StatusCounts) -> Self {
        StatusCountsView {
            ok: c.ok,
            timeout: c.timeout,
            unreachable: c.unreachable,
            refused: c.refused,
            error: c.error,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct StatsAnswer {
    resolution: Resolution,
    approximate: bool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    series: Vec<SeriesStats>,
    checks: Vec<CheckAvailability>,
}

/// Statistics of the matching series over a range (min/avg/max, p50/p95/p99;
/// a `loss` series' `avg` is the loss), and each check's availability.
#[utoipa::path(get, path = "/api/v1/series/stats", tag = "results", security(("bearer" = ["viewer"])), params(SeriesQuery), responses(
    (status = 200, body = StatsAnswer),
    (status = 422, description = "bad range, resolution, too many series, or more points than `max_query_points`", content_type = "application/problem+json")
))]
pub(super) async fn stats(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<SeriesQuery>,
) -> ApiResult<axum::Json<StatsAnswer>> {
    q.no_history_options()?;
    let Plan {
        resolution,
        from,
        to,
        series,
        ids,
    } = plan(&state, &q).await?;
    let mut per_series = series_stats(&state, resolution, &ids, from, to).await?;
    let check_ids: HashSet<i64> = series.iter().map(|s| s.check_id).collect();
    // Availability is the mean of each check's `check_up` series, so it
    // holds at every resolution; run counts by status come from raw results.
    let up: Vec<SeriesRow> = state
        .store
        .series(&SeriesFilter {
            metric: Some(CHECK_UP.into()),
            ..q.filter()
        })
        .await?
        .into_iter()
        .filter(|s| check_ids.contains(&s.check_id))
        .collect();
    let up_ids: Vec<i64> = up.iter().map(|s| s.series_id).collect();
    let mut up_stats = series_stats(&state, resolution, &up_ids, from, to).await?;
    let mut checks = Vec::with_capacity(check_ids.len());
    for id in check_ids {
        let availability = up
            .iter()
            .find(|s| s.check_id == id)
            .and_then(|s| up_stats.remove(&s.series_id))
            .and_then(|s| s.avg);
        let runs = match resolution {
            Resolution::Raw => Some(state.store.status_counts(&[id], from, to).await?.into()),
            _ => None,
        };
        checks.push(CheckAvailability {
            check_id: id,
            availability,
            runs,
        });
    }
    checks.sort_by_key(|c| c.check_id);
    let series = series
        .iter()
        .map(|s| SeriesStats {
            series: s.into(),
            stats: per_series
                .remove(&s.series_id)
                .unwrap_or_else(|| Stats::exact(&mut [])),
        })
        .collect();
    Ok(axum::Json(StatsAnswer {
        resolution,
        approximate: resolution != Resolution::Raw,
        from,
        to,
        series,
        checks,
    }))
}

/// Statistics per series over a range: exact from raw samples, merged
/// sketches from rollups.
async fn series_stats(
    state: &AppState,
    resolution: Resolution,
    ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<BTreeMap<i64, Stats>> {
    let mut out = BTreeMap::new();
    match resolution.rollup() {
        None => {
            let mut values: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
            let (samples, distributions) = raw_rows(state, ids, from, to).await?;
            for p in samples {
                values.entry(p.series_id).or_default().push(p.value);
            }
            for d in distributions {
                values.entry(d.series_id).or_default().extend(d.values);
            }
            for (id, mut v) in values {
                out.insert(id, Stats::exact(&mut v));
            }
        }
        Some(r) => {
            let rows = rollup_rows(state, r, ids, from, to).await?;
            let mut by: BTreeMap<i64, Vec<&RollupRow>> = BTreeMap::new();
            for row in &rows {
                by.entry(row.series_id).or_default().push(row);
            }
            for (id, rows) in by {
                out.insert(id, Stats::merged(&rows));
            }
        }
    }
    Ok(out)
}

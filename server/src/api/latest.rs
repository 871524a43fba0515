//! `GET /api/v1/results/latest`: the latest result of every check target,
//! judged against what the server assigns now. A check target an agent no
//! longer runs (its check moved to other targets, or off the agent) keeps
//! its last result, marked not current, instead of reading as its last
//! status forever.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult, QueryParams};
use crate::remote::Snapshot;
use crate::store::{LatestRow, SeriesStore as _};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(latest))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct LatestQuery {
    agent_id: Option<Uuid>,
}

/// The latest result of a check target, and whether the check still has it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LatestResult {
    #[serde(flatten)]
    result: LatestRow,
    /// False when the server no longer assigns this target to this check
    /// on this agent (the check's targets changed, or the check no longer
    /// applies to the agent): the result is history, with no data since.
    /// True for a check the server does not define (an agent's local one).
    current: bool,
    /// The check's interval on this agent, when the server defines the
    /// check. Without a result for three intervals (and at least 30 s), a
    /// target has no data since its last result, as the dashboard shows.
    interval_ms: Option<u64>,
}

/// The latest result of every check target (of one agent, when given).
#[utoipa::path(get, path = "/api/v1/results/latest", tag = "results", security(("bearer" = ["viewer"])), params(LatestQuery), responses(
    (status = 200, body = Vec<LatestResult>, description = "one result per check target")
))]
async fn latest(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<LatestQuery>,
) -> ApiResult<Response> {
    let rows = state.store.latest(q.agent_id).await?;
    let snapshot = state.changes.snapshot(&state.store, &state.secrets).await?;
    let assigned = Assigned::new(&snapshot, rows.iter().map(|r| r.agent_id));
    // A large fleet's answer is tens of megabytes (350 bytes a row): one
    // buffer of about that size, rather than one that doubles its way there.
    let mut body = Vec::with_capacity(rows.len() * ROW_BYTES + 2);
    serde_json::to_writer(
        &mut body,
        &rows
            .into_iter()
            .map(|row| assigned.judge(row))
            .collect::<Vec<_>>(),
    )
    .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("the latest results as JSON")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// About what one latest result takes as JSON.
const ROW_BYTES: usize = 384;

/// What the server assigns: each agent's checks with their targets, and
/// every check it defines, with their intervals.
struct Assigned {
    by_agent: HashMap<Uuid, HashMap<String, (HashSet<String>, u64)>>,
    defined: HashMap<String, u64>,
}

impl Assigned {
    fn new(snapshot: &Snapshot, agents: impl Iterator<Item = Uuid>) -> Assigned {
        let mut by_agent = HashMap::new();
        for agent in agents {
            if by_agent.contains_key(&agent) {
                continue;
            }
            let checks = snapshot
                .assignments(agent)
                .unwrap_or_default()
                .into_iter()
                .map(|a| {
                    let targets = a.targets.into_iter().map(|t| t.target).collect();
                    (a.check.to_owned(), (targets, a.interval_ms))
                })
                .collect();
            by_agent.insert(agent, checks);
        }
        let defined = snapshot
            .checks
            .iter()
            .map(|c| {
                let spec = &c.row.spec;
                (spec.name.clone(), spec.interval.as_millis() as u64)
            })
            .collect();
        Assigned { by_agent, defined }
    }

    fn judge(&self, result: LatestRow) -> LatestResult {
        let own = self
            .by_agent
            .get(&result.agent_id)
            .and_then(|checks| checks.get(&result.check));
        let (current, interval_ms) = match (own, self.defined.get(&result.check)) {
            (Some((targets, interval)), _) => (targets.contains(&result.target), Some(*interval)),
            // Defined, but no longer for this agent (or not resolvable now).
            (None, Some(interval)) => (false, Some(*interval)),
            (None, None) => (true, None),
        };
        LatestResult {
            result,
            current,
            interval_ms,
        }
    }
}

//! `GET /api/v1/events`: what runs saw as text (matched log lines), newest
//! first, searched by agent, check, target, text and time, paged by id.
//!
//! Parameters are read as text and parsed here, so that a bad one is a 422
//! naming it (a typed query would name only `query`).

use std::collections::BTreeMap;

use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult, QueryParams};
use crate::store::{EventFilter, EventRecord, EventStore as _};

/// Longest text search, in bytes.
pub(crate) const MAX_SEARCH: usize = 256;
/// Longest check or target to filter by, in bytes.
const MAX_NAME: usize = 1024;
/// Events a page holds unless `limit` says otherwise, and at most.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventQuery {
    /// Only this agent's events.
    #[param(value_type = Option<Uuid>)]
    agent_id: Option<String>,
    /// Only this check's events (its name).
    check: Option<String>,
    /// Only this target's events.
    target: Option<String>,
    /// Only events whose text holds this, ignoring case (at most 256
    /// bytes; `%`, `_` and `\` are plain characters).
    q: Option<String>,
    /// Start of the range (RFC 3339); 24 hours before `to` when absent.
    #[param(value_type = Option<DateTime<Utc>>)]
    from: Option<String>,
    /// End of the range (RFC 3339, exclusive); now when absent.
    #[param(value_type = Option<DateTime<Utc>>)]
    to: Option<String>,
    /// The previous page's `next`: the events after it.
    #[param(value_type = Option<i64>, minimum = 1)]
    before: Option<String>,
    /// Events a page holds: 1–1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// An event and where it comes from.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventView {
    id: i64,
    /// When it happened (or was read), by the agent's clock.
    at: DateTime<Utc>,
    agent_id: Uuid,
    /// The agent's name.
    agent: String,
    check: String,
    target: String,
    text: String,
    /// `source` (the file or journal unit), `pattern` (which matched)…
    labels: BTreeMap<String, String>,
}

impl From<EventRecord> for EventView {
    fn from(e: EventRecord) -> EventView {
        EventView {
            id: e.id,
            at: e.at,
            agent_id: e.agent_id,
            agent: e.agent,
            check: e.check,
            target: e.target,
            text: e.text,
            labels: serde_json::from_str(&e.labels).unwrap_or_default(),
        }
    }
}

/// A page of events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventPage {
    events: Vec<EventView>,
    /// Pass as `before` for the next (older) page; null on the last one.
    #[schema(required = true)]
    next: Option<i64>,
}

/// Events (matched log lines and the like), newest first, kept for
/// `[retention] events`.
#[utoipa::path(get, path = "/api/v1/events", tag = "results", security(("bearer" = ["viewer"])), params(EventQuery), responses(
    (status = 200, body = EventPage),
    (status = 422, description = "a bad parameter, named in `errors`", content_type = "application/problem+json")
))]
async fn list_events(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<EventQuery>,
) -> ApiResult<axum::Json<EventPage>> {
    let mut filter = q.filter(Utc::now())?;
    let limit = filter.limit;
    filter.limit += 1;
    let mut events = state.store.events(&filter).await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next = if more {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(axum::Json(EventPage {
        events: events.into_iter().map(EventView::from).collect(),
        next,
    }))
}

impl EventQuery {
    /// The search asked for, every parameter checked.
    fn filter(self, now: DateTime<Utc>) -> ApiResult<EventFilter> {
        let agent_id = match self.agent_id {
            Some(a) => Some(
                Uuid::parse_str(&a).map_err(|_| ApiError::field("agent_id", "is not a UUID"))?,
            ),
            None => None,
        };
        let to = match self.to {
            Some(t) => time("to", &t)?,
            None => now,
        };
        let from = match self.from {
            Some(t) => time("from", &t)?,
            None => to - Duration::hours(24),
        };
        if from >= to {
            return Err(ApiError::field("from", "must be before `to`"));
        }
        let before = match self.before {
            Some(b) => Some(
                b.parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| ApiError::field("before", "is not an event id (`next`)"))?,
            ),
            None => None,
        };
        let limit = match self.limit {
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| ApiError::field("limit", format!("must be 1–{MAX_LIMIT}")))?,
            None => DEFAULT_LIMIT,
        };
        Ok(EventFilter {
            agent_id,
            check: text("check", self.check, MAX_NAME)?,
            target: text("target", self.target, MAX_NAME)?,
            text: text("q", self.q, MAX_SEARCH)?,
            from,
            to,
            before,
            limit,
        })
    }
}

fn time(name: &str, value: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::field(name, format!("is not an RFC 3339 time: {e}")))
}

/// A text parameter: absent, or not empty and at most `max` bytes.
fn text(name: &str, value: Option<String>, max: usize) -> ApiResult<Option<String>> {
    match value {
        Some(v) if v.is_empty() => Err(ApiError::field(name, "is empty: leave it out")),
        Some(v) if v.len() > max => {
            Err(ApiError::field(name, format!("is longer than {max} bytes")))
        }
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &str) -> EventQuery {
        serde_urlencoded::from_str(pairs).unwrap()
    }

    fn refused(pairs: &str) -> String {
        match query(pairs).filter(Utc::now()) {
            Err(ApiError::Unprocessable { errors, .. }) => errors[0].field.clone(),
            other => panic!("{pairs}: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_last_day_and_a_hundred_events() {
        let now = Utc::now();
        let f = query("").filter(now).unwrap();
        assert_eq!(
            (f.from, f.to, f.limit),
            (now - Duration::hours(24), now, 100)
        );
        let f = query("to=2026-01-02T00:00:00Z&q=50%25_off")
            .filter(now)
            .unwrap();
        assert_eq!(f.from.to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(f.text.as_deref(), Some("50%_off"));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        assert_eq!(refused("agent_id=nope"), "agent_id");
        assert_eq!(refused("from=yesterday"), "from");
        assert_eq!(refused("to=2026-13-01T00:00:00Z"), "to");
        assert_eq!(
            refused("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"),
            "from"
        );
        assert_eq!(refused("before=0"), "before");
        assert_eq!(refused("before=x"), "before");
        assert_eq!(refused("limit=0"), "limit");
        assert_eq!(refused("limit=1001"), "limit");
        assert_eq!(refused("check="), "check");
        assert_eq!(refused(&format!("q={}", "x".repeat(257))), "q");
    }
}

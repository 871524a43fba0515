//! `POST /api/v1/ingest`: batches of results from agents, stored exactly once.

use axum::extract::State;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::ingest::{IngestAck, IngestBatch};

use crate::AppState;
use crate::auth::AgentCredential;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::ingest::validate::{Horizon, validate};
use crate::live::ResultNames;
use crate::store::{IngestStore as _, Ingested};
use crate::telemetry::BatchOutcome;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest))
}

/// Stores a batch of results. Send it again freely until acknowledged: a
/// batch id or result id already stored is not stored twice.
#[utoipa::path(post, path = "/api/v1/ingest", tag = "ingest", security(("agent" = [])), request_body(content = IngestBatch, description = "JSON, optionally with `Content-Encoding: gzip`; at most 8 MiB decompressed, 5,000 results and 100,000 samples"), responses(
    (status = 200, body = IngestAck, description = "stored, or stored before (`replayed`)"),
    (status = 400, description = "not JSON, or a corrupt gzip body", content_type = "application/problem+json"),
    (status = 401, description = "unknown or revoked agent", content_type = "application/problem+json"),
    (status = 413, description = "too large: split the batch", content_type = "application/problem+json"),
    (status = 415, description = "not JSON, or an unsupported encoding", content_type = "application/problem+json"),
    (status = 422, description = "invalid fields, listed in `errors` with the index of each result; nothing was stored", content_type = "application/problem+json"),
    (status = 429, description = "busy: retry after `Retry-After` seconds", content_type = "application/problem+json"),
    (status = 503, description = "the database is unavailable: retry after `Retry-After` seconds", content_type = "application/problem+json")
))]
async fn ingest(
    State(state): State<AppState>,
    AgentCredential(agent): AgentCredential,
    body: Result<JsonBody<IngestBatch>, ApiError>,
) -> ApiResult<axum::Json<IngestAck>> {
    let JsonBody(batch) = body.inspect_err(|_| state.telemetry.batch(BatchOutcome::Rejected))?;
    let now = Utc::now();
    let age = |d: std::time::Duration, or: i64| {
        chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(or))
    };
    let horizon = Horizon {
        raw: age(state.config.retention.raw, 7),
        events: age(state.config.retention.events, 30),
    };
    let (batch_id, outbox) = (batch.batch_id, batch.outbox);
    let valid = validate(batch, &agent.name, now, horizon).map_err(|errors| {
        state.telemetry.batch(BatchOutcome::Rejected);
        tracing::warn!(agent = agent.name, %batch_id, errors = errors.len(), first = ?errors.first(), "A batch was refused as invalid.");
        ApiError::invalid(errors)
    })?;
    let (_permit, _inflight) = state
        .gate
        .enter(&state.telemetry)
        .await
        .inspect_err(|_| state.telemetry.batch(BatchOutcome::Throttled))?;
    // The names of each result, for the dashboard's live stream.
    let names: Option<Vec<_>> = state.live.watched().then(|| {
        valid
            .results
            .iter()
            .map(|r| ResultNames {
                check: r.check.clone(),
                target: r.target.clone(),
                plugin: r.plugin.clone(),
            })
            .collect()
    });
    // What each alert rule reads of the results, judged as they are stored.
    let alerts = state
        .rules
        .plan(&state.store, agent.id, &valid.results)
        .await?;
    let rows = state
        .ids
        .resolve(&state.store, agent.id, batch_id, valid, outbox, alerts)
        .await?;
    let Ingested { ack, told } = state.store.ingest(&rows, now).await?;
    drop((_permit, _inflight));
    // Announced again when replayed: the replica that stored it may have
    // died before telling the others.
    let announced = state
        .live
        .results(agent.id, &agent.name, names, &rows.results);
    if ack.replayed {
        state.telemetry.batch(BatchOutcome::Replayed);
    } else {
        if told {
            state.notifier.wake();
        }
        state.telemetry.batch(BatchOutcome::Stored);
        state
            .telemetry
            .stored(ack.accepted, ack.duplicates, ack.expired, ack.samples);
    }
    // Acknowledged once the other replicas were told (PostgreSQL).
    if let Some(announced) = announced {
        announced.sent().await;
    }
    Ok(axum::Json(ack))
}

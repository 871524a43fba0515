//! Registry statements (`protocol::statement`): signed offline by a root
//! key, uploaded by an admin, handed to every agent in its desired state.
//! Taking one also yanks and revokes what it names on the server.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::statement::{RegistryStatement, StatementBody, StatementError};

use crate::AppState;
use crate::auth::{Admin, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::remote::trust;
use crate::store::RegistryStore as _;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_statement))
        .routes(routes!(latest_statement))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct StatementView {
    /// What it says.
    body: StatementBody,
    /// The statement as signed, as agents get it.
    statement: RegistryStatement,
    /// The root key that signed it.
    #[schema(value_type = String)]
    signed_by: vantage_protocol::keys::KeyId,
}

/// The newest statement this registry holds, if any.
async fn held(state: &AppState) -> ApiResult<Option<RegistryStatement>> {
    match state.store.latest_statement().await? {
        None => Ok(None),
        Some(text) => Ok(Some(serde_json::from_str(&text).map_err(|e| {
            ApiError::Internal(anyhow::anyhow!(
                "the stored registry statement is damaged: {e}"
            ))
        })?)),
    }
}

/// Takes a registry statement a root key of this registry signed
/// (`vantage keys statement`): newer than the one held, not expired. The
/// versions it yanks are yanked here too, and the keys it revokes revoked;
/// agents get it with their next desired state and hold to it.
#[utoipa::path(post, path = "/api/v1/registry/statements", tag = "registry", security(("bearer" = ["admin"])), request_body = RegistryStatement, responses(
    (status = 201, body = StatementView),
    (status = 409, description = "not newer than the statement held", content_type = "application/problem+json"),
    (status = 422, description = "not signed by a root of this registry, expired, or not a statement", content_type = "application/problem+json")
))]
async fn put_statement(
    State(state): State<AppState>,
    who: Admin,
    JsonBody(statement): JsonBody<RegistryStatement>,
) -> ApiResult<(StatusCode, axum::Json<StatementView>)> {
    let keys = state.store.keys().await?;
    let roots: Vec<_> = keys
        .iter()
        .filter(|k| k.root && k.revoked_at.is_none())
        .filter_map(trust::public_key)
        .collect();
    let (body, signed_by) = statement.verify(&roots).map_err(|e| match e {
        StatementError::Unsigned => ApiError::field(
            "signatures",
            "no signature by a root key of this registry (not revoked) verifies",
        ),
        other => ApiError::field("body", other.to_string()),
    })?;
    let now = Utc::now();
    if body.stale(now) {
        return Err(ApiError::field(
            "body",
            StatementError::Expired(body.expires_at).to_string(),
        ));
    }
    let text = serde_json::to_string(&statement).expect("a statement serialises");
    if !state
        .store
        .put_statement(body.sequence, &text, body.expires_at, now)
        .await?
    {
        let held = held(&state).await?.and_then(|s| s.parsed().ok());
        return Err(ApiError::Conflict(format!(
            "sequence {} is not newer than the statement held ({}): sign one with a higher --sequence",
            body.sequence,
            held.map_or_else(|| "none".into(), |h| h.sequence.to_string())
        )));
    }
    for y in &body.yanked {
        state
            .store
            .set_yanked(&y.plugin, &y.version.to_string(), Some(now))
            .await?;
    }
    for key in &body.revoked_keys {
        state.store.revoke_key(key, now).await?;
    }
    state.changes.bump();
    tracing::info!(sequence = body.sequence, by = who.0.username, signer = %signed_by, yanked = body.yanked.len(), revoked = body.revoked_keys.len(), "A registry statement was taken.");
    Ok((
        StatusCode::CREATED,
        axum::Json(StatementView {
            body,
            statement,
            signed_by,
        }),
    ))
}

/// The newest registry statement, which every agent gets.
#[utoipa::path(get, path = "/api/v1/registry/statements/latest", tag = "registry", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = StatementView),
    (status = 404, description = "no statement yet", content_type = "application/problem+json")
))]
async fn latest_statement(
    State(state): State<AppState>,
    _who: Viewer,
) -> ApiResult<axum::Json<StatementView>> {
    let statement = held(&state)
        .await?
        .ok_or_else(|| ApiError::NotFound("this registry holds no statement yet".into()))?;
    let keys = state.store.keys().await?;
    let roots: Vec<_> = keys
        .iter()
        .filter(|k| k.root)
        .filter_map(trust::public_key)
        .collect();
    let (body, signed_by) = statement
        .verify(&roots)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("the held statement: {e}")))?;
    Ok(axum::Json(StatementView {
        body,
        statement,
        signed_by,
    }))
}

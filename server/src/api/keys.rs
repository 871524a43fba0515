//! The registry's publisher keys: roots, and keys a root endorsed.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::config::{AddKey, PublisherKey};
use vantage_protocol::keys::{KeyId, PublicKey};

use crate::AppState;
use crate::auth::{Admin, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::remote::trust;
use crate::store::RegistryStore as _;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, add_key))
        .routes(routes!(revoke_key))
}

/// Publisher keys, oldest first, revoked ones included.
#[utoipa::path(get, path = "/api/v1/registry/keys", tag = "registry", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = Vec<PublisherKey>)
))]
async fn list_keys(
    State(state): State<AppState>,
    _who: Viewer,
) -> ApiResult<axum::Json<Vec<PublisherKey>>> {
    Ok(axum::Json(state.store.keys().await?))
}

/// Adds a root key, or a key a registered root endorsed.
#[utoipa::path(post, path = "/api/v1/registry/keys", tag = "registry", security(("bearer" = ["admin"])), request_body = AddKey, responses(
    (status = 201, body = PublisherKey),
    (status = 409, description = "a key with that id exists", content_type = "application/problem+json"),
    (status = 422, description = "not a public key file, or the endorsement does not verify", content_type = "application/problem+json")
))]
async fn add_key(
    State(state): State<AppState>,
    _admin: Admin,
    JsonBody(body): JsonBody<AddKey>,
) -> ApiResult<(StatusCode, axum::Json<PublisherKey>)> {
    let key = PublicKey::from_file(&body.key).map_err(|e| ApiError::field("key", e.to_string()))?;
    let keys = state.store.keys().await?;
    match (body.root, &body.endorsement) {
        (true, None) => {}
        (false, Some(e)) => {
            let root = keys
                .iter()
                .find(|k| k.key_id == e.by && k.root && k.revoked_at.is_none())
                .and_then(trust::public_key)
                .ok_or_else(|| {
                    ApiError::field(
                        "endorsement",
                        format!(
                            "{} is not a root key of this registry (or it was revoked)",
                            e.by
                        ),
                    )
                })?;
            if !e.verify(&key, &root) {
                return Err(ApiError::field(
                    "endorsement",
                    format!(
                        "does not verify: root {} did not endorse key {} ({})",
                        e.by,
                        key.id(),
                        key.name
                    ),
                ));
            }
        }
        _ => {
            return Err(ApiError::field(
                "root",
                "give exactly one of `root: true` and `endorsement`",
            ));
        }
    }
    let row = PublisherKey {
        key_id: key.id(),
        name: key.name.clone(),
        public_key: key.to_base64(),
        root: body.root,
        endorsement: body.endorsement,
        created_at: Utc::now(),
        revoked_at: None,
    };
    if !state.store.put_key(&row).await? {
        return Err(ApiError::Conflict(format!(
            "key {} is already registered",
            row.key_id
        )));
    }
    state.changes.bump();
    tracing::info!(key_id = %row.key_id, name = row.name, root = row.root, "A publisher key was added.");
    Ok((StatusCode::CREATED, axum::Json(row)))
}

/// Revokes a key: agents stop trusting it with their next desired state,
/// and nothing it signed is published or resolved any more.
#[utoipa::path(post, path = "/api/v1/registry/keys/{key_id}/revoke", tag = "registry", security(("bearer" = ["admin"])), params(("key_id" = String, Path)), responses(
    (status = 200, body = PublisherKey),
    (status = 404, description = "no such key", content_type = "application/problem+json")
))]
async fn revoke_key(
    State(state): State<AppState>,
    _admin: Admin,
    PathParams(key_id): PathParams<String>,
) -> ApiResult<axum::Json<PublisherKey>> {
    let id = KeyId(key_id);
    if !state.store.revoke_key(&id, Utc::now()).await? {
        return Err(ApiError::NotFound(format!("no key {id}")));
    }
    state.changes.bump();
    tracing::info!(key_id = %id, "A publisher key was revoked.");
    let key = state
        .store
        .keys()
        .await?
        .into_iter()
        .find(|k| k.key_id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no key {id}")))?;
    Ok(axum::Json(key))
}

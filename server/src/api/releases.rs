//! Agent releases: archives uploaded by their sha256, signed manifests
//! published for them, yanks. A manifest is taken only when a root of this
//! registry, or a key a root endorsed for releases, signed it; agents check
//! it again against their own pinned roots before they run anything.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::config::{PublisherKey, ReleaseView};
use vantage_protocol::keys::PublicKey;
use vantage_protocol::update::{ReleaseError, SignedRelease};

use super::blobs;
use crate::AppState;
use crate::audit::Audit;
use crate::auth::{AnyCredential, Operator, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::remote::trust;
use crate::store::{RegistryStore as _, ReleaseRow, ReleaseStore as _};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_releases, publish_release))
        .routes(routes!(yank_release, restore_release))
        .routes(routes!(upload_archive, download_archive))
}

/// An uploaded archive.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReleaseBlob {
    /// Its sha256, hex: its address.
    sha256: String,
    /// Its size in bytes.
    size: u64,
}

/// Uploads an agent archive under its sha256. Uploading one that is
/// there already changes nothing (200).
#[utoipa::path(put, path = "/api/v1/releases/blobs/{sha256}", tag = "releases", security(("bearer" = ["operator"])), params(("sha256" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the archive"),
    responses(
        (status = 201, body = ReleaseBlob),
        (status = 200, description = "stored already", body = ReleaseBlob),
        (status = 413, description = "larger than `max_release_bytes`", content_type = "application/problem+json"),
        (status = 415, description = "not `application/octet-stream`", content_type = "application/problem+json"),
        (status = 422, description = "the bytes' sha256 is not the one named", content_type = "application/problem+json")
))]
async fn upload_archive(
    State(state): State<AppState>,
    who: Operator,
    headers: HeaderMap,
    PathParams(sha256): PathParams<String>,
    body: Body,
) -> ApiResult<(StatusCode, axum::Json<ReleaseBlob>)> {
    let sha256 = blobs::sha256_param(&sha256)?;
    blobs::octet_stream(&headers, "the archive")?;
    let limit = state.config.max_release_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::PayloadTooLarge(format!(
            "the archive is larger than this server accepts ({limit} bytes), or the upload broke off"
        ))
    })?;
    if bytes.is_empty() {
        return Err(ApiError::field("body", "the archive is empty"));
    }
    let got = hex::encode(Sha256::digest(&bytes));
    if got != sha256 {
        return Err(ApiError::field(
            "body",
            format!("its sha256 is {got}, not {sha256}: the upload was damaged or the wrong file"),
        ));
    }
    let created = state
        .store
        .put_release_blob(&sha256, &bytes, Utc::now())
        .await?;
    if created {
        tracing::info!(
            sha256,
            size = bytes.len(),
            by = who.0.username,
            "An agent archive was uploaded."
        );
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(ReleaseBlob {
            sha256,
            size: bytes.len() as u64,
        }),
    ))
}

/// An agent archive by its sha256. Immutable: cache it forever, privately.
#[utoipa::path(get, path = "/api/v1/releases/blobs/{sha256}", tag = "releases", security(("bearer" = ["viewer"]), ("agent" = [])), params(("sha256" = String, Path)), responses(
    (status = 200, body = Vec<u8>, content_type = "application/octet-stream"),
    (status = 304, description = "`If-None-Match` names this archive"),
    (status = 404, description = "no such archive", content_type = "application/problem+json"),
    (status = 422, description = "not 64 hex digits", content_type = "application/problem+json")
))]
async fn download_archive(
    State(state): State<AppState>,
    _who: AnyCredential,
    headers: HeaderMap,
    PathParams(sha256): PathParams<String>,
) -> ApiResult<Response> {
    let sha256 = blobs::sha256_param(&sha256)?;
    blobs::immutable(
        &headers,
        &sha256,
        "agent archive",
        state.store.release_blob(&sha256),
    )
    .await
}

/// Roots of this registry and the keys besides them, none revoked: what
/// a manifest is checked against.
fn signers(keys: &[PublisherKey]) -> (Vec<PublicKey>, Vec<PublisherKey>) {
    let live = || keys.iter().filter(|k| k.revoked_at.is_none());
    let roots = live()
        .filter(|k| k.root)
        .filter_map(trust::public_key)
        .collect();
    let endorsed = live().filter(|k| !k.root).cloned().collect();
    (roots, endorsed)
}

/// Publishes a signed release manifest (`vantage release publish`) for an
/// archive uploaded before. The same version and platform again with the
/// same archive and a higher `seq` re-signs it (a later expiry): 200.
#[utoipa::path(post, path = "/api/v1/releases", tag = "releases", security(("bearer" = ["operator"])), request_body = SignedRelease, responses(
    (status = 201, body = ReleaseView),
    (status = 200, description = "re-signed: the manifest of an existing release replaced", body = ReleaseView),
    (status = 409, description = "that version and platform exist with another archive, or the seq is not above the registry's highest", content_type = "application/problem+json"),
    (status = 422, description = "malformed, expired, not signed by a root or release key of this registry, or no such archive", content_type = "application/problem+json")
))]
async fn publish_release(
    State(state): State<AppState>,
    who: Operator,
    audit: Audit,
    JsonBody(manifest): JsonBody<SignedRelease>,
) -> ApiResult<(StatusCode, axum::Json<ReleaseView>)> {
    let keys = state.store.keys().await?;
    let (roots, endorsed) = signers(&keys);
    let (body, signer) = manifest.verify(&roots, &endorsed).map_err(|e| match e {
        ReleaseError::Body(m) => ApiError::field("body", m),
        ReleaseError::PluginKey(_) => ApiError::field(
            "signatures",
            format!("{e}: endorse a release key with `vantage keys endorse --role releases`"),
        ),
        e => ApiError::field("signatures", e.to_string()),
    })?;
    let now = Utc::now();
    if body.expires_at <= now {
        return Err(ApiError::field(
            "body",
            format!(
                "the manifest expired at {}: sign a new one",
                body.expires_at
            ),
        ));
    }
    match state.store.release_blob_size(&body.sha256).await? {
        None => {
            return Err(ApiError::field(
                "body",
                format!(
                    "no archive {} is uploaded: PUT it to /api/v1/releases/blobs/{} first",
                    body.sha256, body.sha256
                ),
            ));
        }
        Some(size) if size != body.size => {
            return Err(ApiError::field(
                "body",
                format!(
                    "the archive is {size} bytes, the manifest says {}",
                    body.size
                ),
            ));
        }
        Some(_) => {}
    }
    let releases = state.store.releases().await?;
    let highest = releases.iter().map(|r| r.body.seq).max().unwrap_or(0);
    if body.seq <= highest {
        return Err(ApiError::Conflict(format!(
            "seq {} is not above this registry's highest, {highest}: sign it with seq {}",
            body.seq,
            highest + 1
        )));
    }
    let existing = releases
        .iter()
        .find(|r| r.body.version == body.version && r.body.platform == body.platform);
    if let Some(old) = existing
        && old.body.sha256 != body.sha256
    {
        return Err(ApiError::Conflict(format!(
            "{} for {} is published with another archive ({}): publish a new version instead",
            body.version, body.platform, old.body.sha256
        )));
    }
    let row = ReleaseRow {
        body,
        manifest,
        signer,
        published_at: now,
        published_by: who.0.user_id,
        yanked_at: None,
    };
    let (stored, status) = match existing {
        Some(_) => (state.store.refresh_release(&row).await?, StatusCode::OK),
        None => (state.store.insert_release(&row).await?, StatusCode::CREATED),
    };
    if !stored {
        return Err(ApiError::Conflict(format!(
            "another manifest with seq {} or higher was published meanwhile: sign a newer one",
            row.body.seq
        )));
    }
    state.changes.bump();
    let (version, platform) = (row.body.version.to_string(), row.body.platform.clone());
    audit.0.note(
        "release",
        serde_json::json!({"version": version, "platform": platform, "sha256": row.body.sha256, "seq": row.body.seq, "signer": row.signer.to_string()}),
    );
    tracing::info!(version, platform, seq = row.body.seq, signer = %row.signer, by = who.0.username, "An agent release was published.");
    let view = state
        .store
        .releases()
        .await?
        .into_iter()
        .find(|r| r.body.version == row.body.version && r.body.platform == row.body.platform)
        .map(|r| r.view())
        .unwrap_or_else(|| row.view());
    Ok((status, axum::Json(view)))
}

/// Agent releases, newest version first.
#[utoipa::path(get, path = "/api/v1/releases", tag = "releases", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = Vec<ReleaseView>)
))]
async fn list_releases(
    State(state): State<AppState>,
    _who: Viewer,
) -> ApiResult<axum::Json<Vec<ReleaseView>>> {
    Ok(axum::Json(
        state
            .store
            .releases()
            .await?
            .iter()
            .map(ReleaseRow::view)
            .collect(),
    ))
}

async fn set_yanked(state: &AppState, version: &str, yank: bool) -> ApiResult<Vec<ReleaseView>> {
    let parsed: semver::Version = version.parse().map_err(|e| {
        ApiError::field(
            "version",
            format!("`{version}` is not a semantic version: {e}"),
        )
    })?;
    let at = yank.then(Utc::now);
    if state
        .store
        .set_release_yanked(&parsed.to_string(), at)
        .await?
        == 0
    {
        return Err(ApiError::NotFound(format!("no agent release {parsed}")));
    }
    state.changes.bump();
    tracing::info!(version = %parsed, yanked = yank, "An agent release was {}.", if yank { "yanked" } else { "restored" });
    Ok(state
        .store
        .releases()
        .await?
        .iter()
        .filter(|r| r.body.version == parsed)
        .map(ReleaseRow::view)
        .collect())
}

/// Yanks a version on every platform: no rollout starts with it. Its
/// archives stay, so agents that run it keep a way back.
#[utoipa::path(post, path = "/api/v1/releases/{version}/yank", tag = "releases", security(("bearer" = ["operator"])), params(("version" = String, Path)), responses(
    (status = 200, body = Vec<ReleaseView>),
    (status = 404, description = "no such version", content_type = "application/problem+json"),
    (status = 422, description = "not a semantic version", content_type = "application/problem+json")
))]
async fn yank_release(
    State(state): State<AppState>,
    _who: Operator,
    PathParams(version): PathParams<String>,
) -> ApiResult<axum::Json<Vec<ReleaseView>>> {
    Ok(axum::Json(set_yanked(&state, &version, true).await?))
}

/// Restores a yanked version.
#[utoipa::path(delete, path = "/api/v1/releases/{version}/yank", tag = "releases", security(("bearer" = ["operator"])), params(("version" = String, Path)), responses(
    (status = 200, body = Vec<ReleaseView>),
    (status = 404, description = "no such version", content_type = "application/problem+json"),
    (status = 422, description = "not a semantic version", content_type = "application/problem+json")
))]
async fn restore_release(
    State(state): State<AppState>,
    _who: Operator,
    PathParams(version): PathParams<String>,
) -> ApiResult<axum::Json<Vec<ReleaseView>>> {
    Ok(axum::Json(set_yanked(&state, &version, false).await?))
}

//! The plugin registry: publishing signed packages, searching, yanking,
//! and the package files themselves, addressed by their sha256.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::config::{PluginSummary, PluginVersion};
use vantage_protocol::keys::KeyId;
use vantage_protocol::package::{Package, TrustError};

use super::blobs;
use crate::AppState;
use crate::audit::Audit;
use crate::auth::{AnyCredential, Operator, Viewer};
use crate::error::{ApiError, ApiResult, PathParams, QueryParams};
use crate::remote::trust;
use crate::store::{PackageRow, RegistryStore as _};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search, publish))
        .routes(routes!(versions))
        .routes(routes!(version))
        .routes(routes!(yank, restore))
        .routes(routes!(blob))
}

/// Publishes a signed package (the body is the `.vpkg` file).
#[utoipa::path(post, path = "/api/v1/registry/plugins", tag = "registry", security(("bearer" = ["operator"])),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the package file"),
    responses(
        (status = 201, body = PluginVersion),
        (status = 409, description = "that name and version exist: nothing changed", content_type = "application/problem+json"),
        (status = 413, description = "larger than `max_package_bytes`", content_type = "application/problem+json"),
        (status = 422, description = "not a package; unsigned, signed by no trusted key, by a revoked key, or tampered", content_type = "application/problem+json")
))]
async fn publish(
    State(state): State<AppState>,
    who: Operator,
    audit: Audit,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, axum::Json<PluginVersion>)> {
    blobs::octet_stream(&headers, "the package file")?;
    let limit = state.config.max_package_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::PayloadTooLarge(format!(
            "the package is larger than this registry accepts ({limit} bytes), or the upload broke off"
        ))
    })?;
    let package =
        Package::from_bytes(&bytes).map_err(|e| ApiError::field("body", e.to_string()))?;
    let keys = state.store.keys().await?;
    let signer = trust::trust_store(&keys).verify(&package).map_err(|e| {
        let hint = match e {
            TrustError::Unsigned => "; sign it with `vantage plugin sign`",
            TrustError::UnknownKeys(_) => "; register the key (`vantage keys add`) first",
            _ => "",
        };
        ApiError::field("body", format!("{e}{hint}"))
    })?;
    // A name belongs to the keys that published it: another endorsed key
    // cannot ship `http 0.1.99` to every `^0.1` check.
    let owners: BTreeSet<KeyId> = state
        .store
        .packages(Some(&package.manifest().name))
        .await?
        .into_iter()
        .map(|p| p.signer)
        .collect();
    trust::may_publish(&package, &keys, &owners).map_err(|e| ApiError::field("body", e))?;
    let signer = new_owner(&package, &keys, &owners).unwrap_or(signer);
    let row = PackageRow {
        manifest: package.manifest().clone(),
        digest: package.digest().to_string(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        size: bytes.len() as u64,
        signer: signer.id(),
        published_at: Utc::now(),
        published_by: who.0.user_id,
        yanked_at: None,
    };
    if !state.store.publish_package(&row, &bytes).await? {
        return Err(ApiError::Conflict(format!(
            "{} is already published: publish a new version instead",
            row.manifest.id()
        )));
    }
    state.changes.bump();
    audit.0.note(
        "package",
        serde_json::json!({"plugin": row.manifest.id(), "sha256": row.sha256, "signer": row.signer.to_string()}),
    );
    tracing::info!(plugin = row.manifest.id(), sha256 = row.sha256, signer = %row.signer, by = who.0.username, "A plugin was published.");
    Ok((StatusCode::CREATED, axum::Json(row.view())))
}

/// The key recorded as a new version's signer: of its valid signatures by
/// trusted keys, one that is not yet an owner nor a root (a key a root
/// admits to the name), else the one verification picked.
fn new_owner(
    package: &Package,
    keys: &[vantage_protocol::config::PublisherKey],
    owners: &BTreeSet<KeyId>,
) -> Option<vantage_protocol::keys::PublicKey> {
    let digest = package.digest();
    let trusted = trust::trusted(keys);
    package.signatures().iter().find_map(|sig| {
        let row = trusted
            .iter()
            .find(|k| k.key_id == sig.key_id && !k.root && !owners.contains(&k.key_id))?;
        let key = trust::public_key(row)?;
        sig.verify(&digest, &key).ok().map(|()| key)
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct Search {
    /// Part of a name or description, any case.
    q: Option<String>,
}

/// Plugins whose name or description contains `q`, by name.
#[utoipa::path(get, path = "/api/v1/registry/plugins", tag = "registry", security(("bearer" = ["viewer"])), params(Search), responses(
    (status = 200, body = Vec<PluginSummary>)
))]
async fn search(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<Search>,
) -> ApiResult<axum::Json<Vec<PluginSummary>>> {
    let needle = q.q.unwrap_or_default().to_lowercase();
    let rows = state.store.packages(None).await?;
    let mut out: Vec<PluginSummary> = Vec::new();
    // Rows come by name, newest version first.
    for row in rows {
        match out.last_mut() {
            Some(s) if s.name == row.name() => {
                s.versions.push(row.version().clone());
                if s.latest.is_none() && row.yanked_at.is_none() {
                    s.latest = Some(row.version().clone());
                }
            }
            _ => out.push(PluginSummary {
                name: row.name().to_owned(),
                description: row.manifest.description.clone(),
                latest: row.yanked_at.is_none().then(|| row.version().clone()),
                versions: vec![row.version().clone()],
            }),
        }
    }
    out.retain(|s| {
        s.name.to_lowercase().contains(&needle) || s.description.to_lowercase().contains(&needle)
    });
    Ok(axum::Json(out))
}

/// Every version of a plugin, newest first.
#[utoipa::path(get, path = "/api/v1/registry/plugins/{name}", tag = "registry", security(("bearer" = ["viewer"])), params(("name" = String, Path)), responses(
    (status = 200, body = Vec<PluginVersion>),
    (status = 404, description = "no such plugin", content_type = "application/problem+json")
))]
async fn versions(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams(name): PathParams<String>,
) -> ApiResult<axum::Json<Vec<PluginVersion>>> {
    let rows = state.store.packages(Some(&name)).await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound(format!("no plugin `{name}`")));
    }
    Ok(axum::Json(rows.iter().map(PackageRow::view).collect()))
}

/// The package of `name` at exactly `version`.
async fn find(state: &AppState, name: &str, version: &str) -> ApiResult<PackageRow> {
    let parsed: semver::Version = version.parse().map_err(|e| {
        ApiError::field(
            "version",
            format!("`{version}` is not a semantic version: {e}"),
        )
    })?;
    state
        .store
        .packages(Some(name))
        .await?
        .into_iter()
        .find(|p| *p.version() == parsed)
        .ok_or_else(|| ApiError::NotFound(format!("no {name}@{version} in the registry")))
}

/// One version of a plugin.
#[utoipa::path(get, path = "/api/v1/registry/plugins/{name}/{version}", tag = "registry", security(("bearer" = ["viewer"])), params(("name" = String, Path), ("version" = String, Path)), responses(
    (status = 200, body = PluginVersion),
    (status = 404, description = "no such version", content_type = "application/problem+json"),
    (status = 422, description = "not a semantic version", content_type = "application/problem+json")
))]
async fn version(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams((name, version)): PathParams<(String, String)>,
) -> ApiResult<axum::Json<PluginVersion>> {
    Ok(axum::Json(find(&state, &name, &version).await?.view()))
}

async fn set_yanked(
    state: &AppState,
    name: &str,
    version: &str,
    yank: bool,
) -> ApiResult<PluginVersion> {
    let row = find(state, name, version).await?;
    let at = yank.then(Utc::now);
    if !state
        .store
        .set_yanked(name, &row.version().to_string(), at)
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "no {name}@{version} in the registry"
        )));
    }
    state.changes.bump();
    tracing::info!(
        plugin = row.manifest.id(),
        yanked = yank,
        "A plugin version was {}.",
        if yank { "yanked" } else { "restored" }
    );
    Ok(find(state, name, version).await?.view())
}

/// Yanks a version: checks resolve past it (agents fall back to the
/// newest version their requirement still allows). Its file stays.
#[utoipa::path(post, path = "/api/v1/registry/plugins/{name}/{version}/yank", tag = "registry", security(("bearer" = ["operator"])), params(("name" = String, Path), ("version" = String, Path)), responses(
    (status = 200, body = PluginVersion),
    (status = 404, description = "no such version", content_type = "application/problem+json")
))]
async fn yank(
    State(state): State<AppState>,
    _who: Operator,
    PathParams((name, version)): PathParams<(String, String)>,
) -> ApiResult<axum::Json<PluginVersion>> {
    Ok(axum::Json(set_yanked(&state, &name, &version, true).await?))
}

/// Restores a yanked version.
#[utoipa::path(delete, path = "/api/v1/registry/plugins/{name}/{version}/yank", tag = "registry", security(("bearer" = ["operator"])), params(("name" = String, Path), ("version" = String, Path)), responses(
    (status = 200, body = PluginVersion),
    (status = 404, description = "no such version", content_type = "application/problem+json")
))]
async fn restore(
    State(state): State<AppState>,
    _who: Operator,
    PathParams((name, version)): PathParams<(String, String)>,
) -> ApiResult<axum::Json<PluginVersion>> {
    Ok(axum::Json(
        set_yanked(&state, &name, &version, false).await?,
    ))
}

/// A package file by its sha256. Immutable: cache it forever, privately
/// (it needs a credential, so no shared cache may keep it).
#[utoipa::path(get, path = "/api/v1/registry/blobs/{sha256}", tag = "registry", security(("bearer" = ["viewer"]), ("agent" = [])), params(("sha256" = String, Path)), responses(
    (status = 200, body = Vec<u8>, content_type = "application/octet-stream"),
    (status = 304, description = "`If-None-Match` names this file"),
    (status = 404, description = "no such file", content_type = "application/problem+json"),
    (status = 422, description = "not 64 hex digits", content_type = "application/problem+json")
))]
async fn blob(
    State(state): State<AppState>,
    _who: AnyCredential,
    headers: HeaderMap,
    PathParams(sha256): PathParams<String>,
) -> ApiResult<Response> {
    let sha256 = blobs::sha256_param(&sha256)?;
    blobs::immutable(
        &headers,
        &sha256,
        "package file",
        state.store.package_blob(&sha256),
    )
    .await
}

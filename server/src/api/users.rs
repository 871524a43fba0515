//! Users: created, listed, changed (role, disabled, a new password) and
//! deleted by admins; a user changes their own password. Disabling,
//! deleting or setting a password ends that user's sessions at once.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Admin, MIN_PASSWORD_CHARS, Viewer, hash_password, verify_password};
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::store::{AccountStore as _, Role, User, UserChange, UserSummary};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user, list_users))
        .routes(routes!(change_user, delete_user))
        .routes(routes!(change_own_password))
}

/// Refuses a password shorter than [`MIN_PASSWORD_CHARS`], naming `field`.
fn check_password(field: &str, password: &str) -> ApiResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::field(
            field,
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    username: String,
    password: String,
    role: Role,
}

/// Every user, by name.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = ["admin"])), responses(
    (status = 200, body = Vec<UserSummary>)
))]
async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
) -> ApiResult<axum::Json<Vec<UserSummary>>> {
    Ok(axum::Json(state.store.users().await?))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Created {
    id: Uuid,
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = ["admin"])), request_body = NewUser, responses(
    (status = 201, body = Created),
    (status = 409, description = "the name is taken", content_type = "application/problem+json"),
    (status = 422, description = "bad name or password", content_type = "application/problem+json")
))]
async fn create_user(
    State(state): State<AppState>,
    _admin: Admin,
    JsonBody(body): JsonBody<NewUser>,
) -> ApiResult<(StatusCode, axum::Json<Created>)> {
    let name_ok = !body.username.is_empty()
        && body.username.len() <= 64
        && body
            .username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if !name_ok {
        return Err(ApiError::field(
            "username",
            "1–64 characters from letters, digits and . _ - @",
        ));
    }
    check_password("password", &body.password)?;
    let user = User {
        id: Uuid::now_v7(),
        username: body.username,
        password_hash: hash_password(&body.password)?,
        role: body.role,
        disabled: false,
    };
    if !state.store.create_user(&user, Utc::now()).await? {
        return Err(ApiError::Conflict(format!(
            "a user named {:?} exists",
            user.username
        )));
    }
    Ok((StatusCode::CREATED, axum::Json(Created { id: user.id })))
}

/// What an admin changes about a user; absent fields stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserPatch {
    role: Option<Role>,
    /// A disabled user cannot log in, and their sessions and tokens stop
    /// working at once.
    disabled: Option<bool>,
    /// A new password (at least 12 characters); the user's sessions end.
    password: Option<String>,
}

/// Changes a user's role, disables or enables them, or resets their
/// password. An admin cannot change their own role or disable
/// themselves: another admin must, so one always remains.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = ["admin"])), params(("id" = Uuid, Path)), request_body = UserPatch, responses(
    (status = 200, body = UserSummary),
    (status = 404, description = "no such user", content_type = "application/problem+json"),
    (status = 409, description = "an admin's own role or disabling themselves", content_type = "application/problem+json"),
    (status = 422, description = "nothing to change, or a short password", content_type = "application/problem+json")
))]
async fn change_user(
    State(state): State<AppState>,
    admin: Admin,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<UserPatch>,
) -> ApiResult<axum::Json<UserSummary>> {
    if body.role.is_none() && body.disabled.is_none() && body.password.is_none() {
        return Err(ApiError::field(
            "body",
            "name at least one of role, disabled, password",
        ));
    }
    if id == admin.0.user_id && (body.role.is_some() || body.disabled.is_some()) {
        return Err(ApiError::Conflict(
            "an admin cannot change their own role or disable themselves: another admin must"
                .into(),
        ));
    }
    let password_hash = match &body.password {
        Some(p) => {
            check_password("password", p)?;
            Some(hash_password(p)?)
        }
        None => None,
    };
    let change = UserChange {
        role: body.role,
        disabled: body.disabled,
        password_hash,
    };
    let user = state
        .store
        .update_user(id, &change, Utc::now())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {id}")))?;
    tracing::info!(user = user.username, role = ?body.role, disabled = ?body.disabled, password = body.password.is_some(), by = admin.0.username, "A user was changed.");
    Ok(axum::Json(user))
}

/// Deletes a user, with their sessions (ended at once, live streams
/// too), API tokens and enrollment tokens. The audit log keeps what they
/// did, by name. An admin cannot delete themselves: another admin must,
/// so one always remains.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = ["admin"])), params(("id" = Uuid, Path)), responses(
    (status = 204, description = "deleted"),
    (status = 404, description = "no such user", content_type = "application/problem+json"),
    (status = 409, description = "an admin deleting themselves", content_type = "application/problem+json")
))]
async fn delete_user(
    State(state): State<AppState>,
    admin: Admin,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    if id == admin.0.user_id {
        return Err(ApiError::Conflict(
            "an admin cannot delete themselves: another admin must".into(),
        ));
    }
    if !state.store.delete_user(id).await? {
        return Err(ApiError::NotFound(format!("no user {id}")));
    }
    tracing::info!(user = %id, by = admin.0.username, "A user was deleted.");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    current: String,
    /// At least 12 characters.
    new: String,
}

/// Changes your own password, given the current one. Every session of
/// yours ends, this one too: log in again. Wrong current passwords count
/// as failed logins.
#[utoipa::path(put, path = "/api/v1/auth/password", tag = "auth", security(("bearer" = ["viewer"])), request_body = PasswordChange, responses(
    (status = 204, description = "changed; every session of yours ended"),
    (status = 401, description = "the current password is wrong", content_type = "application/problem+json"),
    (status = 422, description = "a short new password", content_type = "application/problem+json"),
    (status = 429, description = "too many failed attempts", content_type = "application/problem+json")
))]
async fn change_own_password(
    State(state): State<AppState>,
    who: Viewer,
    from: ClientAddr,
    JsonBody(body): JsonBody<PasswordChange>,
) -> ApiResult<StatusCode> {
    check_password("new", &body.new)?;
    let me = who.0;
    state.logins.check(from, &me.username)?;
    let user = state
        .store
        .user_by_name(&me.username)
        .await?
        .ok_or(ApiError::Unauthorized("credentials are required"))?;
    let ok = verify_password(body.current, user.password_hash).await?;
    if !ok {
        state.logins.failed(from, &me.username);
        return Err(ApiError::Unauthorized("the current password is wrong"));
    }
    let change = UserChange {
        password_hash: Some(hash_password(&body.new)?),
        ..UserChange::default()
    };
    state
        .store
        .update_user(me.user_id, &change, Utc::now())
        .await?;
    tracing::info!(user = me.username, "A user changed their password.");
    Ok(StatusCode::NO_CONTENT)
}

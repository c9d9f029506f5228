//! Sign-in, the current user, and employees.

use super::{double_option, now};
use crate::auth::{self, Admin, Principal, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult};
use crate::json::{IdPath, JsonBody};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use domain::{NewUser, Role, UserId, UserPatch, WorkState};
use serde::Deserialize;

/// Sessions last one long working day.
const SESSION_HOURS: i64 = 12;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", get(get_user).patch(update_user))
        .route("/api/v1/users/{id}/password", put(set_password))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginIn {
    login: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<LoginIn>,
) -> ApiResult<Response> {
    let user = auth::check_password(state.store(), &input.login, &input.password)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_login",
                "wrong login or password",
            )
        })?;
    let token = auth::new_token("rbs_");
    let expires_at = now() + chrono::Duration::hours(SESSION_HOURS);
    state
        .store()
        .create_session(&auth::token_hash(&token), user.id, expires_at)
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_HOURS * 3600
    );
    let body = serde_json::json!({ "token": token, "expires_at": expires_at, "user": user });
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(body)).into_response())
}

async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    if principal.via == auth::Via::Session {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' ').map(|(_, t)| t.trim().to_string()))
            .or_else(|| {
                headers
                    .get(header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| {
                        v.split(';').find_map(|p| {
                            p.trim()
                                .strip_prefix(&format!("{SESSION_COOKIE}="))
                                .map(str::to_string)
                        })
                    })
            });
        if let Some(token) = token {
            state
                .store()
                .delete_session(&auth::token_hash(&token))
                .await?;
        }
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], StatusCode::NO_CONTENT).into_response())
}

async fn me(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    let body = serde_json::json!({
        "role": principal.role,
        "user": principal.user,
        "via": match principal.via {
            auth::Via::ApiKey(_) => "api_key",
            auth::Via::Session => "session",
            auth::Via::Device(_) => "device",
        },
    });
    state.reply(&principal, StatusCode::OK, &body).await
}

async fn list_users(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let users = state.store().list_users().await?;
    state
        .reply(
            &principal,
            StatusCode::OK,
            &serde_json::json!({ "items": users }),
        )
        .await
}

async fn get_user(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let user = state.store().get_user(UserId(id)).await?;
    state.reply(&principal, StatusCode::OK, &user).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserIn {
    name: String,
    login: String,
    role: Role,
    extension: Option<String>,
    mobile: Option<String>,
    password: Option<String>,
}

async fn create_user(
    State(state): State<AppState>,
    Admin(principal): Admin,
    JsonBody(input): JsonBody<UserIn>,
) -> ApiResult<Response> {
    principal.require(Role::Admin)?;
    let mobile = match input.mobile.as_deref() {
        Some(raw) => state.crm().normalize("mobile", raw)?,
        None => None,
    };
    let user = auth::add_user(
        state.store(),
        NewUser {
            name: input.name,
            login: input.login,
            role: input.role,
            extension: input.extension,
            mobile,
        },
        input.password.as_deref(),
    )
    .await?;
    state.reply(&principal, StatusCode::CREATED, &user).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatchIn {
    name: Option<String>,
    role: Option<Role>,
    #[serde(default, deserialize_with = "double_option")]
    extension: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    mobile: Option<Option<String>>,
    work_state: Option<WorkState>,
    #[serde(default, deserialize_with = "double_option")]
    pause_reason: Option<Option<String>>,
}

/// Admins change anything; an employee changes only his own work state (working, paused, off shift).
async fn update_user(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    JsonBody(input): JsonBody<UserPatchIn>,
) -> ApiResult<Response> {
    let id = UserId(id);
    let is_self = principal.user_id() == Some(id);
    let touches_only_state = input.name.is_none()
        && input.role.is_none()
        && input.extension.is_none()
        && input.mobile.is_none();
    if !(is_self && touches_only_state) {
        principal.require(Role::Admin)?;
    }
    let mobile = match input.mobile {
        Some(Some(raw)) => Some(state.crm().normalize("mobile", &raw)?),
        Some(None) => Some(None),
        None => None,
    };
    let patch = UserPatch {
        name: input.name,
        role: input.role,
        extension: input.extension,
        mobile,
        work_state: input.work_state,
        pause_reason: input.pause_reason,
    };
    let user = state.crm().update_user(id, patch).await?;
    state.reply(&principal, StatusCode::OK, &user).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordIn {
    password: String,
}

async fn set_password(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    JsonBody(input): JsonBody<PasswordIn>,
) -> ApiResult<Response> {
    let id = UserId(id);
    if principal.user_id() != Some(id) {
        principal.require(Role::Admin)?;
    }
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&input.password))
        .await
        .map_err(ApiError::internal)??;
    state.store().set_user_password(id, hash).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

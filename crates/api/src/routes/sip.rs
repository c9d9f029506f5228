//! The SIP side of users: their SIP password (for phones, separate from the web sign-in) and
//! who is registered from where.

use crate::auth::{Admin, Supervisor};
use crate::error::{ApiError, ApiResult};
use crate::json::{IdPath, JsonBody};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;
use domain::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::SystemTime;

/// Shortest SIP password accepted. Phones keep it on the device and digest authentication
/// can be attacked offline from one captured REGISTER, so short ones are refused.
const MIN_SIP_PASSWORD: usize = 8;
const MAX_SIP_PASSWORD: usize = 128;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users/{id}/sip-password", put(set_sip_password))
        .route("/api/v1/registrations", get(list_registrations))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SipPasswordIn {
    password: String,
}

/// What a phone needs besides the password.
#[derive(Serialize)]
struct SipAccount {
    user_id: UserId,
    /// The digest user name: the user's login. The phone may register as it or as the
    /// user's extension.
    username: String,
    realm: String,
}

async fn set_sip_password(
    State(state): State<AppState>,
    Admin(principal): Admin,
    IdPath(id): IdPath,
    JsonBody(input): JsonBody<SipPasswordIn>,
) -> ApiResult<Response> {
    let length = input.password.chars().count();
    if length < MIN_SIP_PASSWORD {
        return Err(ApiError::invalid(
            "password",
            format!("must be at least {MIN_SIP_PASSWORD} characters"),
        ));
    }
    if length > MAX_SIP_PASSWORD {
        return Err(ApiError::invalid(
            "password",
            format!("must be at most {MAX_SIP_PASSWORD} characters"),
        ));
    }
    let user = state.store().get_user(UserId(id)).await?;
    let realm = state.sip().realm().to_string();
    let credentials =
        sip_net::hash_credentials(user.id, &user.login, &realm, &input.password, super::now());
    state.store().set_sip_credentials(credentials).await?;
    let account = SipAccount {
        user_id: user.id,
        username: user.login,
        realm,
    };
    state.reply(&principal, StatusCode::OK, &account).await
}

#[derive(Serialize)]
struct RegistrationOut {
    user: UserRef,
    /// The digest user name the phone authenticated with.
    username: String,
    aor: String,
    contact: String,
    /// Where the REGISTER came from (behind NAT, the NAT's public address), `ip:port`.
    source: String,
    transport: String,
    user_agent: Option<String>,
    /// Seconds until the binding lapses unless the phone refreshes it.
    expires: u64,
    registered_at: Timestamp,
    expires_at: Timestamp,
}

#[derive(Serialize)]
struct UserRef {
    id: UserId,
    login: Option<String>,
    name: Option<String>,
}

#[derive(Serialize)]
struct Registrations {
    items: Vec<RegistrationOut>,
}

async fn list_registrations(
    State(state): State<AppState>,
    Supervisor(principal): Supervisor,
) -> ApiResult<Response> {
    let registrations = state.sip().registrations();
    let users: HashMap<UserId, User> = if registrations.is_empty() {
        HashMap::new()
    } else {
        let users = state.store().list_users().await?;
        users.into_iter().map(|u| (u.id, u)).collect()
    };
    let items = registrations
        .into_iter()
        .map(|r| {
            let user = users.get(&r.user_id);
            RegistrationOut {
                user: UserRef {
                    id: r.user_id,
                    login: user.map(|u| u.login.clone()),
                    name: user.map(|u| u.name.clone()),
                },
                username: r.username,
                aor: r.aor,
                contact: r.contact,
                source: r.source.to_string(),
                transport: r.transport.to_string(),
                user_agent: r.user_agent,
                expires: r.expires_in,
                registered_at: timestamp(r.registered_at),
                expires_at: timestamp(r.expires_at),
            }
        })
        .collect();
    state
        .reply(&principal, StatusCode::OK, &Registrations { items })
        .await
}

fn timestamp(t: SystemTime) -> Timestamp {
    Timestamp::from(t)
}

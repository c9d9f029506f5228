//! The SIP side of users: their SIP password (for phones, separate from the web sign-in),
//! who is registered from where, and click-to-call.

use crate::auth::{Admin, Agent, Supervisor};
use crate::error::{ApiError, ApiResult};
use crate::json::{IdPath, JsonBody};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
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
        .route("/api/v1/sip/load", get(sip_load))
        .route("/api/v1/calls/originate", post(originate))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginateIn {
    /// The employee whose phone rings first.
    user: UserId,
    /// The customer's number as dialed (the outbound rules normalize it).
    number: String,
}

#[derive(Serialize)]
struct OriginateOut {
    /// The call's id in the SIP service (its record is logged when it ends).
    call: String,
    user: UserId,
    number: String,
}

/// Click-to-call: rings the user's registered phone; when he picks up, the customer is
/// called through the trunk. Agents may only call for themselves.
async fn originate(
    State(state): State<AppState>,
    Agent(principal): Agent,
    JsonBody(input): JsonBody<OriginateIn>,
) -> ApiResult<Response> {
    if !principal.sees_all_calls() && principal.user_id() != Some(input.user) {
        return Err(ApiError::forbidden(
            "agents may start calls only from their own phone",
        ));
    }
    if !input.number.chars().any(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid("number", "is not a phone number"));
    }
    let user = match state.store().get_user(input.user).await {
        Ok(user) => user,
        Err(store::StoreError::NotFound { .. }) => {
            return Err(ApiError::invalid("user", "no such user"))
        }
        Err(e) => return Err(e.into()),
    };
    let call = state
        .sip()
        .originate(user.id, &input.number)
        .await
        .map_err(originate_error)?;
    let out = OriginateOut {
        call: call.to_string(),
        user: user.id,
        number: input.number,
    };
    state.reply(&principal, StatusCode::ACCEPTED, &out).await
}

fn originate_error(e: sip_net::OriginateFailure) -> ApiError {
    use routing::Refusal;
    use sip_net::{OriginateError, OriginateFailure};
    let message = e.to_string();
    match e {
        OriginateFailure::NotRunning => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "sip_unavailable",
            "the SIP service with calls is not running",
        ),
        OriginateFailure::Refused(OriginateError::NotRegistered(_)) => ApiError::new(
            StatusCode::CONFLICT,
            "not_registered",
            "the user has no registered phone",
        )
        .field("user"),
        OriginateFailure::Refused(OriginateError::NoTrunk(_)) => {
            ApiError::new(StatusCode::CONFLICT, "no_trunk", message).field("number")
        }
        OriginateFailure::Refused(OriginateError::Refused(refusal)) => match refusal {
            Refusal::UnknownAgent { .. } => {
                ApiError::invalid("user", "is not an agent in the routing settings")
            }
            Refusal::LineNotAllowed { .. } | Refusal::NoLine => {
                ApiError::new(StatusCode::CONFLICT, "no_line", message).field("user")
            }
            _ => ApiError::invalid("number", message),
        },
        _ => ApiError::internal(message),
    }
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

/// What the SIP service holds right now: calls, legs, transactions, timers, TCP
/// connections. After traffic stops they go back to zero (transactions within Timer J/K/I,
/// at most 32 s).
async fn sip_load(
    State(state): State<AppState>,
    Supervisor(principal): Supervisor,
) -> ApiResult<Response> {
    state
        .reply(&principal, StatusCode::OK, &state.sip().load())
        .await
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

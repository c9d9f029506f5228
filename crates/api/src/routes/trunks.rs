//! Trunks: `GET /api/v1/trunks` (settings without passwords, plus the live registration
//! status) and `PUT /api/v1/trunks` (the whole list of trunks edited in the app).
//! Trunks given on the command line are listed too, read-only.

use crate::auth::{Admin, Principal};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::trunk_settings;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use domain::Role;
use serde::{Deserialize, Serialize};
use sip_net::{TrunkConfig, TrunkStatus};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/trunks", get(list).put(replace))
}

/// A trunk as the API shows it: never the password.
#[derive(Serialize)]
struct TrunkOut {
    name: String,
    number: Option<String>,
    username: Option<String>,
    password_set: bool,
    domain: Option<String>,
    host: String,
    outbound_proxy: Option<String>,
    /// Whether it registers (the default applied).
    register: bool,
    expires: u32,
    allow: Vec<String>,
    /// Given on the command line: not editable here.
    read_only: bool,
    /// The live status; `null` until the SIP service has taken the trunk up (or without SIP).
    status: Option<TrunkStatus>,
}

fn out(state: &AppState, t: &TrunkConfig, read_only: bool) -> TrunkOut {
    TrunkOut {
        name: t.name.clone(),
        number: t.number.clone(),
        username: t.username.clone(),
        password_set: t.password.is_some(),
        domain: t.domain.clone(),
        host: t.host.clone(),
        outbound_proxy: t.outbound_proxy.clone(),
        register: t.registers(),
        expires: t.expires,
        allow: t.allow.clone(),
        read_only,
        status: state.trunks().status(&t.name),
    }
}

async fn listing(state: &AppState) -> ApiResult<serde_json::Value> {
    let stored = trunk_settings::load(state.store()).await?;
    let items: Vec<TrunkOut> = state
        .trunks()
        .cli()
        .iter()
        .map(|t| out(state, t, true))
        .chain(stored.iter().map(|t| out(state, t, false)))
        .collect();
    Ok(serde_json::json!({ "items": items }))
}

async fn list(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let body = listing(&state).await?;
    state.reply(&p, StatusCode::OK, &body).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrunksIn {
    trunks: Vec<TrunkIn>,
}

/// A trunk as sent: without `password` the stored one (same name) is kept; `""` clears it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrunkIn {
    name: String,
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    host: String,
    #[serde(default)]
    outbound_proxy: Option<String>,
    #[serde(default)]
    register: Option<bool>,
    #[serde(default)]
    expires: Option<u32>,
    #[serde(default)]
    allow: Vec<String>,
}

/// Empty text means "not set".
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

async fn replace(
    State(state): State<AppState>,
    Admin(p): Admin,
    JsonBody(input): JsonBody<TrunksIn>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let stored = trunk_settings::load(state.store()).await?;
    let cli = state.trunks().cli();
    let mut trunks = Vec::with_capacity(input.trunks.len());
    for (i, t) in input.trunks.into_iter().enumerate() {
        let name = t.name.trim().to_owned();
        let password = match t.password {
            None => stored
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.password.clone()),
            Some(p) if p.is_empty() => None,
            Some(p) => Some(p),
        };
        if cli.iter().any(|c| c.name == name) {
            return Err(ApiError::invalid(
                format!("trunks[{i}].name"),
                "a trunk given on the command line has this name",
            ));
        }
        trunks.push(TrunkConfig {
            name,
            number: given(t.number).map(|n| n.replace([' ', '-', '/', '(', ')'], "")),
            username: given(t.username),
            password,
            domain: given(t.domain),
            host: t.host.trim().to_owned(),
            outbound_proxy: given(t.outbound_proxy),
            register: t.register,
            expires: t.expires.unwrap_or(sip_net::trunks::DEFAULT_EXPIRES),
            allow: t
                .allow
                .into_iter()
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect(),
        });
    }
    sip_net::trunks::validate_trunks(&trunks)
        .map_err(|(i, e)| ApiError::invalid(format!("trunks[{i}].{}", e.field), e.message))?;
    trunk_settings::save(state.store(), &trunks).await?;
    let body = listing(&state).await?;
    state.reply(&p, StatusCode::OK, &body).await
}

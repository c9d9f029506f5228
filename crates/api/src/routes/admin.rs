//! Settings an admin manages: API keys, bridge devices, sources and lines (call tracking),
//! lead exceptions, webhooks, masking and tracking settings.

use super::calls::{TrackingSettings, TRACKING_SETTING};
use super::{Listed, PageQuery};
use crate::auth::{self, Admin, Principal};
use crate::error::{ApiError, ApiResult};
use crate::json::{IdPath, JsonBody, QueryParams};
use crate::masking::MaskingPolicy;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Router;
use domain::*;
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/apikeys", get(list_keys).post(create_key))
        .route("/api/v1/apikeys/{id}", delete(delete_key))
        .route("/api/v1/devices", get(list_devices).post(create_device))
        .route("/api/v1/devices/{id}", delete(delete_device))
        .route("/api/v1/sources", get(list_sources).post(create_source))
        .route("/api/v1/sources/{id}", delete(delete_source))
        .route("/api/v1/lines", get(list_lines).post(create_line))
        .route(
            "/api/v1/lines/{id}",
            get(get_line).patch(update_line).delete(delete_line),
        )
        .route(
            "/api/v1/lead-exceptions",
            get(list_exceptions).post(add_exception),
        )
        .route("/api/v1/lead-exceptions/{number}", delete(remove_exception))
        .route("/api/v1/webhooks", get(list_webhooks).post(create_webhook))
        .route("/api/v1/webhooks/{id}", delete(delete_webhook))
        .route("/api/v1/webhooks/{id}/deliveries", get(list_deliveries))
        .route(
            "/api/v1/settings/masking",
            get(get_masking).put(put_masking),
        )
        .route(
            "/api/v1/settings/tracking",
            get(get_tracking).put(put_tracking),
        )
        .route(
            "/api/v1/settings/routing",
            get(get_routing).put(put_routing),
        )
}

// ---- API keys ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyIn {
    name: String,
    role: Role,
}

async fn create_key(
    State(state): State<AppState>,
    Admin(p): Admin,
    JsonBody(input): JsonBody<KeyIn>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let key = auth::create_api_key(state.store(), &input.name, input.role).await?;
    // The only time the secret is shown.
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "key": key, "name": input.name, "role": input.role })),
    )
        .into_response())
}

async fn list_keys(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let keys = state.store().list_api_keys().await?;
    state
        .reply(&p, StatusCode::OK, &serde_json::json!({ "items": keys }))
        .await
}

async fn delete_key(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    state.store().delete_api_key(ApiKeyId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- bridge devices ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceIn {
    name: String,
    user_id: UserId,
}

async fn create_device(
    State(state): State<AppState>,
    Admin(p): Admin,
    JsonBody(input): JsonBody<DeviceIn>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    validation::require_text("name", &input.name, 100)?;
    let token = auth::new_token("rbd_");
    let device = state
        .store()
        .create_device(&input.name, input.user_id, &auth::token_hash(&token))
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "device": device, "token": token })),
    )
        .into_response())
}

async fn list_devices(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let devices = state.store().list_devices().await?;
    state
        .reply(&p, StatusCode::OK, &serde_json::json!({ "items": devices }))
        .await
}

async fn delete_device(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    state.store().delete_device(DeviceId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- sources and lines ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceIn {
    name: String,
}

async fn create_source(
    State(state): State<AppState>,
    Admin(p): Admin,
    JsonBody(input): JsonBody<SourceIn>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    validate_source_name(&input.name)?;
    let source = state.store().create_source(input.name.trim()).await?;
    state.reply(&p, StatusCode::CREATED, &source).await
}

async fn list_sources(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Role::Agent)?;
    let sources = state.store().list_sources().await?;
    state
        .reply(&p, StatusCode::OK, &serde_json::json!({ "items": sources }))
        .await
}

async fn delete_source(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    state.store().delete_source(SourceId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    number: String,
    #[serde(default)]
    name: String,
    source_id: Option<SourceId>,
    lead_rule: Option<LeadRule>,
}

async fn create_line(
    State(state): State<AppState>,
    Admin(p): Admin,
    JsonBody(input): JsonBody<LineIn>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let number = state
        .crm()
        .normalize("number", &input.number)?
        .ok_or_else(|| ApiError::invalid("number", "is not a phone number"))?;
    let line = NewLine {
        name: if input.name.trim().is_empty() {
            number.e164.clone()
        } else {
            input.name
        },
        number,
        source_id: input.source_id,
        origin: LineOrigin::Manual,
        lead_rule: input.lead_rule.unwrap_or_default(),
    };
    line.validate()?;
    let created = state.store().create_line(line).await?;
    state.reply(&p, StatusCode::CREATED, &created).await
}

async fn list_lines(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Role::Agent)?;
    let lines = state.store().list_lines().await?;
    state
        .reply(&p, StatusCode::OK, &serde_json::json!({ "items": lines }))
        .await
}

async fn get_line(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    p.require(Role::Agent)?;
    let line = state.store().get_line(LineId(id)).await?;
    state.reply(&p, StatusCode::OK, &line).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinePatchIn {
    name: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    source_id: Option<Option<SourceId>>,
    lead_rule: Option<LeadRule>,
}

async fn update_line(
    State(state): State<AppState>,
    Admin(p): Admin,
    IdPath(id): IdPath,
    JsonBody(input): JsonBody<LinePatchIn>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    if let Some(name) = &input.name {
        validation::require_text("name", name, 200)?;
    }
    let patch = LinePatch {
        name: input.name,
        source_id: input.source_id,
        lead_rule: input.lead_rule,
    };
    let line = state.store().update_line(LineId(id), patch).await?;
    state.reply(&p, StatusCode::OK, &line).await
}

async fn delete_line(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    state.store().delete_line(LineId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- lead exceptions ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionIn {
    number: String,
}

async fn add_exception(
    State(state): State<AppState>,
    Admin(p): Admin,
    JsonBody(input): JsonBody<ExceptionIn>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let number = state
        .crm()
        .normalize("number", &input.number)?
        .ok_or_else(|| ApiError::invalid("number", "is not a phone number"))?;
    state.store().add_lead_exception(number.clone()).await?;
    state.reply(&p, StatusCode::CREATED, &number).await
}

async fn list_exceptions(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let items = state.store().list_lead_exceptions().await?;
    state
        .reply(&p, StatusCode::OK, &serde_json::json!({ "items": items }))
        .await
}

async fn remove_exception(
    State(state): State<AppState>,
    p: Principal,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let number = state
        .crm()
        .normalize("number", &number)?
        .ok_or_else(|| ApiError::invalid("number", "is not a phone number"))?;
    state.store().remove_lead_exception(&number.e164).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- webhooks ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookIn {
    url: String,
    events: Vec<EventKind>,
    /// Generated when omitted; returned once.
    secret: Option<String>,
}

async fn create_webhook(
    State(state): State<AppState>,
    Admin(p): Admin,
    JsonBody(input): JsonBody<WebhookIn>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let secret = input.secret.unwrap_or_else(|| auth::new_token("whsec_"));
    let hook = NewWebhook {
        url: input.url,
        events: input.events,
        secret: secret.clone(),
    };
    hook.validate()?;
    let created = state
        .store()
        .create_webhook(hook, chrono::Utc::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "webhook": created, "secret": secret })),
    )
        .into_response())
}

async fn list_webhooks(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let hooks = state.store().list_webhooks().await?;
    state
        .reply(&p, StatusCode::OK, &serde_json::json!({ "items": hooks }))
        .await
}

async fn delete_webhook(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    state.store().delete_webhook(WebhookId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_deliveries(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let page = q.page();
    let items = state.store().list_deliveries(WebhookId(id), page).await?;
    state
        .reply(&p, StatusCode::OK, &Listed::new(items, page))
        .await
}

// ---- settings ----

async fn get_masking(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    let policy = state.masking().policy(state.store()).await?;
    Ok(axum::Json(policy).into_response())
}

async fn put_masking(
    State(state): State<AppState>,
    Admin(p): Admin,
    JsonBody(policy): JsonBody<MaskingPolicy>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    state.masking().set(state.store(), policy.clone()).await?;
    Ok(axum::Json(policy).into_response())
}

async fn get_tracking(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    Ok(axum::Json(super::calls::tracking_settings(&state).await?).into_response())
}

async fn put_tracking(
    State(state): State<AppState>,
    Admin(p): Admin,
    JsonBody(input): JsonBody<TrackingSettings>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    input
        .dialed_number_priority
        .parse::<DialedNumberPriority>()
        .map_err(|e| ApiError::invalid("dialed_number_priority", e))?;
    let value = serde_json::to_value(&input).map_err(ApiError::internal)?;
    state.store().put_setting(TRACKING_SETTING, &value).await?;
    Ok(axum::Json(input).into_response())
}

/// The routing settings as JSON (the same structure as the TOML file).
async fn get_routing(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Role::Supervisor)?;
    let config = crate::routing_settings::load(state.store()).await?;
    Ok(axum::Json(config).into_response())
}

async fn put_routing(
    State(state): State<AppState>,
    Admin(p): Admin,
    JsonBody(config): JsonBody<routing::RoutingConfig>,
) -> ApiResult<Response> {
    p.require(Role::Admin)?;
    config
        .validate()
        .map_err(crate::routing_settings::config_error)?;
    // Prompts are played by name: a name without an uploaded prompt is a typo or a missing
    // upload, and the caller would hear silence.
    let prompts = super::prompts::stored(state.data_dir()).await?;
    for (key, name) in config.prompt_references() {
        if !prompts.iter().any(|p| p.name == name) {
            return Err(ApiError::invalid(
                key,
                format!("no prompt named {name:?} has been uploaded (Admin → Prompts)"),
            ));
        }
    }
    crate::routing_settings::save(state.store(), &config).await?;
    Ok(axum::Json(config).into_response())
}

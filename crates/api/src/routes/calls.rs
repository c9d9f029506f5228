//! The call log: list with filters, one call, rating and notes, recordings, and reporting a
//! finished call from another system (with call tracking from its To / Diversion values).

use crate::auth::{Principal, Supervisor, Via};
use crate::error::{ApiError, ApiResult};
use crate::json::{IdPath, JsonBody, QueryParams};
use crate::routes::{double_option, Listed, PageQuery};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use crm::CallReport;
use domain::*;
use serde::{Deserialize, Serialize};
use store::CallFilter;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/calls", get(list_calls).post(report_call))
        .route("/api/v1/calls/{id}", get(get_call).patch(update_call))
        .route("/api/v1/calls/{id}/recording", get(download_recording))
}

/// The setting that says which header carries the dialed number (`diversion,to`).
pub(crate) const TRACKING_SETTING: &str = "tracking";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrackingSettings {
    /// Order in which SIP headers are tried for the number the customer dialed.
    pub(crate) dialed_number_priority: String,
}

impl Default for TrackingSettings {
    fn default() -> Self {
        TrackingSettings {
            dialed_number_priority: "diversion,to".into(),
        }
    }
}

pub(crate) async fn tracking_settings(state: &AppState) -> ApiResult<TrackingSettings> {
    Ok(match state.store().get_setting(TRACKING_SETTING).await? {
        Some(v) => serde_json::from_value(v).map_err(ApiError::internal)?,
        None => TrackingSettings::default(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallListQuery {
    from: Option<Timestamp>,
    until: Option<Timestamp>,
    direction: Option<Direction>,
    status: Option<CallStatus>,
    agent_id: Option<UserId>,
    line_id: Option<LineId>,
    source_id: Option<SourceId>,
    queue: Option<String>,
    contact_id: Option<ContactId>,
    lead_id: Option<LeadId>,
    number: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

async fn list_calls(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(q): QueryParams<CallListQuery>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let number = match q.number.as_deref() {
        Some(raw) => state.crm().normalize("number", raw)?.map(|p| p.e164),
        None => None,
    };
    let agent_id = if principal.sees_all_calls() {
        q.agent_id
    } else {
        // An agent's call log is his own, whatever he asks for.
        Some(
            principal
                .user_id()
                .ok_or_else(|| ApiError::forbidden("no employee behind this key"))?,
        )
    };
    let filter = CallFilter {
        from: q.from,
        until: q.until,
        direction: q.direction,
        status: q.status,
        agent_id,
        line_id: q.line_id,
        source_id: q.source_id,
        queue: q.queue,
        contact_id: q.contact_id,
        lead_id: q.lead_id,
        number,
    };
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page();
    let items = state.store().list_calls(&filter, page).await?;
    state
        .reply(&principal, StatusCode::OK, &Listed::new(items, page))
        .await
}

/// A call the caller may see: agents only their own.
async fn visible_call(
    state: &AppState,
    principal: &Principal,
    id: CallId,
) -> ApiResult<CallRecord> {
    principal.require(Role::Agent)?;
    let call = state.store().get_call(id).await?;
    if !principal.sees_all_calls() && call.agent_id != principal.user_id() {
        return Err(ApiError::not_found("call"));
    }
    Ok(call)
}

async fn get_call(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    let call = visible_call(&state, &principal, CallId(id)).await?;
    state.reply(&principal, StatusCode::OK, &call).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallPatchIn {
    #[serde(default, deserialize_with = "double_option")]
    rating: Option<Option<u8>>,
    #[serde(default, deserialize_with = "double_option")]
    notes: Option<Option<String>>,
    /// From a speech-to-text integration: supervisors, admins and API keys only.
    #[serde(default, deserialize_with = "double_option")]
    transcript: Option<Option<String>>,
}

async fn update_call(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    JsonBody(input): JsonBody<CallPatchIn>,
) -> ApiResult<Response> {
    visible_call(&state, &principal, CallId(id)).await?;
    // Agents rate their calls and write notes; what was said comes from the transcription
    // service (an API key) or is corrected by a supervisor, never rewritten by the agent.
    if input.transcript.is_some()
        && !principal.role.allows(Role::Supervisor)
        && !matches!(principal.via, Via::ApiKey(_))
    {
        return Err(ApiError::forbidden(
            "the transcript is set by supervisors, admins or an API key",
        )
        .field("transcript"));
    }
    let patch = CallPatch {
        rating: input.rating,
        notes: input.notes,
        recording: None,
        transcript: input.transcript,
    };
    let call = state.crm().update_call(CallId(id), patch).await?;
    state.reply(&principal, StatusCode::OK, &call).await
}

/// A finished call reported by another system (a PBX, a dialer, a CRM integration).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallIn {
    direction: Direction,
    /// The customer's number as received.
    remote: String,
    /// Our number on the call, if known directly.
    line: Option<String>,
    /// SIP To / Diversion values of an incoming call; the dialed number (our line) is taken
    /// from them per the `tracking` setting when `line` is absent.
    to: Option<String>,
    diversion: Option<String>,
    agent_id: Option<UserId>,
    queue: Option<String>,
    started_at: Timestamp,
    answered_at: Option<Timestamp>,
    ended_at: Timestamp,
    status: CallStatus,
    recording: Option<String>,
    rating: Option<u8>,
    notes: Option<String>,
    idempotency_key: Option<String>,
}

async fn report_call(
    State(state): State<AppState>,
    Supervisor(principal): Supervisor,
    JsonBody(input): JsonBody<CallIn>,
) -> ApiResult<Response> {
    principal.require(Role::Supervisor)?;
    let line = match input.line {
        Some(line) => Some(line),
        None if input.to.is_some() || input.diversion.is_some() => {
            let settings = tracking_settings(&state).await?;
            let priority: DialedNumberPriority = settings
                .dialed_number_priority
                .parse()
                .map_err(ApiError::internal)?;
            crm::tracking::dialed_number(
                &priority,
                input.to.as_deref(),
                input.diversion.as_deref(),
                state.crm().region(),
            )
            .map(|p| p.raw)
        }
        None => None,
    };
    let report = CallReport {
        direction: input.direction,
        remote: input.remote,
        line,
        agent_id: input.agent_id,
        queue: input.queue,
        started_at: input.started_at,
        answered_at: input.answered_at,
        ended_at: input.ended_at,
        status: input.status,
        recording: input.recording,
        rating: input.rating,
        notes: input.notes,
        origin: CallOrigin::Api,
        idempotency_key: input.idempotency_key,
    };
    logged_call_reply(&state, &principal, report).await
}

/// 201 with the new call, or 200 with the earlier one for a repeated idempotency key.
pub(crate) async fn logged_call_reply(
    state: &AppState,
    principal: &Principal,
    report: CallReport,
) -> ApiResult<Response> {
    let logged = state.crm().log_call(report).await?;
    let status = if logged.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let body = serde_json::json!({
        "call": logged.call,
        "duplicate": logged.duplicate,
        "created_lead": logged.created_lead,
        "line": logged.line,
    });
    state.reply(principal, status, &body).await
}

async fn download_recording(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    let call = visible_call(&state, &principal, CallId(id)).await?;
    let Some(name) = call.recording.as_deref() else {
        return Err(ApiError::not_found("recording"));
    };
    // Recordings we stored are file names under data_dir/recordings; anything else (an URL
    // reported by another system) is not ours to serve.
    if name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return Err(ApiError::not_found("recording"));
    }
    let path = state.data_dir().join("recordings").join(name);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::not_found("recording"))?;
    let content_type = crate::routes::bridge::audio_type_of(name);
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

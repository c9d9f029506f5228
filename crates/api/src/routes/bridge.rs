//! The mobile SIM bridge API: an Android app on a phone with a SIM card reports its calls and
//! asks who is calling while it rings. Devices authenticate with their own token (`rbd_...`)
//! and may use nothing else.

use crate::auth::{Principal, Via};
use crate::error::{ApiError, ApiResult};
use crate::json::{IdPath, JsonBody, QueryParams};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use crm::CallReport;
use domain::*;
use events::Event;
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/bridge/calls", post(report_call))
        .route(
            "/api/v1/bridge/calls/{id}/recording",
            put(upload_recording).layer(DefaultBodyLimit::max(crate::MAX_RECORDING_BODY)),
        )
        .route("/api/v1/bridge/caller", get(caller))
}

fn device_of(principal: &Principal) -> ApiResult<&Device> {
    match &principal.via {
        Via::Device(device) => Ok(device),
        _ => Err(ApiError::forbidden(
            "the bridge API takes a device token (rbd_...)",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BridgeCallIn {
    /// Unique per call on the device; a retry with the same key never logs a second call.
    idempotency_key: String,
    direction: Direction,
    /// The other party's number as the phone showed it.
    number: String,
    /// When the phone started ringing (incoming) or dialing (outgoing).
    started_at: Timestamp,
    /// Seconds of ringing before the answer (or before giving up).
    #[serde(default)]
    ring_s: u32,
    /// Seconds of conversation; 0 when not answered.
    #[serde(default)]
    duration_s: u32,
    answered: bool,
    /// The SIM's own number, if the app knows it: the line of the call.
    sim_number: Option<String>,
}

async fn report_call(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(input): JsonBody<BridgeCallIn>,
) -> ApiResult<Response> {
    let device = device_of(&principal)?;
    validation::require_text("idempotency_key", &input.idempotency_key, 200)?;
    validation::require_text("number", &input.number, 100)?;
    // The SIM may report short codes or withheld callers; those are logged as given. Text is
    // not a number of any kind.
    if input.number.chars().any(char::is_alphabetic) {
        // "anonymous" passes (Ok(None)); any other text is refused.
        state.crm().normalize("number", &input.number)?;
    }
    if input.answered && input.duration_s == 0 {
        return Err(ApiError::invalid(
            "duration_s",
            "an answered call lasts at least a second",
        ));
    }
    if !input.answered && input.duration_s != 0 {
        return Err(ApiError::invalid(
            "duration_s",
            "must be 0 for a call that was not answered",
        ));
    }
    let ring = chrono::Duration::seconds(i64::from(input.ring_s));
    let talk = chrono::Duration::seconds(i64::from(input.duration_s));
    let answered_at = input.answered.then(|| input.started_at + ring);
    let report = CallReport {
        direction: input.direction,
        remote: input.number,
        line: input.sim_number,
        agent_id: Some(device.user_id),
        queue: None,
        started_at: input.started_at,
        answered_at,
        ended_at: input.started_at + ring + talk,
        status: if input.answered {
            CallStatus::Answered
        } else {
            CallStatus::Missed
        },
        recording: None,
        rating: None,
        notes: None,
        origin: CallOrigin::Bridge(device.id),
        // Keys are the device's own: two phones may both count from 1.
        idempotency_key: Some(format!("device-{}:{}", device.id, input.idempotency_key)),
    };
    super::calls::logged_call_reply(&state, &principal, report).await
}

/// Extension for an uploaded recording's media type; `None` for what we do not store.
fn audio_extension(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    Some(match essence.as_str() {
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => "m4a",
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/amr" => "amr",
        "audio/3gpp" => "3gp",
        _ => return None,
    })
}

pub(crate) fn audio_type_of(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "amr" => "audio/amr",
        "3gp" => "audio/3gpp",
        _ => "application/octet-stream",
    }
}

/// The recording of a call this device reported, as the raw body (`Content-Type: audio/...`).
async fn upload_recording(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    let device = device_of(&principal)?;
    let body = body.map_err(|r| crate::json::body_rejection(r.status(), r.body_text()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ext = audio_extension(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the recording as audio/mpeg, audio/mp4, audio/ogg, audio/wav, audio/amr or audio/3gpp",
        )
        .field("content-type")
    })?;
    if body.is_empty() {
        return Err(ApiError::invalid("body", "the recording is empty"));
    }
    let call = state.store().get_call(CallId(id)).await?;
    if call.origin != CallOrigin::Bridge(device.id) {
        return Err(ApiError::not_found("call"));
    }
    let dir = state.data_dir().join("recordings");
    let name = format!("call-{}.{ext}", call.id);
    let tmp = dir.join(format!(".{name}.part"));
    let write = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(&tmp, &body).await?;
        // Rename is atomic: a reader never sees half a file under the final name.
        tokio::fs::rename(&tmp, dir.join(&name)).await
    };
    write.await.map_err(ApiError::internal)?;
    let patch = CallPatch {
        recording: Some(Some(name)),
        ..Default::default()
    };
    let call = state.crm().update_call(call.id, patch).await?;
    state.reply(&principal, StatusCode::OK, &call).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallerQuery {
    number: String,
}

/// The overlay card for a ringing call; also pops the card in the device owner's web app.
async fn caller(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(q): QueryParams<CallerQuery>,
) -> ApiResult<Response> {
    let device = device_of(&principal)?;
    let card = state.crm().lookup(&q.number).await?;
    state.crm().bus().publish(Event::new(
        EventKind::CallRinging,
        chrono::Utc::now(),
        serde_json::json!({
            "agent_ids": [device.user_id],
            "device_id": device.id,
            "card": &*card,
        }),
    ));
    let body = serde_json::json!({
        "number": card.number,
        "known": card.is_known(),
        "name": card.display_name(),
        "company": card.company.as_ref().map(|c| &c.name),
        "deal": card.deal.as_ref().map(|d| serde_json::json!({
            "title": d.title, "stage": d.stage, "amount": d.amount,
        })),
        "responsible": card.responsible.as_ref().map(|u| &u.name),
    });
    state.reply(&principal, StatusCode::OK, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_types() {
        assert_eq!(audio_extension("audio/mpeg"), Some("mp3"));
        assert_eq!(audio_extension("Audio/MP4; codecs=aac"), Some("m4a"));
        assert_eq!(audio_extension("video/mp4"), None);
        assert_eq!(audio_type_of("call-1.m4a"), "audio/mp4");
    }
}

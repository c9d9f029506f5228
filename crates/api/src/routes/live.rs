//! `GET /api/v1/events`: the live event stream (Server-Sent Events) for screen pops and the
//! supervisor board. Agents get only events about them; numbers are masked per role, by the
//! rule in force when each event is sent.

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::{Role, UserId};
use futures_util::StreamExt;
use std::convert::Infallible;
use tokio_stream::wrappers::BroadcastStream;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(stream))
}

/// Whether an event concerns this agent: he is among the rung agents or took the call.
fn concerns(data: &serde_json::Value, agent: UserId) -> bool {
    let listed = data["agent_ids"]
        .as_array()
        .is_some_and(|ids| ids.iter().any(|id| id.as_i64() == Some(agent.0)));
    listed || data["call"]["agent_id"].as_i64() == Some(agent.0)
}

async fn stream(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let role = principal.role;
    let only_for = (!role.allows(Role::Supervisor)).then(|| principal.user_id());
    let events = BroadcastStream::new(state.crm().bus().subscribe()).filter_map(move |received| {
        let state = state.clone();
        async move {
            let event = match received {
                Ok(event) => event,
                // A lagging client is told to refresh rather than silently missing events.
                Err(_) => {
                    return Some(Ok::<_, Infallible>(
                        SseEvent::default().event("lagged").data("{}"),
                    ))
                }
            };
            if let Some(agent) = only_for {
                match agent {
                    Some(agent) if concerns(&event.data, agent) => {}
                    _ => return None,
                }
            }
            // The rule is read per event (from the in-memory cache the masking setting updates),
            // so a changed rule reaches streams that are already open. When it cannot be read,
            // the event goes out fully masked rather than in clear.
            let rule = state
                .masking()
                .rule_for(state.store(), role)
                .await
                .unwrap_or(Some(phone::MaskRule::Full));
            let mut value = serde_json::to_value(&*event).ok()?;
            if let Some(rule) = &rule {
                crate::masking::mask_numbers(&mut value, rule);
            }
            Some(Ok(SseEvent::default()
                .event(event.kind.as_str())
                .id(event.id.clone())
                .data(value.to_string())))
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_get_events_about_them() {
        let ringing = serde_json::json!({"agent_ids": [3, 4]});
        assert!(concerns(&ringing, UserId(4)));
        assert!(!concerns(&ringing, UserId(5)));
        let ended = serde_json::json!({"call": {"agent_id": 5}});
        assert!(concerns(&ended, UserId(5)));
        assert!(!concerns(&ended, UserId(3)));
    }
}

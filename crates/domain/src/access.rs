//! Who may call the API (keys, sessions, bridge devices) and who is told about events (webhooks).

use crate::validation::{require_text, FieldError, Validate};
use crate::{ApiKeyId, DeviceId, Role, Timestamp, UserId, WebhookDeliveryId, WebhookId};
use serde::{Deserialize, Serialize};

/// An API key; only a hash of the secret is kept, `prefix` lets an admin tell keys apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub created_at: Timestamp,
}

/// A mobile SIM bridge app on an employee's phone. Its token is stored hashed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: DeviceId,
    pub name: String,
    /// The employee whose SIM calls this device reports.
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
}

/// Kinds of event on the bus; webhooks subscribe by these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "call.started")]
    CallStarted,
    #[serde(rename = "call.ringing")]
    CallRinging,
    #[serde(rename = "call.answered")]
    CallAnswered,
    #[serde(rename = "call.ended")]
    CallEnded,
    #[serde(rename = "lead.created")]
    LeadCreated,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::CallStarted,
        EventKind::CallRinging,
        EventKind::CallAnswered,
        EventKind::CallEnded,
        EventKind::LeadCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CallStarted => "call.started",
            EventKind::CallRinging => "call.ringing",
            EventKind::CallAnswered => "call.answered",
            EventKind::CallEnded => "call.ended",
            EventKind::LeadCreated => "lead.created",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A subscription: events of these kinds are POSTed, signed, to `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<EventKind>,
    /// The HMAC key. Kept in clear: the server signs with it on every delivery.
    #[serde(skip_serializing)]
    pub secret: String,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventKind>,
    pub secret: String,
}

impl Validate for NewWebhook {
    fn validate(&self) -> Result<(), FieldError> {
        require_text("url", &self.url, 2000)?;
        let lower = self.url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(FieldError::new("url", "must be an http:// or https:// URL"));
        }
        if self.events.is_empty() {
            return Err(FieldError::new("events", "subscribe to at least one event"));
        }
        if self.secret.len() < 16 {
            return Err(FieldError::new("secret", "must be at least 16 characters"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    Delivered,
    /// Gave up after the last retry.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One event on its way to one webhook; the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    pub webhook_id: WebhookId,
    pub event: EventKind,
    pub payload: serde_json::Value,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

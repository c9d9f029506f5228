//! Our side of a call: sources (call tracking), lines (our numbers) and call records.

use crate::validation::{optional_text, require_text, FieldError, Validate};
use crate::{
    CallId, CompanyId, ContactId, DealId, DeviceId, LeadId, LineId, Phone, SourceId, Timestamp,
    UserId,
};
use serde::{Deserialize, Serialize};

/// An advertising source a line is assigned to ("Google Ads", "Instagram").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub id: SourceId,
    pub name: String,
}

/// Which unknown callers become leads on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LeadRule {
    None,
    Incoming,
    Outgoing,
    #[default]
    All,
}

impl LeadRule {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadRule::None => "none",
            LeadRule::Incoming => "incoming",
            LeadRule::Outgoing => "outgoing",
            LeadRule::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            LeadRule::None,
            LeadRule::Incoming,
            LeadRule::Outgoing,
            LeadRule::All,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Callbacks are outgoing calls for this purpose: we dialed the customer.
    pub fn creates_lead_for(self, direction: Direction) -> bool {
        matches!(
            (self, direction),
            (LeadRule::All, _)
                | (LeadRule::Incoming, Direction::Incoming)
                | (
                    LeadRule::Outgoing,
                    Direction::Outgoing | Direction::Callback
                )
        )
    }
}

/// How a line came to exist: lines first seen on a call are kept forever (history points at them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineOrigin {
    Manual,
    SeenOnCall,
}

impl LineOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LineOrigin::Manual => "manual",
            LineOrigin::SeenOnCall => "seen_on_call",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(LineOrigin::Manual),
            "seen_on_call" => Some(LineOrigin::SeenOnCall),
            _ => None,
        }
    }
}

/// One of our numbers, as customers dial it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub id: LineId,
    pub number: Phone,
    pub name: String,
    pub source_id: Option<SourceId>,
    pub origin: LineOrigin,
    pub lead_rule: LeadRule,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub number: Phone,
    pub name: String,
    pub source_id: Option<SourceId>,
    pub origin: LineOrigin,
    pub lead_rule: LeadRule,
}

impl Validate for NewLine {
    fn validate(&self) -> Result<(), FieldError> {
        optional_text("name", &self.name, 200)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinePatch {
    pub name: Option<String>,
    pub source_id: Option<Option<SourceId>>,
    pub lead_rule: Option<LeadRule>,
}

/// Which SIP header carries the number the customer dialed. Trunks differ: a forwarding
/// provider puts our tracking number in Diversion, a direct trunk in To.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialedHeader {
    Diversion,
    To,
}

/// The order in which headers are tried for the dialed number, per connection (`diversion,to`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialedNumberPriority(pub Vec<DialedHeader>);

impl Default for DialedNumberPriority {
    fn default() -> Self {
        DialedNumberPriority(vec![DialedHeader::Diversion, DialedHeader::To])
    }
}

impl std::str::FromStr for DialedNumberPriority {
    type Err = String;
    /// Parses `diversion,to`, `to`, `to, diversion`; each header at most once.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut order = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let header = match part.to_ascii_lowercase().as_str() {
                "diversion" => DialedHeader::Diversion,
                "to" => DialedHeader::To,
                other => {
                    return Err(format!(
                        "unknown header {other:?}: expected diversion or to"
                    ))
                }
            };
            if order.contains(&header) {
                return Err(format!("{part} is listed twice"));
            }
            order.push(header);
        }
        if order.is_empty() {
            return Err("name at least one header: diversion, to".into());
        }
        Ok(DialedNumberPriority(order))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
    /// We called back a customer who asked for it (or whom we missed).
    Callback,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
            Direction::Callback => "callback",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Direction::Incoming,
            Direction::Outgoing,
            Direction::Callback,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Answered,
    Missed,
    Busy,
    Failed,
    Voicemail,
}

impl CallStatus {
    pub const ALL: [CallStatus; 5] = [
        CallStatus::Answered,
        CallStatus::Missed,
        CallStatus::Busy,
        CallStatus::Failed,
        CallStatus::Voicemail,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Answered => "answered",
            CallStatus::Missed => "missed",
            CallStatus::Busy => "busy",
            CallStatus::Failed => "failed",
            CallStatus::Voicemail => "voicemail",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where a call record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "device_id")]
pub enum CallOrigin {
    Sip,
    Bridge(DeviceId),
    Api,
}

/// A number on a call as received: raw always, E.164 when it parsed (not for anonymous callers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CallNumber {
    pub e164: Option<String>,
    pub raw: String,
}

/// A finished call, answered or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub id: CallId,
    pub direction: Direction,
    pub caller: CallNumber,
    pub called: CallNumber,
    /// Our number involved (dialed by the customer, or presented when we called out).
    pub line_id: Option<LineId>,
    pub source_id: Option<SourceId>,
    pub agent_id: Option<UserId>,
    pub queue: Option<String>,
    pub started_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Timestamp,
    /// Talk time in seconds (0 when unanswered).
    pub duration_s: i64,
    pub status: CallStatus,
    pub recording: Option<String>,
    pub rating: Option<u8>,
    pub notes: Option<String>,
    /// What was said, from a speech-to-text integration; set after the call.
    #[serde(default)]
    pub transcript: Option<String>,
    pub contact_id: Option<ContactId>,
    pub company_id: Option<CompanyId>,
    pub lead_id: Option<LeadId>,
    pub deal_id: Option<DealId>,
    pub origin: CallOrigin,
    /// The reporter's key; the same key never makes a second record.
    pub idempotency_key: Option<String>,
}

impl CallRecord {
    /// The customer's side of the call.
    pub fn remote(&self) -> &CallNumber {
        match self.direction {
            Direction::Incoming => &self.caller,
            Direction::Outgoing | Direction::Callback => &self.called,
        }
    }
}

/// A finished call as reported, before the CRM links it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    pub direction: Direction,
    pub caller: CallNumber,
    pub called: CallNumber,
    pub line_id: Option<LineId>,
    pub source_id: Option<SourceId>,
    pub agent_id: Option<UserId>,
    pub queue: Option<String>,
    pub started_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Timestamp,
    pub status: CallStatus,
    pub recording: Option<String>,
    pub rating: Option<u8>,
    pub notes: Option<String>,
    pub origin: CallOrigin,
    pub idempotency_key: Option<String>,
}

impl NewCall {
    pub fn duration_s(&self) -> i64 {
        self.answered_at
            .map(|a| (self.ended_at - a).num_seconds().max(0))
            .unwrap_or(0)
    }
}

impl Validate for NewCall {
    fn validate(&self) -> Result<(), FieldError> {
        if self.ended_at < self.started_at {
            return Err(FieldError::new("ended_at", "must not be before started_at"));
        }
        if let Some(answered) = self.answered_at {
            if answered < self.started_at || answered > self.ended_at {
                return Err(FieldError::new(
                    "answered_at",
                    "must lie between started_at and ended_at",
                ));
            }
        }
        if (self.status == CallStatus::Answered) != self.answered_at.is_some() {
            return Err(FieldError::new(
                "answered_at",
                "is set exactly when the status is answered",
            ));
        }
        if let Some(r) = self.rating {
            if !(1..=5).contains(&r) {
                return Err(FieldError::new("rating", "must be 1 to 5"));
            }
        }
        if let Some(notes) = &self.notes {
            optional_text("notes", notes, 10_000)?;
        }
        if let Some(key) = &self.idempotency_key {
            require_text("idempotency_key", key, 200)?;
        }
        optional_text("caller", &self.caller.raw, 300)?;
        optional_text("called", &self.called.raw, 300)
    }
}

/// What may change on a call after it ended: the agent's rating and notes, the recording,
/// the transcript.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallPatch {
    pub rating: Option<Option<u8>>,
    pub notes: Option<Option<String>>,
    pub recording: Option<Option<String>>,
    pub transcript: Option<Option<String>>,
}

/// Longest transcript kept: about three hours of speech.
pub const MAX_TRANSCRIPT_CHARS: usize = 200_000;

impl Validate for CallPatch {
    fn validate(&self) -> Result<(), FieldError> {
        if let Some(Some(r)) = self.rating {
            if !(1..=5).contains(&r) {
                return Err(FieldError::new("rating", "must be 1 to 5"));
            }
        }
        if let Some(Some(notes)) = &self.notes {
            optional_text("notes", notes, 10_000)?;
        }
        if let Some(Some(transcript)) = &self.transcript {
            optional_text("transcript", transcript, MAX_TRANSCRIPT_CHARS)?;
        }
        Ok(())
    }
}

/// A source's name is required and short.
pub fn validate_source_name(name: &str) -> Result<(), FieldError> {
    require_text("name", name, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_rules_by_direction() {
        assert!(LeadRule::All.creates_lead_for(Direction::Incoming));
        assert!(LeadRule::Incoming.creates_lead_for(Direction::Incoming));
        assert!(!LeadRule::Incoming.creates_lead_for(Direction::Outgoing));
        assert!(LeadRule::Outgoing.creates_lead_for(Direction::Callback));
        assert!(!LeadRule::None.creates_lead_for(Direction::Incoming));
    }

    #[test]
    fn dialed_number_priority_parses_connection_settings() {
        let p: DialedNumberPriority = "diversion,to".parse().unwrap();
        assert_eq!(p.0, vec![DialedHeader::Diversion, DialedHeader::To]);
        let p: DialedNumberPriority = " To ".parse().unwrap();
        assert_eq!(p.0, vec![DialedHeader::To]);
        assert!("to,to".parse::<DialedNumberPriority>().is_err());
        assert!("from".parse::<DialedNumberPriority>().is_err());
        assert!("".parse::<DialedNumberPriority>().is_err());
    }
}

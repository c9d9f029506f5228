//! The story of a contact, lead or deal: calls, notes, status changes, newest first.

use crate::{CallId, ContactId, DealId, LeadId, TimelineEntryId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// Whose timeline an entry is on. A call with a contact and its open deal is on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Subject {
    Contact(ContactId),
    Lead(LeadId),
    Deal(DealId),
}

impl Subject {
    pub fn kind_str(self) -> &'static str {
        match self {
            Subject::Contact(_) => "contact",
            Subject::Lead(_) => "lead",
            Subject::Deal(_) => "deal",
        }
    }

    pub fn raw_id(self) -> i64 {
        match self {
            Subject::Contact(id) => id.0,
            Subject::Lead(id) => id.0,
            Subject::Deal(id) => id.0,
        }
    }

    pub fn from_parts(kind: &str, id: i64) -> Option<Self> {
        match kind {
            "contact" => Some(Subject::Contact(ContactId(id))),
            "lead" => Some(Subject::Lead(LeadId(id))),
            "deal" => Some(Subject::Deal(DealId(id))),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    Call,
    Note,
    LeadCreated,
    /// A task or call back was created on this subject; the text is its title.
    TaskCreated,
}

impl TimelineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Call => "call",
            TimelineKind::Note => "note",
            TimelineKind::LeadCreated => "lead_created",
            TimelineKind::TaskCreated => "task_created",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            TimelineKind::Call,
            TimelineKind::Note,
            TimelineKind::LeadCreated,
            TimelineKind::TaskCreated,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: TimelineEntryId,
    pub subject: Subject,
    pub kind: TimelineKind,
    pub at: Timestamp,
    pub call_id: Option<CallId>,
    pub author_id: Option<UserId>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTimelineEntry {
    pub subject: Subject,
    pub kind: TimelineKind,
    pub at: Timestamp,
    pub call_id: Option<CallId>,
    pub author_id: Option<UserId>,
    pub text: Option<String>,
}

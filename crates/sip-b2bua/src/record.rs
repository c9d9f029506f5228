//! [`CallRecord`]: the one record every call ends with, for the CRM's call log.

use chrono::{DateTime, Utc};
use routing::{AgentId, Caller, LogEntry, Outcome};

/// Which way a call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallDirection {
    /// A customer called in through a trunk.
    Inbound,
    /// An employee called out from a registered phone.
    Outbound,
    /// An employee called a colleague's extension.
    Internal,
}

/// How a call ended, as the call log shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    /// Someone answered.
    Answered,
    /// Nobody answered (caller gave up, no answer, voicemail, hang-up by the rules).
    Missed,
    /// The called side was busy.
    Busy,
    /// A SIP or configuration error ended the call (no trunk, refused, unreachable trunk).
    Failed,
}

/// Everything the CRM needs about one finished call. A plain struct: the embedder turns it
/// into its own report type, so this crate needs neither the CRM nor the store.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// The B2BUA's id of the call.
    pub session: crate::SessionId,
    pub direction: CallDirection,
    /// The calling party: the customer inbound; outbound the line's number presented (the
    /// agent is in `agent`); internal the caller's extension.
    pub caller: Caller,
    /// The number dialed: the company line inbound, the customer's number outbound (E.164
    /// after the outbound rules), the colleague's extension internal.
    pub called: String,
    /// The To user part, when it differed from the dialed number.
    pub to: Option<String>,
    /// The Diversion number, when a carrier forwarded the call.
    pub diversion: Option<String>,
    /// The line the call came in or went out on, by name.
    pub line: Option<String>,
    /// The agent who answered (inbound) or placed the call (outbound, internal).
    pub agent: Option<AgentId>,
    /// The queue group that answered it.
    pub queue: Option<String>,
    /// The external number the call was forwarded to.
    pub forwarded_to: Option<String>,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: DateTime<Utc>,
    pub status: CallStatus,
    /// The routing engine's terminal state, for inbound calls it routed.
    pub outcome: Option<Outcome>,
    /// The routing decisions, in order (for the timeline).
    pub log: Vec<LogEntry>,
    /// Why the SIP side could not do what routing asked (no media yet, no trunk ...).
    pub notes: Vec<String>,
}

impl CallRecord {
    /// Talk time, if answered.
    pub fn talk_seconds(&self) -> Option<i64> {
        self.answered_at
            .map(|answered| (self.ended_at - answered).num_seconds().max(0))
    }
}

//! What goes into the engine (events) and what comes out (actions, log entries, outcomes).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{DeviceKind, QueueStrategy};
use crate::ids::{AgentId, PlaybackId, TimerId};
use crate::schedule::ClosedReason;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "number", rename_all = "snake_case")]
pub enum Caller {
    /// A presented number, ideally E.164.
    Number(String),
    /// Withheld or anonymous.
    Anonymous,
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Number(number) => f.write_str(number),
            Caller::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// What the CRM knows about the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CrmCard {
    /// No contact, lead or deal has this number.
    #[default]
    Unknown,
    /// A contact, lead or deal matched; `responsible` is its responsible user.
    Known {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        responsible: Option<AgentId>,
    },
}

/// Everything known when a call arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallArrival {
    pub caller: Caller,
    /// The dialed number (request-URI user part); may carry an extension after `;` or `#`.
    pub dialed: String,
    /// The SIP To header's user part, when it differs from the dialed number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The SIP Diversion header's number, when a carrier forwarded the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diversion: Option<String>,
    #[serde(default)]
    pub card: CrmCard,
}

/// How an agent's leg of a call changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegStatus {
    /// The phone is ringing (180).
    Ringing,
    /// The agent picked up (200).
    Answered,
    /// Busy here (486).
    Busy,
    /// The agent declined (603).
    Rejected,
    /// No registered device, or it did not respond (404/408/480).
    Unreachable,
    /// The agent hung up an answered call.
    HungUp,
}

/// An input to one call's state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The caller pressed a key (`0`-`9`, `*`, `#`).
    Digit { digit: char },
    /// A prompt started by [`Action::Play`] has played to the end.
    PromptFinished { playback: PlaybackId },
    /// An agent's leg changed.
    AgentLeg { agent: AgentId, status: LegStatus },
    /// A timer started by [`Action::StartTimer`] is due.
    TimerFired { timer: TimerId },
    /// The caller hung up.
    CallerHungUp,
    /// An agent asked to pick this ringing call up.
    PickupRequested { by: AgentId },
}

/// An agent's presence, as reported by the server (the engine also tracks the calls it
/// bridges itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Ready for calls.
    #[default]
    Free,
    /// Paused (break, after-call work).
    Paused,
    /// Outside the agent's shift.
    OffShift,
    /// On a call the engine did not route (an outbound call, a mobile call).
    OnCall,
}

/// What a prompt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptKind {
    RecordingNotice,
    Greeting,
    IvrMenu,
    InvalidChoice,
    OutOfHours,
    /// Music on hold while waiting in a queue (looped).
    Music,
}

impl fmt::Display for PromptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PromptKind::RecordingNotice => "recording notice",
            PromptKind::Greeting => "greeting",
            PromptKind::IvrMenu => "IVR menu",
            PromptKind::InvalidChoice => "invalid choice",
            PromptKind::OutOfHours => "out-of-hours message",
            PromptKind::Music => "music",
        })
    }
}

/// An agent to ring and the kind of device the server should expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RingTarget {
    pub agent: AgentId,
    pub device: DeviceKind,
}

/// Whose mailbox a voicemail goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Mailbox {
    Line(String),
    Agent(AgentId),
    Queue(String),
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mailbox::Line(name) => write!(f, "line '{name}'"),
            Mailbox::Agent(agent) => write!(f, "agent {agent}"),
            Mailbox::Queue(name) => write!(f, "queue '{name}'"),
        }
    }
}

/// An instruction from the engine to the server that executes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Play a prompt to the caller, replacing whatever plays. Non-looped prompts are answered
    /// with [`Event::PromptFinished`]; looped music plays until the next prompt or the end.
    Play {
        playback: PlaybackId,
        kind: PromptKind,
        prompt: String,
        looped: bool,
    },
    /// Stop the prompt that plays (the caller interrupted it with a key).
    StopPrompt,
    /// Deliver key presses as [`Event::Digit`]; at most `max_digits` are meaningful.
    CollectDigits { max_digits: u8 },
    /// Ring these agents' devices (the caller hears ringback, or keeps the music while
    /// waiting in a queue). The engine starts its own timer for `ring_seconds`.
    Ring {
        agents: Vec<RingTarget>,
        ring_seconds: u32,
    },
    /// Stop ringing these agents.
    CancelRings { agents: Vec<AgentId> },
    /// Connect the caller with the agent who answered.
    Bridge { agent: AgentId },
    /// Forward the call to an external number, presenting `caller_id`.
    Forward { number: String, caller_id: String },
    /// Record a voicemail.
    RecordVoicemail { mailbox: Mailbox },
    /// Hang up on the caller.
    HangUp,
    /// Fire [`Event::TimerFired`] at `at`. A timer the engine no longer waits for is ignored
    /// when it fires, so the driver never needs to cancel one.
    StartTimer { timer: TimerId, at: DateTime<Utc> },
    /// A decision for the call record.
    Log { entry: LogEntry },
}

/// Why an agent did not take an offered call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissReason {
    NoAnswer,
    Busy,
    Rejected,
    Unreachable,
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MissReason::NoAnswer => "did not answer",
            MissReason::Busy => "was busy",
            MissReason::Rejected => "rejected the call",
            MissReason::Unreachable => "could not be reached",
        })
    }
}

/// Why an agent was not rung at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    Paused,
    OffShift,
    /// On a call (reported by the server or bridged by the engine).
    OnCall,
    /// Already ringing for another call.
    RingingForAnotherCall,
    /// Missed this call already (no answer, busy, rejected, unreachable).
    DeclinedThisCall,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unavailable::Paused => "paused",
            Unavailable::OffShift => "off shift",
            Unavailable::OnCall => "on a call",
            Unavailable::RingingForAnotherCall => "ringing for another call",
            Unavailable::DeclinedThisCall => "missed this call already",
        })
    }
}

/// Where an extension came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionSource {
    /// After `;` or `#` in the dialed number.
    DialedString,
    /// The To header (an upstream PBX pre-routed the call).
    ToHeader,
    /// Keyed in during the greeting.
    Keypad,
}

impl fmt::Display for ExtensionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExtensionSource::DialedString => "from the dialed number",
            ExtensionSource::ToHeader => "from the To header",
            ExtensionSource::Keypad => "keyed in",
        })
    }
}

/// Why the fallback (backup number) was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackReason {
    /// No queue member could be rung or every one was unreachable.
    NobodyReachable,
    /// The line has nothing configured to route to, or the number matched no line.
    NoRoute,
    /// "Another queue" went round in a circle.
    QueueLoop,
    /// "Forward to the member's mobile" but no member has a mobile number.
    NoMobile,
}

impl fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FallbackReason::NobodyReachable => "nobody can be reached",
            FallbackReason::NoRoute => "no route configured",
            FallbackReason::QueueLoop => "queue overflow loop",
            FallbackReason::NoMobile => "no member has a mobile number",
        })
    }
}

/// Why the engine hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Out of hours with the "hang up" action.
    OutOfHours,
    /// Nobody answered and the queue's action is "hang up".
    NoAnswer,
    /// Nothing to route to and no backup number.
    NoRoute,
    /// An IVR option hangs up.
    MenuHangUp,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::OutOfHours => "out of hours",
            RejectReason::NoAnswer => "nobody answered",
            RejectReason::NoRoute => "no route",
            RejectReason::MenuHangUp => "IVR option hangs up",
        })
    }
}

/// The one terminal state of every call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Answered {
        agent: AgentId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
    },
    Voicemail {
        mailbox: Mailbox,
    },
    Forwarded {
        number: String,
    },
    CallerHungUp,
    Rejected {
        reason: RejectReason,
    },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Answered { agent, queue: None } => write!(f, "answered by agent {agent}"),
            Outcome::Answered {
                agent,
                queue: Some(queue),
            } => write!(f, "answered by agent {agent} (queue '{queue}')"),
            Outcome::Voicemail { mailbox } => write!(f, "voicemail for {mailbox}"),
            Outcome::Forwarded { number } => write!(f, "forwarded to {number}"),
            Outcome::CallerHungUp => f.write_str("caller hung up"),
            Outcome::Rejected { reason } => write!(f, "rejected ({reason})"),
        }
    }
}

/// A routing decision worth keeping in the call record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "log", rename_all = "snake_case")]
pub enum LogEntry {
    /// The call matched a line.
    Line {
        line: String,
        number: String,
        caller: Caller,
        /// Local time of the line, `Sat 2026-11-21 10:00 Europe/Berlin`.
        local_time: String,
    },
    /// The dialed number matched no line.
    UnknownLine { dialed: String },
    /// Outside working hours.
    Closed { reason: ClosedReason },
    /// An extension was dialed.
    Extension {
        extension: String,
        source: ExtensionSource,
    },
    /// The extension belongs to nobody.
    UnknownExtension { extension: String },
    /// The CRM knows the caller; his responsible manager goes first.
    ResponsibleManager { agent: AgentId },
    /// An employee rung directly was not available.
    EmployeeUnavailable { agent: AgentId, why: Unavailable },
    /// An IVR digit was chosen.
    MenuChoice { menu: String, digit: char },
    /// An IVR digit that has no option.
    MenuInvalid { menu: String, digit: char },
    /// No digit before the IVR timeout.
    MenuTimeout { menu: String },
    /// The call entered a queue group.
    Queue {
        queue: String,
        strategy: QueueStrategy,
    },
    /// A member was skipped.
    Skipped { agent: AgentId, why: Unavailable },
    /// An offered agent did not take the call.
    Missed { agent: AgentId, why: MissReason },
    /// Every member of the queue was tried.
    QueueExhausted { queue: String },
    /// The caller waits with music.
    Waiting { queue: String, position: usize },
    /// The caller waited too long.
    WaitTimedOut { queue: String },
    /// An agent picked the call up from a colleague's phone.
    PickedUp { by: AgentId },
    /// The backup number was used.
    Fallback {
        number: String,
        reason: FallbackReason,
    },
    /// The call's terminal state; logged exactly once per call.
    Ended { outcome: Outcome },
}

impl fmt::Display for LogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogEntry::Line {
                line,
                number,
                caller,
                local_time,
            } => write!(
                f,
                "call from {caller} on line '{line}' ({number}), {local_time}"
            ),
            LogEntry::UnknownLine { dialed } => write!(f, "no line has the number {dialed}"),
            LogEntry::Closed { reason } => write!(f, "closed: {reason}"),
            LogEntry::Extension { extension, source } => {
                write!(f, "extension {extension} {source}")
            }
            LogEntry::UnknownExtension { extension } => {
                write!(f, "extension {extension} belongs to nobody")
            }
            LogEntry::ResponsibleManager { agent } => {
                write!(f, "caller is known: responsible manager is agent {agent}")
            }
            LogEntry::EmployeeUnavailable { agent, why } => write!(f, "agent {agent} is {why}"),
            LogEntry::MenuChoice { menu, digit } => {
                write!(f, "menu '{menu}': caller chose {digit}")
            }
            LogEntry::MenuInvalid { menu, digit } => {
                write!(f, "menu '{menu}': {digit} is not an option")
            }
            LogEntry::MenuTimeout { menu } => write!(f, "menu '{menu}': no choice in time"),
            LogEntry::Queue { queue, strategy } => {
                let strategy = match strategy {
                    QueueStrategy::Evenly => "evenly",
                    QueueStrategy::InOrder => "in order",
                    QueueStrategy::AllAtOnce => "all at once",
                };
                write!(f, "queue '{queue}' ({strategy})")
            }
            LogEntry::Skipped { agent, why } => write!(f, "skip agent {agent}: {why}"),
            LogEntry::Missed { agent, why } => write!(f, "agent {agent} {why}"),
            LogEntry::QueueExhausted { queue } => {
                write!(f, "queue '{queue}': nobody answered")
            }
            LogEntry::Waiting { queue, position } => {
                write!(f, "waiting in queue '{queue}' at position {position}")
            }
            LogEntry::WaitTimedOut { queue } => write!(f, "waited too long in queue '{queue}'"),
            LogEntry::PickedUp { by } => write!(f, "agent {by} picked the call up"),
            LogEntry::Fallback { number, reason } => {
                write!(f, "fallback to backup number {number}: {reason}")
            }
            LogEntry::Ended { outcome } => write!(f, "outcome: {outcome}"),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Play {
                kind,
                prompt,
                looped,
                ..
            } => {
                write!(f, "play {kind} '{prompt}'")?;
                if *looped {
                    f.write_str(" (looped)")?;
                }
                Ok(())
            }
            Action::StopPrompt => f.write_str("stop prompt"),
            Action::CollectDigits { max_digits } => {
                write!(f, "collect up to {max_digits} digit(s)")
            }
            Action::Ring {
                agents,
                ring_seconds,
            } => {
                let names: Vec<String> = agents
                    .iter()
                    .map(|target| target.agent.to_string())
                    .collect();
                let noun = if agents.len() == 1 { "agent" } else { "agents" };
                write!(f, "ring {noun} {} for {ring_seconds} s", names.join(", "))
            }
            Action::CancelRings { agents } => {
                let names: Vec<String> = agents.iter().map(ToString::to_string).collect();
                write!(f, "cancel ringing {}", names.join(", "))
            }
            Action::Bridge { agent } => write!(f, "bridge caller with agent {agent}"),
            Action::Forward { number, caller_id } => {
                write!(f, "forward to {number} showing {caller_id}")
            }
            Action::RecordVoicemail { mailbox } => write!(f, "record voicemail for {mailbox}"),
            Action::HangUp => f.write_str("hang up"),
            Action::StartTimer { timer, at } => {
                write!(
                    f,
                    "start timer {timer} for {}",
                    at.format("%H:%M:%S%.3f UTC")
                )
            }
            Action::Log { entry } => write!(f, "log: {entry}"),
        }
    }
}

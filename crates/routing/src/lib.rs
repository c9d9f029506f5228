//! Ringbase call routing: what happens to every call, second by second.
//!
//! A pure, sans-IO state machine: it takes a call's context, an event and the current time
//! (always passed in, never read from a clock) and returns actions. The SIP server executes
//! the actions; the simulator and the tests drive it with a virtual clock.
//!
//! # Layout
//! - [`config`]: the settings (`ringbase.toml`): lines, agents, queue groups, IVR menus,
//!   outbound rules, callback; parse with errors that name the line, validate, export.
//! - [`schedule`]: working hours, days off, holidays and the day/night override.
//! - [`Router`] and [`Call`]: the inbound engine. Its driving rules are on [`Router`].
//! - [`QueueState`]: state shared between calls (presence, "evenly" rotation, waiting callers).
//! - [`outbound`]: [`route_outbound`] picks the line and rewrites the number an employee dials.
//! - [`callback`]: [`Callback`] rings an agent, then the customer, with retries.
//! - [`mod@simulate`]: scenarios (TOML) run against the settings; timeline as text or JSON lines.

pub mod callback;
pub mod config;
mod engine;
mod error;
mod ids;
pub mod outbound;
pub mod schedule;
pub mod simulate;

pub use callback::{Callback, CallbackAction, CallbackEvent, CallbackOutcome, CallbackRequest};
pub use config::RoutingConfig;
pub use engine::call::Call;
pub use engine::queue_state::{QueueState, WaitingCaller};
pub use engine::router::{Output, Router};
pub use engine::types::{
    Action, AgentState, CallArrival, Caller, CrmCard, Event, ExtensionSource, FallbackReason,
    LegStatus, LogEntry, Mailbox, MissReason, Outcome, PromptKind, RejectReason, RingTarget,
    Unavailable,
};
pub use error::{ConfigError, SimulateError, ValidationError};
pub use ids::{AgentId, CallId, PlaybackId, TimerId};
pub use outbound::{route_outbound, OutboundDecision, Refusal};
pub use simulate::{run_scenario, simulate, Scenario, Timeline, TimelineEntry, TimelineItem};

//! Ringbase's B2BUA call controller, sans-IO: it executes the routing engine's actions with
//! SIP. A call from a trunk becomes a routed call; "ring these agents" becomes INVITEs to
//! their registered phones (in parallel or one after another, as routing decides); the first
//! to answer is bridged and the others get CANCEL; BYE, CANCEL, re-INVITE and UPDATE pass
//! between the legs; every call ends with exactly one [`CallRecord`].
//!
//! No sockets, no clock, no database: the shell (`sip-net`) feeds transaction events and
//! timer wake-ups with the current [`sip_core::Instant`], answers CRM lookups, and sends what
//! the [`sip_core::TransactionLayer`] queued. The driving rules are on [`B2bua`].
//!
//! # Layout
//! - [`B2buaConfig`]: our address, the dialed-number sources, the wall-clock origin.
//! - [`identity`]: caller and dialed number of an inbound INVITE (From, P-Asserted-Identity,
//!   Privacy; Diversion, To, Request-URI).
//! - [`Directory`]: the embedder's answers — an agent's registered contacts, the trunk for a
//!   number.
//! - [`B2bua`] (`controller`): sessions, legs, routing actions, bridging, 2xx retransmission.
//! - [`CallRecord`]: what the CRM logs for each call.
//!
//! # Media
//! There is no media yet. SDP passes between the legs unchanged (the phones and the trunk
//! exchange RTP directly). Routing actions that need media take their no-media fallback:
//! prompts count as played at once, digits are never collected (menus time out), music
//! while waiting in a queue is ringback, and voicemail answers the caller 480 with a note in
//! the record.

mod config;
mod controller;
mod directory;
pub mod identity;
mod record;

pub use config::{B2buaConfig, DialedNumberSource, DEFAULT_MAX_CALL_DURATION};
pub use controller::{B2bua, IncomingInvite, Output, SessionId};
pub use directory::{AgentContact, Directory, TrunkRoute};
pub use record::{CallDirection, CallRecord, CallStatus};

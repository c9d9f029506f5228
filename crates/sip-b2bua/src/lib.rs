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
//! - [`B2bua`] (`controller`): sessions, legs, routing actions, bridging, 2xx retransmission;
//!   `controller/transfer.rs`: blind transfer with REFER; `controller/originate.rs`:
//!   click-to-call ([`B2bua::originate`]); `controller/pickup.rs`: call pickup.
//! - [`sdp`]: answering an SDP offer with another party's offer (pickup).
//! - [`CallRecord`]: what the CRM logs for each call.
//!
//! # Calls it handles
//! - inbound from a trunk, routed by [`routing::Router`] (queues, forks, ring timers,
//!   fallbacks, forwards to external numbers through a trunk);
//! - outbound from an agent's phone through [`routing::route_outbound`] (403 when refused);
//! - internal: an agent dialing a colleague's extension;
//! - click-to-call: the agent's phone first, then the customer;
//! - blind transfer (REFER) by the connected agent, to an extension or a number;
//! - pickup: an agent dials the pickup code (`*8`) and takes a call ringing at a colleague
//!   of his queue group (`controller/pickup.rs`).
//!
//! # Driving it from a shell
//! The shell's endpoint loop owns the [`sip_core::TransactionLayer`] and this controller:
//! every transaction event goes to [`B2bua::handle_event`] first; what comes back is not
//! about a call (REGISTER, OPTIONS, a new INVITE). A new INVITE is vetted by the shell (a
//! trunk's address or credentials, a phone's digest) and handed to
//! [`B2bua::accept_inbound`] or [`B2bua::accept_outbound`]. Outputs ask for the CRM card and
//! carry screen pops and the records. Timers: wake up at the earlier of the layer's and the
//! controller's `poll_timeout`.
//!
//! ```
//! use routing::{AgentId, CrmCard, Router, RoutingConfig};
//! use sip_b2bua::{AgentContact, B2bua, B2buaConfig, Directory, IncomingInvite, Output, TrunkRoute};
//! use sip_core::{Instant, Peer, TransactionConfig, TransactionEvent, TransactionLayer};
//!
//! /// The registrar's bindings and the trunk settings, as the shell knows them.
//! struct Bindings;
//! impl Directory for Bindings {
//!     fn agent_contacts(&self, agent: AgentId) -> Vec<AgentContact> {
//!         match agent.0 {
//!             101 => vec![AgentContact {
//!                 uri: "sip:101@192.0.2.21:5060".parse().unwrap(),
//!                 destination: Peer::udp("192.0.2.21:5060".parse().unwrap()),
//!             }],
//!             _ => Vec::new(),
//!         }
//!     }
//!     fn trunk_route(&self, _number: &str, _caller_id: &str) -> Option<TrunkRoute> {
//!         None
//!     }
//! }
//!
//! let settings = RoutingConfig::from_toml(r#"
//!     [[agents]]
//!     id = 101
//!     name = "Anna"
//!     [[lines]]
//!     number = "+493012345678"
//!     name = "Sales"
//!     queue = "sales"
//!     [[queues]]
//!     name = "sales"
//!     strategy = "in_order"
//!     members = [101]
//! "#).unwrap();
//! let origin = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").unwrap().to_utc();
//! let config = B2buaConfig::new("192.0.2.10:5060".parse().unwrap(), "pbx.example", origin);
//! let mut b2bua = B2bua::new(config, Router::new(settings).unwrap());
//! let mut layer = TransactionLayer::new(TransactionConfig::default());
//! let trunk = Peer::udp("198.51.100.1:5060".parse().unwrap());
//! let now = Instant::ZERO;
//!
//! // A datagram from the trunk...
//! let invite = b"INVITE sip:+493012345678@192.0.2.10 SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-1\r\n\
//! From: <sip:+4917612345678@carrier.example>;tag=c1\r\n\
//! To: <sip:+493012345678@pbx.example>\r\nCall-ID: call-1\r\nCSeq: 1 INVITE\r\n\
//! Contact: <sip:198.51.100.1:5060>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
//! layer.handle_datagram(now, trunk, invite).unwrap();
//! // ...becomes an event; new INVITEs come back for the shell to vet.
//! while let Some(event) = layer.poll_event() {
//!     match b2bua.handle_event(now, &mut layer, &Bindings, event) {
//!         Some(TransactionEvent::Request { key, request, source }) if source == trunk => {
//!             b2bua.accept_inbound(now, &mut layer, IncomingInvite { key, request, source });
//!         }
//!         _ => {} // REGISTER, OPTIONS ... for the shell's other services
//!     }
//! }
//! // The CRM answers (asynchronously in the shell; at once here), and routing rings Anna.
//! while let Some(output) = b2bua.poll_output() {
//!     match output {
//!         Output::LookupCaller { session, .. } => {
//!             b2bua.caller_card(now, &mut layer, &Bindings, session, CrmCard::Unknown);
//!         }
//!         Output::AgentRinging { agent, .. } => assert_eq!(agent, AgentId(101)),
//!         Output::CallAnswered { .. } | Output::CallEnded(_) => {}
//!     }
//! }
//! let sent: Vec<_> = std::iter::from_fn(|| layer.poll_transmit()).collect();
//! assert!(sent.iter().any(|t| t.payload.starts_with(b"INVITE sip:101@192.0.2.21:5060")));
//! // Ring time is routing's: the next wake-up is its ring timer (3 rings = 15 s by default).
//! assert!(b2bua.poll_timeout().is_some());
//! ```
//!
//! # Media
//! There is no media yet. SDP passes between the legs unchanged (the phones and the trunk
//! exchange RTP directly). Routing actions that need media take their no-media fallback:
//! prompts count as played at once, digits are never collected (menus time out), music
//! while waiting in a queue is ringback, and voicemail answers the caller 480 with a note in
//! the record.
//!
//! The one exception is a pickup: the caller's and the picker's INVITEs both carry offers,
//! so [`sdp`] builds each side's answer from the other's offer (address, port, common codecs).

mod config;
mod controller;
mod directory;
pub mod identity;
mod record;
pub mod sdp;

pub use config::{
    B2buaConfig, DialedNumberSource, DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_MAX_CALL_DURATION,
};
pub use controller::{
    B2bua, IncomingInvite, OriginateError, Output, SessionId, AGENT_RING, CUSTOMER_RING,
};
pub use directory::{AgentContact, Directory, TrunkRoute};
pub use record::{CallDirection, CallRecord, CallStatus};

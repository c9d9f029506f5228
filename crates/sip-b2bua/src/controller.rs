//! [`B2bua`]: the call controller. One [`Session`] per call: the caller's leg (we are its UAS)
//! and the legs we place for it (we are their UAC), paired with [`LegPairs`]; or, after a
//! pickup, the picker's leg (we are its UAS too, see `pickup.rs`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use routing::{
    route_outbound, Action, AgentId, CallArrival, Caller, CrmCard, Event, LegStatus, LogEntry,
    Outcome, RejectReason, Router, TimerId,
};
use sip_core::b2bua::{BridgeId, LegKey, LegPairs};
use sip_core::dialog::Dialog;
use sip_core::digest::{authorize, ClientCredentials};
use sip_core::{Instant, Peer, TransactionEvent, TransactionKey, TransactionLayer};
use sip_proto::typed::{CSeq, Contact, ContentType, From, To, Via};
use sip_proto::{
    Host, Method, Request, RequestBuilder, Response, SipUri, StatusCode, Uri, UriParam,
};

use crate::config::B2buaConfig;
use crate::directory::{Directory, TrunkRoute};
use crate::identity::{inbound_numbers, number_of, InboundNumbers};
use crate::record::{CallDirection, CallRecord, CallStatus};

mod originate;
mod pickup;
mod transfer;
use originate::Originated;
pub use originate::{OriginateError, AGENT_RING, CUSTOMER_RING};
use pickup::PickerLeg;
use transfer::Transfer;

/// One call through the B2BUA, as the embedder names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// A new INVITE (outside any dialog) the shell has vetted, as the transaction layer
/// delivered it in [`TransactionEvent::Request`].
#[derive(Debug, Clone)]
pub struct IncomingInvite {
    /// Its INVITE server transaction.
    pub key: TransactionKey,
    pub request: Request,
    /// Where it came from (responses and in-dialog requests go back there).
    pub source: Peer,
}

/// What the B2BUA asks of the embedder, besides the messages it queued on the transaction
/// layer and the wake-up of [`B2bua::poll_timeout`].
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Look the caller up in the CRM and answer with [`B2bua::caller_card`]. The call is not
    /// routed before the answer (or an answer of [`CrmCard::Unknown`] when the lookup fails).
    LookupCaller { session: SessionId, caller: Caller },
    /// An agent's phones are ringing for a call (the screen pop: show him the caller's card).
    AgentRinging {
        session: SessionId,
        agent: AgentId,
        caller: Caller,
    },
    /// The call was connected: with an agent, or (`agent: None`) with an external number.
    CallAnswered {
        session: SessionId,
        agent: Option<AgentId>,
    },
    /// A call is over; its one and only record.
    CallEnded(Box<CallRecord>),
}

/// The B2BUA call controller, sans-IO.
///
/// # Driving rules
///
/// The shell owns the sockets, the clock and the [`TransactionLayer`]; this controller is
/// the layer's transaction user for calls. Every method takes `now` (never going backwards)
/// and the layer, sends through it, and never blocks.
///
/// 1. Hand every [`TransactionEvent`] to [`handle_event`](Self::handle_event). Events that
///    are not about our calls come back (`Some(event)`) for the shell's other services —
///    among them every *new* INVITE: the shell decides who may call (a trunk by its address
///    or credentials, a phone by digest) and then calls
///    [`accept_inbound`](Self::accept_inbound) (from a trunk) or
///    [`accept_outbound`](Self::accept_outbound) (from an agent's phone), or refuses it.
///    Click-to-call starts with [`originate`](Self::originate).
/// 2. Drain [`poll_output`](Self::poll_output): answer [`Output::LookupCaller`] with
///    [`caller_card`](Self::caller_card) once the CRM answered; publish
///    [`Output::AgentRinging`] (screen pop) and [`Output::CallAnswered`]; store
///    [`Output::CallEnded`] records. Agent presence goes to
///    [`agent_state_changed`](Self::agent_state_changed), settings to
///    [`replace_routing_config`](Self::replace_routing_config).
/// 3. Call [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)
///    is due (routing timers: ring time, IVR, queue waits; 2xx retransmission).
/// 4. After each call, drain the layer (`poll_transmit`, `poll_event`) as usual.
///
/// Synchronous questions (an agent's registered contacts, the trunk for a number) go to the
/// [`Directory`] passed in. In-dialog requests go to the address the dialog's first message
/// came from or went to (the trunk, the phone's registration source), never to a resolved
/// Contact: no DNS here, and behind NAT that is the only address that works.
///
/// Media is not handled yet: SDP passes between the legs unchanged, and routing actions that
/// need media end in their no-media fallback (see [`Action`] handling in `execute`).
/// A map keyed by one of our own counters (session, leg, routing call): a fast hash is safe
/// here, no peer chooses these keys.
type IdMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug)]
pub struct B2bua {
    config: B2buaConfig,
    router: Router,
    next_id: u64,
    sessions: IdMap<SessionId, Session>,
    legs: IdMap<LegId, OutLeg>,
    pairs: LegPairs,
    /// Our client transactions and what they are for.
    client_txs: HashMap<TransactionKey, ClientTx>,
    /// Callers' INVITE server transactions (CANCEL finds its call here).
    server_invites: HashMap<TransactionKey, SessionId>,
    /// Every dialog (or would-be dialog) of ours, caller side and placed legs.
    dialogs: HashMap<LegKey, LegRef>,
    /// Routing's call id → our session.
    routed: IdMap<routing::CallId, SessionId>,
    /// Click-to-calls: both legs placed by us, no caller leg.
    originated: IdMap<SessionId, Originated>,
    /// Deadlines; the `u64` keeps equal instants apart and in arming order.
    timers: BTreeMap<(Instant, u64), TimerKind>,
    /// 2xx responses we retransmit until the ACK (§13.3.1.4), by the dialog they answer.
    retransmits: HashMap<LegKey, Pending2xx>,
    outputs: VecDeque<Output>,
    /// Sessions routing asked to end (`Session::end_requested`), ended after its actions ran:
    /// a list, so finishing a call does not look at every call in progress.
    ending: Vec<SessionId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct LegId(u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegRef {
    Caller(SessionId),
    Placed(LegId),
    /// The INVITE of an agent who picked the call up (we answered it, see `pickup.rs`).
    Picker(SessionId),
}

#[derive(Debug, Clone)]
enum ClientTx {
    /// The INVITE of a placed leg.
    Invite(LegId),
    /// A CANCEL, BYE or NOTIFY: only its end matters.
    Teardown,
    /// The re-INVITE that gives the caller a transfer target's offer.
    Reoffer { session: SessionId, leg: LegId },
    /// An in-dialog request relayed from the other leg; its final response goes back on
    /// `server_key`, built from `original`.
    Relay {
        server_key: TransactionKey,
        original: Box<Request>,
        /// The leg the original came from.
        from: LegRef,
    },
    /// An in-dialog OPTIONS asking whether `side` of a connected call is still there.
    KeepAlive { session: SessionId, side: LegRef },
}

#[derive(Debug, Clone)]
enum TimerKind {
    Routing {
        call: routing::CallId,
        timer: TimerId,
    },
    Retransmit2xx(LegKey),
    /// A cancelled leg whose INVITE never got a final response is given up (§9.1).
    GiveUpCancelled(LegId),
    /// A blind transfer's target has rung long enough.
    TransferTimeout(SessionId),
    /// A connected call has lasted [`B2buaConfig::max_call_duration`].
    MaxDuration(SessionId),
    /// Time to ask both sides of a connected call whether they are still there.
    KeepAlive(SessionId),
    /// A click-to-call's phone (agent's, then customer's) has rung long enough.
    OriginateRing(SessionId),
}

#[derive(Debug, Clone)]
struct Pending2xx {
    server_key: TransactionKey,
    response: Response,
    cseq: u32,
    interval: Duration,
    give_up_at: Instant,
    /// The answer of the call itself (not of a re-INVITE): no ACK means the call failed.
    initial: Option<SessionId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum LegTarget {
    Agent(AgentId),
    /// A trunk leg: a forward, a fallback number, an outbound call.
    External {
        number: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegState {
    /// INVITE sent, no provisional response with a tag yet.
    Trying,
    /// 180/183 received.
    Ringing,
    /// We sent CANCEL (or will, once a provisional arrives).
    Cancelling,
    /// 200 received and ACKed; routing has not bridged it (yet).
    Answered,
    /// Connected with the caller.
    Bridged,
    /// Failed, cancelled, or hung up.
    Ended,
}

impl LegState {
    fn is_ringing(self) -> bool {
        matches!(self, LegState::Trying | LegState::Ringing)
    }
}

#[derive(Debug, Clone)]
struct OutLeg {
    session: SessionId,
    target: LegTarget,
    key: LegKey,
    invite: Request,
    invite_key: TransactionKey,
    destination: Peer,
    state: LegState,
    dialog: Option<Dialog>,
    /// The 2xx that answered, for relaying its SDP.
    answer: Option<Response>,
    /// The ACK we sent for the 2xx, sent again for each retransmitted 2xx.
    ack: Option<Request>,
    /// Late offer (the caller's INVITE had no SDP): the phone's 2xx carries the offer, the
    /// caller's ACK the answer, so our ACK waits for the caller's.
    ack_held: bool,
    /// We sent the INVITE without SDP (a transfer target): its 2xx carries the offer.
    offerless: bool,
    credentials: Option<ClientCredentials>,
    auth_tried: bool,
    final_status: Option<StatusCode>,
}

#[derive(Debug, Clone)]
struct CallerLeg {
    invite_key: TransactionKey,
    invite: Request,
    source: Peer,
    local_tag: String,
    key: LegKey,
    final_sent: bool,
    ringing_sent: bool,
    early_media_sent: bool,
    dialog: Option<Dialog>,
}

#[derive(Debug, Clone, Default)]
struct RecordDraft {
    line: Option<String>,
    agent: Option<AgentId>,
    queue: Option<String>,
    forwarded_to: Option<String>,
    outcome: Option<Outcome>,
    log: Vec<LogEntry>,
    notes: Vec<String>,
    busy: bool,
    failed: bool,
}

#[derive(Debug, Clone)]
struct Session {
    direction: CallDirection,
    route: Option<routing::CallId>,
    caller: CallerLeg,
    /// Every leg placed for this call, in order.
    legs: Vec<LegId>,
    bridged: Option<LegId>,
    bridge: Option<BridgeId>,
    numbers: InboundNumbers,
    started_at: Instant,
    answered_at: Option<Instant>,
    record: RecordDraft,
    /// Routing ended the call; the session ends once routing's current outputs are done (so
    /// the log entries that follow the terminal action still reach the record).
    end_requested: bool,
    transfer: Option<Transfer>,
    max_duration_timer: Option<(Instant, u64)>,
    /// The next keepalive (removed with the call, like `max_duration_timer`).
    keepalive_timer: Option<(Instant, u64)>,
    /// The agent who took the call with the pickup code; connected instead of a placed leg.
    picker: Option<PickerLeg>,
}

/// What a new leg is and where it goes.
struct Placement<'a> {
    target: LegTarget,
    uri: Uri,
    destination: Peer,
    /// User part of our From (the number presented).
    from_user: &'a str,
    from_domain: &'a str,
    credentials: Option<ClientCredentials>,
    offer: Offer,
}

/// The SDP a new leg's INVITE carries.
enum Offer {
    /// The caller's, unchanged.
    CallersSdp,
    /// None: the callee makes the offer in its 2xx (transfer targets, click-to-call phones).
    None,
    /// This one (click-to-call: the agent phone's offer goes to the customer).
    Sdp(sip_proto::bytes::Bytes, Option<ContentType>),
}

/// The layer and the directory, passed down together.
struct Ctx<'a> {
    now: Instant,
    layer: &'a mut TransactionLayer,
    directory: &'a dyn Directory,
}

impl B2bua {
    /// A controller with no calls, routing with `router`.
    pub fn new(config: B2buaConfig, router: Router) -> B2bua {
        B2bua {
            config,
            router,
            next_id: 0,
            sessions: IdMap::default(),
            legs: IdMap::default(),
            pairs: LegPairs::new(),
            client_txs: HashMap::new(),
            server_invites: HashMap::new(),
            dialogs: HashMap::new(),
            routed: IdMap::default(),
            originated: IdMap::default(),
            timers: BTreeMap::new(),
            retransmits: HashMap::new(),
            outputs: VecDeque::new(),
            ending: Vec::new(),
        }
    }

    /// New routing settings (edited over the API): calls that arrive from now on use them.
    pub fn replace_routing_config(
        &mut self,
        config: routing::RoutingConfig,
    ) -> Result<(), routing::ConfigError> {
        self.router.replace_config(config)
    }

    /// An agent's presence changed (paused, back, off shift, on a call elsewhere). A newly
    /// free agent may be offered a caller waiting in a queue at once, so this can ring.
    pub fn agent_state_changed(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        directory: &dyn Directory,
        agent: AgentId,
        state: routing::AgentState,
    ) {
        let wall = self.wall_time(now);
        let outputs = self.router.agent_state_changed(agent, state, wall);
        let mut ctx = Ctx {
            now,
            layer,
            directory,
        };
        self.run_routing(&mut ctx, outputs);
    }

    /// The routing engine.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Calls in progress.
    pub fn active_calls(&self) -> usize {
        self.sessions.len() + self.originated.len()
    }

    /// Placed legs still tracked (ringing, being cancelled, connected).
    pub fn active_legs(&self) -> usize {
        self.legs.len()
    }

    /// Deadlines still set (ring timers, retransmissions ...), for metrics: a finished call
    /// leaves none that outlive a few minutes.
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// The next thing for the embedder.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(at, _)| *at)
    }

    /// The wall-clock time of an instant.
    pub fn wall_time(&self, now: Instant) -> DateTime<Utc> {
        TimeDelta::from_std(now.since_origin())
            .ok()
            .and_then(|d| self.config.wall_clock_origin.checked_add_signed(d))
            .unwrap_or(self.config.wall_clock_origin)
    }

    fn instant_of(&self, at: DateTime<Utc>, now: Instant) -> Instant {
        (at - self.config.wall_clock_origin)
            .to_std()
            .map(Instant::from_duration)
            .unwrap_or(now)
            .max(now)
    }

    fn next_id(&mut self) -> u64 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    fn fresh(&mut self, what: &str) -> String {
        let n = self.next_id();
        format!("{}{what}{n:x}", self.config.instance)
    }

    fn fresh_branch(&mut self) -> String {
        let n = self.next_id();
        format!("z9hG4bK{}{n:x}", self.config.instance)
    }

    fn our_via(&mut self, destination: Peer) -> Via {
        let addr = self.config.advertised;
        let host = match addr.ip() {
            std::net::IpAddr::V4(ip) => Host::Ipv4(ip),
            std::net::IpAddr::V6(ip) => Host::Ipv6(ip),
        };
        let branch = self.fresh_branch();
        let mut via = Via::new(
            destination.protocol.to_via(),
            host,
            Some(addr.port()),
            &branch,
        );
        // Ask for responses at the port we sent from (RFC 3581), as phones behind NAT do.
        via.params.set("rport", None);
        via
    }

    /// Our Contact towards a peer: `sip:ringbase@<advertised>`, with `;transport=tcp` (tls ...)
    /// when the peer is reached over a reliable transport, so its requests come back on one.
    fn our_contact(&self, toward: Peer) -> Uri {
        let addr = self.config.advertised;
        let mut uri = SipUri::new(match addr.ip() {
            std::net::IpAddr::V4(ip) => Host::Ipv4(ip),
            std::net::IpAddr::V6(ip) => Host::Ipv6(ip),
        });
        uri.user = Some("ringbase".to_owned());
        uri.port = Some(addr.port());
        if toward.protocol.is_reliable() {
            uri.params.push(UriParam {
                name: "transport".to_owned(),
                value: Some(toward.protocol.to_via().as_str().to_lowercase()),
            });
        }
        Uri::Sip(uri)
    }

    // ------------------------------------------------------------------ entry points

    /// Takes a new INVITE from a trunk the shell has vetted (source address or credentials):
    /// reads caller and dialed number and asks for the caller's CRM card
    /// ([`Output::LookupCaller`]). An INVITE without a usable dialed number is refused 404
    /// (and still gets its record).
    pub fn accept_inbound(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        invite: IncomingInvite,
    ) -> SessionId {
        let IncomingInvite {
            key,
            request,
            source,
        } = invite;
        let unusable = unusable_invite(&request);
        let numbers = inbound_numbers(&request, &self.config.dialed_number_from);
        let known = numbers.is_some() && unusable.is_none();
        let numbers = numbers.unwrap_or_else(|| InboundNumbers {
            caller: crate::identity::caller_of(&request),
            dialed: String::new(),
            to: None,
            diversion: None,
        });
        let id = self.open_session(now, key, request, source, numbers, CallDirection::Inbound);
        if known {
            let caller = self.sessions.get(&id).map(|s| s.numbers.caller.clone());
            if let Some(caller) = caller {
                self.outputs.push_back(Output::LookupCaller {
                    session: id,
                    caller,
                });
            }
        } else {
            match unusable {
                Some(problem) => self.refuse_unusable(now, layer, id, problem),
                None => {
                    let why = "no dialed number in the configured headers";
                    self.note(id, why.to_owned());
                    self.fail(id);
                    self.reject_caller(now, layer, id, StatusCode::NOT_FOUND);
                }
            }
            // Nothing was looked up or rung for this call, so no directory is needed.
            let mut ctx = Ctx {
                now,
                layer,
                directory: &NoDirectory,
            };
            self.end_session(&mut ctx, id);
        }
        id
    }

    /// The CRM's answer to [`Output::LookupCaller`]: the call is routed now. Ignored for a
    /// call that has ended meanwhile (the caller gave up) or was routed already.
    pub fn caller_card(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        directory: &dyn Directory,
        session: SessionId,
        card: CrmCard,
    ) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        if s.route.is_some() || s.caller.final_sent || s.direction != CallDirection::Inbound {
            return;
        }
        let arrival = CallArrival {
            caller: s.numbers.caller.clone(),
            dialed: s.numbers.dialed.clone(),
            to: s.numbers.to.clone(),
            diversion: s.numbers.diversion.clone(),
            card,
        };
        let wall = self.wall_time(now);
        let (call, outputs) = self.router.call_arrived(arrival, wall);
        self.routed.insert(call, session);
        if let Some(s) = self.sessions.get_mut(&session) {
            s.route = Some(call);
        }
        let mut ctx = Ctx {
            now,
            layer,
            directory,
        };
        self.run_routing(&mut ctx, outputs);
    }

    /// Takes a new INVITE from an agent's registered phone (the shell has authenticated it
    /// as `agent`): the dialed number goes through the outbound rules
    /// ([`routing::route_outbound`]); a refused number is answered 403, a permitted one is
    /// called through the trunk the [`Directory`] names (503 when there is none).
    ///
    /// The pickup code (`outbound.pickup_code`) takes the call ringing at a colleague of the
    /// agent's queue group instead: his INVITE is answered as that call's connected leg, or
    /// refused (480 nothing to pick up, 488 no codec in common). Such an INVITE starts no
    /// call of its own and gets no record: `None`.
    pub fn accept_outbound(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        directory: &dyn Directory,
        invite: IncomingInvite,
        agent: AgentId,
    ) -> Option<SessionId> {
        let dialed = number_of(&invite.request.uri).unwrap_or_default();
        if dialed == self.router.config().outbound.pickup_code() {
            let mut ctx = Ctx {
                now,
                layer,
                directory,
            };
            self.pick_up(&mut ctx, invite, agent);
            return None;
        }
        let IncomingInvite {
            key,
            request,
            source,
        } = invite;
        let unusable = unusable_invite(&request);
        let colleague = self
            .router
            .config()
            .agents
            .iter()
            .find(|a| a.extension.as_deref() == Some(dialed.as_str()))
            .map(|a| a.id);
        if let Some(colleague) = colleague {
            let invite = IncomingInvite {
                key,
                request,
                source,
            };
            let id = self.call_colleague(now, layer, directory, invite, agent, colleague, unusable);
            return Some(id);
        }
        let decision = route_outbound(self.router.config(), agent, &dialed);
        // The number presented: the line's; for a refused call, the agent's own extension.
        let presented = match &decision {
            Ok(decision) => decision.caller_id.clone(),
            Err(_) => self
                .router
                .config()
                .agent(agent)
                .and_then(|a| a.extension.clone())
                .unwrap_or_else(|| agent.to_string()),
        };
        let numbers = InboundNumbers {
            caller: Caller::Number(presented),
            dialed: decision
                .as_ref()
                .map(|d| d.number.clone())
                .unwrap_or_else(|_| dialed.clone()),
            to: None,
            diversion: None,
        };
        let id = self.open_session(now, key, request, source, numbers, CallDirection::Outbound);
        if let Some(s) = self.sessions.get_mut(&id) {
            s.record.agent = Some(agent);
        }
        let mut ctx = Ctx {
            now,
            layer,
            directory,
        };
        if let Some(problem) = unusable {
            self.refuse_unusable(now, ctx.layer, id, problem);
            self.end_session(&mut ctx, id);
            return Some(id);
        }
        match decision {
            Err(refusal) => {
                self.note(id, format!("outbound call refused: {refusal}"));
                self.fail(id);
                self.reject_caller(now, ctx.layer, id, StatusCode::FORBIDDEN);
                self.end_session(&mut ctx, id);
            }
            Ok(decision) => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.record.line = Some(decision.line.clone());
                }
                let route = ctx
                    .directory
                    .trunk_route(&decision.number, &decision.caller_id);
                let number = decision.number;
                if !self.call_external(&mut ctx, id, number, &decision.caller_id, route) {
                    self.end_session(&mut ctx, id);
                }
            }
        }
        Some(id)
    }

    /// An internal call: an agent dialed a colleague's extension. No trunk, no routing: the
    /// colleague's phones ring until one answers or the caller gives up.
    #[allow(clippy::too_many_arguments)]
    fn call_colleague(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        directory: &dyn Directory,
        invite: IncomingInvite,
        agent: AgentId,
        colleague: AgentId,
        unusable: Option<Unusable>,
    ) -> SessionId {
        let own_extension = self
            .router
            .config()
            .agent(agent)
            .and_then(|a| a.extension.clone())
            .unwrap_or_else(|| agent.to_string());
        let dialed = number_of(&invite.request.uri).unwrap_or_default();
        let numbers = InboundNumbers {
            caller: Caller::Number(own_extension),
            dialed,
            to: None,
            diversion: None,
        };
        let IncomingInvite {
            key,
            request,
            source,
        } = invite;
        let id = self.open_session(now, key, request, source, numbers, CallDirection::Internal);
        if let Some(s) = self.sessions.get_mut(&id) {
            s.record.agent = Some(agent);
        }
        let mut ctx = Ctx {
            now,
            layer,
            directory,
        };
        if let Some(problem) = unusable {
            self.refuse_unusable(now, ctx.layer, id, problem);
            self.end_session(&mut ctx, id);
        } else if !self.ring_agent(&mut ctx, id, colleague) {
            self.note(id, format!("agent {colleague} has no registered phone"));
            self.reject_caller(now, ctx.layer, id, StatusCode::TEMPORARILY_UNAVAILABLE);
            self.end_session(&mut ctx, id);
        }
        id
    }

    /// A transaction event. Returns it when it is not about one of our calls: requests of
    /// other services (REGISTER, OPTIONS), new INVITEs (no To tag) for the shell to vet, and
    /// in-dialog requests (To tag) of dialogs we do not know, which the shell answers 481.
    pub fn handle_event(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        directory: &dyn Directory,
        event: TransactionEvent,
    ) -> Option<TransactionEvent> {
        let mut ctx = Ctx {
            now,
            layer,
            directory,
        };
        match event {
            TransactionEvent::Request {
                key,
                request,
                source,
            } => {
                let leg = LegKey::of_incoming_request(&request)
                    .and_then(|leg| self.dialogs.get(&leg).copied());
                match leg {
                    Some(leg) => {
                        self.on_in_dialog_request(&mut ctx, key, request, leg);
                        None
                    }
                    None => Some(TransactionEvent::Request {
                        key,
                        request,
                        source,
                    }),
                }
            }
            TransactionEvent::Cancel {
                key,
                request,
                source,
                invite,
            } => {
                let session = invite
                    .as_ref()
                    .and_then(|invite| self.server_invites.get(invite).copied());
                match session {
                    Some(session) => {
                        self.on_caller_cancel(&mut ctx, session, &key, &request);
                        None
                    }
                    None => Some(TransactionEvent::Cancel {
                        key,
                        request,
                        source,
                        invite,
                    }),
                }
            }
            TransactionEvent::Ack {
                request,
                source,
                transaction,
            } => {
                let ours = LegKey::of_incoming_request(&request).filter(|leg| {
                    self.dialogs.contains_key(leg) || self.retransmits.contains_key(leg)
                });
                match ours {
                    Some(leg) => {
                        self.on_ack(&mut ctx, &leg, &request);
                        None
                    }
                    None => Some(TransactionEvent::Ack {
                        request,
                        source,
                        transaction,
                    }),
                }
            }
            TransactionEvent::Response { key, response } => match self.client_txs.get(&key) {
                Some(tx) => {
                    let tx = tx.clone();
                    self.on_response(&mut ctx, &key, tx, response);
                    None
                }
                None => Some(TransactionEvent::Response { key, response }),
            },
            TransactionEvent::StrayResponse { response, source } => {
                // A 2xx retransmission after the INVITE transaction ended: ACK it again.
                let leg = LegKey::of_incoming_response(&response)
                    .and_then(|leg| self.dialogs.get(&leg).copied());
                match leg {
                    Some(LegRef::Placed(leg)) => {
                        self.resend_ack(&mut ctx, leg, &response);
                        None
                    }
                    _ => Some(TransactionEvent::StrayResponse { response, source }),
                }
            }
            TransactionEvent::Timeout { key, timer } => match self.client_txs.get(&key) {
                Some(tx) => {
                    let tx = tx.clone();
                    self.on_client_failure(&mut ctx, &key, tx);
                    None
                }
                None if self.server_invites.contains_key(&key) => {
                    // Timer H: the caller never ACKed our error response; the call is over
                    // already (§17.2.1), nothing left to do.
                    None
                }
                None => Some(TransactionEvent::Timeout { key, timer }),
            },
            TransactionEvent::TransportError { key } => match self.client_txs.get(&key) {
                Some(tx) => {
                    let tx = tx.clone();
                    self.on_client_failure(&mut ctx, &key, tx);
                    None
                }
                None if self.server_invites.contains_key(&key) => None,
                None => Some(TransactionEvent::TransportError { key }),
            },
            TransactionEvent::Terminated { key } => {
                // A CANCEL can no longer match an ended INVITE transaction, so its entry goes
                // whether or not the call goes on.
                let client = self.client_txs.remove(&key).is_some();
                let server = self.server_invites.remove(&key).is_some();
                (!client && !server).then_some(TransactionEvent::Terminated { key })
            }
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        directory: &dyn Directory,
    ) {
        let mut ctx = Ctx {
            now,
            layer,
            directory,
        };
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let kind = entry.remove();
            match kind {
                TimerKind::Routing { call, timer } => {
                    let wall = self.wall_time(now);
                    let outputs = self.router.handle(call, Event::TimerFired { timer }, wall);
                    self.run_routing(&mut ctx, outputs);
                }
                TimerKind::Retransmit2xx(leg) => self.retransmit_2xx(&mut ctx, leg),
                TimerKind::MaxDuration(session) => {
                    let why = "ended after the maximum call duration".to_owned();
                    if self.sessions.contains_key(&session) {
                        self.note(session, why);
                        self.hang_up_from(&mut ctx, session, None);
                    } else if self.is_originated(session) {
                        self.originated_note(session, why);
                        self.end_originated(&mut ctx, session);
                    }
                }
                TimerKind::OriginateRing(session) => {
                    self.originated_ring_timeout(&mut ctx, session);
                }
                TimerKind::KeepAlive(session) => self.send_keepalives(&mut ctx, session),
                TimerKind::TransferTimeout(session) => {
                    self.transfer_timed_out(&mut ctx, session);
                }
                TimerKind::GiveUpCancelled(leg) => {
                    if self
                        .legs
                        .get(&leg)
                        .is_some_and(|l| l.state == LegState::Cancelling)
                    {
                        self.on_leg_failed(&mut ctx, leg, StatusCode::REQUEST_TIMEOUT);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ sessions

    fn open_session(
        &mut self,
        now: Instant,
        key: TransactionKey,
        request: Request,
        source: Peer,
        numbers: InboundNumbers,
        direction: CallDirection,
    ) -> SessionId {
        let id = SessionId(self.next_id());
        let local_tag = self.fresh("t");
        let call_id = request
            .headers
            .typed::<sip_proto::typed::CallId>()
            .ok()
            .flatten()
            .map(|c| c.0)
            .unwrap_or_default();
        let leg_key = LegKey::new(&call_id, &local_tag);
        let bridge = self.pairs.open(leg_key.clone()).ok();
        self.dialogs.insert(leg_key.clone(), LegRef::Caller(id));
        self.server_invites.insert(key.clone(), id);
        self.sessions.insert(
            id,
            Session {
                direction,
                route: None,
                caller: CallerLeg {
                    invite_key: key,
                    invite: request,
                    source,
                    local_tag,
                    key: leg_key,
                    final_sent: false,
                    ringing_sent: false,
                    early_media_sent: false,
                    dialog: None,
                },
                legs: Vec::new(),
                bridged: None,
                bridge,
                numbers,
                started_at: now,
                answered_at: None,
                record: RecordDraft::default(),
                end_requested: false,
                transfer: None,
                max_duration_timer: None,
                keepalive_timer: None,
                picker: None,
            },
        );
        id
    }

    fn refuse_unusable(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        session: SessionId,
        problem: Unusable,
    ) {
        self.note(session, problem.why.to_owned());
        self.fail(session);
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        s.caller.final_sent = true;
        let mut response = s
            .caller
            .invite
            .make_response(problem.status, Some(&s.caller.local_tag));
        for tag in problem.unsupported {
            response
                .headers
                .push_typed(&sip_proto::typed::Unsupported(tag));
        }
        let key = s.caller.invite_key.clone();
        let _ = layer.send_response(now, &key, &response);
    }

    fn note(&mut self, session: SessionId, note: String) {
        if let Some(s) = self.sessions.get_mut(&session) {
            s.record.notes.push(note);
        }
    }

    fn fail(&mut self, session: SessionId) {
        if let Some(s) = self.sessions.get_mut(&session) {
            s.record.failed = true;
        }
    }

    /// Ends a call: tears down what is left of it and emits its record. The one place a
    /// record is made, and a session is removed only here, so there is exactly one.
    fn end_session(&mut self, ctx: &mut Ctx<'_>, session: SessionId) {
        let Some(s) = self.sessions.remove(&session) else {
            return;
        };
        for leg in &s.legs {
            let state = self.legs.get(leg).map(|l| l.state);
            match state {
                Some(LegState::Trying | LegState::Ringing) => self.cancel_leg(ctx, *leg),
                Some(LegState::Answered | LegState::Bridged) => self.bye_leg(ctx, *leg),
                Some(LegState::Ended) => {
                    if let Some(l) = self.legs.remove(leg) {
                        self.dialogs.remove(&l.key);
                    }
                }
                Some(LegState::Cancelling) | None => {}
            }
        }
        if let Some(bridge) = s.bridge {
            self.pairs.close(bridge);
        }
        if let Some(timer) = s.max_duration_timer {
            self.timers.remove(&timer);
        }
        if let Some(timer) = s.keepalive_timer {
            self.timers.remove(&timer);
        }
        self.dialogs.remove(&s.caller.key);
        self.retransmits.remove(&s.caller.key);
        if let Some(picker) = &s.picker {
            self.dialogs.remove(&picker.key);
            self.retransmits.remove(&picker.key);
        }
        if let Some(route) = s.route {
            self.routed.remove(&route);
            // Whatever ended the call, routing must see it end, or it would count the agent
            // as on this call for ever. Its outputs may ring a waiting caller through.
            if self.router.call(route).is_some_and(|c| !c.is_finished()) {
                let wall = self.wall_time(ctx.now);
                let outputs = self.router.handle(route, Event::CallerHungUp, wall);
                self.run_routing(ctx, outputs);
            }
            if !self.router.remove_if_finished(route) && self.router.call(route).is_some() {
                // Cannot happen (a hung-up call is over); if it did, sweep rather than leak.
                debug_assert!(false, "routing call {route:?} outlived its session");
                self.router.remove_finished();
            }
        }

        let record = s.record;
        let status = if s.answered_at.is_some() {
            CallStatus::Answered
        } else if record.busy {
            CallStatus::Busy
        } else if record.failed {
            CallStatus::Failed
        } else {
            CallStatus::Missed
        };
        let queue = match &record.outcome {
            Some(Outcome::Answered { queue, .. }) => queue.clone(),
            _ => None,
        };
        let record = CallRecord {
            session,
            direction: s.direction,
            caller: s.numbers.caller,
            called: s.numbers.dialed,
            to: s.numbers.to,
            diversion: s.numbers.diversion,
            line: record.line,
            agent: record.agent,
            queue: queue.or(record.queue.filter(|_| s.answered_at.is_some())),
            forwarded_to: record.forwarded_to,
            started_at: self.wall_time(s.started_at),
            answered_at: s.answered_at.map(|t| self.wall_time(t)),
            ended_at: self.wall_time(ctx.now),
            status,
            outcome: record.outcome,
            log: record.log,
            notes: record.notes,
        };
        self.outputs.push_back(Output::CallEnded(Box::new(record)));
    }

    // ------------------------------------------------------------------ routing actions

    /// Executes routing's outputs in order. Outputs produced while executing (a prompt that
    /// "finishes" at once, an unreachable agent) are appended and executed in turn, so the
    /// order routing asked for holds and nothing recurses.
    fn run_routing(&mut self, ctx: &mut Ctx<'_>, outputs: Vec<routing::Output>) {
        let mut queue: VecDeque<routing::Output> = outputs.into();
        while let Some(output) = queue.pop_front() {
            let Some(&session) = self.routed.get(&output.call) else {
                continue;
            };
            if !self.sessions.contains_key(&session) {
                continue;
            }
            self.execute(ctx, session, output.call, output.action, &mut queue);
        }
        for session in std::mem::take(&mut self.ending) {
            self.end_session(ctx, session);
        }
    }

    fn request_end(&mut self, session: SessionId) {
        if let Some(s) = self.sessions.get_mut(&session) {
            if !s.end_requested {
                s.end_requested = true;
                self.ending.push(session);
            }
        }
    }

    fn feed(
        &mut self,
        ctx: &mut Ctx<'_>,
        call: routing::CallId,
        event: Event,
        queue: &mut VecDeque<routing::Output>,
    ) {
        let wall = self.wall_time(ctx.now);
        queue.extend(self.router.handle(call, event, wall));
    }

    fn execute(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        call: routing::CallId,
        action: Action,
        queue: &mut VecDeque<routing::Output>,
    ) {
        match action {
            Action::Log { entry } => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    match &entry {
                        LogEntry::Line { line, .. } => s.record.line = Some(line.clone()),
                        LogEntry::Queue { queue, .. } => s.record.queue = Some(queue.clone()),
                        LogEntry::Ended { outcome } => s.record.outcome = Some(outcome.clone()),
                        _ => {}
                    }
                    s.record.log.push(entry);
                }
            }
            Action::Play {
                playback,
                kind,
                prompt,
                looped,
            } => {
                // No media yet: nothing can be played. A prompt counts as played at once so
                // routing moves on (greeting → queue ...); looped music while waiting in a
                // queue has no end to report, the caller keeps hearing ringback.
                self.note(
                    session,
                    format!("{kind} '{prompt}' not played (no media yet)"),
                );
                if !looped {
                    self.feed(ctx, call, Event::PromptFinished { playback }, queue);
                }
            }
            // No media, so no DTMF: digit collection ends by routing's own timeouts.
            Action::StopPrompt | Action::CollectDigits { .. } => {}
            Action::Ring { agents, .. } => {
                // Routing runs the ring timer itself (its StartTimer follows this action).
                let mut unreachable = Vec::new();
                for target in agents {
                    if !self.ring_agent(ctx, session, target.agent) {
                        unreachable.push(target.agent);
                    }
                }
                for agent in unreachable {
                    let status = LegStatus::Unreachable;
                    self.feed(ctx, call, Event::AgentLeg { agent, status }, queue);
                }
            }
            Action::CancelRings { agents } => {
                let legs: Vec<LegId> = self.session_legs(session, |leg| {
                    leg.state.is_ringing()
                        && matches!(leg.target, LegTarget::Agent(a) if agents.contains(&a))
                });
                for leg in legs {
                    self.cancel_leg(ctx, leg);
                }
            }
            Action::Bridge { agent } => {
                let picked_up = self.sessions.get(&session).is_some_and(|s| {
                    s.picker
                        .as_ref()
                        .is_some_and(|p| p.agent == agent && !p.connected)
                });
                if picked_up {
                    self.connect_picker(ctx, session);
                    return;
                }
                let leg = self
                    .session_legs(session, |leg| {
                        leg.state == LegState::Answered && leg.target == LegTarget::Agent(agent)
                    })
                    .first()
                    .copied();
                match leg {
                    Some(leg) => self.bridge_leg(ctx, session, leg),
                    None => {
                        // Routing bridges only agents whose leg answered or who picked up.
                        self.note(session, format!("agent {agent} has no answered leg"));
                        self.fail(session);
                        self.reject_caller(
                            ctx.now,
                            ctx.layer,
                            session,
                            StatusCode::TEMPORARILY_UNAVAILABLE,
                        );
                        self.request_end(session);
                    }
                }
            }
            Action::Forward { number, caller_id } => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.record.forwarded_to = Some(number.clone());
                }
                let route = ctx.directory.trunk_route(&number, &caller_id);
                if !self.call_external(ctx, session, number, &caller_id, route) {
                    self.request_end(session);
                }
            }
            Action::RecordVoicemail { mailbox } => {
                // No media yet, so no voicemail: the caller hears "temporarily unavailable"
                // and the record says which mailbox it would have been.
                self.note(
                    session,
                    format!("voicemail for {mailbox} not recorded (no media yet)"),
                );
                self.reject_caller(
                    ctx.now,
                    ctx.layer,
                    session,
                    StatusCode::TEMPORARILY_UNAVAILABLE,
                );
                self.request_end(session);
            }
            Action::HangUp => {
                // Routing logs the reason right after; look ahead so a number we do not
                // serve is answered 404, everything else 480.
                let no_route = queue.iter().any(|o| {
                    o.call == call
                        && matches!(
                            &o.action,
                            Action::Log {
                                entry: LogEntry::Ended {
                                    outcome: Outcome::Rejected {
                                        reason: RejectReason::NoRoute
                                    }
                                }
                            }
                        )
                });
                let status = if no_route {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::TEMPORARILY_UNAVAILABLE
                };
                let answered = self
                    .sessions
                    .get(&session)
                    .is_some_and(|s| s.answered_at.is_some());
                if answered {
                    self.hang_up_from(ctx, session, None);
                } else {
                    self.reject_caller(ctx.now, ctx.layer, session, status);
                    self.request_end(session);
                }
            }
            Action::StartTimer { timer, at } => {
                let at = self.instant_of(at, ctx.now);
                let seq = self.next_id();
                self.timers
                    .insert((at, seq), TimerKind::Routing { call, timer });
            }
        }
    }

    fn session_legs(&self, session: SessionId, filter: impl Fn(&OutLeg) -> bool) -> Vec<LegId> {
        self.sessions
            .get(&session)
            .map(|s| {
                s.legs
                    .iter()
                    .copied()
                    .filter(|leg| self.legs.get(leg).is_some_and(&filter))
                    .collect()
            })
            .unwrap_or_default()
    }

    // ------------------------------------------------------------------ placing legs

    /// Rings every registered contact of `agent`; false when none could be rung.
    fn ring_agent(&mut self, ctx: &mut Ctx<'_>, session: SessionId, agent: AgentId) -> bool {
        let contacts = ctx.directory.agent_contacts(agent);
        let caller = match self.sessions.get(&session) {
            Some(s) => s.numbers.caller.to_string(),
            None => return false,
        };
        let domain = self.config.domain.clone();
        let mut rung = false;
        for contact in contacts {
            let placement = Placement {
                target: LegTarget::Agent(agent),
                uri: contact.uri,
                destination: contact.destination,
                from_user: &caller,
                from_domain: &domain,
                credentials: None,
                offer: Offer::CallersSdp,
            };
            rung |= self.place_leg(ctx, session, placement).is_some();
        }
        if rung {
            if let Some(s) = self.sessions.get(&session) {
                self.outputs.push_back(Output::AgentRinging {
                    session,
                    agent,
                    caller: s.numbers.caller.clone(),
                });
            }
        }
        rung
    }

    /// Calls an external number through a trunk (forward, fallback, outbound call). Without
    /// a trunk the caller is answered 503, the call fails, and false says the session should
    /// end.
    fn call_external(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        number: String,
        caller_id: &str,
        route: Option<TrunkRoute>,
    ) -> bool {
        let placed = route.and_then(|route| {
            let placement = Placement {
                target: LegTarget::External {
                    number: number.clone(),
                },
                uri: route.uri,
                destination: route.destination,
                from_user: route.from_user.as_deref().unwrap_or(caller_id),
                from_domain: &route.from_domain,
                credentials: route.credentials,
                offer: Offer::CallersSdp,
            };
            self.place_leg(ctx, session, placement)
        });
        if placed.is_none() {
            self.note(session, format!("no trunk can reach {number}"));
            self.fail(session);
            self.reject_caller(ctx.now, ctx.layer, session, StatusCode::SERVICE_UNAVAILABLE);
        }
        placed.is_some()
    }

    fn place_leg(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        placement: Placement<'_>,
    ) -> Option<LegId> {
        let Placement {
            target,
            uri,
            destination,
            from_user,
            from_domain,
            credentials,
            offer,
        } = placement;
        let caller_invite = self.sessions.get(&session).map(|s| &s.caller.invite);
        // One hop less than the caller's INVITE had, so a trunk that routes the call back to
        // us ends in 483 instead of a loop (unusable_invite refuses 0).
        let max_forwards = caller_invite.map_or(70, |i| i.max_forwards().0.saturating_sub(1));
        let display = caller_invite
            .and_then(|i| i.headers.typed::<From>().ok().flatten())
            .and_then(|f| f.display_name().map(str::to_owned));
        let (body, content_type) = match offer {
            Offer::CallersSdp => caller_invite
                .map(|i| {
                    let content_type = i.headers.typed::<ContentType>().ok().flatten();
                    (i.body.clone(), content_type)
                })
                .unwrap_or_default(),
            Offer::None => Default::default(),
            Offer::Sdp(body, content_type) => (body, content_type),
        };
        let call_id = format!("{}@{}", self.fresh("c"), self.config.domain);
        let tag = self.fresh("t");
        let via = self.our_via(destination);
        let from_uri = Uri::parse(&format!("sip:{from_user}@{from_domain}"))
            .or_else(|_| Uri::parse(&format!("sip:anonymous@{from_domain}")))
            .ok()?;
        let mut from = From::new(from_uri);
        from.0.name_addr.display_name = display;
        from.set_tag(&tag);
        let contact = self.our_contact(destination);
        let mut request = RequestBuilder::new(Method::Invite, uri.clone())
            .max_forwards(max_forwards)
            .via(via)
            .from(from)
            .to(To::new(uri))
            .call_id(&call_id)
            .cseq(1)
            .contact(Contact::new(contact))
            .build();
        let offerless = body.is_empty();
        if !offerless {
            request.set_body(body, content_type.as_ref());
        }
        let key = ctx
            .layer
            .send_request(ctx.now, request.clone(), destination)
            .ok()?;
        let id = LegId(self.next_id());
        let leg_key = LegKey::new(&call_id, &tag);
        if let Some(bridge) = self.sessions.get(&session).and_then(|s| s.bridge) {
            let _ = self.pairs.add_outbound(bridge, leg_key.clone());
        }
        self.dialogs.insert(leg_key.clone(), LegRef::Placed(id));
        self.client_txs.insert(key.clone(), ClientTx::Invite(id));
        self.legs.insert(
            id,
            OutLeg {
                session,
                target,
                key: leg_key,
                invite: request,
                invite_key: key,
                destination,
                state: LegState::Trying,
                dialog: None,
                answer: None,
                ack: None,
                ack_held: false,
                offerless,
                credentials,
                auth_tried: false,
                final_status: None,
            },
        );
        if let Some(s) = self.sessions.get_mut(&session) {
            s.legs.push(id);
        }
        Some(id)
    }

    fn cancel_leg(&mut self, ctx: &mut Ctx<'_>, leg: LegId) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        match l.state {
            LegState::Trying | LegState::Ringing => {
                l.state = LegState::Cancelling;
                let key = l.invite_key.clone();
                // The layer holds the CANCEL back until a provisional response arrived
                // (§9.1); Ok(None) means a final response is in already and will be handled.
                if let Ok(Some(cancel)) = ctx.layer.cancel(ctx.now, &key) {
                    self.client_txs.insert(cancel, ClientTx::Teardown);
                }
                // §9.1: no final response 64*T1 after the CANCEL (a phone that lost it, a
                // broken peer) and the INVITE counts as cancelled; the leg is forgotten.
                let at = ctx.now + ctx.layer.config().timeout();
                let seq = self.next_id();
                self.timers
                    .insert((at, seq), TimerKind::GiveUpCancelled(leg));
            }
            LegState::Answered | LegState::Bridged => self.bye_leg(ctx, leg),
            LegState::Cancelling | LegState::Ended => {}
        }
    }

    /// Hangs a connected placed leg up and forgets it.
    fn bye_leg(&mut self, ctx: &mut Ctx<'_>, leg: LegId) {
        let Some(mut l) = self.legs.remove(&leg) else {
            return;
        };
        if l.ack_held {
            // A 2xx must be ACKed before the BYE, answer or not (§13.2.2.4).
            if let Some(ack) = &l.ack {
                ctx.layer.send_stateless(l.destination, &ack.clone().into());
            }
        }
        self.dialogs.remove(&l.key);
        self.retransmits.remove(&l.key);
        self.pairs.remove_leg(&l.key);
        let via = self.our_via(l.destination);
        if let Some(bye) = l
            .dialog
            .as_mut()
            .and_then(|d| d.create_request(Method::Bye, via).ok())
        {
            if let Ok(key) = ctx.layer.send_request(ctx.now, bye, l.destination) {
                self.client_txs.insert(key, ClientTx::Teardown);
            }
        }
    }

    fn bye_caller(&mut self, ctx: &mut Ctx<'_>, session: SessionId) {
        self.send_to_caller(ctx, session, Method::Bye, ClientTx::Teardown);
    }

    /// A new `method` request in placed leg `leg`'s dialog, and where it goes.
    fn leg_request(&mut self, leg: LegId, method: Method) -> Option<(Request, Peer)> {
        let destination = self.legs.get(&leg)?.destination;
        let via = self.our_via(destination);
        let request = self
            .legs
            .get_mut(&leg)?
            .dialog
            .as_mut()?
            .create_request(method, via)
            .ok()?;
        Some((request, destination))
    }

    /// Sends `method` in the caller's dialog of `session`, its transaction tracked as `tx`.
    fn send_to_caller(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        method: Method,
        tx: ClientTx,
    ) {
        let Some(destination) = self.sessions.get(&session).map(|s| s.caller.source) else {
            return;
        };
        let via = self.our_via(destination);
        let request = self
            .sessions
            .get_mut(&session)
            .and_then(|s| s.caller.dialog.as_mut())
            .and_then(|d| d.create_request(method, via).ok());
        if let Some(request) = request {
            if let Ok(key) = ctx.layer.send_request(ctx.now, request, destination) {
                self.client_txs.insert(key, tx);
            }
        }
    }

    /// Hangs up the leg of the agent who picked the call up, if he is connected.
    fn bye_picker(&mut self, ctx: &mut Ctx<'_>, session: SessionId) {
        let Some(picker) = self
            .sessions
            .get_mut(&session)
            .and_then(|s| s.picker.as_mut())
            .filter(|p| p.connected)
        else {
            return;
        };
        picker.connected = false;
        let destination = picker.source;
        let key = picker.key.clone();
        let Some(mut dialog) = picker.dialog.take() else {
            return;
        };
        self.dialogs.remove(&key);
        self.retransmits.remove(&key);
        let via = self.our_via(destination);
        if let Ok(bye) = dialog.create_request(Method::Bye, via) {
            if let Ok(key) = ctx.layer.send_request(ctx.now, bye, destination) {
                self.client_txs.insert(key, ClientTx::Teardown);
            }
        }
    }

    /// Sends the caller a final error response (once) and cancels whatever still rings.
    fn reject_caller(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        session: SessionId,
        status: StatusCode,
    ) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        if s.caller.final_sent {
            return;
        }
        s.caller.final_sent = true;
        if status == StatusCode::BUSY_HERE {
            s.record.busy = true;
        }
        let response = s
            .caller
            .invite
            .make_response(status, Some(&s.caller.local_tag));
        let key = s.caller.invite_key.clone();
        let _ = layer.send_response(now, &key, &response);
    }

    // ------------------------------------------------------------------ responses

    fn on_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: &TransactionKey,
        tx: ClientTx,
        response: Response,
    ) {
        match tx {
            ClientTx::Invite(leg) => self.on_invite_response(ctx, key, leg, response),
            ClientTx::Teardown => {}
            ClientTx::Reoffer { session, leg } => {
                self.on_reoffer_response(ctx, session, leg, response)
            }
            ClientTx::Relay {
                server_key,
                original,
                from,
            } => {
                if response.status.is_final() {
                    self.relay_final(ctx, &server_key, &original, from, &response);
                }
            }
            ClientTx::KeepAlive { session, side } => {
                if response.status.is_final() {
                    self.keepalive_answered(ctx, session, side, response.status);
                }
            }
        }
    }

    fn on_invite_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: &TransactionKey,
        leg: LegId,
        response: Response,
    ) {
        let originated = self
            .legs
            .get(&leg)
            .map(|l| l.session)
            .filter(|session| self.is_originated(*session));
        if let Some(session) = originated {
            self.originated_invite_response(ctx, key, session, leg, response);
            return;
        }
        let status = response.status;
        if status == StatusCode::TRYING {
            return;
        }
        if status.is_provisional() {
            self.on_leg_provisional(ctx, leg, &response);
        } else if status.is_success() {
            self.on_leg_answered(ctx, leg, response);
        } else if matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::PROXY_AUTHENTICATION_REQUIRED
        ) && self.retry_with_credentials(ctx, key, leg, &response)
        {
        } else {
            self.on_leg_failed(ctx, leg, status);
        }
    }

    fn on_leg_provisional(&mut self, ctx: &mut Ctx<'_>, leg: LegId, response: &Response) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let first = l.state == LegState::Trying;
        if first {
            l.state = LegState::Ringing;
        }
        if l.state != LegState::Ringing {
            return;
        }
        let (session, target) = (l.session, l.target.clone());
        self.relay_provisional(ctx, session, response);
        if let (true, LegTarget::Agent(agent)) = (first, target) {
            if let Some(call) = self.sessions.get(&session).and_then(|s| s.route) {
                let mut queue = VecDeque::new();
                let status = LegStatus::Ringing;
                self.feed(ctx, call, Event::AgentLeg { agent, status }, &mut queue);
                self.run_routing(ctx, queue.into());
            }
        }
    }

    /// 180 once; a 183 with SDP (early media) once, with the SDP unchanged.
    fn relay_provisional(&mut self, ctx: &mut Ctx<'_>, session: SessionId, response: &Response) {
        let contact = self
            .sessions
            .get(&session)
            .map(|s| self.our_contact(s.caller.source));
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let Some(contact) = contact else {
            return;
        };
        let caller = &mut s.caller;
        if caller.final_sent {
            return;
        }
        let early_media = !response.body.is_empty();
        let status = if early_media {
            if caller.early_media_sent {
                return;
            }
            caller.early_media_sent = true;
            StatusCode::SESSION_PROGRESS
        } else {
            if caller.ringing_sent || caller.early_media_sent {
                return;
            }
            caller.ringing_sent = true;
            StatusCode::RINGING
        };
        let mut relay = caller.invite.make_response(status, Some(&caller.local_tag));
        relay.headers.push_typed(&Contact::new(contact));
        if early_media {
            let content_type = response.headers.typed::<ContentType>().ok().flatten();
            relay.set_body(response.body.clone(), content_type.as_ref());
        }
        let key = caller.invite_key.clone();
        let _ = ctx.layer.send_response(ctx.now, &key, &relay);
    }

    fn on_leg_answered(&mut self, ctx: &mut Ctx<'_>, leg: LegId, response: Response) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if matches!(l.state, LegState::Answered | LegState::Bridged) {
            // A retransmitted 2xx: our ACK was lost.
            self.resend_ack(ctx, leg, &response);
            return;
        }
        if l.state == LegState::Ended {
            return;
        }
        let dialog = match Dialog::from_uac(&l.invite, &response) {
            Ok(dialog) => dialog,
            Err(_) => {
                // Without a Contact we cannot ACK or ever hang up this leg properly; treat it
                // as a failed leg (the phone will give up after its own timer).
                l.state = LegState::Ended;
                self.on_leg_failed(ctx, leg, StatusCode::SERVER_INTERNAL_ERROR);
                return;
            }
        };
        let cseq = l
            .invite
            .headers
            .typed::<CSeq>()
            .ok()
            .flatten()
            .map_or(1, |c| c.seq);
        let destination = l.destination;
        let was_cancelling = l.state == LegState::Cancelling;
        let (session, target) = (l.session, l.target.clone());
        let via = self.our_via(destination);
        let ack = dialog.ack_for_2xx(cseq, via);
        let transfer_leg = self.is_transfer_leg(session, leg);
        let wanted = !was_cancelling
            && (transfer_leg
                || self
                    .sessions
                    .get(&session)
                    .is_some_and(|s| s.bridged.is_none() && !s.caller.final_sent));
        let late_offer = self
            .sessions
            .get(&session)
            .is_some_and(|s| s.caller.invite.body.is_empty());
        let offerless = self.legs.get(&leg).is_some_and(|l| l.offerless);
        let hold_ack = wanted && (late_offer || offerless);
        if !hold_ack {
            ctx.layer.send_stateless(destination, &ack.clone().into());
        }
        if let Some(l) = self.legs.get_mut(&leg) {
            l.dialog = Some(dialog);
            l.ack = Some(ack);
            l.ack_held = hold_ack;
            l.answer = Some(response);
            l.state = LegState::Answered;
        }
        if !wanted {
            // Answered after losing (its CANCEL crossed the 200) or after the call ended.
            self.bye_leg(ctx, leg);
            return;
        }
        if transfer_leg {
            self.transfer_answered(ctx, session, leg);
            return;
        }
        match target {
            LegTarget::External { .. } => self.bridge_leg(ctx, session, leg),
            LegTarget::Agent(agent) => {
                let call = self.sessions.get(&session).and_then(|s| s.route);
                let Some(call) = call else {
                    // An internal call: nobody to ask, the colleague answered.
                    self.bridge_leg(ctx, session, leg);
                    return;
                };
                let mut queue = VecDeque::new();
                let status = LegStatus::Answered;
                self.feed(ctx, call, Event::AgentLeg { agent, status }, &mut queue);
                self.run_routing(ctx, queue.into());
                // Routing bridges the agent it still waits for; if it did not (its ring timer
                // fired as the 200 was on its way), this leg lost.
                if self
                    .legs
                    .get(&leg)
                    .is_some_and(|l| l.state == LegState::Answered)
                {
                    self.bye_leg(ctx, leg);
                }
            }
        }
    }

    fn resend_ack(&mut self, ctx: &mut Ctx<'_>, leg: LegId, response: &Response) {
        if !response.status.is_success() {
            return;
        }
        if let Some(l) = self.legs.get(&leg).filter(|l| !l.ack_held) {
            if let Some(ack) = &l.ack {
                ctx.layer.send_stateless(l.destination, &ack.clone().into());
            }
        }
    }

    /// Connects the caller with `leg`: the other legs are cancelled, the caller gets the
    /// leg's 200 with its SDP unchanged.
    fn bridge_leg(&mut self, ctx: &mut Ctx<'_>, session: SessionId, leg: LegId) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        l.state = LegState::Bridged;
        let leg_key = l.key.clone();
        let target = l.target.clone();
        let answer = l.answer.clone();
        let losers: Vec<LegId> = self
            .pairs
            .answer(&leg_key)
            .unwrap_or_default()
            .iter()
            .filter_map(|key| match self.dialogs.get(key) {
                Some(LegRef::Placed(id)) => Some(*id),
                _ => None,
            })
            .collect();
        for loser in losers {
            self.cancel_leg(ctx, loser);
        }
        if let Some(s) = self.sessions.get_mut(&session) {
            s.bridged = Some(leg);
        }
        let agent = match target {
            LegTarget::Agent(agent) => Some(agent),
            LegTarget::External { .. } => None,
        };
        let body = answer.map(|answer| {
            let content_type = answer.headers.typed::<ContentType>().ok().flatten();
            (answer.body, content_type)
        });
        self.answer_caller(ctx, session, agent, body);
    }

    /// The caller's 200 (with `body`, the answer to its offer): the call is connected with
    /// `agent` (or an external number), its 2xx retransmitted until the ACK, its maximum
    /// duration armed.
    fn answer_caller(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        agent: Option<AgentId>,
        body: Option<(sip_proto::bytes::Bytes, Option<ContentType>)>,
    ) {
        let Some(contact) = self
            .sessions
            .get(&session)
            .map(|s| self.our_contact(s.caller.source))
        else {
            return;
        };
        let wall_answered = ctx.now;
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        s.answered_at = Some(wall_answered);
        // Inbound the record names who answered; outbound and internal, who called.
        if agent.is_some() && s.direction == CallDirection::Inbound {
            s.record.agent = agent;
        }
        self.outputs
            .push_back(Output::CallAnswered { session, agent });
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let caller = &mut s.caller;
        caller.final_sent = true;
        let mut ok = caller
            .invite
            .make_response(StatusCode::OK, Some(&caller.local_tag));
        ok.headers.push_typed(&Contact::new(contact.clone()));
        if let Some((body, content_type)) = body {
            ok.set_body(body, content_type.as_ref());
        }
        caller.dialog = Dialog::from_uas(&caller.invite, &caller.local_tag, contact, true).ok();
        let key = caller.invite_key.clone();
        let caller_key = caller.key.clone();
        let source = caller.source;
        let cseq = caller
            .invite
            .headers
            .typed::<CSeq>()
            .ok()
            .flatten()
            .map_or(1, |c| c.seq);
        let _ = ctx.layer.send_response(ctx.now, &key, &ok);
        self.arm_2xx_retransmission(ctx, caller_key, key, ok, cseq, source, Some(session));
        let timer = self.arm_max_duration(ctx.now, session);
        let keepalive = self.arm_keepalive(ctx.now, session);
        if let Some(s) = self.sessions.get_mut(&session) {
            s.max_duration_timer = timer;
            s.keepalive_timer = keepalive;
        }
    }

    /// A BYE lost for good (a phone that died, a NAT that forgot us) must not keep a call and
    /// its agent busy forever. Returns the timer's key: it is removed when the call ends, so
    /// hours-long deadlines of finished calls do not pile up.
    fn arm_max_duration(&mut self, now: Instant, session: SessionId) -> Option<(Instant, u64)> {
        let limit = self.config.max_call_duration?;
        let key = (now + limit, self.next_id());
        self.timers.insert(key, TimerKind::MaxDuration(session));
        Some(key)
    }

    /// The next keepalive of a connected call (see [`B2buaConfig::keepalive_interval`]).
    fn arm_keepalive(&mut self, now: Instant, session: SessionId) -> Option<(Instant, u64)> {
        let interval = self.config.keepalive_interval?;
        let key = (now + interval, self.next_id());
        self.timers.insert(key, TimerKind::KeepAlive(session));
        Some(key)
    }

    /// Sends an in-dialog OPTIONS to the caller and to the bridged leg, then arms the next
    /// keepalive. A call not bridged (yet, or any more) is left alone.
    fn send_keepalives(&mut self, ctx: &mut Ctx<'_>, session: SessionId) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        let Some(leg) = s.bridged else {
            return;
        };
        let side = LegRef::Caller(session);
        let tx = ClientTx::KeepAlive { session, side };
        self.send_to_caller(ctx, session, Method::Options, tx);
        if let Some((options, destination)) = self.leg_request(leg, Method::Options) {
            if let Ok(key) = ctx.layer.send_request(ctx.now, options, destination) {
                let side = LegRef::Placed(leg);
                self.client_txs
                    .insert(key, ClientTx::KeepAlive { session, side });
            }
        }
        let next = self.arm_keepalive(ctx.now, session);
        if let Some(s) = self.sessions.get_mut(&session) {
            s.keepalive_timer = next;
        }
    }

    /// A side of a connected call answered a keepalive with `status` (408 for no answer).
    fn keepalive_answered(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        side: LegRef,
        status: StatusCode,
    ) {
        let gone =
            status == StatusCode::CALL_DOES_NOT_EXIST || status == StatusCode::REQUEST_TIMEOUT;
        if !gone || !self.sessions.contains_key(&session) {
            return;
        }
        let who = match side {
            LegRef::Caller(_) => "the caller",
            LegRef::Placed(_) | LegRef::Picker(_) => "the answering side",
        };
        self.note(
            session,
            format!(
                "{who} was gone (keepalive OPTIONS answered {}): call hung up",
                status.as_u16()
            ),
        );
        self.hang_up_from(ctx, session, Some(side));
    }

    /// §13.3.1.4: on UDP the UAS core retransmits its 2xx, from T1 doubling to T2, until the
    /// ACK; after 64*T1 without one the dialog is ended.
    #[allow(clippy::too_many_arguments)]
    fn arm_2xx_retransmission(
        &mut self,
        ctx: &mut Ctx<'_>,
        leg: LegKey,
        server_key: TransactionKey,
        response: Response,
        cseq: u32,
        toward: Peer,
        initial: Option<SessionId>,
    ) {
        if toward.protocol.is_reliable() {
            return;
        }
        let config = *ctx.layer.config();
        let pending = Pending2xx {
            server_key,
            response,
            cseq,
            interval: config.t1,
            give_up_at: ctx.now + config.timeout(),
            initial,
        };
        let seq = self.next_id();
        self.timers.insert(
            (ctx.now + config.t1, seq),
            TimerKind::Retransmit2xx(leg.clone()),
        );
        self.retransmits.insert(leg, pending);
    }

    fn retransmit_2xx(&mut self, ctx: &mut Ctx<'_>, leg: LegKey) {
        let Some(pending) = self.retransmits.get_mut(&leg) else {
            return;
        };
        if ctx.now >= pending.give_up_at {
            let initial = pending.initial;
            self.retransmits.remove(&leg);
            if let Some(session) = initial {
                // No ACK: the caller (or the picker) never got our 200. End both legs
                // (§13.3.1.4).
                let who = match self.dialogs.get(&leg) {
                    Some(LegRef::Picker(_)) => "the picker's phone",
                    _ => "the caller",
                };
                self.note(session, format!("{who} never acknowledged the answer"));
                self.hang_up_from(ctx, session, None);
            }
            return;
        }
        let _ = ctx
            .layer
            .send_response(ctx.now, &pending.server_key, &pending.response);
        // The intervals double from T1 and are capped at T2: T1, 2*T1, 4*T1 ... T2, T2.
        let t2 = ctx.layer.config().t2;
        pending.interval = pending.interval.saturating_mul(2).min(t2);
        let at = (ctx.now + pending.interval).min(pending.give_up_at);
        let seq = self.next_id();
        self.timers.insert((at, seq), TimerKind::Retransmit2xx(leg));
    }

    fn on_ack(&mut self, ctx: &mut Ctx<'_>, leg: &LegKey, ack: &Request) {
        let cseq = ack.headers.typed::<CSeq>().ok().flatten().map(|c| c.seq);
        if let Some(LegRef::Caller(session)) = self.dialogs.get(leg).copied() {
            self.release_held_ack(ctx, session, cseq, ack);
        }
        if self
            .retransmits
            .get(leg)
            .is_some_and(|p| Some(p.cseq) == cseq)
        {
            self.retransmits.remove(leg);
        }
    }

    /// The caller's ACK to our 200 carries the SDP answer of a late-offer call: it goes to
    /// the connected phone in our ACK.
    fn release_held_ack(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        cseq: Option<u32>,
        caller_ack: &Request,
    ) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        let invite_cseq = s.caller.invite.headers.typed::<CSeq>().ok().flatten();
        if cseq.is_none() || cseq != invite_cseq.map(|c| c.seq) {
            return;
        }
        let Some(leg) = s.bridged else {
            return;
        };
        let Some(l) = self.legs.get_mut(&leg).filter(|l| l.ack_held) else {
            return;
        };
        l.ack_held = false;
        if let Some(ack) = l.ack.as_mut() {
            if !caller_ack.body.is_empty() {
                let content_type = caller_ack.headers.typed::<ContentType>().ok().flatten();
                ack.set_body(caller_ack.body.clone(), content_type.as_ref());
            }
            ctx.layer.send_stateless(l.destination, &ack.clone().into());
        }
    }

    fn retry_with_credentials(
        &mut self,
        ctx: &mut Ctx<'_>,
        old_key: &TransactionKey,
        leg: LegId,
        challenge: &Response,
    ) -> bool {
        let branch = self.fresh_branch();
        let cnonce = self.fresh("n");
        let Some(l) = self.legs.get_mut(&leg) else {
            return false;
        };
        let Some(credentials) = l.credentials.as_ref().filter(|_| !l.auth_tried) else {
            return false;
        };
        let Ok(retry) = authorize(&l.invite, challenge, credentials, &cnonce, &branch) else {
            return false;
        };
        let Ok(key) = ctx
            .layer
            .send_request(ctx.now, retry.clone(), l.destination)
        else {
            return false;
        };
        l.auth_tried = true;
        l.invite = retry;
        l.invite_key = key.clone();
        self.client_txs.remove(old_key);
        self.client_txs.insert(key, ClientTx::Invite(leg));
        true
    }

    fn on_client_failure(&mut self, ctx: &mut Ctx<'_>, key: &TransactionKey, tx: ClientTx) {
        self.client_txs.remove(key);
        match tx {
            ClientTx::Invite(leg) => {
                let answered = self
                    .legs
                    .get(&leg)
                    .is_some_and(|l| matches!(l.state, LegState::Answered | LegState::Bridged));
                // Timer M of an answered INVITE is not a failure; other timeouts are a 408.
                let originated = self
                    .legs
                    .get(&leg)
                    .map(|l| l.session)
                    .filter(|session| self.is_originated(*session));
                match (answered, originated) {
                    (true, _) => {}
                    (false, Some(session)) => {
                        self.originated_leg_failed(ctx, session, leg, StatusCode::REQUEST_TIMEOUT)
                    }
                    (false, None) => self.on_leg_failed(ctx, leg, StatusCode::REQUEST_TIMEOUT),
                }
            }
            ClientTx::Teardown => {}
            ClientTx::Reoffer { session, .. } => {
                self.transfer_failed(ctx, session, "the caller did not answer the re-INVITE")
            }
            ClientTx::Relay {
                server_key,
                original,
                from,
            } => {
                let timeout = Response::new(StatusCode::REQUEST_TIMEOUT);
                self.relay_final(ctx, &server_key, &original, from, &timeout);
            }
            ClientTx::KeepAlive { session, side } => {
                self.keepalive_answered(ctx, session, side, StatusCode::REQUEST_TIMEOUT)
            }
        }
    }

    fn on_leg_failed(&mut self, ctx: &mut Ctx<'_>, leg: LegId, status: StatusCode) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let was = l.state;
        l.state = LegState::Ended;
        l.final_status = Some(status);
        let (session, target, key) = (l.session, l.target.clone(), l.key.clone());
        self.dialogs.remove(&key);
        self.pairs.remove_leg(&key);
        if !self.sessions.contains_key(&session) {
            self.legs.remove(&leg);
            return;
        }
        if was == LegState::Cancelling || was == LegState::Ended {
            return;
        }
        if self.is_transfer_leg(session, leg) {
            self.transfer_leg_failed(ctx, session);
            return;
        }
        if self
            .sessions
            .get(&session)
            .is_some_and(|s| s.bridged.is_some() || s.picker.as_ref().is_some_and(|p| p.connected))
        {
            return;
        }
        match target {
            LegTarget::External { number } => {
                // The trunk's answer is the caller's answer; busy stays busy.
                let (relay, failed) = match status.as_u16() {
                    486 | 600 => (StatusCode::BUSY_HERE, false),
                    404 | 484 | 485 => (StatusCode::NOT_FOUND, true),
                    403 | 401 | 407 => (StatusCode::FORBIDDEN, true),
                    408 | 480 | 487 | 603 => (StatusCode::TEMPORARILY_UNAVAILABLE, false),
                    _ => (StatusCode::SERVICE_UNAVAILABLE, true),
                };
                self.note(
                    session,
                    format!("call to {number} failed: {}", status.as_u16()),
                );
                if failed {
                    self.fail(session);
                }
                self.reject_caller(ctx.now, ctx.layer, session, relay);
                self.end_session(ctx, session);
            }
            LegTarget::Agent(agent) => {
                let agent_legs =
                    self.session_legs(session, |l| l.target == LegTarget::Agent(agent));
                let still_open = agent_legs.iter().any(|id| {
                    self.legs
                        .get(id)
                        .is_some_and(|l| l.state.is_ringing() || l.state == LegState::Answered)
                });
                if still_open {
                    return;
                }
                // The agent's answer is the most telling of his phones' answers.
                let statuses: Vec<StatusCode> = agent_legs
                    .iter()
                    .filter_map(|id| self.legs.get(id).and_then(|l| l.final_status))
                    .collect();
                let leg_status = if statuses.iter().any(|s| matches!(s.as_u16(), 486 | 600)) {
                    LegStatus::Busy
                } else if statuses.iter().any(|s| s.as_u16() == 603) {
                    LegStatus::Rejected
                } else {
                    LegStatus::Unreachable
                };
                match self.sessions.get(&session).and_then(|s| s.route) {
                    Some(call) => {
                        let mut queue = VecDeque::new();
                        let event = Event::AgentLeg {
                            agent,
                            status: leg_status,
                        };
                        self.feed(ctx, call, event, &mut queue);
                        self.run_routing(ctx, queue.into());
                    }
                    None => {
                        // An internal call: the colleague's answer is the caller's.
                        let status = match leg_status {
                            LegStatus::Busy => StatusCode::BUSY_HERE,
                            LegStatus::Rejected => StatusCode::DECLINE,
                            _ => StatusCode::TEMPORARILY_UNAVAILABLE,
                        };
                        self.reject_caller(ctx.now, ctx.layer, session, status);
                        self.end_session(ctx, session);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ requests in dialogs

    fn on_caller_cancel(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        cancel_key: &TransactionKey,
        cancel: &Request,
    ) {
        let tag = self
            .sessions
            .get(&session)
            .map(|s| s.caller.local_tag.clone());
        let ok = cancel.make_response(StatusCode::OK, tag.as_deref());
        let _ = ctx.layer.send_response(ctx.now, cancel_key, &ok);
        self.caller_gave_up(ctx, session);
    }

    /// The caller hung up before the answer (CANCEL, or BYE in the early dialog).
    fn caller_gave_up(&mut self, ctx: &mut Ctx<'_>, session: SessionId) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        if s.caller.final_sent {
            return;
        }
        self.reject_caller(ctx.now, ctx.layer, session, StatusCode::REQUEST_TERMINATED);
        let legs = self.session_legs(session, |l| l.state != LegState::Ended);
        for leg in legs {
            self.cancel_leg(ctx, leg);
        }
        if let Some(call) = self.sessions.get(&session).and_then(|s| s.route) {
            let mut queue = VecDeque::new();
            self.feed(ctx, call, Event::CallerHungUp, &mut queue);
            self.run_routing(ctx, queue.into());
        }
        self.end_session(ctx, session);
    }

    fn on_in_dialog_request(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: TransactionKey,
        request: Request,
        leg: LegRef,
    ) {
        let session = match leg {
            LegRef::Caller(session) | LegRef::Picker(session) => Some(session),
            LegRef::Placed(id) => self.legs.get(&id).map(|l| l.session),
        };
        if let (Some(session), LegRef::Placed(id)) = (session, leg) {
            if self.is_originated(session) {
                self.originated_in_dialog(ctx, session, key, request, id);
                return;
            }
        }
        let Some(session) = session.filter(|s| self.sessions.contains_key(s)) else {
            self.respond(ctx, &key, &request, StatusCode::CALL_DOES_NOT_EXIST);
            return;
        };
        let dialog = match leg {
            LegRef::Caller(_) => self
                .sessions
                .get_mut(&session)
                .and_then(|s| s.caller.dialog.as_mut()),
            LegRef::Placed(id) => self.legs.get_mut(&id).and_then(|l| l.dialog.as_mut()),
            LegRef::Picker(_) => self
                .sessions
                .get_mut(&session)
                .and_then(|s| s.picker.as_mut())
                .and_then(|p| p.dialog.as_mut()),
        };
        let Some(dialog) = dialog else {
            // The caller's early dialog (we sent 180 with our tag): a BYE there hangs up.
            if leg == LegRef::Caller(session) && request.method == Method::Bye {
                self.respond(ctx, &key, &request, StatusCode::OK);
                self.caller_gave_up(ctx, session);
            } else {
                self.respond(ctx, &key, &request, StatusCode::CALL_DOES_NOT_EXIST);
            }
            return;
        };
        match dialog.on_request(&request) {
            Ok(()) => {}
            Err(sip_core::dialog::DialogError::CSeqOutOfOrder { .. }) => {
                self.respond(ctx, &key, &request, StatusCode::SERVER_INTERNAL_ERROR);
                return;
            }
            Err(_) => {
                self.respond(ctx, &key, &request, StatusCode::CALL_DOES_NOT_EXIST);
                return;
            }
        }
        match request.method {
            Method::Bye => {
                self.respond(ctx, &key, &request, StatusCode::OK);
                let connected = match leg {
                    LegRef::Caller(_) | LegRef::Picker(_) => true,
                    LegRef::Placed(id) => {
                        self.sessions.get(&session).and_then(|s| s.bridged) == Some(id)
                    }
                };
                let transferor = match leg {
                    LegRef::Placed(id) => self.is_transferor(session, id),
                    LegRef::Caller(_) | LegRef::Picker(_) => false,
                };
                if transferor {
                    if let LegRef::Placed(id) = leg {
                        self.transferor_left(ctx, session, id);
                    }
                } else if connected {
                    self.hang_up_from(ctx, session, Some(leg));
                } else if let LegRef::Placed(id) = leg {
                    // A leg that answered too late hangs up before our BYE reached it.
                    if let Some(l) = self.legs.get_mut(&id) {
                        l.state = LegState::Ended;
                        self.dialogs.remove(&l.key);
                    }
                }
            }
            Method::Refer => self.start_transfer(ctx, session, key, request, leg),
            _ => self.relay_request(ctx, key, request, leg),
        }
    }

    fn respond(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: &TransactionKey,
        request: &Request,
        status: StatusCode,
    ) {
        let tag = self.fresh("t");
        let response = request.make_response(status, Some(&tag));
        let _ = ctx.layer.send_response(ctx.now, key, &response);
    }

    /// One side hung up a connected call (`from`), or the B2BUA ends it (`None`): BYE to the
    /// other side(s), routing told, record made.
    fn hang_up_from(&mut self, ctx: &mut Ctx<'_>, session: SessionId, from: Option<LegRef>) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        let (route, bridged) = (s.route, s.bridged);
        let mut queue = VecDeque::new();
        match from {
            Some(LegRef::Caller(_)) => {
                if let Some(call) = route {
                    self.feed(ctx, call, Event::CallerHungUp, &mut queue);
                }
                if let Some(leg) = bridged {
                    self.bye_leg(ctx, leg);
                }
                self.bye_picker(ctx, session);
            }
            Some(LegRef::Picker(_)) => {
                let agent = s.picker.as_ref().map(|p| p.agent);
                if let (Some(call), Some(agent)) = (route, agent) {
                    let status = LegStatus::HungUp;
                    self.feed(ctx, call, Event::AgentLeg { agent, status }, &mut queue);
                }
                self.bye_caller(ctx, session);
            }
            Some(LegRef::Placed(leg)) => {
                let agent = self.legs.get(&leg).and_then(|l| match l.target {
                    LegTarget::Agent(agent) => Some(agent),
                    LegTarget::External { .. } => None,
                });
                if let (Some(call), Some(agent)) = (route, agent) {
                    let status = LegStatus::HungUp;
                    self.feed(ctx, call, Event::AgentLeg { agent, status }, &mut queue);
                }
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.state = LegState::Ended;
                }
                self.bye_caller(ctx, session);
            }
            None => {
                if let Some(call) = route {
                    self.feed(ctx, call, Event::CallerHungUp, &mut queue);
                }
                if let Some(leg) = bridged {
                    self.bye_leg(ctx, leg);
                }
                self.bye_picker(ctx, session);
                self.bye_caller(ctx, session);
            }
        }
        self.run_routing(ctx, queue.into());
        self.end_session(ctx, session);
    }

    /// Passes an in-dialog request (re-INVITE for hold, UPDATE, INFO ...) to the other leg
    /// with its body unchanged; the final response comes back the same way.
    fn relay_request(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: TransactionKey,
        request: Request,
        from: LegRef,
    ) {
        let peer = self.other_side(from);
        let destination = peer.and_then(|peer| self.destination_of(peer));
        let (Some(peer), Some(destination)) = (peer, destination) else {
            // Not connected yet: there is nobody to pass it to.
            let pending = StatusCode::new(491).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
            self.respond(ctx, &key, &request, pending);
            return;
        };
        let via = self.our_via(destination);
        let Some(mut relayed) = self
            .dialog_mut(peer)
            .and_then(|d| d.create_request(request.method.clone(), via).ok())
        else {
            self.respond(ctx, &key, &request, StatusCode::CALL_DOES_NOT_EXIST);
            return;
        };
        if !request.body.is_empty() {
            let content_type = request.headers.typed::<ContentType>().ok().flatten();
            relayed.set_body(request.body.clone(), content_type.as_ref());
        }
        match ctx.layer.send_request(ctx.now, relayed, destination) {
            Ok(client_key) => {
                self.client_txs.insert(
                    client_key,
                    ClientTx::Relay {
                        server_key: key,
                        original: Box::new(request),
                        from,
                    },
                );
            }
            Err(_) => self.respond(ctx, &key, &request, StatusCode::SERVER_INTERNAL_ERROR),
        }
    }

    /// The other leg's final answer to a relayed request goes back to the side that asked.
    fn relay_final(
        &mut self,
        ctx: &mut Ctx<'_>,
        server_key: &TransactionKey,
        original: &Request,
        from: LegRef,
        response: &Response,
    ) {
        let mut back = original.make_response(response.status, None);
        back.reason = response.reason.clone();
        let toward = self.destination_of(from);
        let is_invite = original.method == Method::Invite;
        if response.status.is_success() {
            if let Some(toward) = toward {
                if matches!(original.method, Method::Invite | Method::Update) {
                    back.headers
                        .push_typed(&Contact::new(self.our_contact(toward)));
                }
            }
            // The answering side's dialog: refresh its target, and ACK its 2xx to a
            // re-INVITE at once (the offer was in the re-INVITE, so the ACK has no body).
            if let Some(peer) = self.other_side(from) {
                self.ack_relayed_answer(ctx, peer, response, is_invite);
            }
        }
        if !response.body.is_empty() {
            let content_type = response.headers.typed::<ContentType>().ok().flatten();
            back.set_body(response.body.clone(), content_type.as_ref());
        }
        let _ = ctx.layer.send_response(ctx.now, server_key, &back);
        if is_invite && response.status.is_success() {
            if let (Some(toward), Some(leg_key)) = (toward, self.leg_key_of(from)) {
                let cseq = original
                    .headers
                    .typed::<CSeq>()
                    .ok()
                    .flatten()
                    .map_or(0, |c| c.seq);
                self.arm_2xx_retransmission(
                    ctx,
                    leg_key,
                    server_key.clone(),
                    back,
                    cseq,
                    toward,
                    None,
                );
            }
        }
    }

    /// The connected party on the other side of `leg`, if the call is connected.
    fn other_side(&self, leg: LegRef) -> Option<LegRef> {
        match leg {
            LegRef::Caller(session) => {
                let s = self.sessions.get(&session)?;
                let picker = s.picker.as_ref().filter(|p| p.connected);
                s.bridged
                    .map(LegRef::Placed)
                    .or(picker.map(|_| LegRef::Picker(session)))
            }
            LegRef::Picker(session) => Some(LegRef::Caller(session)),
            LegRef::Placed(id) => {
                let session = self.legs.get(&id)?.session;
                match self.sessions.get(&session) {
                    // Only the connected leg speaks for the callee side.
                    Some(s) => (s.bridged == Some(id)).then_some(LegRef::Caller(session)),
                    None => self.originated_other_side(session, id),
                }
            }
        }
    }

    /// Where requests on a leg go.
    fn destination_of(&self, leg: LegRef) -> Option<Peer> {
        match leg {
            LegRef::Caller(session) => self.sessions.get(&session).map(|s| s.caller.source),
            LegRef::Placed(id) => self.legs.get(&id).map(|l| l.destination),
            LegRef::Picker(session) => self
                .sessions
                .get(&session)?
                .picker
                .as_ref()
                .map(|p| p.source),
        }
    }

    fn dialog_mut(&mut self, leg: LegRef) -> Option<&mut Dialog> {
        match leg {
            LegRef::Caller(session) => self.sessions.get_mut(&session)?.caller.dialog.as_mut(),
            LegRef::Placed(id) => self.legs.get_mut(&id)?.dialog.as_mut(),
            LegRef::Picker(session) => self
                .sessions
                .get_mut(&session)?
                .picker
                .as_mut()?
                .dialog
                .as_mut(),
        }
    }

    fn leg_key_of(&self, leg: LegRef) -> Option<LegKey> {
        match leg {
            LegRef::Caller(session) => self.sessions.get(&session).map(|s| s.caller.key.clone()),
            LegRef::Placed(id) => self.legs.get(&id).map(|l| l.key.clone()),
            LegRef::Picker(session) => self
                .sessions
                .get(&session)?
                .picker
                .as_ref()
                .map(|p| p.key.clone()),
        }
    }

    fn ack_relayed_answer(
        &mut self,
        ctx: &mut Ctx<'_>,
        peer: LegRef,
        response: &Response,
        is_invite: bool,
    ) {
        let Some(destination) = self.destination_of(peer) else {
            return;
        };
        let via = self.our_via(destination);
        let Some(dialog) = self.dialog_mut(peer) else {
            return;
        };
        let _ = dialog.on_response(response, is_invite);
        if is_invite {
            let cseq = response
                .headers
                .typed::<CSeq>()
                .ok()
                .flatten()
                .map_or(0, |c| c.seq);
            let ack = dialog.ack_for_2xx(cseq, via);
            ctx.layer.send_stateless(destination, &ack.into());
        }
    }
}

/// Why an INVITE cannot start a call, and the answer it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unusable {
    status: StatusCode,
    why: &'static str,
    /// Option tags it requires that we do not support (for the 420's Unsupported).
    unsupported: Vec<String>,
}

/// Checks what the transaction layer does not: without a Contact there is no target for
/// in-dialog requests (RFC 3261 §8.1.1.8), without a From tag no dialog; Max-Forwards 0 means
/// a loop (483, §16.3); a required extension we lack gets 420 with Unsupported (§8.2.2.3) —
/// we implement none (no 100rel, no timer), and SDP passes through untouched.
fn unusable_invite(request: &Request) -> Option<Unusable> {
    let refuse = |status, why| {
        Some(Unusable {
            status,
            why,
            unsupported: Vec::new(),
        })
    };
    let in_dialog = request
        .headers
        .typed::<To>()
        .ok()
        .flatten()
        .is_some_and(|to| to.tag().is_some());
    if in_dialog {
        // A shell should answer these itself (handle_event returned it: no dialog of ours).
        return refuse(
            StatusCode::CALL_DOES_NOT_EXIST,
            "INVITE inside a dialog we do not know",
        );
    }
    if request.max_forwards().0 == 0 {
        return refuse(
            StatusCode::TOO_MANY_HOPS,
            "Max-Forwards reached 0 (a routing loop)",
        );
    }
    let required: Vec<String> = request
        .headers
        .typed_all::<sip_proto::typed::Require>()
        .unwrap_or_default()
        .into_iter()
        .map(|tag| tag.0)
        .collect();
    if !required.is_empty() {
        return Some(Unusable {
            status: StatusCode::BAD_EXTENSION,
            why: "INVITE requires an extension we do not support",
            unsupported: required,
        });
    }
    let has_contact = request
        .headers
        .typed::<Contact>()
        .ok()
        .flatten()
        .is_some_and(|c| c.uri().is_some());
    if !has_contact {
        return refuse(StatusCode::BAD_REQUEST, "INVITE without a usable Contact");
    }
    let has_from_tag = request
        .headers
        .typed::<From>()
        .ok()
        .flatten()
        .is_some_and(|f| f.tag().is_some());
    if !has_from_tag {
        return refuse(StatusCode::BAD_REQUEST, "INVITE without a From tag");
    }
    None
}

/// The directory of a call that ends before anything is looked up.
struct NoDirectory;

impl Directory for NoDirectory {
    fn agent_contacts(&self, _agent: AgentId) -> Vec<crate::AgentContact> {
        Vec::new()
    }

    fn trunk_route(&self, _number: &str, _caller_id: &str) -> Option<TrunkRoute> {
        None
    }
}

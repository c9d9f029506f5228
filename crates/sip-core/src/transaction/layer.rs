//! [`TransactionLayer`]: many transactions, one set of timers, incoming messages routed.

use super::{
    ClientInvite, ClientInviteState, ClientNonInvite, Output, ServerInvite, ServerNonInvite, Timer,
    TransactionConfig, TransactionKey,
};
use crate::time::Instant;
use crate::transport::{Peer, Transmit};
use sip_proto::bytes::Bytes;
use sip_proto::typed::{Via, BRANCH_MAGIC_COOKIE};
use sip_proto::{
    parse_message, HeaderError, HeaderName, Message, Method, ParseError, Request, Response,
    ValidationError,
};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;

/// What the transaction layer tells the transaction user (the UA core, the B2BUA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionEvent {
    /// A new request (not ACK, not CANCEL) created server transaction `key`; answer it with
    /// [`TransactionLayer::send_response`]. For INVITE, 100 Trying is sent for you.
    Request {
        /// The new server transaction.
        key: TransactionKey,
        /// The request, its top Via stamped with `received`/`rport` (§18.2.1, RFC 3581).
        request: Request,
        /// Where it came from.
        source: Peer,
    },
    /// A CANCEL created server transaction `key` (§9.2). `invite` is the INVITE server
    /// transaction it cancels, if one exists: answer the CANCEL 200 and the INVITE 487, or the
    /// CANCEL 481 when `invite` is `None`.
    Cancel {
        /// The CANCEL's own server transaction.
        key: TransactionKey,
        /// The CANCEL.
        request: Request,
        /// Where it came from.
        source: Peer,
        /// The INVITE transaction with the same branch and sent-by.
        invite: Option<TransactionKey>,
    },
    /// An ACK that is the TU's business: the ACK for a 2xx (its own branch, no transaction),
    /// or one that reached an INVITE transaction in the Accepted state.
    Ack {
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: Peer,
        /// The INVITE server transaction it matched, if any.
        transaction: Option<TransactionKey>,
    },
    /// A response to client transaction `key`.
    Response {
        /// The client transaction.
        key: TransactionKey,
        /// The response.
        response: Response,
    },
    /// A response that matched no client transaction: a 2xx retransmission or another
    /// fork's 2xx after the INVITE transaction ended. The dialog layer decides (§13.2.2.4).
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        source: Peer,
    },
    /// Timer B, F or H fired: treat as 408 Request Timeout (§8.1.3.1) or a lost ACK. For
    /// [`Timer::Cancel`], a cancelled INVITE got no final response within 64*T1 of the
    /// CANCEL (§9.1): the call attempt is over.
    Timeout {
        /// The transaction.
        key: TransactionKey,
        /// Which timer.
        timer: Timer,
    },
    /// The shell reported that a message of this transaction could not be sent.
    TransportError {
        /// The transaction.
        key: TransactionKey,
    },
    /// The transaction is gone; its key may be forgotten.
    Terminated {
        /// The transaction.
        key: TransactionKey,
    },
}

/// A TU action the transaction layer refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// No transaction has this key (it may have terminated).
    #[error("no transaction {0}")]
    NoSuchTransaction(TransactionKey),
    /// A transaction with this key exists already (a reused branch).
    #[error("transaction {0} exists already")]
    DuplicateTransaction(TransactionKey),
    /// The action needs the other kind of transaction (a response on a client transaction,
    /// a CANCEL of a non-INVITE ...).
    #[error("cannot {action} on transaction {key}")]
    WrongKind {
        /// What was attempted.
        action: &'static str,
        /// The transaction.
        key: TransactionKey,
    },
    /// The transaction's state forbids the action (a second final response ...).
    #[error("cannot {action} in state {state}")]
    InvalidState {
        /// What was attempted.
        action: &'static str,
        /// The state it is in.
        state: String,
    },
    /// A request to send has no top Via with an RFC 3261 branch (`z9hG4bK...`).
    #[error("request has no top Via with a z9hG4bK branch")]
    MissingBranch,
    /// ACK never has a client transaction: an ACK for a 2xx goes out with
    /// [`TransactionLayer::send_stateless`], the ACK for a non-2xx is sent by the INVITE
    /// transaction itself.
    #[error("ACK is sent without a transaction")]
    AckWithoutTransaction,
    /// A header of the request is malformed.
    #[error(transparent)]
    Header(#[from] HeaderError),
}

/// Why an incoming message was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IncomingError {
    /// Not a SIP message.
    #[error("unparsable message: {0}")]
    Parse(#[from] ParseError),
    /// A message that must be refused. For a request with a readable Via an error response
    /// has been queued already (statelessly); responses are just discarded (§8.1.3.3).
    #[error("invalid message: {0}")]
    Invalid(#[from] ValidationError),
    /// A request whose top Via branch lacks the magic cookie: an RFC 2543 peer, whose
    /// transaction matching this layer does not implement.
    #[error("request from an RFC 2543 peer (no z9hG4bK branch)")]
    NoRfc3261Branch,
}

/// The four kinds of RFC 3261 §17, named as the RFC names them (hence the shared suffix).
#[derive(Debug)]
#[allow(clippy::enum_variant_names)]
enum Transaction {
    ClientInvite(ClientInvite),
    ClientNonInvite(ClientNonInvite),
    ServerInvite(ServerInvite),
    ServerNonInvite(ServerNonInvite),
}

#[derive(Debug)]
struct Entry {
    key: TransactionKey,
    transaction: Transaction,
    /// The deadline of each pending timer; a heap entry whose deadline differs from this is
    /// stale (cancelled or restarted).
    deadlines: PendingTimers,
    /// The TU asked to cancel this INVITE before any provisional response arrived; the
    /// CANCEL goes out with the first one (§9.1).
    cancel_pending: bool,
}

type TransactionId = u64;

/// The deadline of each pending timer of one transaction (index `Timer as usize`), packed as
/// nanoseconds since [`Instant::ZERO`] plus one, zero for none. As `Option<Instant>`s they
/// took 224 of a transaction's bytes, and under call load hundreds of thousands of finished
/// transactions wait out Timers J, L and M.
#[derive(Debug, Default)]
struct PendingTimers([u64; Timer::ALL.len()]);

impl PendingTimers {
    fn set(&mut self, timer: Timer, deadline: Instant) {
        self.0[timer as usize] = Self::packed(deadline);
    }

    fn clear(&mut self, timer: Timer) {
        self.0[timer as usize] = 0;
    }

    /// Whether `timer` is pending with exactly this deadline.
    fn is(&self, timer: Timer, deadline: Instant) -> bool {
        self.0[timer as usize] == Self::packed(deadline)
    }

    /// Never zero; exact for 584 years of uptime.
    fn packed(at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(Instant::ZERO).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1
    }
}

/// Owns every transaction of one SIP endpoint.
///
/// # Driving rules
/// - Feed every message received with [`handle_datagram`](Self::handle_datagram) (or
///   [`handle_message`](Self::handle_message) when the shell framed a stream), TU actions with
///   [`send_request`](Self::send_request), [`send_response`](Self::send_response),
///   [`cancel`](Self::cancel), and transport failures with
///   [`handle_transport_error`](Self::handle_transport_error). Always pass the current time;
///   it must never go backwards.
/// - After each call, drain [`poll_transmit`](Self::poll_transmit) (send those bytes) and
///   [`poll_event`](Self::poll_event) (give those to the TU, which may call back in), then
///   ask [`poll_timeout`](Self::poll_timeout) and call [`handle_timeout`](Self::handle_timeout)
///   once that instant has come.
/// - Nothing here reads a clock or touches a socket.
#[derive(Debug)]
pub struct TransactionLayer {
    config: TransactionConfig,
    next_id: TransactionId,
    ids: HashMap<TransactionKey, TransactionId>,
    /// Boxed: an entry is 400 bytes; under load the map holds hundreds of thousands
    /// (Timers J, L and M keep finished ones 32 s), and growing it moved every one at once,
    /// a pause long enough for the kernel to drop datagrams.
    /// Keyed by our own counter: a fast hash is safe here (see `foldhash` in Cargo.toml).
    entries: HashMap<TransactionId, Box<Entry>, foldhash::fast::RandomState>,
    timers: BinaryHeap<Reverse<(Instant, TransactionId, Timer)>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TransactionEvent>,
    /// Reused buffer for the outputs of one state machine input.
    scratch: Vec<Output>,
    /// Makes the To tags of stateless error responses unique.
    stateless_count: u64,
}

impl TransactionLayer {
    /// An empty layer with these timer values.
    pub fn new(config: TransactionConfig) -> TransactionLayer {
        TransactionLayer {
            config,
            next_id: 0,
            ids: HashMap::new(),
            entries: HashMap::default(),
            timers: BinaryHeap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            scratch: Vec::new(),
            stateless_count: 0,
        }
    }

    /// The timer values in use.
    pub fn config(&self) -> &TransactionConfig {
        &self.config
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no live transactions.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a transaction with this key is alive.
    pub fn contains(&self, key: &TransactionKey) -> bool {
        self.ids.contains_key(key)
    }

    /// The state of a client INVITE transaction, if that is what `key` names.
    pub fn client_invite_state(&self, key: &TransactionKey) -> Option<ClientInviteState> {
        match &self.entry(key)?.transaction {
            Transaction::ClientInvite(tx) => Some(tx.state()),
            _ => None,
        }
    }

    /// The state of a server INVITE transaction, if that is what `key` names.
    pub fn server_invite_state(&self, key: &TransactionKey) -> Option<super::ServerInviteState> {
        match &self.entry(key)?.transaction {
            Transaction::ServerInvite(tx) => Some(tx.state()),
            _ => None,
        }
    }

    /// The next message to put on the wire.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((deadline, id, timer))) = self.timers.peek() {
            if self.is_live_timer(deadline, id, timer) {
                return Some(deadline);
            }
            self.timers.pop();
        }
        None
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((deadline, id, timer))) = self.timers.peek() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            if !self.is_live_timer(deadline, id, timer) {
                continue;
            }
            let mut out = std::mem::take(&mut self.scratch);
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.deadlines.clear(timer);
                match &mut entry.transaction {
                    Transaction::ClientInvite(tx) => tx.on_timer(timer, &mut out),
                    Transaction::ClientNonInvite(tx) => tx.on_timer(timer, &mut out),
                    Transaction::ServerInvite(tx) => tx.on_timer(timer, &mut out),
                    Transaction::ServerNonInvite(tx) => tx.on_timer(timer, &mut out),
                }
            }
            self.apply(now, id, None, &mut out);
            self.scratch = out;
        }
    }

    /// Parses a datagram and handles it (see [`handle_message`](Self::handle_message)).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: Peer,
        datagram: &[u8],
    ) -> Result<(), IncomingError> {
        let message = parse_message(datagram)?;
        self.handle_message(now, source, message)
    }

    /// A message received from `source`: matched to its transaction (§17.1.3, §17.2.3), or
    /// a new server transaction, or an event for the TU.
    pub fn handle_message(
        &mut self,
        now: Instant,
        source: Peer,
        message: Message,
    ) -> Result<(), IncomingError> {
        match message {
            Message::Request(request) => self.handle_request(now, source, request),
            Message::Response(response) => self.handle_response(now, source, response),
        }
    }

    fn handle_request(
        &mut self,
        now: Instant,
        source: Peer,
        mut request: Request,
    ) -> Result<(), IncomingError> {
        let core = match request.validate_core() {
            Ok(core) => core,
            Err(e) => {
                self.answer_invalid(&request, source, &e);
                return Err(e.into());
            }
        };
        let mut top_via = core.top_via;
        if !top_via
            .branch()
            .is_some_and(|b| b.starts_with(BRANCH_MAGIC_COOKIE))
        {
            return Err(IncomingError::NoRfc3261Branch);
        }
        if stamp_received(&mut top_via, source.addr) {
            request.headers.remove_first_element(&HeaderName::Via);
            request.headers.push_front_typed(&top_via);
        }
        let Some(key) = TransactionKey::server(&top_via, request.method.clone()) else {
            return Err(IncomingError::NoRfc3261Branch);
        };

        if let Some(&id) = self.ids.get(&key) {
            let mut out = std::mem::take(&mut self.scratch);
            if let Some(entry) = self.entries.get_mut(&id) {
                match &mut entry.transaction {
                    Transaction::ServerInvite(tx) => tx.on_request(request, &mut out),
                    Transaction::ServerNonInvite(tx) => tx.on_request(&mut out),
                    // Server keys never name client transactions.
                    Transaction::ClientInvite(_) | Transaction::ClientNonInvite(_) => {}
                }
            }
            self.apply(now, id, Some(source), &mut out);
            self.scratch = out;
            return Ok(());
        }

        if request.method == Method::Ack {
            self.events.push_back(TransactionEvent::Ack {
                request,
                source,
                transaction: None,
            });
            return Ok(());
        }

        let destination = response_destination(&top_via, source);
        let mut out = std::mem::take(&mut self.scratch);
        let event = match request.method {
            Method::Invite => {
                let tx = ServerInvite::new(request.clone(), destination, self.config, &mut out);
                self.insert(key.clone(), Transaction::ServerInvite(tx));
                TransactionEvent::Request {
                    key: key.clone(),
                    request,
                    source,
                }
            }
            Method::Cancel => {
                let tx = ServerNonInvite::new(destination, self.config);
                self.insert(key.clone(), Transaction::ServerNonInvite(tx));
                let invite_key = key.with_method(Method::Invite);
                let invite = self.ids.contains_key(&invite_key).then_some(invite_key);
                TransactionEvent::Cancel {
                    key: key.clone(),
                    request,
                    source,
                    invite,
                }
            }
            _ => {
                let tx = ServerNonInvite::new(destination, self.config);
                self.insert(key.clone(), Transaction::ServerNonInvite(tx));
                TransactionEvent::Request {
                    key: key.clone(),
                    request,
                    source,
                }
            }
        };
        self.events.push_back(event);
        if let Some(&id) = self.ids.get(&key) {
            self.apply(now, id, Some(source), &mut out);
        }
        self.scratch = out;
        Ok(())
    }

    fn handle_response(
        &mut self,
        now: Instant,
        source: Peer,
        response: Response,
    ) -> Result<(), IncomingError> {
        let core = response.validate_core()?;
        let key = core
            .top_via
            .branch()
            .map(|branch| TransactionKey::client(branch, core.cseq.method.clone()));
        let Some(&id) = key.as_ref().and_then(|k| self.ids.get(k)) else {
            self.events
                .push_back(TransactionEvent::StrayResponse { response, source });
            return Ok(());
        };
        let mut out = std::mem::take(&mut self.scratch);
        if let Some(entry) = self.entries.get_mut(&id) {
            match &mut entry.transaction {
                Transaction::ClientInvite(tx) => tx.on_response(response, &mut out),
                Transaction::ClientNonInvite(tx) => tx.on_response(response, &mut out),
                Transaction::ServerInvite(_) | Transaction::ServerNonInvite(_) => {}
            }
        }
        self.apply(now, id, Some(source), &mut out);
        self.scratch = out;
        Ok(())
    }

    /// Starts a client transaction: sends `request` to `destination` and retransmits it
    /// as RFC 3261 says. The request's top Via must carry a fresh `z9hG4bK` branch.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        destination: Peer,
    ) -> Result<TransactionKey, TransactionError> {
        if request.method == Method::Ack {
            return Err(TransactionError::AckWithoutTransaction);
        }
        let via = request
            .headers
            .typed::<Via>()?
            .ok_or(TransactionError::MissingBranch)?;
        let branch = via
            .branch()
            .filter(|b| b.starts_with(BRANCH_MAGIC_COOKIE) && b.len() > BRANCH_MAGIC_COOKIE.len())
            .ok_or(TransactionError::MissingBranch)?;
        let key = TransactionKey::client(branch, request.method.clone());
        if self.ids.contains_key(&key) {
            return Err(TransactionError::DuplicateTransaction(key));
        }
        let mut out = std::mem::take(&mut self.scratch);
        let transaction = if request.method == Method::Invite {
            Transaction::ClientInvite(ClientInvite::start(
                request,
                destination,
                self.config,
                &mut out,
            ))
        } else {
            Transaction::ClientNonInvite(ClientNonInvite::start(
                &request,
                destination,
                self.config,
                &mut out,
            ))
        };
        let id = self.insert(key.clone(), transaction);
        self.apply(now, id, None, &mut out);
        self.scratch = out;
        Ok(key)
    }

    /// Sends the TU's response on server transaction `key`.
    pub fn send_response(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        response: &Response,
    ) -> Result<(), TransactionError> {
        let id = *self
            .ids
            .get(key)
            .ok_or_else(|| TransactionError::NoSuchTransaction(key.clone()))?;
        let mut out = std::mem::take(&mut self.scratch);
        let result = match self.entries.get_mut(&id).map(|e| &mut e.transaction) {
            Some(Transaction::ServerInvite(tx)) => tx.send_response(response, &mut out),
            Some(Transaction::ServerNonInvite(tx)) => tx.send_response(response, &mut out),
            Some(_) => Err(TransactionError::WrongKind {
                action: "send a response",
                key: key.clone(),
            }),
            None => Err(TransactionError::NoSuchTransaction(key.clone())),
        };
        self.apply(now, id, None, &mut out);
        self.scratch = out;
        result
    }

    /// Cancels client INVITE transaction `key` (§9.1). Returns the key of the CANCEL's own
    /// transaction: started now if a provisional response has arrived, or as soon as one
    /// does (a CANCEL must not overtake the INVITE). `None` when a final response has
    /// arrived already: there is nothing left to cancel, and nothing is sent.
    ///
    /// If no final response to the INVITE arrives within 64*T1 of the CANCEL going out, the
    /// INVITE transaction ends with [`TransactionEvent::Timeout`] for [`Timer::Cancel`].
    pub fn cancel(
        &mut self,
        now: Instant,
        key: &TransactionKey,
    ) -> Result<Option<TransactionKey>, TransactionError> {
        let entry = self
            .entry_mut(key)
            .ok_or_else(|| TransactionError::NoSuchTransaction(key.clone()))?;
        let Transaction::ClientInvite(tx) = &entry.transaction else {
            return Err(TransactionError::WrongKind {
                action: "cancel",
                key: key.clone(),
            });
        };
        let cancel_key = key.with_method(Method::Cancel);
        match tx.state() {
            ClientInviteState::Calling => {
                entry.cancel_pending = true;
                Ok(Some(cancel_key))
            }
            ClientInviteState::Proceeding => {
                let Some(request) = tx.request() else {
                    return Ok(None);
                };
                let (cancel, destination) = (request.make_cancel(), tx.destination());
                if self.ids.contains_key(&cancel_key) {
                    return Ok(Some(cancel_key));
                }
                let cancel_key = self.send_request(now, cancel, destination)?;
                self.invite_cancel_sent(now, key);
                Ok(Some(cancel_key))
            }
            _ => Ok(None),
        }
    }

    /// Starts the INVITE transaction's 64*T1 wait for a final response after its CANCEL.
    fn invite_cancel_sent(&mut self, now: Instant, key: &TransactionKey) {
        let Some(&id) = self.ids.get(key) else {
            return;
        };
        let mut out = std::mem::take(&mut self.scratch);
        if let Some(Entry {
            transaction: Transaction::ClientInvite(tx),
            ..
        }) = self.entries.get_mut(&id).map(|e| &mut **e)
        {
            tx.on_cancel_sent(&mut out);
        }
        self.apply(now, id, None, &mut out);
        self.scratch = out;
    }

    /// Queues a message that belongs to no transaction: the ACK for a 2xx, a stateless
    /// response, a keep-alive.
    pub fn send_stateless(&mut self, destination: Peer, message: &Message) {
        self.transmits.push_back(Transmit {
            destination,
            payload: Bytes::from(message.to_bytes()),
        });
    }

    /// The shell could not send a message of transaction `key` (ICMP unreachable, connection
    /// refused ...): the transaction ends with [`TransactionEvent::TransportError`].
    pub fn handle_transport_error(
        &mut self,
        now: Instant,
        key: &TransactionKey,
    ) -> Result<(), TransactionError> {
        let id = *self
            .ids
            .get(key)
            .ok_or_else(|| TransactionError::NoSuchTransaction(key.clone()))?;
        let mut out = std::mem::take(&mut self.scratch);
        if let Some(entry) = self.entries.get_mut(&id) {
            match &mut entry.transaction {
                Transaction::ClientInvite(tx) => tx.on_transport_error(&mut out),
                Transaction::ClientNonInvite(tx) => tx.on_transport_error(&mut out),
                Transaction::ServerInvite(tx) => tx.on_transport_error(&mut out),
                Transaction::ServerNonInvite(tx) => tx.on_transport_error(&mut out),
            }
        }
        self.apply(now, id, None, &mut out);
        self.scratch = out;
        Ok(())
    }

    fn entry(&self, key: &TransactionKey) -> Option<&Entry> {
        self.entries.get(self.ids.get(key)?).map(|e| &**e)
    }

    fn entry_mut(&mut self, key: &TransactionKey) -> Option<&mut Entry> {
        self.entries.get_mut(self.ids.get(key)?).map(|e| &mut **e)
    }

    fn insert(&mut self, key: TransactionKey, transaction: Transaction) -> TransactionId {
        let id = self.next_id;
        self.next_id += 1;
        self.ids.insert(key.clone(), id);
        self.entries.insert(
            id,
            Box::new(Entry {
                key,
                transaction,
                deadlines: PendingTimers::default(),
                cancel_pending: false,
            }),
        );
        id
    }

    fn is_live_timer(&self, deadline: Instant, id: TransactionId, timer: Timer) -> bool {
        self.entries
            .get(&id)
            .is_some_and(|e| e.deadlines.is(timer, deadline))
    }

    /// Carries out what transaction `id` asked for; `source` is where the input came from.
    fn apply(
        &mut self,
        now: Instant,
        id: TransactionId,
        source: Option<Peer>,
        out: &mut Vec<Output>,
    ) {
        let mut send_cancel = false;
        for output in out.drain(..) {
            let Some(entry) = self.entries.get_mut(&id) else {
                break;
            };
            match output {
                Output::Transmit(t) => self.transmits.push_back(t),
                Output::StartTimer { timer, after } => {
                    let deadline = now + after;
                    entry.deadlines.set(timer, deadline);
                    self.timers.push(Reverse((deadline, id, timer)));
                }
                Output::CancelTimer(timer) => entry.deadlines.clear(timer),
                Output::Response(response) => {
                    if entry.cancel_pending {
                        entry.cancel_pending = false;
                        send_cancel = response.status.is_provisional();
                    }
                    self.events.push_back(TransactionEvent::Response {
                        key: entry.key.clone(),
                        response,
                    });
                }
                Output::Ack(request) => self.events.push_back(TransactionEvent::Ack {
                    request,
                    source: source.unwrap_or_else(|| destination_of(&entry.transaction)),
                    transaction: Some(entry.key.clone()),
                }),
                Output::Timeout(timer) => self.events.push_back(TransactionEvent::Timeout {
                    key: entry.key.clone(),
                    timer,
                }),
                Output::TransportError => self.events.push_back(TransactionEvent::TransportError {
                    key: entry.key.clone(),
                }),
                Output::Terminated => {
                    if let Some(entry) = self.entries.remove(&id) {
                        self.ids.remove(&entry.key);
                        self.events
                            .push_back(TransactionEvent::Terminated { key: entry.key });
                    }
                }
            }
        }
        if send_cancel {
            let key = self.entries.get(&id).map(|e| e.key.clone());
            if let Some(key) = key {
                // Cannot fail for a live INVITE in Proceeding but for a reused branch, which
                // `cancel` already checked.
                let _ = self.cancel(now, &key);
            }
        }
    }

    /// Answers an invalid request statelessly when its Via can be read (§8.2, §18.2.2); an
    /// ACK is never answered.
    fn answer_invalid(&mut self, request: &Request, source: Peer, error: &ValidationError) {
        if request.method == Method::Ack {
            return;
        }
        let Ok(Some(via)) = request.headers.typed::<Via>() else {
            return;
        };
        self.stateless_count += 1;
        let tag = format!("rbx{:x}", self.stateless_count);
        let mut response = request.make_response(error.status_code(), Some(&tag));
        response.reason = error.reason_phrase().into();
        self.transmits.push_back(Transmit {
            destination: response_destination(&via, source),
            payload: Bytes::from(response.to_bytes()),
        });
    }
}

fn destination_of(transaction: &Transaction) -> Peer {
    match transaction {
        Transaction::ClientInvite(tx) => tx.destination(),
        Transaction::ClientNonInvite(tx) => tx.destination(),
        Transaction::ServerInvite(tx) => tx.destination(),
        Transaction::ServerNonInvite(tx) => tx.destination(),
    }
}

/// Adds `received` when the sent-by host is not the packet's source address (§18.2.1), and
/// fills in `rport` when the client asked for it (RFC 3581 §4, which also wants `received`
/// then). Returns whether the Via changed.
fn stamp_received(via: &mut Via, source: SocketAddr) -> bool {
    let mut changed = false;
    let rport_requested = via.rport() == Some(None);
    if via.host.ip() != Some(source.ip()) || rport_requested {
        via.set_received(source.ip());
        changed = true;
    }
    if rport_requested {
        via.set_rport(source.port());
        changed = true;
    }
    changed
}

/// Where responses to a request go (§18.2.2, RFC 3581 §4): back on the connection for
/// reliable transports; for UDP to the source address, at the source port if `rport` was
/// asked for (NAT), else at the sent-by port.
fn response_destination(top_via: &Via, source: Peer) -> Peer {
    if source.protocol.is_reliable() || top_via.rport().is_some() {
        return source;
    }
    Peer {
        protocol: source.protocol,
        addr: SocketAddr::new(source.addr.ip(), top_via.port_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_proto::TypedHeader;

    #[test]
    fn received_and_rport_are_stamped() {
        let source: SocketAddr = "203.0.113.7:40123".parse().unwrap();
        let mut via = Via::parse("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa;rport").unwrap();
        assert!(stamp_received(&mut via, source));
        assert_eq!(via.rport(), Some(Some(40123)));
        assert_eq!(via.received(), Some(source.ip()));
        assert_eq!(response_destination(&via, Peer::udp(source)).addr, source);

        let mut via = Via::parse("SIP/2.0/UDP 203.0.113.7:5062;branch=z9hG4bKa").unwrap();
        assert!(!stamp_received(&mut via, source));
        assert_eq!(
            response_destination(&via, Peer::udp(source)).addr,
            "203.0.113.7:5062".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            response_destination(&via, Peer::tcp(source)),
            Peer::tcp(source)
        );
    }
}

//! Outbound registration to a provider's registrar (RFC 3261 §10.2): the client side of
//! REGISTER for one trunk, sans-IO.
//!
//! # Driving rules
//! [`RegistrationClient`] sends its REGISTERs as client transactions of the caller's
//! [`TransactionLayer`] and is driven like the rest of this crate, with `now` passed in:
//! - [`handle_timeout`](RegistrationClient::handle_timeout) when
//!   [`poll_timeout`](RegistrationClient::poll_timeout) has passed (the first REGISTER goes
//!   out on the first call: a new client is due at once);
//! - [`handle_response`](RegistrationClient::handle_response) with every
//!   [`TransactionEvent::Response`](crate::TransactionEvent::Response) and
//!   [`handle_failure`](RegistrationClient::handle_failure) with every `Timeout` or
//!   `TransportError` event (both return false for keys that are not the client's);
//! - [`unregister`](RegistrationClient::unregister) when the trunk is removed or stops
//!   registering; the client is finished once the registrar answered (or did not).
//!
//! # Flow and timing
//! REGISTER → 401/407 → REGISTER with digest credentials → 2xx: registered until the granted
//! expiry. A refresh goes out `granted − margin` after the 2xx, where margin is a tenth of
//! the grant but at least the transaction timeout (64*T1, capped at half the grant): a refresh
//! that needs every retransmission still arrives before the binding lapses, and a long grant
//! (3600 s) is refreshed at 90 %, like common phones and PBXs do.
//!
//! A failure (403, a second challenge that is not `stale`, any other final status, no
//! response, a transport error) makes the status `failed` with the reason, and the next
//! attempt waits `retry.first`, doubling per consecutive failure up to `retry.max`. A 423
//! raises the requested expiry to the registrar's Min-Expires and tries again at once.

use crate::digest::{authorize, ClientCredentials};
use crate::registrar::uri_equivalent;
use crate::{Instant, Peer, TransactionKey, TransactionLayer};
use sip_proto::typed::{Contact, Expires, From, ProxyAuthenticate, To, Via, WwwAuthenticate};
use sip_proto::{HeaderName, Host, Method, Request, RequestBuilder, Response, StatusCode, Uri};
use std::net::SocketAddr;
use std::time::Duration;

/// How long to wait before trying again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; it doubles with each further one.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for RetryPolicy {
    /// 30 s, doubling up to 30 minutes.
    fn default() -> Self {
        RetryPolicy {
            first: Duration::from_secs(30),
            max: Duration::from_secs(1800),
        }
    }
}

/// What to register where.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationConfig {
    /// The address of record, `sip:user@domain`: From and To.
    pub aor: Uri,
    /// The Request-URI, `sip:domain`.
    pub registrar: Uri,
    /// Our Contact: where the provider sends calls for the account.
    pub contact: Uri,
    /// Where the REGISTERs physically go: the registrar's host or the outbound proxy.
    pub destination: Peer,
    /// Our Via sent-by (the advertised address).
    pub via: SocketAddr,
    /// Answers the registrar's 401/407.
    pub credentials: Option<ClientCredentials>,
    /// The expiry asked for, in seconds.
    pub expires: u32,
    /// Text unique to this client (random, from the shell): Call-ID, From tag, branches and
    /// cnonces are made from it and a counter.
    pub instance: String,
    /// Backoff after failures.
    pub retry: RetryPolicy,
    /// The User-Agent header, if any.
    pub user_agent: Option<String>,
}

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationState {
    /// Not registered yet: the first attempt is under way.
    Pending,
    /// The registrar accepted the binding (until `expires_at`).
    Registered,
    /// The last attempt failed; another follows after the backoff.
    Failed,
    /// Unregistered on request; the client is finished.
    Unregistered,
}

impl RegistrationState {
    /// `pending`, `registered`, `failed`, `unregistered`.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationState::Pending => "pending",
            RegistrationState::Registered => "registered",
            RegistrationState::Failed => "failed",
            RegistrationState::Unregistered => "unregistered",
        }
    }
}

/// The status shown to admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationStatus {
    /// The state.
    pub state: RegistrationState,
    /// Why (the failure's reason, the granted expiry ...).
    pub detail: String,
    /// Since when the state holds (a refresh does not change it).
    pub since: Instant,
    /// When the binding lapses unless refreshed (registered only).
    pub expires_at: Option<Instant>,
}

/// The REGISTER in flight.
#[derive(Debug, Clone)]
struct InFlight {
    key: TransactionKey,
    request: Request,
    /// Challenges answered in this attempt.
    challenges: u32,
    /// A 423 was answered in this attempt.
    raised_expiry: bool,
}

/// One trunk's registration. See the module documentation for the driving rules.
#[derive(Debug, Clone)]
pub struct RegistrationClient {
    config: RegistrationConfig,
    status: RegistrationStatus,
    cseq: u32,
    counter: u64,
    in_flight: Option<InFlight>,
    /// When the next REGISTER is due (refresh or retry), when none is in flight.
    next_send: Option<Instant>,
    /// Consecutive failures, for the backoff.
    failures: u32,
    /// Unregistering: the REGISTER in flight (if any) has `Expires: 0`.
    leaving: bool,
    /// Until when the registrar holds our binding, as last granted. A refresh that fails
    /// does not shorten it: the old binding stands until then, and unregistering must
    /// still remove it.
    bound_until: Option<Instant>,
}

impl RegistrationClient {
    /// A client due at once (status pending since `now`).
    pub fn new(config: RegistrationConfig, now: Instant) -> RegistrationClient {
        RegistrationClient {
            config,
            status: RegistrationStatus {
                state: RegistrationState::Pending,
                detail: "registering".to_owned(),
                since: now,
                expires_at: None,
            },
            cseq: 0,
            counter: 0,
            in_flight: None,
            next_send: Some(now),
            failures: 0,
            leaving: false,
            bound_until: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RegistrationConfig {
        &self.config
    }

    /// The current status.
    pub fn status(&self) -> &RegistrationStatus {
        &self.status
    }

    /// Whether the client has nothing left to do (unregistered).
    pub fn is_finished(&self) -> bool {
        self.status.state == RegistrationState::Unregistered
    }

    /// Whether `key` is the REGISTER in flight.
    pub fn owns(&self, key: &TransactionKey) -> bool {
        self.in_flight.as_ref().is_some_and(|f| &f.key == key)
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due; `None` while a REGISTER is in
    /// flight (its transaction has its own timers) or when finished.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.in_flight.is_some() || self.is_finished() {
            return None;
        }
        self.next_send
    }

    /// Sends the refresh or retry when it is due.
    pub fn handle_timeout(&mut self, now: Instant, layer: &mut TransactionLayer) {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.next_send = None;
            let expires = if self.leaving { 0 } else { self.config.expires };
            self.send_register(now, layer, expires);
        }
    }

    /// Removes the binding (`Expires: 0`). A client that never registered is finished at
    /// once: there is nothing to remove.
    pub fn unregister(&mut self, now: Instant, layer: &mut TransactionLayer) {
        if self.leaving {
            return;
        }
        self.leaving = true;
        let bound = self.status.state == RegistrationState::Registered
            || self.in_flight.is_some()
            || self.bound_until.is_some_and(|until| until > now);
        // A REGISTER in flight is abandoned: its answer no longer matters.
        self.in_flight = None;
        self.next_send = None;
        if bound {
            self.send_register(now, layer, 0);
        } else {
            self.finish(now, "not registered");
        }
    }

    /// A response of a client transaction; false when it is not this client's.
    pub fn handle_response(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        key: &TransactionKey,
        response: &Response,
    ) -> bool {
        if !self.owns(key) {
            return false;
        }
        let status = response.status;
        if status.is_provisional() {
            return true;
        }
        let Some(flight) = self.in_flight.take() else {
            return true;
        };
        if status.is_success() {
            if self.leaving {
                self.finish(now, "unregistered");
            } else {
                self.registered(now, layer, &flight.request, response);
            }
            return true;
        }
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::PROXY_AUTHENTICATION_REQUIRED => {
                self.challenged(now, layer, flight, response)
            }
            StatusCode::INTERVAL_TOO_BRIEF if !flight.raised_expiry && !self.leaving => {
                let min = response
                    .headers
                    .raw(&HeaderName::MinExpires)
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    .filter(|m| *m > self.config.expires);
                match min {
                    Some(min) => {
                        self.config.expires = min;
                        self.send_attempt(now, layer, min, 0, true);
                    }
                    None => self.failed(now, describe(response)),
                }
            }
            _ => self.failed(now, describe(response)),
        }
        true
    }

    /// A `Timeout` or `TransportError` of a client transaction; false when it is not this
    /// client's.
    pub fn handle_failure(&mut self, now: Instant, key: &TransactionKey) -> bool {
        if !self.owns(key) {
            return false;
        }
        self.in_flight = None;
        let reason = format!("no response from {}", self.config.destination.addr);
        self.failed(now, reason);
        true
    }

    fn challenged(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        flight: InFlight,
        response: &Response,
    ) {
        let code = response.status.as_u16();
        let Some(credentials) = self.config.credentials.clone() else {
            return self.failed(
                now,
                format!("challenged ({code}) but the trunk has no username and password"),
            );
        };
        // A second challenge means the credentials were refused, unless it only says the
        // nonce went stale (RFC 7616 §3.3); even then, not forever.
        if flight.challenges >= 1 && (!is_stale(response) || flight.challenges >= 3) {
            return self.failed(now, format!("{code}: username or password refused"));
        }
        self.counter += 1;
        let branch = self.branch();
        let cnonce = format!("{}{:x}", self.config.instance, self.counter);
        match authorize(&flight.request, response, &credentials, &cnonce, &branch) {
            Ok(retry) => {
                self.cseq = self.cseq.wrapping_add(1);
                self.start(
                    now,
                    layer,
                    retry,
                    flight.challenges + 1,
                    flight.raised_expiry,
                );
            }
            Err(e) => self.failed(now, format!("{code}: cannot answer the challenge ({e})")),
        }
    }

    fn registered(
        &mut self,
        now: Instant,
        layer: &TransactionLayer,
        request: &Request,
        response: &Response,
    ) {
        let requested = request
            .headers
            .typed::<Expires>()
            .ok()
            .flatten()
            .map_or(self.config.expires, |Expires(e)| e);
        // The registrar's word on our binding: its Contact's expires, else Expires, else
        // what we asked for (RFC 3261 §10.2.4).
        let ours = response
            .headers
            .typed_iter::<Contact>()
            .filter_map(Result::ok)
            .find(|c| {
                c.uri()
                    .is_some_and(|u| uri_equivalent(u, &self.config.contact))
            });
        let granted = ours
            .and_then(|c| c.expires())
            .or_else(|| {
                response
                    .headers
                    .typed::<Expires>()
                    .ok()
                    .flatten()
                    .map(|e| e.0)
            })
            .unwrap_or(requested);
        if granted == 0 {
            return self.failed(now, "the registrar granted 0 seconds".to_owned());
        }
        let granted = Duration::from_secs(u64::from(granted));
        self.failures = 0;
        self.set_state(now, RegistrationState::Registered);
        self.status.detail = format!("registered for {} s", granted.as_secs());
        self.status.expires_at = Some(now + granted);
        self.bound_until = Some(now + granted);
        self.next_send = Some(now + refresh_after(granted, layer.config().timeout()));
    }

    fn failed(&mut self, now: Instant, reason: String) {
        if self.leaving {
            // Nothing to retry: the trunk is gone either way.
            return self.finish(now, &format!("unregister failed: {reason}"));
        }
        self.failures = self.failures.saturating_add(1);
        let factor = 1u32 << (self.failures - 1).min(16);
        let wait = self
            .config
            .retry
            .first
            .saturating_mul(factor)
            .min(self.config.retry.max);
        self.set_state(now, RegistrationState::Failed);
        self.status.detail = reason;
        self.status.expires_at = None;
        self.next_send = Some(now + wait);
    }

    fn finish(&mut self, now: Instant, detail: &str) {
        self.in_flight = None;
        self.next_send = None;
        self.set_state(now, RegistrationState::Unregistered);
        self.status.detail = detail.to_owned();
        self.status.expires_at = None;
    }

    fn set_state(&mut self, now: Instant, state: RegistrationState) {
        if self.status.state != state {
            self.status.state = state;
            self.status.since = now;
        }
    }

    fn send_register(&mut self, now: Instant, layer: &mut TransactionLayer, expires: u32) {
        self.send_attempt(now, layer, expires, 0, false);
    }

    fn send_attempt(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        expires: u32,
        challenges: u32,
        raised_expiry: bool,
    ) {
        self.cseq = self.cseq.wrapping_add(1);
        self.counter += 1;
        let request = self.build(expires);
        self.start(now, layer, request, challenges, raised_expiry);
    }

    fn start(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        request: Request,
        challenges: u32,
        raised_expiry: bool,
    ) {
        match layer.send_request(now, request.clone(), self.config.destination) {
            Ok(key) => {
                self.in_flight = Some(InFlight {
                    key,
                    request,
                    challenges,
                    raised_expiry,
                })
            }
            Err(e) => self.failed(now, format!("REGISTER not sent: {e}")),
        }
    }

    fn branch(&self) -> String {
        format!("z9hG4bK{}.{:x}", self.config.instance, self.counter)
    }

    fn build(&self, expires: u32) -> Request {
        let c = &self.config;
        let host = match c.via.ip() {
            std::net::IpAddr::V4(ip) => Host::Ipv4(ip),
            std::net::IpAddr::V6(ip) => Host::Ipv6(ip),
        };
        let mut via = Via::new(
            c.destination.protocol.to_via(),
            host,
            Some(c.via.port()),
            &self.branch(),
        );
        via.params.set("rport", None);
        let mut from = From::new(c.aor.clone());
        from.set_tag(&c.instance);
        // One Call-ID for every REGISTER of this client, CSeq counting up (§10.2).
        let call_id = format!("{}@{}", c.instance, c.via.ip());
        let mut request = RequestBuilder::new(Method::Register, c.registrar.clone())
            .via(via)
            .from(from)
            .to(To::new(c.aor.clone()))
            .call_id(&call_id)
            .cseq(self.cseq)
            .contact(Contact::new(c.contact.clone()))
            .header(&Expires(expires))
            .build();
        if let Some(agent) = &c.user_agent {
            request.headers.push(HeaderName::UserAgent, agent.clone());
        }
        request
    }
}

/// When to refresh a binding granted for `granted`: see the module documentation.
pub fn refresh_after(granted: Duration, transaction_timeout: Duration) -> Duration {
    let margin = (granted / 10).max(transaction_timeout.min(granted / 2));
    granted - margin
}

fn is_stale(response: &Response) -> bool {
    let www = response
        .headers
        .typed_iter::<WwwAuthenticate>()
        .filter_map(Result::ok)
        .map(|WwwAuthenticate(c)| c);
    let proxy = response
        .headers
        .typed_iter::<ProxyAuthenticate>()
        .filter_map(Result::ok)
        .map(|ProxyAuthenticate(c)| c);
    www.chain(proxy).any(|c| match c {
        sip_proto::typed::Challenge::Digest(d) => d.stale,
        _ => false,
    })
}

fn describe(response: &Response) -> String {
    let reason = if response.reason.is_empty() {
        response.status.default_reason()
    } else {
        &response.reason
    };
    format!("{} {reason}", response.status.as_u16())
}

#[cfg(test)]
mod tests;

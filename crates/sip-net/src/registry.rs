//! [`Registry`]: the registrar's bindings, shared between the SIP loop (which changes them) and
//! whoever reads them (the HTTP API, later the B2BUA that rings phones).
//!
//! Bindings are soft state (RFC 3261 §10: phones refresh them), so they live in memory only; a
//! restart costs one re-registration per phone.

use domain::UserId;
use sip_core::registrar::{Aor, Binding, Registrar, RegistrarConfig};
use sip_core::{Instant, TransportProtocol};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// The clock of the SIP service: [`sip_core::Instant`] counted from the service's start.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: std::time::Instant,
    origin_wall: SystemTime,
}

impl Clock {
    /// A clock whose origin is now.
    pub fn start() -> Clock {
        Clock {
            origin: std::time::Instant::now(),
            origin_wall: SystemTime::now(),
        }
    }

    /// The current instant (monotonic).
    pub fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    /// The tokio instant of a core instant, for sleeping until it.
    pub fn to_tokio(&self, at: Instant) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.origin) + at.since_origin()
    }

    /// Wall-clock time of a core instant, for display.
    pub fn wall(&self, at: Instant) -> SystemTime {
        self.origin_wall + at.since_origin()
    }
}

/// Who an address of record belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The user.
    pub user_id: UserId,
    /// The digest user name he authenticated with.
    pub username: String,
}

/// One live binding, as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationInfo {
    /// The user whose phone it is.
    pub user_id: UserId,
    /// The digest user name.
    pub username: String,
    /// The address of record (To of the REGISTER).
    pub aor: String,
    /// The registered contact URI.
    pub contact: String,
    /// Where the REGISTER came from (behind NAT: the NAT's public address).
    pub source: SocketAddr,
    /// UDP, TCP ...
    pub transport: TransportProtocol,
    /// The phone's User-Agent.
    pub user_agent: Option<String>,
    /// Seconds until the binding lapses.
    pub expires_in: u64,
    /// When this contact was first registered.
    pub registered_at: SystemTime,
    /// When it lapses.
    pub expires_at: SystemTime,
}

#[derive(Debug)]
pub(crate) struct RegistryState {
    pub(crate) registrar: Registrar,
    pub(crate) owners: HashMap<Aor, Owner>,
}

/// Why [`Registry::originate`] placed no call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginateFailure {
    /// No SIP service with calls is running (or it has stopped).
    NotRunning,
    /// The B2BUA refused it (number, routing, no registered phone, no trunk).
    Refused(sip_b2bua::OriginateError),
}

impl std::fmt::Display for OriginateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OriginateFailure::NotRunning => f.write_str("the SIP service is not running"),
            OriginateFailure::Refused(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for OriginateFailure {}

/// A click-to-call asked of the endpoint loop; the answer goes back on `reply`.
#[derive(Debug)]
pub(crate) struct OriginateRequest {
    pub(crate) agent: routing::AgentId,
    pub(crate) number: String,
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<sip_b2bua::SessionId, OriginateFailure>>,
}

/// The shared bindings, and the way to ask the running SIP service for a click-to-call.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Registry {
    state: Arc<Mutex<RegistryState>>,
    clock: Clock,
    realm: Arc<str>,
    /// The endpoint loop's click-to-call queue, set when a service with calls starts.
    originate: Arc<Mutex<Option<tokio::sync::mpsc::Sender<crate::endpoint::Input>>>>,
    /// What the endpoint loop holds right now, published after each of its turns.
    load: Arc<LoadCounters>,
}

/// How much the SIP service holds right now: what an operator (or a load test) watches to
/// see that calls and transactions go back to zero once the traffic stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SipLoad {
    /// Calls in progress (ringing, connected or ending).
    pub calls: usize,
    /// Their SIP legs (caller's and agents'/customers').
    pub legs: usize,
    /// Transactions in the transaction layer (including ones lingering in Timer J/K/I).
    pub transactions: usize,
    /// Call timers scheduled in the B2BUA.
    pub timers: usize,
    /// Open TCP connections.
    pub connections: usize,
}

#[derive(Debug, Default)]
struct LoadCounters {
    calls: AtomicUsize,
    legs: AtomicUsize,
    transactions: AtomicUsize,
    timers: AtomicUsize,
    connections: AtomicUsize,
}

impl Registry {
    /// An empty registry for `realm`, with these registrar limits.
    pub fn new(realm: &str, config: RegistrarConfig) -> Registry {
        Registry {
            state: Arc::new(Mutex::new(RegistryState {
                registrar: Registrar::new(config),
                owners: HashMap::new(),
            })),
            clock: Clock::start(),
            realm: realm.into(),
            originate: Arc::new(Mutex::new(None)),
            load: Arc::default(),
        }
    }

    /// What the SIP service holds right now (zero before it starts).
    pub fn load(&self) -> SipLoad {
        let l = &self.load;
        SipLoad {
            calls: l.calls.load(Ordering::Relaxed),
            legs: l.legs.load(Ordering::Relaxed),
            transactions: l.transactions.load(Ordering::Relaxed),
            timers: l.timers.load(Ordering::Relaxed),
            connections: l.connections.load(Ordering::Relaxed),
        }
    }

    /// Published by the endpoint loop after each turn.
    pub(crate) fn set_load(&self, load: SipLoad) {
        let l = &self.load;
        l.calls.store(load.calls, Ordering::Relaxed);
        l.legs.store(load.legs, Ordering::Relaxed);
        l.transactions.store(load.transactions, Ordering::Relaxed);
        l.timers.store(load.timers, Ordering::Relaxed);
        l.connections.store(load.connections, Ordering::Relaxed);
    }

    /// Click-to-call: rings `user`'s registered phones and, when one picks up, calls the
    /// customer at `number` through the trunk. Answers the id of the call once the phones
    /// ring; the call's record is logged when it ends.
    pub async fn originate(
        &self,
        user: UserId,
        number: &str,
    ) -> Result<sip_b2bua::SessionId, OriginateFailure> {
        let queue = self
            .originate
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(OriginateFailure::NotRunning)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let request = OriginateRequest {
            agent: routing::AgentId(user.0),
            number: number.to_owned(),
            reply,
        };
        queue
            .send(crate::endpoint::Input::Originate(request))
            .await
            .map_err(|_| OriginateFailure::NotRunning)?;
        answer.await.map_err(|_| OriginateFailure::NotRunning)?
    }

    /// Where [`originate`](Self::originate) sends its requests (the service with calls).
    pub(crate) fn set_originator(&self, queue: tokio::sync::mpsc::Sender<crate::endpoint::Input>) {
        *self.originate.lock().unwrap_or_else(|e| e.into_inner()) = Some(queue);
    }

    /// The digest realm the registrar challenges with.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The service clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, RegistryState> {
        // A panic while holding the lock leaves consistent data behind (every change is one
        // assignment), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every live binding, by user name, then address of record, most preferred first.
    pub fn registrations(&self) -> Vec<RegistrationInfo> {
        let now = self.clock.now();
        let state = self.lock();
        let mut owned: Vec<(&Aor, &Owner)> = state.owners.iter().collect();
        owned.sort_by(|a, b| (&a.1.username, a.0).cmp(&(&b.1.username, b.0)));
        let mut out = Vec::new();
        for (aor, owner) in owned {
            for b in state.registrar.lookup(now, aor) {
                out.push(self.info(now, aor, owner, &b));
            }
        }
        out
    }

    /// The live bindings of one user.
    pub fn registrations_of(&self, user_id: UserId) -> Vec<RegistrationInfo> {
        self.registrations()
            .into_iter()
            .filter(|r| r.user_id == user_id)
            .collect()
    }

    /// The live contacts of one user with the address each REGISTER came from (where
    /// requests to that phone must go), most preferred first.
    pub fn contacts_of(&self, user_id: UserId) -> Vec<(sip_proto::Uri, sip_core::Peer)> {
        let now = self.clock.now();
        let state = self.lock();
        let mut aors: Vec<&Aor> = state
            .owners
            .iter()
            .filter(|(_, o)| o.user_id == user_id)
            .map(|(aor, _)| aor)
            .collect();
        aors.sort();
        aors.into_iter()
            .flat_map(|aor| state.registrar.lookup(now, aor))
            .map(|b| (b.contact.uri().clone(), b.source))
            .collect()
    }

    /// Whether any live binding was registered from `source` (a registered phone's address).
    pub fn has_binding_from(&self, source: SocketAddr) -> bool {
        let now = self.clock.now();
        let state = self.lock();
        state.owners.keys().any(|aor| {
            state
                .registrar
                .lookup(now, aor)
                .iter()
                .any(|b| b.source.addr == source)
        })
    }

    /// Number of live bindings.
    pub fn binding_count(&self) -> usize {
        let now = self.clock.now();
        let state = self.lock();
        state
            .owners
            .keys()
            .map(|aor| state.registrar.lookup(now, aor).len())
            .sum()
    }

    fn info(&self, now: Instant, aor: &Aor, owner: &Owner, b: &Binding) -> RegistrationInfo {
        RegistrationInfo {
            user_id: owner.user_id,
            username: owner.username.clone(),
            aor: aor.to_string(),
            contact: b.contact.uri().to_string(),
            source: b.source.addr,
            transport: b.source.protocol,
            user_agent: b.user_agent.clone(),
            expires_in: b.remaining_secs(now),
            registered_at: self.clock.wall(b.registered_at),
            expires_at: self.clock.wall(b.expires_at),
        }
    }

    /// Drops lapsed bindings (and owners left without any); returns when to sweep next.
    pub(crate) fn sweep(&self, now: Instant) -> Option<Instant> {
        let mut state = self.lock();
        let removed = state.registrar.remove_expired(now);
        for (aor, binding) in &removed {
            tracing::debug!(%aor, contact = %binding.contact.uri(), "registration expired");
        }
        let RegistryState { registrar, owners } = &mut *state;
        if !removed.is_empty() {
            owners.retain(|aor, _| !registrar.lookup(now, aor).is_empty());
        }
        registrar.next_expiry()
    }
}

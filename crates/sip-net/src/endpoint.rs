//! The endpoint loop: owns the transaction layer and the services, and is the only place
//! where SIP state changes. Sockets and store lookups run in other tasks and talk to it
//! through one input queue.

use crate::call_log::CallLogWriter;
use crate::calls::{self, CallDirectory, CallServices};
use crate::registrar::{self, RegisterStep, RegistrarService, UserLookup};
use crate::registry::{OriginateFailure, OriginateRequest, Registry, SipLoad};
use crate::transport::Sockets;
use crate::trunks::{Trunk, TrunkConfig, TrunkStatus, Trunks};
use crate::{SipConfig, TagSource};
use routing::{AgentId, Router};
use sip_b2bua::{B2bua, B2buaConfig, IncomingInvite, Output, SessionId};
use sip_core::digest::ClientCredentials;
use sip_core::registration::{RegistrationClient, RegistrationConfig, RetryPolicy};
use sip_core::{Instant, Peer, TransactionEvent, TransactionKey, TransactionLayer};
use sip_proto::bytes::Bytes;
use sip_proto::typed::Allow;
use sip_proto::typed::CallId;
use sip_proto::{HeaderName, Message, Method, Request, Response, StatusCode};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use store::Store;
use tokio::sync::mpsc;

/// Inputs queued for the loop before socket readers wait (backpressure, not loss).
pub(crate) const INPUT_QUEUE: usize = 8192;
/// Inputs handled before the transaction layer's output is drained and timers are checked.
const BATCH: usize = 64;
/// How often lapsed bindings are swept from memory (they stop counting at once anyway).
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// A new INVITE that waited longer than this between the socket and the loop finds the loop
/// overloaded: it is refused at once with 503 and Retry-After, before any lookup or
/// routing. Past its limit the loop otherwise fell further behind with every call it took,
/// the callers' retransmissions piled on, and throughput collapsed to a third (BENCHMARKS.md);
/// refusing new calls keeps the ones in progress (their ACKs, BYEs and responses) moving.
/// Not less: the loop has pauses of a tenth of a second now and then (a map of a few hundred
/// thousand transactions growing), and at 100 ms calls were refused well below the limit.
/// Well under T1 (500 ms), when callers retransmit.
const SHED_NEW_CALLS_AFTER: Duration = Duration::from_millis(250);
/// What a refused caller is told to wait before trying again (Retry-After, seconds).
const RETRY_AFTER_SECONDS: &str = "5";

/// The methods this server handles; the `Allow` of OPTIONS and 405 answers.
const ALLOWED: [Method; 2] = [Method::Register, Method::Options];
/// With call services, also the methods of calls.
const ALLOWED_CALLS: [Method; 4] = [Method::Invite, Method::Ack, Method::Bye, Method::Cancel];

/// Something for the loop.
#[derive(Debug)]
pub(crate) enum Input {
    /// A UDP datagram, with the wall-clock time it was read from the socket.
    Datagram {
        source: Peer,
        data: Bytes,
        received_at: SystemTime,
    },
    /// A message framed from a stream, with the wall-clock time of the read that completed it.
    Message {
        source: Peer,
        message: Message,
        received_at: SystemTime,
    },
    /// A TCP connection opened (accepted or connected); `tx` writes to it.
    Connected {
        peer: SocketAddr,
        id: u64,
        tx: mpsc::Sender<Bytes>,
    },
    /// A TCP connection ended.
    Closed { peer: SocketAddr, id: u64 },
    /// The store answered the credential lookup of a REGISTER (`None`: it failed).
    Credentials {
        key: TransactionKey,
        request: Box<Request>,
        source: Peer,
        found: Option<UserLookup>,
    },
    /// The store answered the credential lookup of an INVITE from a registered phone.
    InviteCredentials {
        key: TransactionKey,
        request: Box<Request>,
        source: Peer,
        found: Option<UserLookup>,
    },
    /// The CRM answered a caller lookup (`None`: it failed; the call is routed as unknown).
    CallerCard {
        session: SessionId,
        card: Option<Arc<crm::CallerCard>>,
    },
    /// The API asks for a click-to-call.
    Originate(OriginateRequest),
    /// The trunks of settings generation `generation`, with their host names resolved
    /// (or why not).
    TrunksResolved {
        generation: u64,
        trunks: Vec<Result<Trunk, (TrunkConfig, String)>>,
    },
    /// A host name of settings generation `generation` did not resolve: try again.
    ResolveTrunksAgain { generation: u64 },
}

/// How long after a failed host-name lookup the trunks are resolved again (a DNS server
/// still starting at boot, a short outage).
const RESOLVE_AGAIN_AFTER: Duration = Duration::from_secs(30);

/// The B2BUA and what it needs, when the service handles calls.
struct CallState {
    b2bua: B2bua,
    crm: Arc<crm::Crm>,
    /// The trunks in use, resolved, first usable first.
    trunks: Vec<Trunk>,
    /// Where the trunks' status goes for the API.
    trunk_status: Trunks,
    /// One registration per registering trunk, by trunk name.
    registrations: HashMap<String, RegistrationClient>,
    /// Registrations of removed or changed trunks, until their unregister is answered.
    leaving: Vec<RegistrationClient>,
    /// The status last copied to `trunk_status`, so the loop's turns copy only changes.
    published: HashMap<String, sip_core::registration::RegistrationStatus>,
    /// Counts trunk settings changes, so a slow resolution of old settings is dropped.
    trunk_generation: u64,
    /// The trunk settings last given, resolved again while one of their names fails.
    trunk_configs: Vec<TrunkConfig>,
    /// What calls and registrations advertise in Via and Contact.
    advertised: SocketAddr,
    /// Caller cards of calls in progress, for the screen pop of each agent rung.
    cards: HashMap<SessionId, Arc<crm::CallerCard>>,
    /// The Call-ID of each call's first leg: with the leg, the idempotency key of its report.
    call_ids: HashMap<SessionId, String>,
    /// Where finished calls go to be logged.
    call_log: CallLogWriter,
    /// When each inbound call's INVITE was read from the socket (wall clock), for the
    /// `invite_received_at_us` of its screen pops: the web benchmark measures from it.
    invite_received: HashMap<SessionId, SystemTime>,
}

pub(crate) struct Endpoint {
    layer: TransactionLayer,
    registrar: RegistrarService,
    registry: Registry,
    store: Arc<dyn Store>,
    sockets: Sockets,
    input: mpsc::Sender<Input>,
    tags: Arc<TagSource>,
    server_name: String,
    calls: Option<CallState>,
    routing: Option<tokio::sync::watch::Receiver<routing::RoutingConfig>>,
    trunk_settings: Option<tokio::sync::watch::Receiver<Vec<TrunkConfig>>>,
    /// INVITEs of phones whose credentials are being looked up, so a CANCEL meanwhile can
    /// end them (487) and the late lookup is dropped.
    pending_invites: HashMap<TransactionKey, Request>,
    /// When the datagram or message being handled was read; set only while it is handled
    /// (its requests reach `on_request` in the drain at the end of `handle`).
    received_at: Option<SystemTime>,
}

impl Endpoint {
    pub(crate) fn new(
        config: SipConfig,
        registry: Registry,
        store: Arc<dyn Store>,
        sockets: Sockets,
        input: mpsc::Sender<Input>,
        services: Option<CallServices>,
    ) -> Endpoint {
        let tags = Arc::new(TagSource::new());
        // Nonces are signed with a per-process key: after a restart a phone's old nonce is
        // simply challenged again.
        let secret: [u8; 32] = rand::random();
        let registrar =
            RegistrarService::new(registry.clone(), &config.auth, &secret, tags.clone());
        let advertised = config.public.or_else(|| {
            sockets
                .local_addrs()
                .into_iter()
                .find(|(p, _)| *p == sip_core::TransportProtocol::Udp)
                .map(|(_, a)| a)
        });
        if services.is_some() && advertised.is_some_and(|a| a.ip().is_unspecified()) {
            tracing::warn!(
                "SIP listens on an unspecified address and no public address is set: \
                 calls would advertise it in Via and Contact; set the public address"
            );
        }
        let mut routing_rx = None;
        let mut trunks_rx = None;
        let calls = match (services, advertised) {
            (Some(services), Some(advertised)) => {
                let origin =
                    chrono::DateTime::<chrono::Utc>::from(registry.clock().wall(Instant::ZERO));
                let mut b2bua_config = B2buaConfig::new(advertised, registry.realm(), origin);
                b2bua_config.instance = format!("rb{:08x}", rand::random::<u32>());
                let settings = services.routing.borrow().clone();
                let router = Router::new(settings).unwrap_or_else(|e| {
                    tracing::error!(error = %e, "routing settings refused; routing nothing");
                    Router::new(routing::RoutingConfig::default())
                        .expect("the empty routing settings are valid")
                });
                routing_rx = Some(services.routing);
                trunks_rx = Some(services.trunks);
                Some(CallState {
                    b2bua: B2bua::new(b2bua_config, router),
                    call_log: CallLogWriter::spawn(services.crm.clone()),
                    crm: services.crm,
                    trunks: Vec::new(),
                    trunk_status: services.trunk_status,
                    registrations: HashMap::new(),
                    leaving: Vec::new(),
                    published: HashMap::new(),
                    trunk_generation: 0,
                    trunk_configs: Vec::new(),
                    advertised,
                    cards: HashMap::new(),
                    call_ids: HashMap::new(),
                    invite_received: HashMap::new(),
                })
            }
            _ => None,
        };
        if calls.is_some() {
            registry.set_originator(input.clone());
        }
        Endpoint {
            calls,
            pending_invites: HashMap::new(),
            received_at: None,
            routing: routing_rx,
            trunk_settings: trunks_rx,
            layer: TransactionLayer::new(config.transactions),
            registrar,
            registry,
            store,
            sockets,
            input,
            tags,
            server_name: config.server_name,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut inputs: mpsc::Receiver<Input>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        tokio::pin!(shutdown);
        let clock = self.registry.clock();
        let mut next_sweep = clock.now() + SWEEP_EVERY;
        let mut routing = self.routing.take();
        let mut trunk_settings = self.trunk_settings.take();
        if let Some(rx) = trunk_settings.as_ref() {
            let configs = rx.borrow().clone();
            self.replace_trunks(clock.now(), configs);
            self.drain(clock.now());
        }
        loop {
            let calls_timeout = self.calls.as_ref().and_then(|c| c.b2bua.poll_timeout());
            let wake = [
                self.layer.poll_timeout(),
                calls_timeout,
                self.registrations_timeout(),
            ]
            .into_iter()
            .flatten()
            .fold(next_sweep, Instant::min);
            let settings_changed = async {
                match routing.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            let trunks_changed = async {
                match trunk_settings.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                changed = settings_changed => {
                    match (changed, routing.as_ref()) {
                        (true, Some(rx)) => {
                            let settings = rx.borrow().clone();
                            self.replace_routing(settings);
                        }
                        // The sender is gone: the settings stay as they are.
                        _ => routing = None,
                    }
                }
                changed = trunks_changed => {
                    match (changed, trunk_settings.as_ref()) {
                        (true, Some(rx)) => {
                            let configs = rx.borrow().clone();
                            self.replace_trunks(clock.now(), configs);
                        }
                        _ => trunk_settings = None,
                    }
                }
                input = inputs.recv() => {
                    let Some(input) = input else { break };
                    self.handle(clock.now(), input);
                    // Take what is already queued before draining: fewer wake-ups under load.
                    for _ in 1..BATCH {
                        match inputs.try_recv() {
                            Ok(input) => self.handle(clock.now(), input),
                            Err(_) => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(clock.to_tokio(wake)) => {}
            }
            let now = clock.now();
            self.layer.handle_timeout(now);
            if let Some(calls) = self.calls.as_mut() {
                if calls.b2bua.poll_timeout().is_some_and(|t| t <= now) {
                    let directory = CallDirectory {
                        registry: &self.registry,
                        trunks: &calls.trunks,
                    };
                    calls.b2bua.handle_timeout(now, &mut self.layer, &directory);
                }
            }
            if let Some(calls) = self.calls.as_mut() {
                for client in calls
                    .registrations
                    .values_mut()
                    .chain(calls.leaving.iter_mut())
                {
                    client.handle_timeout(now, &mut self.layer);
                }
            }
            if now >= next_sweep {
                self.registry.sweep(now);
                next_sweep = now + SWEEP_EVERY;
            }
            self.drain(now);
            self.publish_trunk_status();
            self.publish_load();
        }
        tracing::debug!(
            transactions = self.layer.len(),
            connections = self.sockets.connection_count(),
            "SIP service stopped"
        );
        // Finished calls still queued are written before the service counts as stopped.
        if let Some(calls) = self.calls.take() {
            calls.call_log.finish().await;
        }
    }

    fn handle(&mut self, now: Instant, input: Input) {
        self.received_at = match &input {
            Input::Datagram { received_at, .. } | Input::Message { received_at, .. } => {
                Some(*received_at)
            }
            _ => None,
        };
        self.handle_input(now, input);
        self.drain(now);
        self.received_at = None;
    }

    fn handle_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::Datagram { source, data, .. } => {
                if let Err(e) = self.layer.handle_datagram(now, source, &data) {
                    // Unparsable garbage is dropped; an invalid request with a readable Via
                    // has been answered 400 (or whatever the error calls for) by the layer.
                    tracing::trace!(%source, error = %e, "datagram refused");
                }
            }
            Input::Message {
                source, message, ..
            } => {
                if let Err(e) = self.layer.handle_message(now, source, message) {
                    tracing::trace!(%source, error = %e, "message refused");
                }
            }
            Input::Connected { peer, id, tx } => self.sockets.connected(peer, id, tx),
            Input::Closed { peer, id } => self.sockets.closed(peer, id),
            Input::Credentials {
                key,
                request,
                source,
                found,
            } => {
                let response = self.registrar.on_credentials(now, &request, source, found);
                self.respond(now, &key, response);
            }
            Input::InviteCredentials {
                key,
                request,
                source,
                found,
            } => {
                if self.pending_invites.remove(&key).is_none() {
                    // Cancelled while its credentials were looked up: answered 487 already.
                    return;
                }
                match self.registrar.on_invite_credentials(now, &request, found) {
                    Ok(user) => self.accept_outbound(now, key, *request, source, AgentId(user.0)),
                    Err(response) => self.respond(now, &key, response),
                }
            }
            Input::CallerCard { session, card } => self.caller_card(now, session, card),
            Input::Originate(request) => self.originate(now, request),
            Input::TrunksResolved { generation, trunks } => {
                if self
                    .calls
                    .as_ref()
                    .is_some_and(|c| c.trunk_generation == generation)
                {
                    self.use_trunks(now, trunks);
                }
            }
            Input::ResolveTrunksAgain { generation } => {
                if let Some(calls) = self.calls.as_ref() {
                    if calls.trunk_generation == generation {
                        let configs = calls.trunk_configs.clone();
                        self.replace_trunks(now, configs);
                    }
                }
            }
        }
    }

    /// New trunk settings: used at once when every address is an IP, else after the host
    /// names are resolved off the loop (the trunks in use stay until then).
    fn replace_trunks(&mut self, now: Instant, configs: Vec<TrunkConfig>) {
        let Some(calls) = self.calls.as_mut() else {
            return;
        };
        calls.trunk_generation += 1;
        calls.trunk_configs.clone_from(&configs);
        let generation = calls.trunk_generation;
        let literal: Option<Vec<_>> = configs.iter().map(Trunk::from_literal).collect();
        match literal {
            Some(trunks) => self.use_trunks(now, trunks.into_iter().map(Ok).collect()),
            None => {
                let input = self.input.clone();
                tokio::spawn(async move {
                    let mut trunks = Vec::with_capacity(configs.len());
                    for config in configs {
                        trunks.push(
                            Trunk::resolve(config.clone())
                                .await
                                .map_err(|e| (config, e)),
                        );
                    }
                    let _ = input
                        .send(Input::TrunksResolved { generation, trunks })
                        .await;
                });
            }
        }
    }

    /// Puts resolved trunks in use: a registration starts for each new registering trunk,
    /// and the registrations of removed or changed trunks are ended with `Expires: 0`.
    fn use_trunks(&mut self, now: Instant, resolved: Vec<Result<Trunk, (TrunkConfig, String)>>) {
        let Some(calls) = self.calls.as_mut() else {
            return;
        };
        let wall =
            |at: Instant| chrono::DateTime::<chrono::Utc>::from(self.registry.clock().wall(at));
        let mut trunks = Vec::new();
        let mut names = Vec::new();
        let mut unresolved = false;
        for r in resolved {
            match r {
                Ok(trunk) => trunks.push(trunk),
                Err((config, reason)) => {
                    unresolved = true;
                    // A trunk in use whose name fails to resolve this time stays as it
                    // was (with its registration) until a lookup succeeds again.
                    if let Some(current) = calls.trunks.iter().find(|t| t.config == config) {
                        tracing::warn!(trunk = %config.name, %reason, "host name not resolved; the trunk stays as it was");
                        trunks.push(current.clone());
                        continue;
                    }
                    tracing::warn!(trunk = %config.name, %reason, "trunk not usable");
                    calls.trunk_status.set_status(
                        &config.name,
                        TrunkStatus {
                            state: "failed",
                            detail: reason,
                            since: wall(now),
                            expires_at: None,
                        },
                    );
                    names.push(config.name);
                }
            }
        }
        let mut wanted: HashMap<String, RegistrationConfig> = HashMap::new();
        for trunk in &trunks {
            names.push(trunk.config.name.clone());
            if trunk.config.registers() {
                wanted.insert(
                    trunk.config.name.clone(),
                    registration_config(trunk, calls.advertised, &self.server_name),
                );
            } else {
                calls.trunk_status.set_status(
                    &trunk.config.name,
                    TrunkStatus {
                        state: "not_registering",
                        detail: "registration is off".to_owned(),
                        since: wall(now),
                        expires_at: None,
                    },
                );
            }
        }
        for (name, mut client) in std::mem::take(&mut calls.registrations) {
            let unchanged = wanted.get(&name).is_some_and(|w| {
                let mut w = w.clone();
                w.instance.clone_from(&client.config().instance);
                &w == client.config()
            });
            // Same binding (address of record, Contact, registrar), other details (expiry,
            // password): the new client's REGISTER replaces the binding, so no Expires: 0
            // is sent — arriving after the new REGISTER it would remove the new binding
            // (RFC 3261 §10.3: the contact, not the Call-ID, names a binding).
            let same_binding = wanted.get(&name).is_some_and(|w| {
                let old = client.config();
                w.aor == old.aor && w.contact == old.contact && w.destination == old.destination
            });
            if unchanged {
                wanted.remove(&name);
                calls.registrations.insert(name, client);
            } else if same_binding {
                tracing::info!(trunk = %name, "trunk registration renewed with new settings");
            } else {
                tracing::info!(trunk = %name, "trunk registration ends");
                client.unregister(now, &mut self.layer);
                if !client.is_finished() {
                    calls.leaving.push(client);
                }
            }
        }
        for (name, config) in wanted {
            tracing::info!(trunk = %name, registrar = %config.destination, "trunk registers");
            let mut client = RegistrationClient::new(config, now);
            client.handle_timeout(now, &mut self.layer);
            calls.registrations.insert(name, client);
        }
        if unresolved {
            let input = self.input.clone();
            let generation = calls.trunk_generation;
            tokio::spawn(async move {
                tokio::time::sleep(RESOLVE_AGAIN_AFTER).await;
                let _ = input.send(Input::ResolveTrunksAgain { generation }).await;
            });
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        calls.trunk_status.retain(&names);
        calls.trunks = trunks;
        calls.published.clear();
        self.publish_trunk_status();
    }

    /// When the next registration wants its refresh or retry.
    fn registrations_timeout(&self) -> Option<Instant> {
        let calls = self.calls.as_ref()?;
        calls
            .registrations
            .values()
            .chain(calls.leaving.iter())
            .filter_map(RegistrationClient::poll_timeout)
            .min()
    }

    /// Copies each registration's status to the shared [`Trunks`], and forgets finished
    /// unregistrations.
    fn publish_load(&self) {
        let calls = self.calls.as_ref();
        self.registry.set_load(SipLoad {
            calls: calls.map_or(0, |c| c.b2bua.active_calls()),
            legs: calls.map_or(0, |c| c.b2bua.active_legs()),
            transactions: self.layer.len(),
            timers: calls.map_or(0, |c| c.b2bua.pending_timers()),
            connections: self.sockets.connection_count(),
        });
    }

    fn publish_trunk_status(&mut self) {
        let Some(calls) = self.calls.as_mut() else {
            return;
        };
        let clock = self.registry.clock();
        let wall = |at: Instant| chrono::DateTime::<chrono::Utc>::from(clock.wall(at));
        for (name, client) in &calls.registrations {
            if calls.published.get(name) == Some(client.status()) {
                continue;
            }
            calls
                .trunk_status
                .set_status(name, TrunkStatus::of_registration(client.status(), wall));
            calls
                .published
                .insert(name.clone(), client.status().clone());
        }
        calls.leaving.retain(|c| !c.is_finished());
    }

    /// A response or failure of a client transaction that is not the B2BUA's: a trunk's
    /// REGISTER, if any registration owns it.
    fn on_registration_event(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        response: Option<&sip_proto::Response>,
    ) {
        let Some(calls) = self.calls.as_mut() else {
            return;
        };
        for client in calls
            .registrations
            .values_mut()
            .chain(calls.leaving.iter_mut())
        {
            let handled = match response {
                Some(response) => client.handle_response(now, &mut self.layer, key, response),
                None => client.handle_failure(now, key),
            };
            if handled {
                return;
            }
        }
    }

    fn replace_routing(&mut self, settings: routing::RoutingConfig) {
        if let Some(calls) = self.calls.as_mut() {
            match calls.b2bua.replace_routing_config(settings) {
                Ok(()) => tracing::info!("routing settings reloaded"),
                Err(e) => tracing::error!(error = %e, "new routing settings refused"),
            }
        }
    }

    /// Hands events to their handlers and puts transmits on the wire until both run dry.
    fn drain(&mut self, now: Instant) {
        loop {
            let mut idle = true;
            while let Some(event) = self.layer.poll_event() {
                idle = false;
                let event = match self.calls.as_mut() {
                    Some(calls) => {
                        let directory = CallDirectory {
                            registry: &self.registry,
                            trunks: &calls.trunks,
                        };
                        calls
                            .b2bua
                            .handle_event(now, &mut self.layer, &directory, event)
                    }
                    None => Some(event),
                };
                if let Some(event) = event {
                    self.on_event(now, event);
                }
            }
            while let Some(output) = self.calls.as_mut().and_then(|c| c.b2bua.poll_output()) {
                idle = false;
                self.on_output(now, output);
            }
            while let Some(t) = self.layer.poll_transmit() {
                idle = false;
                self.sockets.send(t.destination, t.payload);
            }
            if idle {
                return;
            }
        }
    }

    fn on_event(&mut self, now: Instant, event: TransactionEvent) {
        match event {
            TransactionEvent::Request {
                key,
                request,
                source,
            } => self.on_request(now, key, request, source),
            TransactionEvent::Cancel {
                key,
                request,
                invite,
                ..
            } => {
                // Calls are cancelled inside the B2BUA; what comes here is an INVITE still
                // waiting for its credentials (end it 487), or one answered already.
                if let Some(pending) = invite
                    .clone()
                    .and_then(|k| self.pending_invites.remove(&k).map(|r| (k, r)))
                {
                    let (invite_key, invite_request) = pending;
                    let terminated = invite_request
                        .make_response(StatusCode::REQUEST_TERMINATED, Some(&self.tags.next()));
                    self.respond(now, &invite_key, terminated);
                }
                let status = match invite {
                    Some(_) => StatusCode::OK,
                    None => StatusCode::CALL_DOES_NOT_EXIST,
                };
                let response = request.make_response(status, Some(&self.tags.next()));
                self.respond(now, &key, response);
            }
            TransactionEvent::Ack { .. } => {}
            // The B2BUA took the responses of its own client transactions; the others are
            // the trunks' REGISTERs.
            TransactionEvent::Response { key, response } => {
                self.on_registration_event(now, &key, Some(&response))
            }
            TransactionEvent::StrayResponse { .. } => {}
            TransactionEvent::Timeout { key, timer } => {
                tracing::debug!(%key, ?timer, "transaction timed out");
                self.on_registration_event(now, &key, None);
            }
            TransactionEvent::TransportError { key } => {
                tracing::debug!(%key, "transport error");
                self.on_registration_event(now, &key, None);
            }
            TransactionEvent::Terminated { .. } => {}
        }
    }

    fn on_request(&mut self, now: Instant, key: TransactionKey, request: Request, source: Peer) {
        let tag = self.tags.next();
        let response = match &request.method {
            Method::Register => match self.registrar.on_register(now, &request) {
                RegisterStep::Respond(response) => response,
                RegisterStep::Lookup { username } => {
                    self.spawn_lookup(key, request, source, username);
                    return;
                }
            },
            Method::Options => {
                let mut r = request.make_response(StatusCode::OK, Some(&tag));
                push_allow(&mut r, self.calls.is_some());
                r
            }
            Method::Invite if self.calls.is_some() => {
                self.on_invite(now, key, request, source);
                return;
            }
            // Without call services (no B2BUA) an INVITE is refused as not implemented, so a
            // phone shows a clear failure instead of ringing forever.
            Method::Invite => request.make_response(StatusCode::NOT_IMPLEMENTED, Some(&tag)),
            // No dialogs exist, so an in-dialog request names none of ours.
            Method::Bye | Method::Prack | Method::Update | Method::Info => {
                request.make_response(StatusCode::CALL_DOES_NOT_EXIST, Some(&tag))
            }
            Method::Extension(_) => request.make_response(StatusCode::NOT_IMPLEMENTED, Some(&tag)),
            _ => {
                let mut r = request.make_response(StatusCode::METHOD_NOT_ALLOWED, Some(&tag));
                push_allow(&mut r, self.calls.is_some());
                r
            }
        };
        self.respond(now, &key, response);
    }

    /// A new INVITE: from a trunk's address → an inbound call; from a registered phone's
    /// address → digest authentication, then an outbound call; from anywhere else → 403 (no
    /// open relay).
    fn on_invite(&mut self, now: Instant, key: TransactionKey, request: Request, source: Peer) {
        if overloaded(self.received_at, SystemTime::now()) {
            tracing::debug!(%source, "new call refused: the SIP loop is behind");
            let mut refusal =
                request.make_response(StatusCode::SERVICE_UNAVAILABLE, Some(&self.tags.next()));
            refusal
                .headers
                .push(HeaderName::RetryAfter, RETRY_AFTER_SECONDS);
            self.respond(now, &key, refusal);
            return;
        }
        let Some(calls) = self.calls.as_mut() else {
            return;
        };
        if let Some(trunk) = calls.trunks.iter().find(|t| t.allows(source.addr)) {
            tracing::debug!(trunk = %trunk.config.name, %source, "inbound call");
            self.accept_inbound(now, key, request, source);
            return;
        }
        if self.registry.has_binding_from(source.addr) {
            match self.registrar.on_invite(now, &request) {
                RegisterStep::Respond(response) => self.respond(now, &key, response),
                RegisterStep::Lookup { username } => {
                    self.pending_invites.insert(key.clone(), request.clone());
                    self.spawn_invite_lookup(key, request, source, username)
                }
            }
            return;
        }
        // A peer at an address no trunk allows may still prove a trunk's account (a PBX or
        // provider behind a changing address): digest in our realm, 407 first.
        let accounts: Vec<(&str, &str)> = calls
            .trunks
            .iter()
            .filter_map(|t| Some((t.config.username.as_deref()?, t.config.password.as_deref()?)))
            .collect();
        if !accounts.is_empty() {
            match self.registrar.on_trunk_invite(now, &request, &accounts) {
                Ok(i) => {
                    let name = accounts[i].0.to_owned();
                    tracing::debug!(account = %name, %source, "inbound call with a trunk's credentials");
                    self.accept_inbound(now, key, request, source);
                }
                Err(response) => self.respond(now, &key, response),
            }
            return;
        }
        tracing::info!(%source, "INVITE from an unknown address refused");
        let response = request.make_response(StatusCode::FORBIDDEN, Some(&self.tags.next()));
        self.respond(now, &key, response);
    }

    /// An INVITE from a trunk (by address or by its account) becomes an inbound call.
    fn accept_inbound(
        &mut self,
        now: Instant,
        key: TransactionKey,
        request: Request,
        source: Peer,
    ) {
        let Some(calls) = self.calls.as_mut() else {
            return;
        };
        let call_id = call_id_of(&request);
        let session = calls.b2bua.accept_inbound(
            now,
            &mut self.layer,
            IncomingInvite {
                key,
                request,
                source,
            },
        );
        // A refused INVITE has ended already, but its record is still queued: the id is
        // taken when the record is handled.
        calls.call_ids.insert(session, call_id);
        if let Some(at) = self.received_at {
            calls.invite_received.insert(session, at);
        }
    }

    fn accept_outbound(
        &mut self,
        now: Instant,
        key: TransactionKey,
        request: Request,
        source: Peer,
        agent: AgentId,
    ) {
        let Some(calls) = self.calls.as_mut() else {
            return;
        };
        let call_id = call_id_of(&request);
        let directory = CallDirectory {
            registry: &self.registry,
            trunks: &calls.trunks,
        };
        let session = calls.b2bua.accept_outbound(
            now,
            &mut self.layer,
            &directory,
            IncomingInvite {
                key,
                request,
                source,
            },
            agent,
        );
        // A pickup (the pickup code) joins a ringing call and has no record of its own.
        if let Some(session) = session {
            calls.call_ids.insert(session, call_id);
        }
    }

    /// Click-to-call: the agent's phones ring now (the outputs go out in the drain after
    /// this); the API learns the call's id or why none was placed.
    fn originate(&mut self, now: Instant, request: OriginateRequest) {
        let OriginateRequest {
            agent,
            number,
            reply,
        } = request;
        let result = match self.calls.as_mut() {
            None => Err(OriginateFailure::NotRunning),
            Some(calls) => {
                let directory = CallDirectory {
                    registry: &self.registry,
                    trunks: &calls.trunks,
                };
                let result =
                    calls
                        .b2bua
                        .originate(now, &mut self.layer, &directory, agent, &number);
                if let Ok(session) = result {
                    // No INVITE came in: the record's idempotency key gets its own id.
                    let key = format!("originate-{}-{session}", self.tags.next());
                    calls.call_ids.insert(session, key);
                }
                result.map_err(OriginateFailure::Refused)
            }
        };
        match &result {
            Ok(session) => tracing::info!(%session, agent = agent.0, "click-to-call started"),
            Err(e) => tracing::info!(agent = agent.0, error = %e, "click-to-call refused"),
        }
        let _ = reply.send(result);
    }

    /// The caller's card (`None`: no number, or the lookup failed) reaches routing.
    fn caller_card(
        &mut self,
        now: Instant,
        session: SessionId,
        card: Option<Arc<crm::CallerCard>>,
    ) {
        let Some(calls) = self.calls.as_mut() else {
            return;
        };
        let routing_card = card.as_deref().map(calls::crm_card).unwrap_or_default();
        if let Some(card) = card {
            if calls.call_ids.contains_key(&session) {
                calls.cards.insert(session, card);
            }
        }
        let directory = CallDirectory {
            registry: &self.registry,
            trunks: &calls.trunks,
        };
        calls
            .b2bua
            .caller_card(now, &mut self.layer, &directory, session, routing_card);
    }

    /// What the B2BUA asks for: CRM lookups (cache here, else off the loop), screen pops, call
    /// reports.
    fn on_output(&mut self, now: Instant, output: Output) {
        let Some(calls) = self.calls.as_mut() else {
            return;
        };
        match output {
            Output::LookupCaller { session, caller } => {
                // Most callers' cards are in the CRM's cache: answered here, without a task.
                let cached = match calls::caller_number(&caller) {
                    Some(number) => match calls.crm.lookup_cached(number) {
                        Some(card) => Ok(Some(card)),
                        None => Err(number.to_owned()),
                    },
                    None => Ok(None),
                };
                match cached {
                    Ok(card) => self.caller_card(now, session, card),
                    Err(number) => {
                        let crm = calls.crm.clone();
                        let input = self.input.clone();
                        tokio::spawn(async move {
                            let card = match crm.lookup(&number).await {
                                Ok(card) => Some(card),
                                Err(e) => {
                                    tracing::warn!(error = %e, "caller lookup failed");
                                    None
                                }
                            };
                            let _ = input.send(Input::CallerCard { session, card }).await;
                        });
                    }
                }
            }
            Output::AgentRinging {
                session,
                agent,
                caller,
            } => {
                if !calls.crm.hears(domain::EventKind::CallRinging) {
                    return;
                }
                let card = calls.cards.get(&session);
                let mut payload = serde_json::json!({
                    "agent_ids": [agent.0],
                    "number": calls::caller_number(&caller),
                    "card": card.map(|c| &**c),
                    "call": session.to_string(),
                    "origin": "sip",
                });
                // Inbound calls only (click-to-call has no INVITE); an extra key that other
                // consumers ignore.
                if let Some(at) = calls.invite_received.get(&session) {
                    payload["invite_received_at_us"] = unix_micros(*at).into();
                }
                calls.crm.bus().publish(events::Event::new(
                    domain::EventKind::CallRinging,
                    chrono::Utc::now(),
                    payload,
                ));
            }
            Output::CallAnswered { session, agent } => {
                tracing::debug!(%session, agent = ?agent.map(|a| a.0), "call answered");
                // The agent's panel starts its talk timer, the supervisor's board shows him
                // talking. (`session`, not `call`: consumers read `call` as a call record.)
                let heard = calls.crm.hears(domain::EventKind::CallAnswered);
                if let Some(agent) = agent.filter(|_| heard) {
                    let card = calls.cards.get(&session);
                    calls.crm.bus().publish(events::Event::new(
                        domain::EventKind::CallAnswered,
                        chrono::Utc::now(),
                        serde_json::json!({
                            "agent_ids": [agent.0],
                            "number": card.map(|c| &c.number),
                            "card": card.map(|c| &**c),
                            "session": session.to_string(),
                            "origin": "sip",
                        }),
                    ));
                }
            }
            Output::CallEnded(record) => {
                calls.cards.remove(&record.session);
                calls.invite_received.remove(&record.session);
                let call_id = calls
                    .call_ids
                    .remove(&record.session)
                    .unwrap_or_else(|| format!("{}-{}", self.tags.next(), record.session));
                let Some(report) = calls::call_report(&record, &call_id) else {
                    tracing::debug!(session = %record.session, "internal call not logged");
                    return;
                };
                calls.call_log.log(report);
            }
        }
    }

    fn spawn_invite_lookup(
        &mut self,
        key: TransactionKey,
        request: Request,
        source: Peer,
        username: String,
    ) {
        let store = self.store.clone();
        let input = self.input.clone();
        tokio::spawn(async move {
            let found = match registrar::lookup(store.as_ref(), &username, None).await {
                Ok(found) => Some(found),
                Err(e) => {
                    tracing::warn!(error = %e, "SIP credential lookup failed");
                    None
                }
            };
            let _ = input
                .send(Input::InviteCredentials {
                    key,
                    request: Box::new(request),
                    source,
                    found,
                })
                .await;
        });
    }

    /// The credentials of a REGISTER are looked up off the loop; the answer comes back as an
    /// input. Retransmissions meanwhile are absorbed by the server transaction.
    fn spawn_lookup(
        &mut self,
        key: TransactionKey,
        request: Request,
        source: Peer,
        username: String,
    ) {
        let store = self.store.clone();
        let input = self.input.clone();
        tokio::spawn(async move {
            let to_user = registrar::to_user(&request);
            let found = match registrar::lookup(store.as_ref(), &username, to_user.as_deref()).await
            {
                Ok(found) => Some(found),
                Err(e) => {
                    tracing::warn!(error = %e, "SIP credential lookup failed");
                    None
                }
            };
            let _ = input
                .send(Input::Credentials {
                    key,
                    request: Box::new(request),
                    source,
                    found,
                })
                .await;
        });
    }

    fn respond(&mut self, now: Instant, key: &TransactionKey, mut response: Response) {
        response
            .headers
            .push(HeaderName::Server, self.server_name.clone());
        if let Err(e) = self.layer.send_response(now, key, &response) {
            tracing::debug!(%key, error = %e, "response not sent");
        }
    }
}

/// Microseconds since the Unix epoch (0 for a clock set before 1970).
/// Whether a new call read from the socket at `received_at` waited so long for the loop that
/// it must be refused (see [`SHED_NEW_CALLS_AFTER`]). Inputs that came from no socket, and a
/// wall clock that stepped back, never count as waiting.
fn overloaded(received_at: Option<SystemTime>, now: SystemTime) -> bool {
    received_at
        .and_then(|at| now.duration_since(at).ok())
        .is_some_and(|waited| waited > SHED_NEW_CALLS_AFTER)
}

fn unix_micros(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

fn call_id_of(request: &Request) -> String {
    request
        .headers
        .typed::<CallId>()
        .ok()
        .flatten()
        .map(|CallId(id)| id)
        .unwrap_or_default()
}

fn push_allow(response: &mut Response, calls: bool) {
    let with_calls = if calls { &ALLOWED_CALLS[..] } else { &[] };
    for m in ALLOWED.into_iter().chain(with_calls.iter().cloned()) {
        response.headers.push_typed(&Allow(m));
    }
}

/// What a registering trunk registers: `sip:username@domain` at `sip:domain`, sent to the
/// outbound proxy or the host, our Contact at the advertised address.
fn registration_config(
    trunk: &Trunk,
    advertised: SocketAddr,
    user_agent: &str,
) -> RegistrationConfig {
    let config = &trunk.config;
    let username = config.username.clone().unwrap_or_default();
    let domain = config.domain();
    let parse = |text: String| -> sip_proto::Uri {
        text.parse().unwrap_or_else(|_| {
            sip_proto::Uri::Sip(sip_proto::SipUri::new(sip_proto::Host::Domain(
                domain.clone(),
            )))
        })
    };
    let contact_host = match advertised {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    };
    RegistrationConfig {
        aor: parse(format!("sip:{username}@{domain}")),
        registrar: parse(format!("sip:{domain}")),
        contact: parse(format!("sip:{username}@{contact_host}")),
        destination: Peer::udp(trunk.destination),
        via: advertised,
        credentials: match (&config.username, &config.password) {
            (Some(username), Some(password)) => Some(ClientCredentials {
                username: username.clone(),
                password: password.clone(),
            }),
            _ => None,
        },
        expires: config.expires,
        instance: format!("rg{:08x}", rand::random::<u32>()),
        retry: RetryPolicy::default(),
        user_agent: Some(user_agent.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_call_that_waited_past_the_limit_finds_the_loop_overloaded() {
        let read = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let after = |ms| read + Duration::from_millis(ms);
        assert!(!overloaded(Some(read), after(20)), "a usual wait");
        assert!(!overloaded(Some(read), after(120)), "a pause of the loop");
        assert!(!overloaded(Some(read), after(250)), "exactly the limit");
        assert!(overloaded(Some(read), after(251)), "past the limit");
        assert!(overloaded(Some(read), after(2_000)));
        assert!(
            !overloaded(Some(after(50)), read),
            "a wall clock that stepped back is no wait"
        );
        assert!(!overloaded(None, after(5_000)), "no socket, no wait");
    }
}

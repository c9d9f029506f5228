//! The endpoint loop: owns the transaction layer and the services, and is the only place
//! where SIP state changes. Sockets and store lookups run in other tasks and talk to it
//! through one input queue.

use crate::registrar::{self, RegisterStep, RegistrarService, UserLookup};
use crate::registry::Registry;
use crate::transport::Sockets;
use crate::{SipConfig, TagSource};
use sip_core::{Instant, Peer, TransactionEvent, TransactionKey, TransactionLayer};
use sip_proto::bytes::Bytes;
use sip_proto::typed::Allow;
use sip_proto::{HeaderName, Message, Method, Request, Response, StatusCode};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::sync::mpsc;

/// Inputs queued for the loop before socket readers wait (backpressure, not loss).
pub(crate) const INPUT_QUEUE: usize = 8192;
/// Inputs handled before the transaction layer's output is drained and timers are checked.
const BATCH: usize = 64;
/// How often lapsed bindings are swept from memory (they stop counting at once anyway).
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The methods this server handles; the `Allow` of OPTIONS and 405 answers.
const ALLOWED: [Method; 2] = [Method::Register, Method::Options];

/// Something for the loop.
#[derive(Debug)]
pub(crate) enum Input {
    /// A UDP datagram.
    Datagram { source: Peer, data: Bytes },
    /// A message framed from a stream.
    Message { source: Peer, message: Message },
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
}

impl Endpoint {
    pub(crate) fn new(
        config: SipConfig,
        registry: Registry,
        store: Arc<dyn Store>,
        sockets: Sockets,
        input: mpsc::Sender<Input>,
    ) -> Endpoint {
        let tags = Arc::new(TagSource::new());
        // Nonces are signed with a per-process key: after a restart a phone's old nonce is
        // simply challenged again.
        let secret: [u8; 32] = rand::random();
        let registrar =
            RegistrarService::new(registry.clone(), &config.auth, &secret, tags.clone());
        Endpoint {
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
        loop {
            let wake = match self.layer.poll_timeout() {
                Some(t) if t < next_sweep => t,
                _ => next_sweep,
            };
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
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
            if now >= next_sweep {
                self.registry.sweep(now);
                next_sweep = now + SWEEP_EVERY;
            }
            self.drain(now);
        }
        tracing::debug!(
            transactions = self.layer.len(),
            connections = self.sockets.connection_count(),
            "SIP service stopped"
        );
    }

    fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Datagram { source, data } => {
                if let Err(e) = self.layer.handle_datagram(now, source, &data) {
                    // Unparsable garbage is dropped; an invalid request with a readable Via
                    // has been answered 400 (or whatever the error calls for) by the layer.
                    tracing::trace!(%source, error = %e, "datagram refused");
                }
            }
            Input::Message { source, message } => {
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
        }
        self.drain(now);
    }

    /// Hands events to their handlers and puts transmits on the wire until both run dry.
    fn drain(&mut self, now: Instant) {
        loop {
            let mut idle = true;
            while let Some(event) = self.layer.poll_event() {
                idle = false;
                self.on_event(now, event);
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
                // Every INVITE is answered at once today, so there is never one to cancel.
                let status = match invite {
                    Some(_) => StatusCode::OK,
                    None => StatusCode::CALL_DOES_NOT_EXIST,
                };
                let response = request.make_response(status, Some(&self.tags.next()));
                self.respond(now, &key, response);
            }
            TransactionEvent::Ack { .. } => {}
            TransactionEvent::Response { .. } | TransactionEvent::StrayResponse { .. } => {
                // No client transactions yet (trunk registration and the B2BUA will have).
            }
            TransactionEvent::Timeout { key, timer } => {
                tracing::debug!(%key, ?timer, "transaction timed out");
            }
            TransactionEvent::TransportError { key } => {
                tracing::debug!(%key, "transport error");
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
                push_allow(&mut r);
                r
            }
            // Calls need the B2BUA (issue 4, next step); until it lands an INVITE is refused
            // as not implemented, so a phone shows a clear failure instead of ringing forever.
            Method::Invite => request.make_response(StatusCode::NOT_IMPLEMENTED, Some(&tag)),
            // No dialogs exist, so an in-dialog request names none of ours.
            Method::Bye | Method::Prack | Method::Update | Method::Info => {
                request.make_response(StatusCode::CALL_DOES_NOT_EXIST, Some(&tag))
            }
            Method::Extension(_) => request.make_response(StatusCode::NOT_IMPLEMENTED, Some(&tag)),
            _ => {
                let mut r = request.make_response(StatusCode::METHOD_NOT_ALLOWED, Some(&tag));
                push_allow(&mut r);
                r
            }
        };
        self.respond(now, &key, response);
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

fn push_allow(response: &mut Response) {
    for m in ALLOWED {
        response.headers.push_typed(&Allow(m));
    }
}

//! Ringbase's SIP network shell: sockets and timers around the sans-IO `sip-core`, and the
//! services that answer requests (the registrar, for now).
//!
//! # Layout
//! - [`framing`]: [`StreamFramer`] cuts messages out of a TCP stream by Content-Length and
//!   spots RFC 5626 keep-alive pings. Sans-IO.
//! - `transport` (private): UDP and TCP listeners (IPv4 and IPv6), one task per socket or
//!   connection; everything they read goes to the endpoint loop as an input.
//! - `endpoint` (private): the loop that owns the [`sip_core::TransactionLayer`]. It feeds it
//!   what the sockets received and the timer wake-ups, executes its transmits, and answers
//!   requests: REGISTER through the registrar, OPTIONS with 200, everything else 405/501.
//!   `received`/`rport` (RFC 3581) are stamped by the transaction layer, which also picks where
//!   a response goes (the source port when `rport` was asked for).
//! - [`registrar`]: [`RegistrarService`], digest authentication against the users' stored H(A1)
//!   and the bindings (sans-IO; the store lookup runs off the loop).
//! - [`registry`]: [`Registry`], the bindings shared with the HTTP API, and its
//!   [`Registry::originate`]: the API's click-to-call, queued to the loop, which starts it
//!   with [`sip_b2bua::B2bua::originate`].
//! - [`trunks`]: trunk settings ([`TrunkConfig`]: account, domain, host, outbound proxy,
//!   registration, allowed sources), their resolution, and [`Trunks`], the registration
//!   status shared with the API. The loop runs one `sip_core` registration client per
//!   registering trunk through its transaction layer.
//! - [`calls`]: the B2BUA's directory over the bindings and trunks, and the
//!   CRM conversions. With [`CallServices`] the loop drives [`sip_b2bua::B2bua`]: INVITEs
//!   from a trunk's addresses are inbound calls, from a registered phone's address they are
//!   digest-checked (407) outbound calls, from anywhere else 403. Caller lookups run off the
//!   loop; `call.ringing` goes on the event bus; every finished call is logged once (idempotency
//!   key: Call-ID and leg) by the call log writer, in batches through `crm::Crm::log_calls`
//!   (group commit; retried until written; drained at shutdown).
//!
//! # Driving
//! [`start`] binds every address on UDP and TCP (same port; port 0 picks one) and spawns the
//! loop; the returned [`SipService`] tells the bound addresses and waits for the end, which
//! comes when the `shutdown` future given to `start` resolves.

pub mod calls;
pub mod framing;
pub mod registrar;
pub mod registry;
pub mod trunks;

mod call_log;
mod endpoint;
mod transport;

pub use calls::CallServices;
pub use framing::{Frame, StreamFramer};
pub use registrar::{hash_credentials, AuthConfig, RegistrarService};
pub use registry::{OriginateFailure, RegistrationInfo, Registry, SipLoad};
pub use sip_b2bua::{OriginateError, SessionId};
pub use sip_core::digest::DigestAlgorithm;
pub use sip_core::registrar::RegistrarConfig;
pub use sip_core::TransportProtocol;
pub use trunks::{TrunkConfig, TrunkError, TrunkStatus, Trunks};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use store::Store;

/// What the SIP service listens on and how it behaves.
#[derive(Debug, Clone)]
pub struct SipConfig {
    /// Addresses to listen on, each with UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// Digest authentication of REGISTER.
    pub auth: AuthConfig,
    /// RFC 3261 timer values.
    pub transactions: sip_core::TransactionConfig,
    /// The `Server` header of our responses.
    pub server_name: String,
    /// The address calls advertise in Via and Contact (what phones and trunks reach us
    /// at); default: the first UDP listening address.
    pub public: Option<SocketAddr>,
}

impl SipConfig {
    /// Defaults for listening on `listen`.
    pub fn new(listen: Vec<SocketAddr>) -> SipConfig {
        SipConfig {
            listen,
            auth: AuthConfig::default(),
            transactions: sip_core::TransactionConfig::default(),
            server_name: format!("Ringbase/{}", env!("CARGO_PKG_VERSION")),
            public: None,
        }
    }
}

/// A running SIP service.
#[derive(Debug)]
pub struct SipService {
    local: Vec<(TransportProtocol, SocketAddr)>,
    task: tokio::task::JoinHandle<()>,
}

impl SipService {
    /// Every bound socket: protocol and local address (with the port picked for port 0).
    pub fn local_addrs(&self) -> &[(TransportProtocol, SocketAddr)] {
        &self.local
    }

    /// Waits until the service has stopped (after the shutdown future resolved).
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// Binds the sockets and starts the service. The registrar's bindings live in `registry`;
/// SIP credentials are read from `store`.
pub async fn start(
    config: SipConfig,
    registry: Registry,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<SipService> {
    start_with_calls(config, registry, store, None, shutdown).await
}

/// Like [`start`], and with `calls` INVITEs are handled by the B2BUA: from a trunk's
/// addresses as inbound calls, from registered phones (digest-authenticated) as outbound
/// calls, from anywhere else refused 403. Without `calls`, INVITEs are answered 501.
pub async fn start_with_calls(
    config: SipConfig,
    registry: Registry,
    store: Arc<dyn Store>,
    calls: Option<CallServices>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<SipService> {
    let (input_tx, input_rx) = tokio::sync::mpsc::channel(endpoint::INPUT_QUEUE);
    let sockets = transport::bind_all(&config.listen, input_tx.clone()).await?;
    let local = sockets.local_addrs();
    let endpoint = endpoint::Endpoint::new(config, registry, store, sockets, input_tx, calls);
    let task = tokio::spawn(endpoint.run(input_rx, shutdown));
    Ok(SipService { local, task })
}

/// Unique To tags for our responses: a random prefix per process and a counter.
#[derive(Debug)]
pub struct TagSource {
    prefix: u32,
    counter: AtomicU64,
}

impl TagSource {
    /// A source with a random prefix.
    pub fn new() -> TagSource {
        TagSource {
            prefix: rand::random(),
            counter: AtomicU64::new(0),
        }
    }

    /// The next tag.
    pub fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("rb{:08x}{n:x}", self.prefix)
    }
}

impl Default for TagSource {
    fn default() -> Self {
        TagSource::new()
    }
}

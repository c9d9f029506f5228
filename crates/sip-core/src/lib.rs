//! The SIP core of Ringbase, sans-IO: transactions, digest authentication, registrar bindings
//! and dialogs.
//!
//! Nothing here reads a clock, opens a socket or spawns a task. Every state machine takes its
//! inputs (a received message, a timer that fired, an action of the transaction user) together
//! with the current [`Instant`], and hands back what to send where, when to be woken up, and
//! what happened. The shell (`sip-net`) owns sockets and sleeps; the tests own a simulated
//! network and a virtual clock, and assert RFC 3261 timer values to the millisecond.
//!
//! # Layout
//! - [`time`]: [`Instant`], the time that is passed in.
//! - [`transport`]: [`Peer`] (protocol and address) and [`Transmit`] (bytes to send there).
//! - [`transaction`]: the four RFC 3261 §17 state machines and [`TransactionLayer`], which
//!   owns them, routes incoming messages and runs their timers.
//! - [`digest`]: digest authentication, MD5 and SHA-256: a stateless server (HMAC-signed
//!   nonces that carry their issue time) and the client's answer to 401/407.
//! - [`dialog`]: dialog state (RFC 3261 §12): id, route set, remote target, CSeq, and the
//!   in-dialog requests built from them.
//! - [`b2bua`]: [`LegPairs`](b2bua::LegPairs) pairs the caller's leg with the legs rung
//!   for it.
//! - [`registration`]: [`RegistrationClient`](registration::RegistrationClient), the client
//!   side of REGISTER: a trunk's registration to its provider, refreshed and retried.
//! - [`registrar`]: bindings per address of record (RFC 3261 §10.3), with the source address
//!   and User-Agent of each REGISTER.

pub mod b2bua;
pub mod dialog;
pub mod digest;
pub mod registrar;
pub mod registration;
pub mod time;
pub mod transaction;
pub mod transport;

pub use time::Instant;
pub use transaction::{
    TransactionConfig, TransactionError, TransactionEvent, TransactionKey, TransactionLayer,
};
pub use transport::{Peer, Transmit, TransportProtocol};

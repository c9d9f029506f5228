//! Transactions (RFC 3261 §17, with the RFC 6026 Accepted states).
//!
//! Two levels, both sans-IO:
//! - the four state machines ([`ClientInvite`], [`ClientNonInvite`], [`ServerInvite`],
//!   [`ServerNonInvite`]): each input (a message, a timer firing, a TU action) appends
//!   [`Output`]s — bytes to send, timers to start or cancel, messages for the TU, termination.
//!   They know durations, never instants.
//! - [`TransactionLayer`]: owns many transactions keyed by [`TransactionKey`], routes incoming
//!   messages to them (§17.1.3, §17.2.3), turns timer requests into deadlines, and is driven
//!   with `now` like `quinn-proto`: `handle_*` in, `poll_transmit` / `poll_event` /
//!   `poll_timeout` out.

mod client;
mod key;
mod layer;
mod server;

pub use client::{ClientInvite, ClientInviteState, ClientNonInvite, ClientNonInviteState};
pub use key::{Role, TransactionKey};
pub use layer::{IncomingError, TransactionError, TransactionEvent, TransactionLayer};
pub use server::{ServerInvite, ServerInviteState, ServerNonInvite, ServerNonInviteState};

use crate::transport::Transmit;
use sip_proto::{Request, Response};
use std::time::Duration;

/// The timer values of RFC 3261 Table 4, and the delay before an INVITE server transaction
/// answers 100 Trying on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionConfig {
    /// T1, the round-trip estimate: 500 ms.
    pub t1: Duration,
    /// T2, the cap on non-INVITE request and INVITE response retransmission intervals: 4 s.
    pub t2: Duration,
    /// T4, the time a message stays in the network: 5 s.
    pub t4: Duration,
    /// Timer D on unreliable transports; RFC 3261 asks for at least 32 s.
    pub timer_d: Duration,
    /// How long an INVITE server transaction waits for the TU's first response before it
    /// sends 100 Trying itself (§17.2.1: "200 ms"); zero sends it at once.
    pub trying_delay: Duration,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            trying_delay: Duration::from_millis(200),
        }
    }
}

impl TransactionConfig {
    /// 64*T1: timers B, F, H, J (and L, M of RFC 6026), and the wait for a final response
    /// after a CANCEL (§9.1).
    pub fn timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// The timers of RFC 3261 §17 (and RFC 6026), named as in the RFC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// INVITE client: retransmit the INVITE (unreliable only), doubling from T1.
    A,
    /// INVITE client: give up waiting for a response, 64*T1.
    B,
    /// INVITE client: absorb retransmitted non-2xx finals after the ACK.
    D,
    /// non-INVITE client: retransmit the request (unreliable only), doubling up to T2.
    E,
    /// non-INVITE client: give up, 64*T1.
    F,
    /// INVITE server: retransmit the non-2xx final (unreliable only), doubling up to T2.
    G,
    /// INVITE server: give up waiting for the ACK, 64*T1.
    H,
    /// INVITE server: absorb retransmitted ACKs, T4 (zero on reliable transports).
    I,
    /// non-INVITE server: absorb retransmitted requests, 64*T1 (zero on reliable).
    J,
    /// non-INVITE client: absorb retransmitted responses, T4 (zero on reliable).
    K,
    /// INVITE server, RFC 6026: absorb INVITE retransmissions after a 2xx, 64*T1.
    L,
    /// INVITE client, RFC 6026: pass 2xx retransmissions (other forks) to the TU, 64*T1.
    M,
    /// INVITE server: send 100 Trying if the TU has not answered yet.
    Trying,
    /// INVITE client: a CANCEL went out and no final response has come 64*T1 later; the
    /// transaction gives up (§9.1). Timer B no longer runs once a provisional arrived, so
    /// without this a peer that never answers would keep the transaction forever.
    Cancel,
}

impl Timer {
    /// Every timer, in declaration order (index = `self as usize`).
    pub const ALL: [Timer; 14] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::K,
        Timer::L,
        Timer::M,
        Timer::Trying,
        Timer::Cancel,
    ];
}

/// What a transaction state machine asks of its owner after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Put these bytes on the wire.
    Transmit(Transmit),
    /// Fire `timer` after `after` (replacing a pending one of the same name).
    StartTimer {
        /// Which timer.
        timer: Timer,
        /// Delay from now.
        after: Duration,
    },
    /// Forget a pending timer.
    CancelTimer(Timer),
    /// A response for the TU (client transactions).
    Response(Response),
    /// An ACK that matched an INVITE server transaction in the Accepted state: for the TU.
    Ack(Request),
    /// The transaction timed out (Timer B, F or H, or no final response 64*T1 after a
    /// CANCEL): the TU treats it as 408 (§8.1.3.1).
    Timeout(Timer),
    /// The transport reported a failure sending a message of this transaction.
    TransportError,
    /// The transaction is over; drop it.
    Terminated,
}

/// Appends `Output::StartTimer`, or terminates at once for a zero wait: a reliable
/// transport's Timer D/I/J/K "fires" in the same instant (§17.1.1.2 and friends).
fn wait_then_terminate(timer: Timer, after: Duration, out: &mut Vec<Output>) -> bool {
    if after.is_zero() {
        out.push(Output::Terminated);
        true
    } else {
        out.push(Output::StartTimer { timer, after });
        false
    }
}

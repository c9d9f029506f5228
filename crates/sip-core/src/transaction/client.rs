//! Client transactions: INVITE (§17.1.1, RFC 6026 Accepted state) and non-INVITE (§17.1.2).

use super::{wait_then_terminate, Output, Timer, TransactionConfig};
use crate::transport::{Peer, Transmit};
use sip_proto::bytes::Bytes;
use sip_proto::{Request, Response};
use std::time::Duration;

/// States of an INVITE client transaction (Figure 5 of RFC 3261, Accepted from RFC 6026).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientInviteState {
    /// INVITE sent, nothing heard; Timer A retransmits, Timer B gives up.
    Calling,
    /// A provisional response arrived; the request is no longer retransmitted.
    Proceeding,
    /// A 2xx arrived and went to the TU, which sends the ACK itself (a new transaction's
    /// worth of routing); further 2xx (retransmissions, other forks) go to the TU until
    /// Timer M.
    Accepted,
    /// A non-2xx final arrived and was ACKed; retransmissions of it are ACKed again until
    /// Timer D.
    Completed,
    /// Over.
    Terminated,
}

/// An INVITE client transaction.
///
/// Inputs: [`start`](Self::start), [`on_response`](Self::on_response),
/// [`on_timer`](Self::on_timer), [`on_transport_error`](Self::on_transport_error). Each appends
/// [`Output`]s; after [`Output::Terminated`] further inputs do nothing.
#[derive(Debug, Clone)]
pub struct ClientInvite {
    state: ClientInviteState,
    /// The INVITE (CANCEL and the ACK of an error are made from it) and its bytes (Timer A),
    /// until a final response: a finished transaction waits 32 s and keeps neither. Boxed:
    /// every transaction in the layer is as large as its largest kind, and most of them are
    /// finished ones without a request.
    request: Option<Box<Request>>,
    request_bytes: Bytes,
    ack_bytes: Option<Bytes>,
    destination: Peer,
    config: TransactionConfig,
    /// The next Timer A interval: T1, then doubled at every firing (no cap for INVITE).
    timer_a: Duration,
    /// A CANCEL went out; [`Timer::Cancel`] runs until a final response.
    cancel_sent: bool,
}

impl ClientInvite {
    /// Sends the INVITE and starts Timers A (unreliable transports only) and B.
    pub fn start(
        request: Request,
        destination: Peer,
        config: TransactionConfig,
        out: &mut Vec<Output>,
    ) -> ClientInvite {
        let request_bytes = Bytes::from(request.to_bytes());
        out.push(Output::Transmit(Transmit {
            destination,
            payload: request_bytes.clone(),
        }));
        if !destination.protocol.is_reliable() {
            out.push(Output::StartTimer {
                timer: Timer::A,
                after: config.t1,
            });
        }
        out.push(Output::StartTimer {
            timer: Timer::B,
            after: config.timeout(),
        });
        ClientInvite {
            state: ClientInviteState::Calling,
            request: Some(Box::new(request)),
            request_bytes,
            ack_bytes: None,
            destination,
            config,
            timer_a: config.t1,
            cancel_sent: false,
        }
    }

    /// The current state.
    pub fn state(&self) -> ClientInviteState {
        self.state
    }

    /// The INVITE this transaction sends, until a final response arrived.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// Where the INVITE goes.
    pub fn destination(&self) -> Peer {
        self.destination
    }

    /// The TU has sent a CANCEL for this INVITE: if no final response arrives within 64*T1
    /// from now, the transaction ends with [`Output::Timeout`]`(`[`Timer::Cancel`]`)` (§9.1).
    /// Does nothing once a final response has arrived; a second CANCEL does not restart the
    /// wait.
    pub fn on_cancel_sent(&mut self, out: &mut Vec<Output>) {
        use ClientInviteState::*;
        if matches!(self.state, Calling | Proceeding) && !self.cancel_sent {
            self.cancel_sent = true;
            out.push(Output::StartTimer {
                timer: Timer::Cancel,
                after: self.config.timeout(),
            });
        }
    }

    /// A response whose top Via branch and CSeq method matched this transaction.
    pub fn on_response(&mut self, response: Response, out: &mut Vec<Output>) {
        use ClientInviteState::*;
        let status = response.status;
        match self.state {
            Calling | Proceeding if status.is_provisional() => {
                if self.state == Calling {
                    self.state = Proceeding;
                    out.push(Output::CancelTimer(Timer::A));
                    // Timer B only guards the Calling state; once the peer has answered, the
                    // TU decides how long to ring (Timer C of a proxy, a ring timeout ...).
                    out.push(Output::CancelTimer(Timer::B));
                }
                out.push(Output::Response(response));
            }
            Calling | Proceeding if status.is_success() => {
                self.state = Accepted;
                self.request = None;
                self.request_bytes = Bytes::new();
                out.push(Output::CancelTimer(Timer::A));
                out.push(Output::CancelTimer(Timer::B));
                out.push(Output::CancelTimer(Timer::Cancel));
                out.push(Output::Response(response));
                out.push(Output::StartTimer {
                    timer: Timer::M,
                    after: self.config.timeout(),
                });
            }
            Calling | Proceeding => {
                self.state = Completed;
                out.push(Output::CancelTimer(Timer::A));
                out.push(Output::CancelTimer(Timer::B));
                out.push(Output::CancelTimer(Timer::Cancel));
                if let Some(request) = self.request.take() {
                    let ack = Bytes::from(request.make_ack_for_error(&response).to_bytes());
                    self.send(ack.clone(), out);
                    self.ack_bytes = Some(ack);
                }
                self.request_bytes = Bytes::new();
                out.push(Output::Response(response));
                let wait = if self.destination.protocol.is_reliable() {
                    Duration::ZERO
                } else {
                    self.config.timer_d
                };
                if wait_then_terminate(Timer::D, wait, out) {
                    self.state = Terminated;
                }
            }
            // RFC 6026 §8.4: every 2xx in Accepted goes to the TU, which ACKs it again.
            Accepted if status.is_success() => out.push(Output::Response(response)),
            // A retransmitted final: our ACK was lost, send it again; the TU has seen it.
            Completed if status.is_final() => {
                if let Some(ack) = self.ack_bytes.clone() {
                    self.send(ack, out);
                }
            }
            Accepted | Completed | Terminated => {}
        }
    }

    /// A timer this transaction started has fired.
    pub fn on_timer(&mut self, timer: Timer, out: &mut Vec<Output>) {
        use ClientInviteState::*;
        match (self.state, timer) {
            (Calling, Timer::A) => {
                self.send(self.request_bytes.clone(), out);
                self.timer_a = self.timer_a.saturating_mul(2);
                out.push(Output::StartTimer {
                    timer: Timer::A,
                    after: self.timer_a,
                });
            }
            (Calling, Timer::B) => {
                out.push(Output::Timeout(Timer::B));
                self.terminate(out);
            }
            (Calling | Proceeding, Timer::Cancel) => {
                out.push(Output::CancelTimer(Timer::A));
                out.push(Output::CancelTimer(Timer::B));
                out.push(Output::Timeout(Timer::Cancel));
                self.terminate(out);
            }
            (Completed, Timer::D) | (Accepted, Timer::M) => self.terminate(out),
            _ => {}
        }
    }

    /// The transport failed to send one of this transaction's messages (§17.1.4).
    pub fn on_transport_error(&mut self, out: &mut Vec<Output>) {
        if self.state != ClientInviteState::Terminated {
            out.push(Output::TransportError);
            self.terminate(out);
        }
    }

    fn send(&self, payload: Bytes, out: &mut Vec<Output>) {
        out.push(Output::Transmit(Transmit {
            destination: self.destination,
            payload,
        }));
    }

    fn terminate(&mut self, out: &mut Vec<Output>) {
        self.state = ClientInviteState::Terminated;
        out.push(Output::Terminated);
    }
}

/// States of a non-INVITE client transaction (Figure 6 of RFC 3261).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientNonInviteState {
    /// Request sent; Timer E retransmits, doubling up to T2.
    Trying,
    /// A provisional response arrived; Timer E retransmits every T2.
    Proceeding,
    /// A final response arrived; retransmissions of it are absorbed until Timer K.
    Completed,
    /// Over.
    Terminated,
}

/// A non-INVITE client transaction. Same driving rules as [`ClientInvite`].
#[derive(Debug, Clone)]
pub struct ClientNonInvite {
    state: ClientNonInviteState,
    request_bytes: Bytes,
    destination: Peer,
    config: TransactionConfig,
    /// The next Timer E interval in the Trying state: T1, doubling, capped at T2.
    timer_e: Duration,
}

impl ClientNonInvite {
    /// Sends the request and starts Timers E (unreliable transports only) and F.
    pub fn start(
        request: &Request,
        destination: Peer,
        config: TransactionConfig,
        out: &mut Vec<Output>,
    ) -> ClientNonInvite {
        let request_bytes = Bytes::from(request.to_bytes());
        out.push(Output::Transmit(Transmit {
            destination,
            payload: request_bytes.clone(),
        }));
        if !destination.protocol.is_reliable() {
            out.push(Output::StartTimer {
                timer: Timer::E,
                after: config.t1,
            });
        }
        out.push(Output::StartTimer {
            timer: Timer::F,
            after: config.timeout(),
        });
        ClientNonInvite {
            state: ClientNonInviteState::Trying,
            request_bytes,
            destination,
            config,
            timer_e: config.t1,
        }
    }

    /// The current state.
    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    /// Where the request goes.
    pub fn destination(&self) -> Peer {
        self.destination
    }

    /// A response whose top Via branch and CSeq method matched this transaction.
    pub fn on_response(&mut self, response: Response, out: &mut Vec<Output>) {
        use ClientNonInviteState::*;
        match self.state {
            Trying | Proceeding if response.status.is_provisional() => {
                self.state = Proceeding;
                out.push(Output::Response(response));
            }
            Trying | Proceeding => {
                self.state = Completed;
                out.push(Output::CancelTimer(Timer::E));
                out.push(Output::CancelTimer(Timer::F));
                out.push(Output::Response(response));
                let wait = if self.destination.protocol.is_reliable() {
                    Duration::ZERO
                } else {
                    self.config.t4
                };
                if wait_then_terminate(Timer::K, wait, out) {
                    self.state = Terminated;
                }
            }
            Completed | Terminated => {}
        }
    }

    /// A timer this transaction started has fired.
    pub fn on_timer(&mut self, timer: Timer, out: &mut Vec<Output>) {
        use ClientNonInviteState::*;
        match (self.state, timer) {
            (Trying, Timer::E) => {
                self.send(out);
                self.timer_e = self.timer_e.saturating_mul(2).min(self.config.t2);
                out.push(Output::StartTimer {
                    timer: Timer::E,
                    after: self.timer_e,
                });
            }
            (Proceeding, Timer::E) => {
                self.send(out);
                out.push(Output::StartTimer {
                    timer: Timer::E,
                    after: self.config.t2,
                });
            }
            (Trying | Proceeding, Timer::F) => {
                out.push(Output::Timeout(Timer::F));
                self.terminate(out);
            }
            (Completed, Timer::K) => self.terminate(out),
            _ => {}
        }
    }

    /// The transport failed to send the request (§17.1.4).
    pub fn on_transport_error(&mut self, out: &mut Vec<Output>) {
        if self.state != ClientNonInviteState::Terminated {
            out.push(Output::TransportError);
            self.terminate(out);
        }
    }

    fn send(&self, out: &mut Vec<Output>) {
        out.push(Output::Transmit(Transmit {
            destination: self.destination,
            payload: self.request_bytes.clone(),
        }));
    }

    fn terminate(&mut self, out: &mut Vec<Output>) {
        self.state = ClientNonInviteState::Terminated;
        out.push(Output::Terminated);
    }
}

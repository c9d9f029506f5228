//! Server transactions: INVITE (§17.2.1, RFC 6026 Accepted state) and non-INVITE (§17.2.2).

use super::{wait_then_terminate, Output, Timer, TransactionConfig, TransactionError};
use crate::transport::{Peer, Transmit};
use sip_proto::bytes::Bytes;
use sip_proto::{Method, Request, Response, StatusCode};
use std::time::Duration;

/// States of an INVITE server transaction (Figure 7 of RFC 3261, Accepted from RFC 6026).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerInviteState {
    /// The INVITE went to the TU; retransmissions get the latest provisional response.
    Proceeding,
    /// The TU sent a 2xx. The TU retransmits it (through this transaction) until the ACK,
    /// which arrives on another branch; INVITE retransmissions are absorbed until Timer L.
    Accepted,
    /// A non-2xx final was sent; Timer G retransmits it until the ACK, Timer H gives up.
    Completed,
    /// The ACK arrived; further ACKs are absorbed until Timer I.
    Confirmed,
    /// Over.
    Terminated,
}

/// An INVITE server transaction.
///
/// Inputs: [`new`](Self::new) (the INVITE), [`on_request`](Self::on_request) (retransmitted
/// INVITE or ACK), [`send_response`](Self::send_response) (from the TU),
/// [`on_timer`](Self::on_timer), [`on_transport_error`](Self::on_transport_error).
#[derive(Debug, Clone)]
pub struct ServerInvite {
    state: ServerInviteState,
    /// Until the final response (the 100 Trying is made from it). Not kept afterwards: a
    /// finished transaction waits 32 s for retransmissions, and under call load thousands do.
    /// Boxed for the same reason (see `ClientInvite::request`).
    request: Option<Box<Request>>,
    destination: Peer,
    config: TransactionConfig,
    last_response: Option<Bytes>,
    /// The next Timer G interval: T1, doubling, capped at T2.
    timer_g: Duration,
}

impl ServerInvite {
    /// Takes a new INVITE. Sends 100 Trying at once if the configured delay is zero,
    /// otherwise starts the Trying timer: the TU usually answers within it and the 100 is
    /// then never needed (§17.2.1).
    pub fn new(
        request: Request,
        response_destination: Peer,
        config: TransactionConfig,
        out: &mut Vec<Output>,
    ) -> ServerInvite {
        let mut tx = ServerInvite {
            state: ServerInviteState::Proceeding,
            request: Some(Box::new(request)),
            destination: response_destination,
            config,
            last_response: None,
            timer_g: config.t1,
        };
        if config.trying_delay.is_zero() {
            tx.send_trying(out);
        } else {
            out.push(Output::StartTimer {
                timer: Timer::Trying,
                after: config.trying_delay,
            });
        }
        tx
    }

    /// The current state.
    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    /// The INVITE, until a final response was sent.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// Where responses go.
    pub fn destination(&self) -> Peer {
        self.destination
    }

    /// A request that matched this transaction: a retransmitted INVITE or an ACK.
    pub fn on_request(&mut self, request: Request, out: &mut Vec<Output>) {
        use ServerInviteState::*;
        if request.method == Method::Ack {
            match self.state {
                Completed => {
                    self.state = Confirmed;
                    out.push(Output::CancelTimer(Timer::G));
                    out.push(Output::CancelTimer(Timer::H));
                    let wait = if self.destination.protocol.is_reliable() {
                        Duration::ZERO
                    } else {
                        self.config.t4
                    };
                    if wait_then_terminate(Timer::I, wait, out) {
                        self.state = Terminated;
                    }
                }
                // RFC 6026 §8.7: an ACK in Accepted is the TU's business (it ends 2xx
                // retransmission); normally it carries another branch and never gets here.
                Accepted => out.push(Output::Ack(request)),
                Proceeding | Confirmed | Terminated => {}
            }
            return;
        }
        // A retransmitted INVITE: the response it is waiting for was lost, or is late.
        if matches!(self.state, Proceeding | Completed) {
            if let Some(last) = self.last_response.clone() {
                self.send(last, out);
            }
        }
    }

    /// The TU's response to the INVITE.
    ///
    /// Errors: a response after a non-2xx final, or anything but a 2xx after a 2xx.
    pub fn send_response(
        &mut self,
        response: &Response,
        out: &mut Vec<Output>,
    ) -> Result<(), TransactionError> {
        use ServerInviteState::*;
        let status = response.status;
        match self.state {
            Proceeding => {
                out.push(Output::CancelTimer(Timer::Trying));
                let bytes = Bytes::from(response.to_bytes());
                self.send(bytes.clone(), out);
                if status.is_provisional() {
                    self.last_response = Some(bytes);
                    return Ok(());
                }
                self.request = None;
                if status.is_success() {
                    self.state = Accepted;
                    self.last_response = None;
                    out.push(Output::StartTimer {
                        timer: Timer::L,
                        after: self.config.timeout(),
                    });
                } else {
                    self.state = Completed;
                    self.last_response = Some(bytes);
                    if !self.destination.protocol.is_reliable() {
                        out.push(Output::StartTimer {
                            timer: Timer::G,
                            after: self.timer_g,
                        });
                    }
                    out.push(Output::StartTimer {
                        timer: Timer::H,
                        after: self.config.timeout(),
                    });
                }
                Ok(())
            }
            // The TU's own 2xx retransmissions (§13.3.1.4) travel through the transaction.
            Accepted if status.is_success() => {
                self.send(Bytes::from(response.to_bytes()), out);
                Ok(())
            }
            state => Err(TransactionError::InvalidState {
                action: "send a response",
                state: format!("{state:?}"),
            }),
        }
    }

    /// A timer this transaction started has fired.
    pub fn on_timer(&mut self, timer: Timer, out: &mut Vec<Output>) {
        use ServerInviteState::*;
        match (self.state, timer) {
            (Proceeding, Timer::Trying) if self.last_response.is_none() => self.send_trying(out),
            (Completed, Timer::G) => {
                if let Some(last) = self.last_response.clone() {
                    self.send(last, out);
                }
                self.timer_g = self.timer_g.saturating_mul(2).min(self.config.t2);
                out.push(Output::StartTimer {
                    timer: Timer::G,
                    after: self.timer_g,
                });
            }
            (Completed, Timer::H) => {
                out.push(Output::Timeout(Timer::H));
                self.terminate(out);
            }
            (Confirmed, Timer::I) | (Accepted, Timer::L) => self.terminate(out),
            _ => {}
        }
    }

    /// The transport failed to deliver a response (§17.2.4).
    pub fn on_transport_error(&mut self, out: &mut Vec<Output>) {
        if self.state != ServerInviteState::Terminated {
            out.push(Output::TransportError);
            self.terminate(out);
        }
    }

    fn send_trying(&mut self, out: &mut Vec<Output>) {
        let Some(request) = &self.request else {
            return;
        };
        let trying = Bytes::from(request.make_response(StatusCode::TRYING, None).to_bytes());
        self.send(trying.clone(), out);
        self.last_response = Some(trying);
    }

    fn send(&self, payload: Bytes, out: &mut Vec<Output>) {
        out.push(Output::Transmit(Transmit {
            destination: self.destination,
            payload,
        }));
    }

    fn terminate(&mut self, out: &mut Vec<Output>) {
        self.state = ServerInviteState::Terminated;
        out.push(Output::Terminated);
    }
}

/// States of a non-INVITE server transaction (Figure 8 of RFC 3261).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerNonInviteState {
    /// The request went to the TU; retransmissions are absorbed silently.
    Trying,
    /// A provisional was sent; retransmissions get it again.
    Proceeding,
    /// A final was sent; retransmissions get it again until Timer J.
    Completed,
    /// Over.
    Terminated,
}

/// A non-INVITE server transaction. Same driving rules as [`ServerInvite`].
#[derive(Debug, Clone)]
pub struct ServerNonInvite {
    state: ServerNonInviteState,
    destination: Peer,
    config: TransactionConfig,
    last_response: Option<Bytes>,
}

impl ServerNonInvite {
    /// Takes a new request (already passed to the TU by the owner). Outputs nothing.
    pub fn new(response_destination: Peer, config: TransactionConfig) -> ServerNonInvite {
        ServerNonInvite {
            state: ServerNonInviteState::Trying,
            destination: response_destination,
            config,
            last_response: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    /// Where responses go.
    pub fn destination(&self) -> Peer {
        self.destination
    }

    /// A retransmission of the request.
    pub fn on_request(&mut self, out: &mut Vec<Output>) {
        if matches!(
            self.state,
            ServerNonInviteState::Proceeding | ServerNonInviteState::Completed
        ) {
            if let Some(last) = self.last_response.clone() {
                out.push(Output::Transmit(Transmit {
                    destination: self.destination,
                    payload: last,
                }));
            }
        }
    }

    /// The TU's response. Errors after the final response.
    pub fn send_response(
        &mut self,
        response: &Response,
        out: &mut Vec<Output>,
    ) -> Result<(), TransactionError> {
        use ServerNonInviteState::*;
        if !matches!(self.state, Trying | Proceeding) {
            return Err(TransactionError::InvalidState {
                action: "send a response",
                state: format!("{:?}", self.state),
            });
        }
        let bytes = Bytes::from(response.to_bytes());
        out.push(Output::Transmit(Transmit {
            destination: self.destination,
            payload: bytes.clone(),
        }));
        self.last_response = Some(bytes);
        if response.status.is_provisional() {
            self.state = Proceeding;
        } else {
            self.state = Completed;
            let wait = if self.destination.protocol.is_reliable() {
                Duration::ZERO
            } else {
                self.config.timeout()
            };
            if wait_then_terminate(Timer::J, wait, out) {
                self.state = Terminated;
            }
        }
        Ok(())
    }

    /// A timer this transaction started has fired.
    pub fn on_timer(&mut self, timer: Timer, out: &mut Vec<Output>) {
        if (self.state, timer) == (ServerNonInviteState::Completed, Timer::J) {
            self.state = ServerNonInviteState::Terminated;
            out.push(Output::Terminated);
        }
    }

    /// The transport failed to deliver a response (§17.2.4).
    pub fn on_transport_error(&mut self, out: &mut Vec<Output>) {
        if self.state != ServerNonInviteState::Terminated {
            self.state = ServerNonInviteState::Terminated;
            out.push(Output::TransportError);
            out.push(Output::Terminated);
        }
    }
}

//! Click-to-call: ring the agent's phone, and when he picks up, call the customer through
//! the trunk (the flow CRMs use with a PBX).
//!
//! Both legs are ours to place, and there is no media relay yet, so the SDP goes RFC 3725's
//! flow I: the agent's phone is called without SDP and makes the offer in its 2xx (our ACK
//! waits); the customer gets that offer; the customer's 2xx answer goes to the phone in the
//! held ACK. From then on the call is like any other: BYE from either side ends both,
//! re-INVITE and UPDATE pass through.
//!
//! The dialed number goes through the outbound rules first (a refusal is an error for the
//! API, not a call). A phone not picked up within [`AGENT_RING`] or a customer not answering
//! within [`CUSTOMER_RING`] ends the attempt; every attempt that rang a phone ends with one
//! record.

use std::time::Duration;

use routing::{route_outbound, AgentId, Caller, Refusal};
use sip_core::dialog::Dialog;
use sip_core::{Instant, TransactionKey, TransactionLayer};
use sip_proto::typed::{CSeq, ContentType};
use sip_proto::{Request, Response, StatusCode};

use super::{
    B2bua, Ctx, LegId, LegRef, LegState, LegTarget, Offer, Output, Placement, RecordDraft,
    SessionId, TimerKind,
};
use crate::directory::Directory;
use crate::record::{CallDirection, CallRecord, CallStatus};

/// How long the agent's phone rings before the click-to-call gives up.
pub const AGENT_RING: Duration = Duration::from_secs(30);
/// How long the customer's phone rings.
pub const CUSTOMER_RING: Duration = Duration::from_secs(60);

/// Why a click-to-call could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OriginateError {
    /// The outbound rules refuse the number (forbidden country, direction, line).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// No trunk reaches the number.
    #[error("no trunk can reach {0}")]
    NoTrunk(String),
    /// The agent has no registered phone.
    #[error("agent {0} has no registered phone")]
    NotRegistered(AgentId),
}

/// One click-to-call in progress.
#[derive(Debug, Clone)]
pub(super) struct Originated {
    agent: AgentId,
    /// The customer's number, E.164 after the outbound rules.
    number: String,
    /// The number presented to the customer (the line's).
    caller_id: String,
    line: String,
    /// The agent's phones being rung.
    agent_legs: Vec<LegId>,
    /// The agent's phone that picked up.
    agent_leg: Option<LegId>,
    customer_leg: Option<LegId>,
    connected: bool,
    started_at: Instant,
    answered_at: Option<Instant>,
    record: RecordDraft,
    max_duration_timer: Option<(Instant, u64)>,
}

impl B2bua {
    /// Starts a click-to-call: `agent`'s phones ring now; the customer at `number` is
    /// called once he picks up. The returned id names the call in the outputs.
    pub fn originate(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        directory: &dyn Directory,
        agent: AgentId,
        number: &str,
    ) -> Result<SessionId, OriginateError> {
        let decision = route_outbound(self.router.config(), agent, number)?;
        if directory
            .trunk_route(&decision.number, &decision.caller_id)
            .is_none()
        {
            return Err(OriginateError::NoTrunk(decision.number));
        }
        let contacts = directory.agent_contacts(agent);
        let id = SessionId(self.next_id());
        self.originated.insert(
            id,
            Originated {
                agent,
                number: decision.number.clone(),
                caller_id: decision.caller_id.clone(),
                line: decision.line.clone(),
                agent_legs: Vec::new(),
                agent_leg: None,
                customer_leg: None,
                connected: false,
                started_at: now,
                answered_at: None,
                record: RecordDraft::default(),
                max_duration_timer: None,
            },
        );
        let mut ctx = Ctx {
            now,
            layer,
            directory,
        };
        let domain = self.config.domain.clone();
        let mut legs = Vec::new();
        for contact in contacts {
            // The phone shows whom it is about to call.
            let placement = Placement {
                target: LegTarget::Agent(agent),
                uri: contact.uri,
                destination: contact.destination,
                from_user: &decision.number,
                from_domain: &domain,
                credentials: None,
                offer: Offer::None,
            };
            legs.extend(self.place_leg(&mut ctx, id, placement));
        }
        if legs.is_empty() {
            self.originated.remove(&id);
            return Err(OriginateError::NotRegistered(agent));
        }
        if let Some(o) = self.originated.get_mut(&id) {
            o.agent_legs = legs;
        }
        let seq = self.next_id();
        self.timers
            .insert((now + AGENT_RING, seq), TimerKind::OriginateRing(id));
        Ok(id)
    }

    pub(super) fn is_originated(&self, session: SessionId) -> bool {
        self.originated.contains_key(&session)
    }

    /// The connected party on the other side of a click-to-call leg.
    pub(super) fn originated_other_side(&self, session: SessionId, leg: LegId) -> Option<LegRef> {
        let o = self.originated.get(&session)?;
        if !o.connected {
            return None;
        }
        if o.agent_leg == Some(leg) {
            o.customer_leg.map(LegRef::Placed)
        } else if o.customer_leg == Some(leg) {
            o.agent_leg.map(LegRef::Placed)
        } else {
            None
        }
    }

    /// A response to one of a click-to-call's INVITEs.
    pub(super) fn originated_invite_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: &TransactionKey,
        session: SessionId,
        leg: LegId,
        response: Response,
    ) {
        let status = response.status;
        if status.is_provisional() {
            if let Some(l) = self.legs.get_mut(&leg) {
                if l.state == LegState::Trying && status != StatusCode::TRYING {
                    l.state = LegState::Ringing;
                }
            }
            return;
        }
        if status.is_success() {
            self.originated_answered(ctx, session, leg, response);
            return;
        }
        let challenge = matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::PROXY_AUTHENTICATION_REQUIRED
        );
        if challenge && self.retry_with_credentials(ctx, key, leg, &response) {
            return;
        }
        self.originated_leg_failed(ctx, session, leg, status);
    }

    fn originated_answered(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        leg: LegId,
        response: Response,
    ) {
        let Some(l) = self.legs.get(&leg) else {
            return;
        };
        if matches!(l.state, LegState::Answered | LegState::Bridged) {
            self.resend_ack(ctx, leg, &response);
            return;
        }
        let Ok(dialog) = Dialog::from_uac(&l.invite, &response) else {
            self.originated_leg_failed(ctx, session, leg, StatusCode::SERVER_INTERNAL_ERROR);
            return;
        };
        let cseq = l
            .invite
            .headers
            .typed::<CSeq>()
            .ok()
            .flatten()
            .map_or(1, |c| c.seq);
        let destination = l.destination;
        let was_cancelling = l.state == LegState::Cancelling;
        let via = self.our_via(destination);
        let ack = dialog.ack_for_2xx(cseq, via);
        let Some(o) = self.originated.get(&session) else {
            return;
        };
        let is_customer = o.customer_leg == Some(leg);
        let first_agent_phone = !is_customer && o.agent_leg.is_none() && !was_cancelling;
        // The agent's phone offered in its 2xx: its ACK waits for the customer's answer.
        let hold_ack = first_agent_phone;
        if !hold_ack {
            ctx.layer.send_stateless(destination, &ack.clone().into());
        }
        if let Some(l) = self.legs.get_mut(&leg) {
            l.dialog = Some(dialog);
            l.ack = Some(ack);
            l.ack_held = hold_ack;
            l.answer = Some(response.clone());
            l.state = LegState::Answered;
        }
        if is_customer {
            self.originated_connected(ctx, session, leg, &response);
        } else if first_agent_phone {
            self.originated_agent_picked_up(ctx, session, leg, &response);
        } else {
            // Another of the agent's phones, or one answering as its CANCEL crossed.
            self.bye_leg(ctx, leg);
        }
    }

    fn originated_agent_picked_up(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        leg: LegId,
        offer: &Response,
    ) {
        let Some(o) = self.originated.get_mut(&session) else {
            return;
        };
        o.agent_leg = Some(leg);
        let others: Vec<LegId> = o.agent_legs.iter().copied().filter(|l| *l != leg).collect();
        let (number, caller_id) = (o.number.clone(), o.caller_id.clone());
        for other in others {
            self.cancel_leg(ctx, other);
        }
        let route = ctx.directory.trunk_route(&number, &caller_id);
        let content_type = offer.headers.typed::<ContentType>().ok().flatten();
        let customer = route.and_then(|route| {
            let placement = Placement {
                target: LegTarget::External {
                    number: number.clone(),
                },
                uri: route.uri,
                destination: route.destination,
                from_user: route.from_user.as_deref().unwrap_or(&caller_id),
                from_domain: &route.from_domain,
                credentials: route.credentials,
                offer: Offer::Sdp(offer.body.clone(), content_type),
            };
            self.place_leg(ctx, session, placement)
        });
        match customer {
            Some(customer) => {
                if let Some(o) = self.originated.get_mut(&session) {
                    o.customer_leg = Some(customer);
                }
                let seq = self.next_id();
                self.timers.insert(
                    (ctx.now + CUSTOMER_RING, seq),
                    TimerKind::OriginateRing(session),
                );
            }
            None => {
                self.originated_note(session, format!("no trunk can reach {number}"));
                if let Some(o) = self.originated.get_mut(&session) {
                    o.record.failed = true;
                }
                self.end_originated(ctx, session);
            }
        }
    }

    /// The customer answered: the phone's held ACK carries the customer's answer.
    fn originated_connected(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        customer: LegId,
        answer: &Response,
    ) {
        let Some(o) = self.originated.get_mut(&session) else {
            return;
        };
        o.connected = true;
        o.answered_at = Some(ctx.now);
        let (agent, agent_leg) = (o.agent, o.agent_leg);
        if let Some(l) = self.legs.get_mut(&customer) {
            l.state = LegState::Bridged;
        }
        if let Some(l) = agent_leg.and_then(|leg| self.legs.get_mut(&leg)) {
            l.state = LegState::Bridged;
            l.ack_held = false;
            if let Some(ack) = l.ack.as_mut() {
                let content_type = answer.headers.typed::<ContentType>().ok().flatten();
                ack.set_body(answer.body.clone(), content_type.as_ref());
                ctx.layer.send_stateless(l.destination, &ack.clone().into());
            }
        }
        self.outputs.push_back(Output::CallAnswered {
            session,
            agent: Some(agent),
        });
        let timer = self.arm_max_duration(ctx.now, session);
        if let Some(o) = self.originated.get_mut(&session) {
            o.max_duration_timer = timer;
        }
    }

    pub(super) fn originated_leg_failed(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        leg: LegId,
        status: StatusCode,
    ) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let was = l.state;
        l.state = LegState::Ended;
        l.final_status = Some(status);
        self.dialogs.remove(&l.key.clone());
        let Some(o) = self.originated.get(&session) else {
            self.legs.remove(&leg);
            return;
        };
        if was == LegState::Cancelling || was == LegState::Ended {
            return;
        }
        if o.customer_leg == Some(leg) {
            let (busy, failed) = match status.as_u16() {
                486 | 600 => (true, false),
                408 | 480 | 487 | 603 => (false, false),
                _ => (false, true),
            };
            self.originated_note(
                session,
                format!("the customer's line answered {}", status.as_u16()),
            );
            if let Some(o) = self.originated.get_mut(&session) {
                o.record.busy = busy;
                o.record.failed = failed;
            }
            self.end_originated(ctx, session);
            return;
        }
        let agent_still_ringing = o.agent_leg.is_none()
            && o.agent_legs.iter().any(|l| {
                self.legs
                    .get(l)
                    .is_some_and(|l| l.state.is_ringing() || l.state == LegState::Answered)
            });
        if !agent_still_ringing && o.agent_leg.is_none() {
            self.originated_note(session, "the agent's phone did not pick up".to_owned());
            self.end_originated(ctx, session);
        }
    }

    /// A request inside one of a click-to-call's dialogs.
    pub(super) fn originated_in_dialog(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        key: TransactionKey,
        request: Request,
        leg: LegId,
    ) {
        let checked = self
            .legs
            .get_mut(&leg)
            .and_then(|l| l.dialog.as_mut())
            .map(|d| d.on_request(&request));
        match checked {
            Some(Ok(())) => {}
            Some(Err(sip_core::dialog::DialogError::CSeqOutOfOrder { .. })) => {
                self.respond(ctx, &key, &request, StatusCode::SERVER_INTERNAL_ERROR);
                return;
            }
            _ => {
                self.respond(ctx, &key, &request, StatusCode::CALL_DOES_NOT_EXIST);
                return;
            }
        }
        match request.method {
            sip_proto::Method::Bye => {
                self.respond(ctx, &key, &request, StatusCode::OK);
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.state = LegState::Ended;
                }
                self.end_originated(ctx, session);
            }
            sip_proto::Method::Refer => {
                self.respond(ctx, &key, &request, StatusCode::NOT_IMPLEMENTED)
            }
            _ => self.relay_request(ctx, key, request, LegRef::Placed(leg)),
        }
    }

    /// The agent's phone or the customer rang too long.
    pub(super) fn originated_ring_timeout(&mut self, ctx: &mut Ctx<'_>, session: SessionId) {
        let Some(o) = self.originated.get(&session) else {
            return;
        };
        if o.connected {
            return;
        }
        let why = if o.agent_leg.is_none() {
            "the agent's phone did not pick up"
        } else {
            "the customer did not answer"
        };
        self.originated_note(session, why.to_owned());
        self.end_originated(ctx, session);
    }

    pub(super) fn originated_note(&mut self, session: SessionId, note: String) {
        if let Some(o) = self.originated.get_mut(&session) {
            o.record.notes.push(note);
        }
    }

    /// Ends a click-to-call: every leg left is cancelled or hung up, the record goes out.
    pub(super) fn end_originated(&mut self, ctx: &mut Ctx<'_>, session: SessionId) {
        let Some(o) = self.originated.remove(&session) else {
            return;
        };
        if let Some(timer) = o.max_duration_timer {
            self.timers.remove(&timer);
        }
        let legs = o.agent_legs.iter().chain(o.customer_leg.iter()).copied();
        for leg in legs.collect::<Vec<_>>() {
            match self.legs.get(&leg).map(|l| l.state) {
                Some(LegState::Trying | LegState::Ringing) => self.cancel_leg(ctx, leg),
                Some(LegState::Answered | LegState::Bridged) => self.bye_leg(ctx, leg),
                Some(LegState::Ended) => {
                    if let Some(l) = self.legs.remove(&leg) {
                        self.dialogs.remove(&l.key);
                    }
                }
                Some(LegState::Cancelling) | None => {}
            }
        }
        let status = if o.answered_at.is_some() {
            CallStatus::Answered
        } else if o.record.busy {
            CallStatus::Busy
        } else if o.record.failed {
            CallStatus::Failed
        } else {
            CallStatus::Missed
        };
        let record = CallRecord {
            session,
            direction: CallDirection::Outbound,
            caller: Caller::Number(o.caller_id),
            called: o.number,
            to: None,
            diversion: None,
            line: Some(o.line),
            agent: Some(o.agent),
            queue: None,
            forwarded_to: None,
            started_at: self.wall_time(o.started_at),
            answered_at: o.answered_at.map(|t| self.wall_time(t)),
            ended_at: self.wall_time(ctx.now),
            status,
            outcome: None,
            log: Vec::new(),
            notes: o.record.notes,
        };
        self.outputs.push_back(Output::CallEnded(Box::new(record)));
    }
}

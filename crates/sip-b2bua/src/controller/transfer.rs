//! Blind transfer with REFER (RFC 3515): the connected agent hands the caller to another
//! agent (by extension) or an external number, and leaves.
//!
//! There is no media relay yet, so the caller's RTP must be pointed at the new party. The
//! flow is RFC 3725's third-party call control, flow I:
//! 1. the agent's REFER is accepted (202) and at once reported done (NOTIFY with a
//!    terminated subscription and `SIP/2.0 200 OK`): a blind transfer is our job from here,
//!    and the agent is free to hang up;
//! 2. the target is called *without* SDP, so its 2xx makes the offer (our ACK waits);
//! 3. the caller gets a re-INVITE with that offer; its 2xx holds the answer;
//! 4. the caller's 2xx is ACKed, and the target's ACK carries the caller's answer.
//!
//! A target that does not answer within [`TRANSFER_RING`] or fails, or a caller who refuses
//! the re-INVITE, ends the call (the agent is gone already); the record says so.

use std::time::Duration;

use routing::{AgentId, Event, LegStatus};
use sip_core::TransactionKey;
use sip_proto::bytes::Bytes;
use sip_proto::typed::{CSeq, ContentType, ReferTo};
use sip_proto::{HeaderName, Method, Request, Response, StatusCode};

use super::{
    B2bua, ClientTx, Ctx, LegId, LegRef, LegState, LegTarget, Offer, Placement, SessionId,
    TimerKind,
};
use crate::identity::number_of;

/// How long a transfer target may ring before the transfer fails.
pub(super) const TRANSFER_RING: Duration = Duration::from_secs(30);

/// A blind transfer in progress.
#[derive(Debug, Clone)]
pub(super) struct Transfer {
    /// The agent's leg that asked (it leaves the call).
    pub(super) transferor: LegId,
    /// The legs rung for the target (several phones of one agent).
    pub(super) target_legs: Vec<LegId>,
    /// The target as the REFER named it, for the record.
    pub(super) target: String,
}

impl B2bua {
    /// A REFER on a connected leg: blind transfer of the other party to its Refer-To.
    pub(super) fn start_transfer(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        key: TransactionKey,
        request: Request,
        from: LegRef,
    ) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        // Only the connected agent transfers the caller; a caller-side REFER would move our
        // agent, which is not a thing a CRM call wants.
        let transferor = match from {
            LegRef::Placed(id) if s.bridged == Some(id) && s.transfer.is_none() => id,
            _ => {
                self.respond(ctx, &key, &request, StatusCode::NOT_IMPLEMENTED);
                return;
            }
        };
        let target = request
            .headers
            .typed::<ReferTo>()
            .ok()
            .flatten()
            .and_then(|refer_to| number_of(refer_to.uri()));
        let Some(target) = target else {
            self.respond(ctx, &key, &request, StatusCode::BAD_REQUEST);
            return;
        };
        let presented = s.numbers.caller.to_string();
        let agent = self
            .router
            .config()
            .agents
            .iter()
            .find(|agent| agent.extension.as_deref() == Some(target.as_str()))
            .map(|agent| agent.id);
        let target_legs = match agent {
            Some(agent) => self.ring_transfer_target_agent(ctx, session, agent, &presented),
            None => {
                let route = ctx.directory.trunk_route(&target, &presented);
                route
                    .and_then(|route| {
                        let placement = Placement {
                            target: LegTarget::External {
                                number: target.clone(),
                            },
                            uri: route.uri,
                            destination: route.destination,
                            from_user: route.from_user.as_deref().unwrap_or(&presented),
                            from_domain: &route.from_domain,
                            credentials: route.credentials,
                            offer: Offer::None,
                        };
                        self.place_leg(ctx, session, placement)
                    })
                    .into_iter()
                    .collect()
            }
        };
        if target_legs.is_empty() {
            // Nobody to ring: the REFER fails and the call goes on as it was.
            self.respond(ctx, &key, &request, StatusCode::TEMPORARILY_UNAVAILABLE);
            return;
        }
        self.respond(ctx, &key, &request, StatusCode::ACCEPTED);
        self.notify_transfer_accepted(ctx, transferor);
        self.note(session, format!("blind transfer to {target}"));
        if let Some(s) = self.sessions.get_mut(&session) {
            s.transfer = Some(Transfer {
                transferor,
                target_legs,
                target,
            });
        }
        let seq = self.next_id();
        self.timers.insert(
            (ctx.now + TRANSFER_RING, seq),
            TimerKind::TransferTimeout(session),
        );
    }

    fn ring_transfer_target_agent(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        agent: AgentId,
        presented: &str,
    ) -> Vec<LegId> {
        let domain = self.config.domain.clone();
        ctx.directory
            .agent_contacts(agent)
            .into_iter()
            .filter_map(|contact| {
                let placement = Placement {
                    target: LegTarget::Agent(agent),
                    uri: contact.uri,
                    destination: contact.destination,
                    from_user: presented,
                    from_domain: &domain,
                    credentials: None,
                    offer: Offer::None,
                };
                self.place_leg(ctx, session, placement)
            })
            .collect()
    }

    /// NOTIFY (RFC 3515 §2.4.4) on the transferor's dialog: done, subscription over.
    fn notify_transfer_accepted(&mut self, ctx: &mut Ctx<'_>, transferor: LegId) {
        let Some((mut notify, destination)) = self.leg_request(transferor, Method::Notify) else {
            return;
        };
        notify.headers.push(HeaderName::Event, "refer");
        notify.headers.push(
            HeaderName::SubscriptionState,
            "terminated;reason=noresource",
        );
        notify.set_body(
            Bytes::from_static(b"SIP/2.0 200 OK\r\n"),
            Some(&ContentType::new("message", "sipfrag")),
        );
        if let Ok(key) = ctx.layer.send_request(ctx.now, notify, destination) {
            self.client_txs.insert(key, ClientTx::Teardown);
        }
    }

    pub(super) fn is_transfer_leg(&self, session: SessionId, leg: LegId) -> bool {
        self.sessions
            .get(&session)
            .and_then(|s| s.transfer.as_ref())
            .is_some_and(|t| t.target_legs.contains(&leg))
    }

    pub(super) fn is_transferor(&self, session: SessionId, leg: LegId) -> bool {
        self.sessions
            .get(&session)
            .and_then(|s| s.transfer.as_ref())
            .is_some_and(|t| t.transferor == leg)
    }

    /// The transferor hangs up (as it should after our NOTIFY): it leaves, the call stays.
    pub(super) fn transferor_left(&mut self, ctx: &mut Ctx<'_>, session: SessionId, leg: LegId) {
        let agent = self.legs.get_mut(&leg).and_then(|l| {
            l.state = LegState::Ended;
            match l.target {
                LegTarget::Agent(agent) => Some(agent),
                LegTarget::External { .. } => None,
            }
        });
        if let Some(l) = self.legs.get(&leg) {
            self.dialogs.remove(&l.key);
            self.retransmits.remove(&l.key);
        }
        let route = self.sessions.get_mut(&session).and_then(|s| {
            if s.bridged == Some(leg) {
                s.bridged = None;
            }
            s.route
        });
        // Routing counts the agent as on this call until his leg hangs up.
        if let (Some(call), Some(agent)) = (route, agent) {
            let mut queue = std::collections::VecDeque::new();
            let status = LegStatus::HungUp;
            self.feed(ctx, call, Event::AgentLeg { agent, status }, &mut queue);
            self.run_routing(ctx, queue.into());
        }
    }

    /// The target answered with its offer: the caller gets it in a re-INVITE.
    pub(super) fn transfer_answered(&mut self, ctx: &mut Ctx<'_>, session: SessionId, leg: LegId) {
        let others: Vec<LegId> = self
            .sessions
            .get(&session)
            .and_then(|s| s.transfer.as_ref())
            .map(|t| {
                t.target_legs
                    .iter()
                    .copied()
                    .filter(|l| *l != leg)
                    .collect()
            })
            .unwrap_or_default();
        for other in others {
            self.cancel_leg(ctx, other);
        }
        if let Some(t) = self
            .sessions
            .get_mut(&session)
            .and_then(|s| s.transfer.as_mut())
        {
            t.target_legs = vec![leg];
        }
        let offer = self.legs.get(&leg).and_then(|l| l.answer.clone());
        let Some(destination) = self.sessions.get(&session).map(|s| s.caller.source) else {
            return;
        };
        let via = self.our_via(destination);
        let reinvite = self
            .sessions
            .get_mut(&session)
            .and_then(|s| s.caller.dialog.as_mut())
            .and_then(|d| d.create_request(Method::Invite, via).ok());
        let Some(mut reinvite) = reinvite else {
            self.transfer_failed(ctx, session, "the caller's dialog is gone");
            return;
        };
        if let Some(offer) = offer.filter(|o| !o.body.is_empty()) {
            let content_type = offer.headers.typed::<ContentType>().ok().flatten();
            reinvite.set_body(offer.body.clone(), content_type.as_ref());
        }
        match ctx.layer.send_request(ctx.now, reinvite, destination) {
            Ok(key) => {
                self.client_txs
                    .insert(key, ClientTx::Reoffer { session, leg });
            }
            Err(_) => self.transfer_failed(ctx, session, "the re-INVITE could not be sent"),
        }
    }

    /// The caller's answer to the re-INVITE: connect it with the target.
    pub(super) fn on_reoffer_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        session: SessionId,
        leg: LegId,
        response: Response,
    ) {
        if !response.status.is_final() {
            return;
        }
        if !response.status.is_success() {
            let why = format!(
                "the caller refused the new party ({})",
                response.status.as_u16()
            );
            self.transfer_failed(ctx, session, &why);
            return;
        }
        let Some(destination) = self.sessions.get(&session).map(|s| s.caller.source) else {
            return;
        };
        let via = self.our_via(destination);
        let cseq = response
            .headers
            .typed::<CSeq>()
            .ok()
            .flatten()
            .map_or(0, |c| c.seq);
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let Some(dialog) = s.caller.dialog.as_mut() else {
            return;
        };
        let _ = dialog.on_response(&response, true);
        let ack = dialog.ack_for_2xx(cseq, via);
        // Every 2xx (a retransmission too) gets its ACK.
        ctx.layer.send_stateless(destination, &ack.into());
        let Some(transfer) = s.transfer.take() else {
            // A retransmitted 2xx after the transfer completed: the ACK above was enough.
            return;
        };
        let previous = s.bridged.replace(leg);
        if let Some(target) = self.legs.get(&leg).map(|l| l.target.clone()) {
            if let (Some(s), LegTarget::Agent(agent)) = (self.sessions.get_mut(&session), target) {
                s.record.notes.push(format!(
                    "transferred to agent {agent} ({})",
                    transfer.target
                ));
            }
        }
        if let Some(l) = self.legs.get_mut(&leg) {
            l.state = LegState::Bridged;
            l.ack_held = false;
            if let Some(ack) = l.ack.as_mut() {
                let content_type = response.headers.typed::<ContentType>().ok().flatten();
                ack.set_body(response.body.clone(), content_type.as_ref());
                ctx.layer.send_stateless(l.destination, &ack.clone().into());
            }
        }
        // A transferor that has not hung up by now is hung up.
        if let Some(previous) = previous.filter(|p| *p != leg) {
            self.transferor_left(ctx, session, previous);
            self.bye_leg(ctx, previous);
        }
    }

    /// The transfer cannot complete; the agent has left, so the call ends.
    pub(super) fn transfer_failed(&mut self, ctx: &mut Ctx<'_>, session: SessionId, why: &str) {
        let Some(transfer) = self
            .sessions
            .get_mut(&session)
            .and_then(|s| s.transfer.take())
        else {
            return;
        };
        self.note(
            session,
            format!("transfer to {} failed: {why}", transfer.target),
        );
        self.hang_up_from(ctx, session, None);
    }

    pub(super) fn transfer_timed_out(&mut self, ctx: &mut Ctx<'_>, session: SessionId) {
        let pending = self
            .sessions
            .get(&session)
            .and_then(|s| s.transfer.as_ref())
            .is_some();
        if pending {
            self.transfer_failed(ctx, session, "nobody answered");
        }
    }

    /// A transfer target's leg failed; when none is left the transfer fails.
    pub(super) fn transfer_leg_failed(&mut self, ctx: &mut Ctx<'_>, session: SessionId) {
        let open = self
            .sessions
            .get(&session)
            .and_then(|s| s.transfer.as_ref())
            .is_some_and(|t| {
                t.target_legs.iter().any(|leg| {
                    self.legs
                        .get(leg)
                        .is_some_and(|l| l.state.is_ringing() || l.state == LegState::Answered)
                })
            });
        if !open {
            self.transfer_failed(ctx, session, "the target did not take the call");
        }
    }
}

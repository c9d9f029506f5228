//! Call pickup: an agent dials the pickup code (`outbound.pickup_code`, `*8` by default) and
//! takes the call ringing longest at a colleague of one of his queue groups.
//!
//! His INVITE does not start a call of its own: it becomes the ringing call's answered leg,
//! and we are its UAS. Both INVITEs carry an offer and, without a media relay, neither party
//! may see the other's offer as an answer, so each gets an answer built from the other's
//! offer ([`crate::sdp::answer_with`]): the caller's 200 points its media at the picker's
//! phone, the picker's 200 at the caller. The answers are built before routing is asked, so
//! a picker whose phone shares no codec with the caller gets 488 and the call rings on.
//!
//! Nothing to pick up (no call ringing in his groups) is a 480 and no record: the attempt
//! was not a call. After the pickup the call is an ordinary bridged call: BYE, re-INVITE and
//! UPDATE pass between the caller and the picker's leg.

use routing::{AgentId, Event};
use sip_core::b2bua::LegKey;
use sip_core::dialog::Dialog;
use sip_core::{Peer, TransactionKey};
use sip_proto::bytes::Bytes;
use sip_proto::typed::{CSeq, CallId, Contact, ContentType};
use sip_proto::{Request, StatusCode};

use super::{unusable_invite, B2bua, Ctx, IncomingInvite, LegRef, SessionId};
use crate::sdp::answer_with;

/// The phone that picked a call up: its INVITE, which we answer.
#[derive(Debug, Clone)]
pub(super) struct PickerLeg {
    pub(super) agent: AgentId,
    pub(super) invite_key: TransactionKey,
    pub(super) invite: Request,
    /// Where it came from: responses and our in-dialog requests go there.
    pub(super) source: Peer,
    pub(super) local_tag: String,
    pub(super) key: LegKey,
    /// Built from the caller's offer, for the picker's 200.
    answer_to_picker: Bytes,
    /// Built from the picker's offer, for the caller's 200.
    answer_to_caller: Bytes,
    /// Its 200 was sent: the call is connected with it.
    pub(super) connected: bool,
    pub(super) dialog: Option<Dialog>,
}

impl B2bua {
    /// An INVITE to the pickup code from `agent`'s phone.
    pub(super) fn pick_up(&mut self, ctx: &mut Ctx<'_>, invite: IncomingInvite, agent: AgentId) {
        let IncomingInvite {
            key,
            request,
            source,
        } = invite;
        if let Some(problem) = unusable_invite(&request) {
            self.refuse_picker(ctx, &key, &request, problem.status);
            return;
        }
        // 480, not 404: the code exists, there is just nothing ringing right now.
        let Some(call) = self.router.pickup_target(agent) else {
            self.refuse_picker(ctx, &key, &request, StatusCode::TEMPORARILY_UNAVAILABLE);
            return;
        };
        let session = self.routed.get(&call).copied().filter(|session| {
            self.sessions
                .get(session)
                .is_some_and(|s| !s.caller.final_sent && s.picker.is_none())
        });
        let Some(session) = session else {
            self.refuse_picker(ctx, &key, &request, StatusCode::TEMPORARILY_UNAVAILABLE);
            return;
        };
        let caller_offer = self
            .sessions
            .get(&session)
            .map(|s| s.caller.invite.body.clone())
            .unwrap_or_default();
        // A late offer on either side (no SDP in an INVITE) cannot be answered this way.
        let answers = answer_with(&caller_offer, &request.body)
            .and_then(|to_caller| Ok((to_caller, answer_with(&request.body, &caller_offer)?)));
        let (answer_to_caller, answer_to_picker) = match answers {
            Ok(answers) => answers,
            Err(_) => {
                self.refuse_picker(ctx, &key, &request, StatusCode::NOT_ACCEPTABLE_HERE);
                return;
            }
        };
        let local_tag = self.fresh("t");
        let call_id = request
            .headers
            .typed::<CallId>()
            .ok()
            .flatten()
            .map(|c| c.0)
            .unwrap_or_default();
        let leg_key = LegKey::new(&call_id, &local_tag);
        self.dialogs
            .insert(leg_key.clone(), LegRef::Picker(session));
        if let Some(s) = self.sessions.get_mut(&session) {
            s.picker = Some(PickerLeg {
                agent,
                invite_key: key.clone(),
                invite: request.clone(),
                source,
                local_tag,
                key: leg_key.clone(),
                answer_to_picker: Bytes::from(answer_to_picker),
                answer_to_caller: Bytes::from(answer_to_caller),
                connected: false,
                dialog: None,
            });
        }
        let wall = self.wall_time(ctx.now);
        let outputs = self
            .router
            .handle(call, Event::PickupRequested { by: agent }, wall);
        self.run_routing(ctx, outputs);
        // Routing connects the picker (its Bridge action reaches connect_picker). Should it
        // not have, the picker hears so and the call goes on without him.
        let connected = match self.sessions.get_mut(&session) {
            Some(s) if s.picker.as_ref().is_some_and(|p| p.connected) => true,
            Some(s) => {
                s.picker = None;
                false
            }
            // The call ended meanwhile: if it had connected him, the transaction refuses a
            // 480 after its 200 (an error we ignore), so he hears 480 only if he heard nothing.
            None => false,
        };
        if !connected {
            self.dialogs.remove(&leg_key);
            self.refuse_picker(ctx, &key, &request, StatusCode::TEMPORARILY_UNAVAILABLE);
        }
    }

    /// Routing bridged the picker: his 200 and the caller's, each with the answer built from
    /// the other's offer; whatever still rings is cancelled.
    pub(super) fn connect_picker(&mut self, ctx: &mut Ctx<'_>, session: SessionId) {
        let Some(source) = self
            .sessions
            .get(&session)
            .and_then(|s| s.picker.as_ref())
            .map(|p| p.source)
        else {
            return;
        };
        let contact = self.our_contact(source);
        let Some(picker) = self
            .sessions
            .get_mut(&session)
            .and_then(|s| s.picker.as_mut())
        else {
            return;
        };
        picker.connected = true;
        let mut ok = picker
            .invite
            .make_response(StatusCode::OK, Some(&picker.local_tag));
        ok.headers.push_typed(&Contact::new(contact.clone()));
        ok.set_body(picker.answer_to_picker.clone(), Some(&ContentType::sdp()));
        picker.dialog = Dialog::from_uas(&picker.invite, &picker.local_tag, contact, true).ok();
        let cseq = picker
            .invite
            .headers
            .typed::<CSeq>()
            .ok()
            .flatten()
            .map_or(1, |c| c.seq);
        let (agent, server_key, leg_key) =
            (picker.agent, picker.invite_key.clone(), picker.key.clone());
        let answer_to_caller = picker.answer_to_caller.clone();
        self.note(
            session,
            format!("picked up by agent {agent} with the pickup code"),
        );
        let _ = ctx.layer.send_response(ctx.now, &server_key, &ok);
        self.arm_2xx_retransmission(ctx, leg_key, server_key, ok, cseq, source, Some(session));
        // Routing cancelled the agents it rang; anything else still ringing goes too.
        let ringing = self.session_legs(session, |l| l.state.is_ringing());
        for leg in ringing {
            self.cancel_leg(ctx, leg);
        }
        self.answer_caller(
            ctx,
            session,
            Some(agent),
            Some((answer_to_caller, Some(ContentType::sdp()))),
        );
    }

    fn refuse_picker(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: &TransactionKey,
        request: &Request,
        status: StatusCode,
    ) {
        let tag = self.fresh("t");
        let response = request.make_response(status, Some(&tag));
        let _ = ctx.layer.send_response(ctx.now, key, &response);
    }
}

//! Dialog state (RFC 3261 §12): identity, route set, remote target and sequence numbers, and
//! the requests built from them.

use sip_proto::typed::{CSeq, CallId, Contact, From, RecordRoute, Route, To, Via};
use sip_proto::{
    Address, HeaderError, Message, Method, Request, RequestBuilder, Response, StatusCode, Uri,
};
use std::fmt;

/// A dialog's identity: Call-ID, our tag, the peer's tag (§12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag (From of requests we send, To of requests we receive).
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog an incoming in-dialog request belongs to: local tag from To, remote from
    /// From. `None` for a request without both tags (not within a dialog).
    pub fn of_incoming_request(request: &Request) -> Option<DialogId> {
        let to = request.headers.typed::<To>().ok()??;
        let from = request.headers.typed::<From>().ok()??;
        let CallId(call_id) = request.headers.typed::<CallId>().ok()??;
        Some(DialogId {
            call_id,
            local_tag: to.tag()?.to_owned(),
            remote_tag: from.tag()?.to_owned(),
        })
    }

    /// The dialog a response to our request belongs to: local tag from From, remote from To.
    pub fn of_incoming_response(response: &Response) -> Option<DialogId> {
        let to = response.headers.typed::<To>().ok()??;
        let from = response.headers.typed::<From>().ok()??;
        let CallId(call_id) = response.headers.typed::<CallId>().ok()??;
        Some(DialogId {
            call_id,
            local_tag: from.tag()?.to_owned(),
            remote_tag: to.tag()?.to_owned(),
        })
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};local={};remote={}",
            self.call_id, self.local_tag, self.remote_tag
        )
    }
}

/// The state of a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a provisional response with a To tag.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended (BYE, or a non-2xx final for an early dialog).
    Terminated,
}

/// Why a dialog could not be made or updated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// A header is missing or malformed.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The response or request lacks the tag that identifies the peer.
    #[error("no remote tag")]
    MissingTag,
    /// A dialog-creating message without a Contact (§12.1.1: 400).
    #[error("no Contact to use as remote target")]
    MissingContact,
    /// The response does not create a dialog (100, or a non-2xx final).
    #[error("status {0} creates no dialog")]
    NoDialog(StatusCode),
    /// An in-dialog request with a CSeq lower than the last one (§12.2.2: answer 500).
    #[error("CSeq {cseq} is lower than {last}")]
    CSeqOutOfOrder {
        /// The request's CSeq.
        cseq: u32,
        /// The highest seen.
        last: u32,
    },
    /// The request belongs to another dialog.
    #[error("request is not for this dialog")]
    WrongDialog,
    /// The dialog has ended.
    #[error("dialog terminated")]
    Terminated,
}

/// One dialog, as a UAC or a UAS sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// Identity.
    pub id: DialogId,
    /// Early, confirmed, terminated.
    pub state: DialogState,
    /// Our address (From of the requests we send), without tag.
    pub local_uri: Address,
    /// The peer's address (To of the requests we send), without tag.
    pub remote_uri: Address,
    /// Our Contact, sent in target-refresh requests.
    pub local_contact: Uri,
    /// The peer's Contact: Request-URI of in-dialog requests.
    pub remote_target: Uri,
    /// Route headers for in-dialog requests, in sending order.
    pub route_set: Vec<Address>,
    /// CSeq of the last request we sent (`None`: none yet, as a UAS).
    pub local_cseq: Option<u32>,
    /// CSeq of the last request received (`None`: none yet, as a UAC).
    pub remote_cseq: Option<u32>,
    /// `sips` Request-URI: every hop must stay on TLS.
    pub secure: bool,
}

impl Dialog {
    /// The dialog a UAC gets from a response with a To tag to its `invite` (§12.1.2): early
    /// for 101-199, confirmed for 2xx. Route set: Record-Route reversed; remote target: the
    /// response's Contact.
    pub fn from_uac(invite: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let status = response.status;
        if status == StatusCode::TRYING || status.as_u16() >= 300 {
            return Err(DialogError::NoDialog(status));
        }
        let id = DialogId::of_incoming_response(response).ok_or(DialogError::MissingTag)?;
        let mut route_set: Vec<Address> = response
            .headers
            .typed_all::<RecordRoute>()?
            .into_iter()
            .map(|RecordRoute(a)| a)
            .collect();
        route_set.reverse();
        let remote_target = contact_uri(&response.headers)?;
        let local_contact = contact_uri(&invite.headers)?;
        let From(mut local_uri) = invite.headers.require::<From>()?;
        let To(mut remote_uri) = response.headers.require::<To>()?;
        local_uri.params.remove("tag");
        remote_uri.params.remove("tag");
        Ok(Dialog {
            id,
            state: if status.is_success() {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_uri,
            remote_uri,
            local_contact,
            remote_target,
            route_set,
            local_cseq: Some(invite.headers.require::<CSeq>()?.seq),
            remote_cseq: None,
            secure: invite.uri.scheme() == "sips",
        })
    }

    /// The dialog a UAS creates by answering `request` (an INVITE) with a 1xx/2xx carrying
    /// `local_tag` (§12.1.1). Route set: Record-Route in order; remote target: its Contact.
    pub fn from_uas(
        request: &Request,
        local_tag: &str,
        local_contact: Uri,
        confirmed: bool,
    ) -> Result<Dialog, DialogError> {
        let From(mut remote_uri) = request.headers.require::<From>()?;
        let To(mut local_uri) = request.headers.require::<To>()?;
        let CallId(call_id) = request.headers.require::<CallId>()?;
        let remote_tag = remote_uri.tag().ok_or(DialogError::MissingTag)?.to_owned();
        local_uri.params.remove("tag");
        remote_uri.params.remove("tag");
        let route_set = request
            .headers
            .typed_all::<RecordRoute>()?
            .into_iter()
            .map(|RecordRoute(a)| a)
            .collect();
        Ok(Dialog {
            id: DialogId {
                call_id,
                local_tag: local_tag.to_owned(),
                remote_tag,
            },
            state: if confirmed {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_uri,
            remote_uri,
            local_contact,
            remote_target: contact_uri(&request.headers)?,
            route_set,
            local_cseq: None,
            remote_cseq: Some(request.headers.require::<CSeq>()?.seq),
            secure: request.uri.scheme() == "sips",
        })
    }

    /// A UAC's later response on this dialog: a 2xx confirms an early dialog and, with the
    /// route set fixed by then, refreshes the remote target (§12.2.1.2, §13.2.2.4); a
    /// non-2xx final to the INVITE ends an early dialog.
    pub fn on_response(&mut self, response: &Response, to_invite: bool) -> Result<(), DialogError> {
        if DialogId::of_incoming_response(response).as_ref() != Some(&self.id) {
            return Err(DialogError::WrongDialog);
        }
        let status = response.status;
        if status.is_success() {
            if self.state == DialogState::Early && to_invite {
                // The route set of an early dialog is recomputed from the 2xx (§13.2.2.4).
                let mut route_set: Vec<Address> = response
                    .headers
                    .typed_all::<RecordRoute>()?
                    .into_iter()
                    .map(|RecordRoute(a)| a)
                    .collect();
                route_set.reverse();
                self.route_set = route_set;
                self.state = DialogState::Confirmed;
            }
            if let Ok(target) = contact_uri(&response.headers) {
                self.remote_target = target;
            }
        } else if status.is_final() && to_invite && self.state == DialogState::Early {
            self.state = DialogState::Terminated;
        }
        Ok(())
    }

    /// An in-dialog request received (§12.2.2): checks and records its CSeq (ACK and CANCEL
    /// reuse their INVITE's and are not ordered), refreshes the target on re-INVITE/UPDATE,
    /// and ends the dialog on BYE.
    pub fn on_request(&mut self, request: &Request) -> Result<(), DialogError> {
        if self.state == DialogState::Terminated {
            return Err(DialogError::Terminated);
        }
        if DialogId::of_incoming_request(request).as_ref() != Some(&self.id) {
            return Err(DialogError::WrongDialog);
        }
        let cseq = request.headers.require::<CSeq>()?.seq;
        if !matches!(request.method, Method::Ack | Method::Cancel) {
            if let Some(last) = self.remote_cseq {
                if cseq < last {
                    return Err(DialogError::CSeqOutOfOrder { cseq, last });
                }
            }
            self.remote_cseq = Some(cseq);
        }
        match request.method {
            Method::Invite | Method::Update => {
                if let Ok(target) = contact_uri(&request.headers) {
                    self.remote_target = target;
                }
            }
            Method::Bye => self.state = DialogState::Terminated,
            _ => {}
        }
        Ok(())
    }

    /// A new request within the dialog (§12.2.1.1) with the next local CSeq, Route set and
    /// Request-URI per loose or strict routing, and `via` (carrying a fresh branch) on top.
    /// Not for ACK ([`ack_for_2xx`](Self::ack_for_2xx)) or CANCEL
    /// ([`Request::make_cancel`]), which reuse their INVITE's CSeq.
    pub fn create_request(&mut self, method: Method, via: Via) -> Result<Request, DialogError> {
        if self.state == DialogState::Terminated {
            return Err(DialogError::Terminated);
        }
        let seq = self.local_cseq.map_or(1, |s| s.wrapping_add(1));
        self.local_cseq = Some(seq);
        Ok(self.build(method, seq, via))
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_cseq` (§13.2.2.4): its own branch,
    /// the INVITE's CSeq number, routed like any in-dialog request.
    pub fn ack_for_2xx(&self, invite_cseq: u32, via: Via) -> Request {
        self.build(Method::Ack, invite_cseq, via)
    }

    /// Where an in-dialog request goes first: the first route, or the remote target.
    pub fn next_hop(&self) -> &Uri {
        self.route_set
            .first()
            .map_or(&self.remote_target, Address::uri)
    }

    fn build(&self, method: Method, seq: u32, via: Via) -> Request {
        let first_is_loose = self
            .route_set
            .first()
            .is_none_or(|r| r.uri().as_sip().is_some_and(|u| u.lr()));
        let (uri, routes): (Uri, Vec<Address>) = if first_is_loose {
            (self.remote_target.clone(), self.route_set.clone())
        } else {
            // Strict router (RFC 2543): it gets the Request-URI, the target goes last.
            let mut routes: Vec<Address> = self.route_set[1..].to_vec();
            routes.push(Address::new(self.remote_target.clone()));
            (self.route_set[0].uri().clone(), routes)
        };
        let mut from = From(self.local_uri.clone());
        from.set_tag(&self.id.local_tag);
        let mut to = To(self.remote_uri.clone());
        to.set_tag(&self.id.remote_tag);
        let mut b = RequestBuilder::new(method.clone(), uri)
            .via(via)
            .from(from)
            .to(to)
            .call_id(&self.id.call_id)
            .cseq(seq);
        for r in routes {
            b = b.route(Route(r));
        }
        if matches!(
            method,
            Method::Invite | Method::Update | Method::Subscribe | Method::Refer
        ) {
            b = b.contact(Contact::new(self.local_contact.clone()));
        }
        b.build()
    }
}

/// The URI of the first Contact.
fn contact_uri(headers: &sip_proto::Headers) -> Result<Uri, DialogError> {
    headers
        .typed::<Contact>()?
        .and_then(|c| c.uri().cloned())
        .ok_or(DialogError::MissingContact)
}

/// Which dialog a message belongs to from our side, if it carries both tags.
pub fn dialog_id_of(message: &Message) -> Option<DialogId> {
    match message {
        Message::Request(r) => DialogId::of_incoming_request(r),
        Message::Response(r) => DialogId::of_incoming_response(r),
    }
}

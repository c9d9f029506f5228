//! Dialog rules of RFC 3261 §12 and B2BUA leg pairing with forking.

use sip_core::b2bua::{BridgeError, LegKey, LegPairs};
use sip_core::dialog::{Dialog, DialogError, DialogState};
use sip_proto::typed::{CSeq, Contact, From, Route, To, Transport, Via};
use sip_proto::{HeaderName, Host, Method, Request, RequestBuilder, Response, StatusCode, Uri};

fn uri(s: &str) -> Uri {
    s.parse().unwrap()
}

fn via(branch: &str) -> Via {
    Via::new(
        Transport::Udp,
        Host::Domain("pbx.example.com".into()),
        None,
        branch,
    )
}

fn invite() -> Request {
    let mut from = From::new(uri("sip:pbx@pbx.example.com"));
    from.set_tag("local1");
    RequestBuilder::new(Method::Invite, uri("sip:101@agent.example.com"))
        .via(via("z9hG4bK1"))
        .from(from)
        .to(To::new(uri("sip:101@agent.example.com")))
        .call_id("d1")
        .cseq(4)
        .contact(Contact::new(uri("sip:pbx@192.0.2.10")))
        .build()
}

fn response(status: StatusCode, record_route: &[&str], contact: &str) -> Response {
    let mut r = invite().make_response(status, Some("remote1"));
    for rr in record_route {
        r.headers.push(HeaderName::RecordRoute, *rr);
    }
    r.headers.push_typed(&Contact::new(uri(contact)));
    r
}

#[test]
fn uac_dialog_reverses_record_route_and_routes_loosely() {
    let ok = response(
        StatusCode::OK,
        &["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"],
        "sip:101@10.0.0.7:5062",
    );
    let mut d = Dialog::from_uac(&invite(), &ok).unwrap();
    assert_eq!(d.state, DialogState::Confirmed);
    assert_eq!(d.local_cseq, Some(4));
    assert_eq!(d.next_hop(), &uri("sip:p1.example.com;lr"));
    let bye = d.create_request(Method::Bye, via("z9hG4bK2")).unwrap();
    assert_eq!(bye.uri, uri("sip:101@10.0.0.7:5062"));
    let routes: Vec<String> = bye
        .headers
        .typed_all::<Route>()
        .unwrap()
        .iter()
        .map(|r| r.uri().to_string())
        .collect();
    assert_eq!(routes, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
    assert_eq!(
        bye.headers.require::<CSeq>().unwrap(),
        CSeq {
            seq: 5,
            method: Method::Bye
        }
    );
    assert_eq!(bye.headers.require::<From>().unwrap().tag(), Some("local1"));
    assert_eq!(bye.headers.require::<To>().unwrap().tag(), Some("remote1"));
    assert!(bye.validate().is_ok());
    // A re-INVITE carries our Contact; the ACK for its 2xx reuses the INVITE's number.
    let reinvite = d.create_request(Method::Invite, via("z9hG4bK3")).unwrap();
    assert_eq!(reinvite.headers.require::<CSeq>().unwrap().seq, 6);
    assert!(reinvite.headers.contains(&HeaderName::Contact));
    let ack = d.ack_for_2xx(6, via("z9hG4bK4"));
    assert_eq!(
        ack.headers.require::<CSeq>().unwrap(),
        CSeq {
            seq: 6,
            method: Method::Ack
        }
    );
}

#[test]
fn strict_router_gets_the_request_uri() {
    let ok = response(
        StatusCode::OK,
        &["<sip:strict.example.com>"],
        "sip:101@10.0.0.7",
    );
    let mut d = Dialog::from_uac(&invite(), &ok).unwrap();
    let bye = d.create_request(Method::Bye, via("z9hG4bK2")).unwrap();
    assert_eq!(bye.uri, uri("sip:strict.example.com"));
    let routes: Vec<String> = bye
        .headers
        .typed_all::<Route>()
        .unwrap()
        .iter()
        .map(|r| r.uri().to_string())
        .collect();
    assert_eq!(routes, ["sip:101@10.0.0.7"]);
}

#[test]
fn early_dialog_is_confirmed_or_ended_by_the_final_response() {
    let ringing = response(
        StatusCode::RINGING,
        &["<sip:old.example.com;lr>"],
        "sip:101@10.0.0.7",
    );
    let mut d = Dialog::from_uac(&invite(), &ringing).unwrap();
    assert_eq!(d.state, DialogState::Early);
    // The 2xx fixes the route set and the target.
    let ok = response(
        StatusCode::OK,
        &["<sip:new.example.com;lr>"],
        "sip:101@10.0.0.8",
    );
    d.on_response(&ok, true).unwrap();
    assert_eq!(d.state, DialogState::Confirmed);
    assert_eq!(d.next_hop(), &uri("sip:new.example.com;lr"));
    assert_eq!(d.remote_target, uri("sip:101@10.0.0.8"));

    let mut early = Dialog::from_uac(&invite(), &ringing).unwrap();
    let busy = invite().make_response(StatusCode::BUSY_HERE, Some("remote1"));
    early.on_response(&busy, true).unwrap();
    assert_eq!(early.state, DialogState::Terminated);

    assert_eq!(
        Dialog::from_uac(&invite(), &invite().make_response(StatusCode::TRYING, None)),
        Err(DialogError::NoDialog(StatusCode::TRYING))
    );
    let mut no_contact = invite().make_response(StatusCode::OK, Some("r"));
    no_contact.headers.remove(&HeaderName::Contact);
    assert_eq!(
        Dialog::from_uac(&invite(), &no_contact),
        Err(DialogError::MissingContact)
    );
    let other = invite().make_response(StatusCode::OK, Some("someone-else"));
    assert_eq!(d.on_response(&other, false), Err(DialogError::WrongDialog));
}

#[test]
fn uas_dialog_orders_remote_cseq_and_refreshes_the_target() {
    let mut request = invite();
    request
        .headers
        .push(HeaderName::RecordRoute, "<sip:p1.example.com;lr>");
    let mut d = Dialog::from_uas(&request, "uas1", uri("sip:101@10.0.0.7"), true).unwrap();
    assert_eq!(d.remote_cseq, Some(4));
    assert_eq!(d.local_cseq, None);
    assert_eq!(d.remote_target, uri("sip:pbx@192.0.2.10"));
    assert_eq!(d.next_hop(), &uri("sip:p1.example.com;lr"));

    let in_dialog = |method: Method, seq: u32, contact: Option<&str>| {
        let mut r = request.clone();
        r.method = method.clone();
        r.headers
            .set(HeaderName::To, "<sip:101@agent.example.com>;tag=uas1");
        r.headers.set_typed(&CSeq { seq, method });
        if let Some(c) = contact {
            r.headers.set(HeaderName::Contact, format!("<{c}>"));
        }
        r
    };
    let reinvite = in_dialog(Method::Invite, 5, Some("sip:pbx@192.0.2.11"));
    d.on_request(&reinvite).unwrap();
    assert_eq!(d.remote_target, uri("sip:pbx@192.0.2.11"));
    // ACK reuses the INVITE's number and is not ordered.
    d.on_request(&in_dialog(Method::Ack, 5, None)).unwrap();
    assert_eq!(
        d.on_request(&in_dialog(Method::Info, 3, None)),
        Err(DialogError::CSeqOutOfOrder { cseq: 3, last: 5 })
    );
    // A target is only refreshed by target-refresh requests.
    d.on_request(&in_dialog(
        Method::Info,
        6,
        Some("sip:elsewhere@192.0.2.99"),
    ))
    .unwrap();
    assert_eq!(d.remote_target, uri("sip:pbx@192.0.2.11"));
    d.on_request(&in_dialog(Method::Bye, 7, None)).unwrap();
    assert_eq!(d.state, DialogState::Terminated);
    assert_eq!(
        d.on_request(&in_dialog(Method::Bye, 8, None)),
        Err(DialogError::Terminated)
    );
    assert!(d.create_request(Method::Bye, via("z9hG4bK9")).is_err());

    let mut wrong = in_dialog(Method::Info, 9, None);
    wrong
        .headers
        .set(HeaderName::To, "<sip:101@agent.example.com>;tag=other");
    let mut fresh = Dialog::from_uas(&request, "uas1", uri("sip:101@10.0.0.7"), false).unwrap();
    assert_eq!(fresh.state, DialogState::Early);
    assert_eq!(fresh.on_request(&wrong), Err(DialogError::WrongDialog));
}

#[test]
fn forked_ringing_answered_by_one_agent_returns_the_others_to_cancel() {
    let mut legs = LegPairs::new();
    let caller = LegKey::new("in-1", "t-in");
    let bridge = legs.open(caller.clone()).unwrap();
    let agents: Vec<LegKey> = (1..=3)
        .map(|i| LegKey::new(&format!("out-{i}"), "t-out"))
        .collect();
    for a in &agents {
        legs.add_outbound(bridge, a.clone()).unwrap();
    }
    assert_eq!(legs.peers(&caller), agents);
    assert_eq!(legs.peers(&agents[1]), std::slice::from_ref(&caller));
    assert_eq!(
        legs.open(caller.clone()),
        Err(BridgeError::LegInUse(caller.clone()))
    );

    let losers = legs.answer(&agents[1]).unwrap();
    assert_eq!(losers, [agents[0].clone(), agents[2].clone()]);
    assert_eq!(legs.peers(&caller), [agents[1].clone()]);
    assert!(legs.peers(&agents[0]).is_empty());
    assert_eq!(
        legs.answer(&agents[1]),
        Err(BridgeError::AlreadyAnswered(agents[1].clone()))
    );
    assert!(legs
        .add_outbound(bridge, LegKey::new("out-4", "t"))
        .is_err());
    assert_eq!(
        legs.bridge_of(&caller).unwrap().answered.as_ref(),
        Some(&agents[1])
    );

    // The caller hangs up: the bridge closes and the answered leg is what is left to BYE.
    assert_eq!(legs.remove_leg(&caller), [agents[1].clone()]);
    assert!(legs.is_empty());
    assert!(legs.peers(&agents[1]).is_empty());
}

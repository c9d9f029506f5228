//! Responses, CANCEL and ACK built from a request (RFC 3261 8.2.6, 9.1, 17.1.1.3), new
//! requests, validation of what the builders produce, and the validation error answers.

use sip_proto::bytes::Bytes;
use sip_proto::typed::{
    CSeq, CallId, Contact, ContentType, From, MaxForwards, Require, To, Transport, Unsupported, Via,
};
use sip_proto::{
    parse_message, HeaderName, Host, Message, Method, Request, RequestBuilder, StatusCode,
    ValidationError,
};

const INVITE: &[u8] = include_bytes!("fixtures/invite-trunk-diversion.sip");

fn invite() -> Request {
    match parse_message(INVITE).expect("fixture parses") {
        Message::Request(r) => r,
        Message::Response(_) => panic!("fixture is a request"),
    }
}

#[test]
fn response_copies_the_transaction_headers_and_adds_the_to_tag() {
    let req = invite();
    let resp = req.make_response(StatusCode::RINGING, Some("b2b-1"));
    assert_eq!(resp.status, StatusCode::RINGING);
    assert_eq!(resp.reason, "Ringing");
    let h = &resp.headers;
    assert_eq!(
        h.raw_all(&HeaderName::Via).collect::<Vec<_>>(),
        req.headers.raw_all(&HeaderName::Via).collect::<Vec<_>>()
    );
    assert_eq!(h.raw(&HeaderName::From), req.headers.raw(&HeaderName::From));
    assert_eq!(h.require::<To>().unwrap().tag(), Some("b2b-1"));
    assert_eq!(
        h.require::<CallId>().unwrap(),
        req.headers.require::<CallId>().unwrap()
    );
    assert_eq!(
        h.require::<CSeq>().unwrap(),
        req.headers.require::<CSeq>().unwrap()
    );
    assert!(
        !h.contains(&HeaderName::Diversion),
        "only 8.2.6 headers are copied"
    );
    Message::Response(resp.clone()).validate().unwrap();
    let reparsed = parse_message(&resp.to_bytes()).unwrap();
    assert_eq!(reparsed, Message::Response(resp));

    // 100 Trying gets no tag; an existing tag is never replaced.
    let trying = req.make_response(StatusCode::TRYING, Some("b2b-1"));
    assert_eq!(trying.headers.require::<To>().unwrap().tag(), None);
    let mut tagged = req.clone();
    tagged.headers.set(HeaderName::To, "<sip:x@y>;tag=existing");
    let ok = tagged.make_response(StatusCode::OK, Some("new"));
    assert_eq!(ok.headers.require::<To>().unwrap().tag(), Some("existing"));
}

#[test]
fn cancel_and_ack_follow_the_invite() {
    let req = invite();
    let cancel = req.make_cancel();
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.uri, req.uri);
    let cseq = cancel.headers.require::<CSeq>().unwrap();
    assert_eq!((cseq.seq, cseq.method), (102, Method::Cancel));
    let vias = cancel.headers.typed_all::<Via>().unwrap();
    assert_eq!(vias.len(), 1);
    assert_eq!(
        vias[0].branch(),
        req.headers.require::<Via>().unwrap().branch()
    );
    cancel.validate().unwrap();

    let mut busy = req.make_response(StatusCode::BUSY_HERE, Some("callee"));
    busy.headers.set(HeaderName::ContentLength, "0");
    let ack = req.make_ack_for_error(&busy);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.headers.require::<To>().unwrap().tag(), Some("callee"));
    assert_eq!(ack.headers.require::<CSeq>().unwrap().method, Method::Ack);
    assert_eq!(ack.headers.require::<CSeq>().unwrap().seq, 102);
    ack.validate().unwrap();
}

#[test]
fn builder_makes_a_valid_request_with_a_body() {
    let uri = sip_proto::Uri::parse("sip:101@192.0.2.50:5062").unwrap();
    let mut from = From::new("sip:ringbase@pbx.example.com".parse().unwrap());
    from.set_tag("f1");
    let sdp = Bytes::from_static(b"v=0\r\n");
    let req = RequestBuilder::new(Method::Invite, uri.clone())
        .via(Via::new(
            Transport::Udp,
            Host::Domain("pbx.example.com".into()),
            Some(5060),
            "z9hG4bK-1",
        ))
        .from(from)
        .to(To::new(uri))
        .call_id("abc@pbx")
        .cseq(7)
        .contact(Contact::new(
            "sip:ringbase@pbx.example.com".parse().unwrap(),
        ))
        .header(&Require("timer".into()))
        .body(sdp.clone(), ContentType::sdp())
        .build();
    let core = req.validate_core().unwrap();
    assert_eq!(core.cseq.seq, 7);
    assert_eq!(core.max_forwards, MaxForwards(70));
    assert_eq!(core.top_via.branch(), Some("z9hG4bK-1"));
    assert_eq!(req.body, sdp);
    let printed = req.to_bytes();
    assert!(printed.ends_with(b"Content-Length: 5\r\n\r\nv=0\r\n"));
    assert_eq!(
        parse_message(&printed).unwrap(),
        Message::Request(req.clone())
    );

    assert_eq!(
        req.check_require(&["timer"]),
        Ok(()),
        "supported extension passes"
    );
    let err = req.check_require(&["100rel"]).unwrap_err();
    assert_eq!(err.status_code(), StatusCode::BAD_EXTENSION);
    assert_eq!(
        err,
        ValidationError::UnsupportedExtensions(vec!["timer".into()])
    );
    let mut resp = req.make_response(err.status_code(), Some("t"));
    resp.headers.push_typed(&Unsupported("timer".into()));
    assert!(resp
        .to_bytes()
        .windows(19)
        .any(|w| w == b"Unsupported: timer\r"));
}

#[test]
fn validation_errors_name_the_problem() {
    let base = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n";
    let check = |extra: &str, body: &str| {
        let text = format!("{base}{extra}\r\n{body}");
        parse_message(text.as_bytes()).unwrap().validate()
    };
    assert_eq!(check("", ""), Ok(()));
    let e = check("Max-Forwards: 0\r\n", "").unwrap_err();
    assert_eq!(
        (e.status_code().as_u16(), e.reason_phrase().as_str()),
        (483, "Too Many Hops")
    );
    let e = check("Content-Length: 10\r\n", "short").unwrap_err();
    assert_eq!(e.status_code().as_u16(), 400);
    assert_eq!(e.reason_phrase(), "Content-Length mismatch");
    let e = check("Call-ID: y\r\n", "").unwrap_err();
    assert_eq!(e.reason_phrase(), "Duplicate Call-ID header");
    let e = check("", "body").unwrap_err();
    assert_eq!(e.reason_phrase(), "Missing Content-Type header");
    let e = check("Max-Forwards: 256\r\n", "").unwrap_err();
    assert_eq!(
        e.reason_phrase(),
        "Invalid Max-Forwards header: larger than 255"
    );

    let no_call_id = base.replace("Call-ID: x\r\n", "");
    let e = parse_message(format!("{no_call_id}\r\n").as_bytes())
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(e.reason_phrase(), "Missing Call-ID header");
}

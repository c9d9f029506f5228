//! Property tests: whatever this crate prints, it parses back to the same value — URIs,
//! addresses, Via hops, and whole messages (datagram and stream).

use proptest::prelude::*;
use sip_proto::bytes::Bytes;
use sip_proto::typed::{CSeq, CallId, Contact, From, MaxForwards, To, Transport, Via};
use sip_proto::{
    parse_message, parse_stream, write_quoted, Address, HeaderName, Host, Message, Method,
    NameAddr, Param, Params, Request, Response, SipUri, StatusCode, TelUri, TypedHeader, Uri,
    UriHeader, UriParam, ValidationError,
};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,10}"
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9]{0,5}){0,2}".prop_map(Host::Domain),
        any::<[u8; 4]>().prop_map(|o| Host::Ipv4(o.into())),
        any::<[u16; 8]>().prop_map(|s| Host::Ipv6(s.into())),
    ]
}

fn uri_params() -> impl Strategy<Value = Vec<UriParam>> {
    prop::collection::vec(
        (
            "[a-z][a-z0-9-]{0,6}",
            prop::option::of("[A-Za-z0-9.%-]{1,8}"),
        )
            .prop_filter_map("valid escapes", |(name, value)| {
                // '%' must start an escape: replace stray ones by a valid escape.
                let value = value.map(|v| v.replace('%', "%25"));
                Some(UriParam { name, value })
            }),
        0..4,
    )
}

fn sip_uri() -> impl Strategy<Value = SipUri> {
    (
        any::<bool>(),
        prop::option::of("[A-Za-z0-9_.!~*'()&=+$,;?/-]{1,12}"),
        prop::option::of("[A-Za-z0-9_.!~*'()&=+$,-]{0,8}"),
        host(),
        prop::option::of(any::<u16>()),
        uri_params(),
        prop::collection::vec(("[a-z]{1,6}", "[A-Za-z0-9:+$]{0,6}"), 0..3),
    )
        .prop_map(|(secure, user, password, host, port, params, headers)| {
            let password = user.as_ref().and(password);
            SipUri {
                secure,
                user,
                password,
                host,
                port,
                params,
                headers: headers
                    .into_iter()
                    .map(|(name, value)| UriHeader { name, value })
                    .collect(),
            }
        })
}

fn uri() -> impl Strategy<Value = Uri> {
    prop_oneof![
        6 => sip_uri().prop_map(Uri::Sip),
        1 => ("\\+?[0-9][0-9-]{0,12}", uri_params())
            .prop_map(|(number, params)| Uri::Tel(TelUri { number, params })),
        1 => ("[a-z][a-z0-9+.-]{0,5}", "[A-Za-z0-9/:.?=&-]{1,20}")
            .prop_filter("not an interpreted scheme", |(s, _)| {
                !matches!(s.to_ascii_lowercase().as_str(), "sip" | "sips" | "tel")
            })
            .prop_map(|(scheme, rest)| {
                Uri::parse(&format!("{scheme}:{rest}")).expect("generated absolute URI")
            }),
    ]
}

fn header_params() -> impl Strategy<Value = Params> {
    prop::collection::vec(
        (
            token(),
            prop::option::of(prop_oneof![
                token(),
                "\\PC{0,10}".prop_map(|s| {
                    let mut q = String::new();
                    write_quoted(&mut q, &s);
                    q
                }),
            ]),
        )
            .prop_filter("expires and q are typed on Contact", |(n, _)| {
                !n.eq_ignore_ascii_case("expires")
            })
            .prop_map(|(name, value)| Param { name, value }),
        0..4,
    )
    .prop_map(Params)
}

fn address() -> impl Strategy<Value = Address> {
    (prop::option::of("\\PC{0,12}"), uri(), header_params()).prop_map(
        |(display_name, uri, params)| Address {
            name_addr: NameAddr { display_name, uri },
            params,
        },
    )
}

fn via() -> impl Strategy<Value = Via> {
    (
        prop_oneof![
            Just(Transport::Udp),
            Just(Transport::Tcp),
            Just(Transport::Tls),
            Just(Transport::Wss),
            "[A-Z]{2,6}".prop_map(|t| Transport::parse(&t)),
        ],
        host(),
        prop::option::of(any::<u16>()),
        header_params(),
    )
        .prop_map(|(transport, host, port, params)| Via {
            protocol: "SIP".into(),
            version: "2.0".into(),
            transport,
            host,
            port,
            params,
        })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Register),
        Just(Method::Bye),
        token().prop_map(|t| Method::parse(&t).expect("token")),
    ]
}

/// Header values a peer may send in an extension header: visible text, inner spaces, no
/// leading or trailing whitespace (the parser trims those).
fn raw_value() -> impl Strategy<Value = String> {
    "([!-~\u{a0}-\u{10ff}]([ !-~\u{a0}-\u{10ff}]{0,20}[!-~\u{a0}-\u{10ff}])?)?"
}

fn headers_and_body() -> impl Strategy<Value = (Vec<(HeaderName, String)>, Vec<u8>)> {
    (
        prop::collection::vec(via(), 1..3),
        address(),
        address(),
        "[A-Za-z0-9.!%*_+`'~-]{1,12}(@[a-z0-9.]{1,10})?",
        any::<u32>(),
        prop::collection::vec(address(), 0..3),
        prop::collection::vec(("X-[A-Za-z0-9-]{1,10}", raw_value()), 0..4),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(vias, from, to, call_id, seq, contacts, extra, body)| {
            let mut h: Vec<(HeaderName, String)> = vec![];
            for v in &vias {
                h.push((HeaderName::Via, v.to_value()));
            }
            h.push((HeaderName::From, From(from).to_value()));
            h.push((HeaderName::To, To(to).to_value()));
            h.push((HeaderName::CallId, CallId(call_id).to_value()));
            h.push((HeaderName::MaxForwards, MaxForwards(70).to_value()));
            // CSeq method is fixed up by the caller to match the request.
            h.push((HeaderName::CSeq, seq.to_string()));
            if !contacts.is_empty() {
                let list: Vec<String> = contacts
                    .into_iter()
                    .map(|a| Contact::Address(a).to_value())
                    .collect();
                h.push((HeaderName::Contact, list.join(", ")));
            }
            for (name, value) in extra {
                h.push((HeaderName::new(&name), value));
            }
            (h, body)
        })
}

fn finish(
    headers: &mut sip_proto::Headers,
    list: Vec<(HeaderName, String)>,
    method: &Method,
    body: &[u8],
) {
    for (name, value) in list {
        if name == HeaderName::CSeq {
            headers.push(name, format!("{value} {method}"));
        } else {
            headers.push(name, value);
        }
    }
    if !body.is_empty() {
        headers.push(HeaderName::ContentType, "application/octet-stream");
    }
    headers.push(HeaderName::ContentLength, body.len().to_string());
}

fn request() -> impl Strategy<Value = Message> {
    (method(), uri(), headers_and_body()).prop_map(|(method, uri, (list, body))| {
        let mut r = Request::new(method.clone(), uri);
        finish(&mut r.headers, list, &method, &body);
        r.body = Bytes::from(body);
        Message::Request(r)
    })
}

fn response() -> impl Strategy<Value = Message> {
    (
        100u16..700,
        "([ !-~\u{a0}-\u{10ff}]{0,20}[!-~\u{a0}-\u{10ff}])?",
        method(),
        headers_and_body(),
    )
        .prop_map(|(code, reason, method, (list, body))| {
            let mut r = Response::new(StatusCode::new(code).expect("100-699"));
            r.reason = reason.into();
            finish(&mut r.headers, list, &method, &body);
            r.body = Bytes::from(body);
            Message::Response(r)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn uri_prints_and_parses_back(u in uri()) {
        let printed = u.to_string();
        prop_assert_eq!(Uri::parse(&printed), Ok(u), "{}", printed);
    }

    #[test]
    fn address_prints_and_parses_back(a in address()) {
        let printed = a.to_string();
        prop_assert_eq!(Address::parse(&printed), Ok(a), "{}", printed);
    }

    #[test]
    fn via_prints_and_parses_back(v in via()) {
        let printed = v.to_value();
        prop_assert_eq!(Via::parse(&printed), Ok(v), "{}", printed);
    }

    #[test]
    fn message_prints_and_parses_back(m in prop_oneof![request(), response()]) {
        let printed = m.to_bytes();
        let parsed = parse_message(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&m), "{}", String::from_utf8_lossy(&printed));
        // On a stream, with the next message already behind it.
        let mut stream = printed.clone();
        stream.extend_from_slice(b"OPTIONS sip:x SIP/2.0\r\n");
        let framed = parse_stream(&stream).expect("frames").expect("complete");
        prop_assert_eq!(&framed.0, &m);
        prop_assert_eq!(framed.1, printed.len());
        // Generated messages are well-formed, so they validate (a request to a scheme we do
        // not serve gets 416).
        match &m {
            Message::Request(r) if matches!(r.uri, Uri::Other(_)) => prop_assert!(matches!(
                m.validate(),
                Err(ValidationError::UnsupportedUriScheme(_))
            )),
            _ => prop_assert_eq!(m.validate(), Ok(())),
        }
        // Typed reads of what we wrote give back what we wrote.
        let cseq: CSeq = m.headers().require().expect("CSeq");
        prop_assert_eq!(cseq.seq.to_string(), m.headers().raw(&HeaderName::CSeq).unwrap().split(' ').next().unwrap());
    }

    #[test]
    fn parser_never_panics_on_noise(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_message(&bytes);
        let _ = parse_stream(&bytes);
    }

    #[test]
    fn parser_never_panics_on_mutated_messages(
        m in request(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = m.to_bytes();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok(parsed) = parse_message(&bytes) {
            let _ = parsed.validate();
            let again = parse_message(&parsed.to_bytes());
            prop_assert_eq!(again, Ok(parsed));
        }
        let _ = parse_stream(&bytes);
    }
}

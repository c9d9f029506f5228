//! Registrar bindings: RFC 3261 §10.3 rules on a virtual clock.

use sip_core::registrar::{
    Aor, BindingChange, RegisterError, Registrar, RegistrarConfig, Registration,
};
use sip_core::{Instant, Peer};
use sip_proto::typed::{Contact, From, To, Transport, Via};
use sip_proto::{HeaderName, Host, Method, Request, RequestBuilder, StatusCode, Uri};
use std::time::Duration;

const AOR: &str = "sip:101@pbx.example.com";

fn peer(addr: &str) -> Peer {
    Peer::udp(addr.parse().unwrap())
}

fn secs(s: u64) -> Instant {
    Instant::from_duration(Duration::from_secs(s))
}

/// A REGISTER for 101 with these Contact header values (raw) and optional Expires.
fn register(call_id: &str, cseq: u32, contacts: &[&str], expires: Option<u32>) -> Request {
    let aor: Uri = AOR.parse().unwrap();
    let mut from = From::new(aor.clone());
    from.set_tag("ft");
    let mut b = RequestBuilder::new(Method::Register, "sip:pbx.example.com".parse().unwrap())
        .via(Via::new(
            Transport::Udp,
            Host::Domain("phone".into()),
            None,
            "z9hG4bKr",
        ))
        .from(from)
        .to(To::new(aor))
        .call_id(call_id)
        .cseq(cseq)
        .raw_header(HeaderName::UserAgent, "Yealink SIP-T46U 108.86.0.20");
    for c in contacts {
        b = b.raw_header(HeaderName::Contact, *c);
    }
    if let Some(e) = expires {
        b = b.raw_header(HeaderName::Expires, e.to_string());
    }
    b.build()
}

fn aor() -> Aor {
    Aor::from_uri(&AOR.parse().unwrap()).unwrap()
}

fn contacts(reg: &Registration) -> Vec<String> {
    reg.bindings
        .iter()
        .map(|b| b.contact.uri().to_string())
        .collect()
}

#[test]
fn two_phones_register_and_the_200_lists_both_with_remaining_expiry() {
    let mut r = Registrar::new(RegistrarConfig::default());
    let desk = register("desk", 1, &["<sip:101@10.0.0.5:5060>;q=0.5"], Some(600));
    let reg = r
        .register(secs(0), &desk, peer("203.0.113.9:40001"))
        .unwrap();
    assert!(matches!(reg.changes.as_slice(), [BindingChange::Added(_)]));
    let b = &reg.bindings[0];
    assert_eq!(b.source, peer("203.0.113.9:40001"));
    assert_eq!(
        b.user_agent.as_deref(),
        Some("Yealink SIP-T46U 108.86.0.20")
    );
    assert_eq!(b.expires_at, secs(600));
    assert!(!b.contact.params.contains("expires"));

    let mobile = register(
        "mobile",
        1,
        &["<sip:101@192.168.1.7:5062>;expires=120"],
        None,
    );
    let reg = r
        .register(secs(10), &mobile, peer("198.51.100.2:5062"))
        .unwrap();
    // No q counts as 1.0 and comes before q=0.5.
    assert_eq!(
        contacts(&reg),
        ["sip:101@192.168.1.7:5062", "sip:101@10.0.0.5:5060"]
    );
    let ok = r.response(secs(10), &mobile, &Ok(reg), "tag");
    assert_eq!(ok.status, StatusCode::OK);
    let listed: Vec<String> = ok
        .headers
        .typed_all::<Contact>()
        .unwrap()
        .iter()
        .map(|c| format!("{}", c.address().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            "<sip:101@192.168.1.7:5062>;expires=120",
            "<sip:101@10.0.0.5:5060>;q=0.5;expires=590"
        ]
    );
}

#[test]
fn expiry_comes_from_contact_then_header_then_default_and_is_capped() {
    let config = RegistrarConfig {
        max_expires: 1800,
        default_expires: 900,
        ..RegistrarConfig::default()
    };
    let mut r = Registrar::new(config);
    let req = register(
        "c",
        1,
        &[
            "<sip:a@10.0.0.1>;expires=100",
            "<sip:b@10.0.0.2>",
            "<sip:c@10.0.0.3>;expires=99999",
        ],
        Some(300),
    );
    let reg = r.register(secs(0), &req, peer("10.0.0.1:5060")).unwrap();
    let mut got: Vec<(String, u64)> = reg
        .bindings
        .iter()
        .map(|b| (b.contact.uri().to_string(), b.remaining_secs(secs(0))))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("sip:a@10.0.0.1".to_owned(), 100),
            ("sip:b@10.0.0.2".to_owned(), 300),
            ("sip:c@10.0.0.3".to_owned(), 1800)
        ]
    );
    let req = register("d", 1, &["<sip:d@10.0.0.4>"], None);
    let reg = r.register(secs(0), &req, peer("10.0.0.4:5060")).unwrap();
    let d = reg
        .bindings
        .iter()
        .find(|b| b.contact.uri().to_string() == "sip:d@10.0.0.4")
        .unwrap();
    assert_eq!(d.expires_at, secs(900));
}

#[test]
fn too_brief_interval_is_423_with_min_expires_and_changes_nothing() {
    let mut r = Registrar::new(RegistrarConfig::default());
    let req = register(
        "c",
        1,
        &[
            "<sip:a@10.0.0.1>;expires=3600",
            "<sip:b@10.0.0.2>;expires=30",
        ],
        None,
    );
    let result = r.register(secs(0), &req, peer("10.0.0.1:5060"));
    assert_eq!(
        result,
        Err(RegisterError::IntervalTooBrief { min_expires: 60 })
    );
    let resp = r.response(secs(0), &req, &result, "t");
    assert_eq!(resp.status, StatusCode::INTERVAL_TOO_BRIEF);
    assert_eq!(resp.headers.raw(&HeaderName::MinExpires), Some("60"));
    assert!(r.lookup(secs(0), &aor()).is_empty());
}

#[test]
fn unregister_one_contact_or_all_with_the_wildcard() {
    let mut r = Registrar::new(RegistrarConfig::default());
    let both = register("c", 1, &["<sip:a@10.0.0.1>", "<sip:b@10.0.0.2>"], Some(600));
    r.register(secs(0), &both, peer("10.0.0.1:5060")).unwrap();

    let one = register("c", 2, &["<sip:a@10.0.0.1>;expires=0"], None);
    let reg = r.register(secs(1), &one, peer("10.0.0.1:5060")).unwrap();
    assert!(
        matches!(reg.changes.as_slice(), [BindingChange::Removed(b)] if b.contact.uri().to_string() == "sip:a@10.0.0.1")
    );
    assert_eq!(contacts(&reg), ["sip:b@10.0.0.2"]);

    for bad in [
        register("c", 3, &["*"], Some(600)),
        register("c", 3, &["*"], None),
        register("c", 3, &["*", "<sip:a@10.0.0.1>"], Some(0)),
    ] {
        let result = r.register(secs(2), &bad, peer("10.0.0.1:5060"));
        assert_eq!(result, Err(RegisterError::BadWildcard));
        assert_eq!(
            r.response(secs(2), &bad, &result, "t").status,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(r.lookup(secs(2), &aor()).len(), 1);

    let all = register("c", 3, &["*"], Some(0));
    let reg = r.register(secs(2), &all, peer("10.0.0.1:5060")).unwrap();
    assert!(reg.bindings.is_empty());
    assert_eq!(reg.changes.len(), 1);
    assert_eq!(r.aor_count(), 0);
}

#[test]
fn same_call_id_needs_a_higher_cseq_another_call_id_always_wins() {
    let mut r = Registrar::new(RegistrarConfig::default());
    let first = register("c", 5, &["<sip:a@10.0.0.1>"], Some(600));
    r.register(secs(0), &first, peer("10.0.0.1:5060")).unwrap();
    for stale_cseq in [5, 4] {
        let late = register("c", stale_cseq, &["<sip:a@10.0.0.1>"], Some(0));
        let result = r.register(secs(1), &late, peer("10.0.0.1:5060"));
        assert_eq!(
            result,
            Err(RegisterError::OutOfOrder {
                cseq: stale_cseq,
                stored: 5
            })
        );
        assert_eq!(
            r.response(secs(1), &late, &result, "t").status,
            StatusCode::SERVER_INTERNAL_ERROR
        );
    }
    assert_eq!(r.lookup(secs(1), &aor()).len(), 1);
    // The wildcard obeys the same rule.
    let late_all = register("c", 5, &["*"], Some(0));
    assert!(r
        .register(secs(1), &late_all, peer("10.0.0.1:5060"))
        .is_err());
    // A rebooted phone starts a new Call-ID at CSeq 1 and takes over the binding, from a new
    // NAT mapping.
    let reboot = register("c-after-reboot", 1, &["<sip:a@10.0.0.1>"], Some(600));
    let reg = r
        .register(secs(2), &reboot, peer("10.0.0.1:61000"))
        .unwrap();
    assert!(matches!(
        reg.changes.as_slice(),
        [BindingChange::Refreshed(_)]
    ));
    assert_eq!(reg.bindings[0].source, peer("10.0.0.1:61000"));
    assert_eq!(reg.bindings[0].registered_at, secs(0));
    assert_eq!(reg.bindings[0].call_id, "c-after-reboot");
}

#[test]
fn query_lookup_and_expiry_sweep() {
    let mut r = Registrar::new(RegistrarConfig::default());
    let req = register(
        "c",
        1,
        &[
            "<sip:a@10.0.0.1>;expires=60",
            "<sip:b@10.0.0.2>;expires=120",
        ],
        None,
    );
    r.register(secs(0), &req, peer("10.0.0.1:5060")).unwrap();
    assert_eq!(r.next_expiry(), Some(secs(60)));

    let query = register("c", 2, &[], None);
    let reg = r.register(secs(30), &query, peer("10.0.0.1:5060")).unwrap();
    assert!(reg.changes.is_empty());
    assert_eq!(reg.bindings.len(), 2);

    // At its expiry instant a binding is gone from lookups, before any sweep.
    assert_eq!(r.lookup(secs(60), &aor()).len(), 1);
    let removed = r.remove_expired(secs(60));
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].0, aor());
    assert_eq!(removed[0].1.contact.uri().to_string(), "sip:a@10.0.0.1");
    assert_eq!(r.next_expiry(), Some(secs(120)));
    assert!(r.remove_expired(secs(119)).is_empty());
    assert_eq!(r.remove_expired(secs(120)).len(), 1);
    assert_eq!(r.next_expiry(), None);
    assert_eq!(r.aor_count(), 0);
}

#[test]
fn contact_limit_and_malformed_requests() {
    let config = RegistrarConfig {
        max_bindings_per_aor: 2,
        ..RegistrarConfig::default()
    };
    let mut r = Registrar::new(config);
    let two = register("c", 1, &["<sip:a@10.0.0.1>", "<sip:b@10.0.0.2>"], Some(600));
    r.register(secs(0), &two, peer("10.0.0.1:5060")).unwrap();
    let third = register("d", 1, &["<sip:c@10.0.0.3>"], Some(600));
    let result = r.register(secs(0), &third, peer("10.0.0.3:5060"));
    assert_eq!(result, Err(RegisterError::TooManyBindings { max: 2 }));
    assert_eq!(
        r.response(secs(0), &third, &result, "t").status,
        StatusCode::FORBIDDEN
    );
    // Refreshing within the limit still works.
    let refresh = register("c", 2, &["<sip:a@10.0.0.1>"], Some(600));
    assert!(r.register(secs(1), &refresh, peer("10.0.0.1:5060")).is_ok());

    let mut no_cseq = register("e", 1, &["<sip:e@10.0.0.5>"], None);
    no_cseq.headers.remove(&HeaderName::CSeq);
    assert!(matches!(
        r.register(secs(0), &no_cseq, peer("10.0.0.5:5060")),
        Err(RegisterError::Header(_))
    ));
    let mut tel = register("e", 1, &["<sip:e@10.0.0.5>"], None);
    tel.headers.set(HeaderName::To, "<tel:+4930123>");
    assert_eq!(
        r.register(secs(0), &tel, peer("10.0.0.5:5060")),
        Err(RegisterError::NotAnAor)
    );
    let mut invite = register("e", 1, &[], None);
    invite.method = Method::Invite;
    assert_eq!(
        r.register(secs(0), &invite, peer("10.0.0.5:5060")),
        Err(RegisterError::NotRegister)
    );
}

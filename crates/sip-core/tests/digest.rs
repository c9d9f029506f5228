//! Digest authentication end to end: a client answers the server's challenge.

use sip_core::digest::{
    answer_challenge, authorize, ha1, ChallengeKind, ClientCredentials, DigestAlgorithm,
    DigestServer, DigestServerConfig, Rejection, UserSecret, Verdict,
};
use sip_core::Instant;
use sip_proto::typed::{
    Algorithm, Authorization, CSeq, Challenge, Credentials, From, To, Transport, Via,
    WwwAuthenticate,
};
use sip_proto::{Host, Method, Request, RequestBuilder, Response, StatusCode, Uri};
use std::time::Duration;

const REALM: &str = "pbx.example.com";
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn register() -> Request {
    let uri: Uri = "sip:pbx.example.com".parse().unwrap();
    let aor: Uri = "sip:101@pbx.example.com".parse().unwrap();
    let mut from = From::new(aor.clone());
    from.set_tag("f1");
    RequestBuilder::new(Method::Register, uri)
        .via(Via::new(
            Transport::Udp,
            Host::Domain("phone.example.com".into()),
            None,
            "z9hG4bKreg1",
        ))
        .from(from)
        .to(To::new(aor))
        .call_id("reg-1@phone")
        .cseq(1)
        .build()
}

fn alice() -> ClientCredentials {
    ClientCredentials {
        username: "101".into(),
        password: "s3cret".into(),
    }
}

fn server() -> DigestServer {
    DigestServer::new(DigestServerConfig::new(REALM, SECRET))
}

/// Runs the first round: no credentials → 401. Returns the challenge response.
fn challenge(server: &mut DigestServer, now: Instant, request: &Request) -> Response {
    assert_eq!(server.credentials(request, ChallengeKind::Www), None);
    server
        .respond(now, request, &Verdict::Challenge, ChallengeKind::Www, "t1")
        .unwrap()
}

fn verify(
    server: &mut DigestServer,
    now: Instant,
    request: &Request,
    secret: Option<&UserSecret>,
) -> Verdict {
    let creds = server
        .credentials(request, ChallengeKind::Www)
        .expect("credentials for our realm");
    server.verify(now, request, &creds, secret)
}

fn password(p: &str) -> UserSecret {
    UserSecret::Password(p.into())
}

#[test]
fn client_answers_the_strongest_challenge_and_is_authorized() {
    let mut server = server();
    let t0 = Instant::from_millis(1_000_000);
    let request = register();
    let challenge = challenge(&mut server, t0, &request);
    assert_eq!(challenge.status, StatusCode::UNAUTHORIZED);
    let offered: Vec<_> = challenge
        .headers
        .typed_all::<WwwAuthenticate>()
        .unwrap()
        .into_iter()
        .map(|WwwAuthenticate(c)| c.as_digest().unwrap().algorithm.clone())
        .collect();
    assert_eq!(offered, [Some(Algorithm::Sha256), Some(Algorithm::Md5)]);

    let retry = authorize(&request, &challenge, &alice(), "c0ffee", "z9hG4bKreg2").unwrap();
    assert_eq!(retry.headers.require::<CSeq>().unwrap().seq, 2);
    assert_eq!(
        retry.headers.require::<Via>().unwrap().branch(),
        Some("z9hG4bKreg2")
    );
    let Authorization(Credentials::Digest(d)) = retry.headers.require().unwrap() else {
        panic!("digest credentials");
    };
    assert_eq!(d.algorithm, Some(Algorithm::Sha256));
    assert_eq!((d.qop.as_deref(), d.nc), (Some("auth"), Some(1)));
    assert_eq!(d.uri, "sip:pbx.example.com");

    assert_eq!(
        verify(
            &mut server,
            t0 + Duration::from_secs(1),
            &retry,
            Some(&password("s3cret"))
        ),
        Verdict::Authorized {
            username: "101".into()
        }
    );
}

#[test]
fn md5_answers_and_stored_ha1_are_accepted() {
    let mut server = server();
    let t0 = Instant::from_millis(5_000);
    let request = register();
    let challenge = challenge(&mut server, t0, &request);
    let md5 = challenge
        .headers
        .typed_all::<WwwAuthenticate>()
        .unwrap()
        .into_iter()
        .find_map(|WwwAuthenticate(c)| {
            c.as_digest()
                .filter(|d| d.algorithm == Some(Algorithm::Md5))
                .cloned()
        })
        .unwrap();
    let answer =
        answer_challenge(&md5, "REGISTER", "sip:pbx.example.com", &alice(), "abc", 1).unwrap();
    let mut retry = request.clone();
    retry
        .headers
        .push_typed(&Authorization(Credentials::Digest(answer)));
    let stored = UserSecret::Ha1 {
        algorithm: DigestAlgorithm::Md5,
        ha1: ha1(DigestAlgorithm::Md5, "101", REALM, "s3cret"),
    };
    assert!(matches!(
        verify(&mut server, t0, &retry, Some(&stored)),
        Verdict::Authorized { .. }
    ));
    // An H(A1) kept for MD5 cannot check a SHA-256 answer: refused like a wrong password.
    let sha = authorize(&request, &challenge, &alice(), "abc", "z9hG4bKx").unwrap();
    assert_eq!(
        verify(&mut server, t0, &sha, Some(&stored)),
        Verdict::Rejected
    );
}

#[test]
fn unknown_user_and_wrong_password_get_the_same_answer() {
    for rejection in [Rejection::Forbidden, Rejection::Challenge] {
        let mut config = DigestServerConfig::new(REALM, SECRET);
        config.rejection = rejection;
        let mut server = DigestServer::new(config);
        let t0 = Instant::from_millis(10_000);
        let request = register();
        let challenge = challenge(&mut server, t0, &request);
        let retry = authorize(&request, &challenge, &alice(), "c1", "z9hG4bKr2").unwrap();

        let wrong = verify(&mut server, t0, &retry, Some(&password("guess")));
        let unknown = verify(&mut server, t0, &retry, None);
        assert_eq!(wrong, Verdict::Rejected);
        assert_eq!(unknown, Verdict::Rejected);
        let a = server
            .respond(t0, &retry, &wrong, ChallengeKind::Www, "t")
            .unwrap();
        let b = server
            .respond(t0, &retry, &unknown, ChallengeKind::Www, "t")
            .unwrap();
        let expected = match rejection {
            Rejection::Forbidden => StatusCode::FORBIDDEN,
            Rejection::Challenge => StatusCode::UNAUTHORIZED,
        };
        assert_eq!((a.status, b.status), (expected, expected));
        assert_eq!(a.headers.len(), b.headers.len());
    }
}

#[test]
fn expired_nonce_with_right_password_is_stale() {
    let mut server = server();
    let t0 = Instant::from_millis(0);
    let request = register();
    let challenge = challenge(&mut server, t0, &request);
    let retry = authorize(&request, &challenge, &alice(), "c1", "z9hG4bKr2").unwrap();
    let lifetime = server.config().nonce_lifetime;
    assert!(matches!(
        verify(
            &mut server,
            t0 + lifetime,
            &retry,
            Some(&password("s3cret"))
        ),
        Verdict::Authorized { .. }
    ));
    let late = t0 + lifetime + Duration::from_millis(1);
    let verdict = verify(&mut server, late, &retry, Some(&password("s3cret")));
    assert_eq!(verdict, Verdict::Stale);
    // stale=true only for a right answer; a wrong one on an old nonce is just rejected.
    assert_eq!(
        verify(&mut server, late, &retry, Some(&password("nope"))),
        Verdict::Rejected
    );
    let answer = server
        .respond(late, &retry, &verdict, ChallengeKind::Www, "t")
        .unwrap();
    let WwwAuthenticate(Challenge::Digest(d)) = answer.headers.require().unwrap() else {
        panic!("digest challenge");
    };
    assert!(d.stale);
    assert!(answer.to_bytes().windows(10).any(|w| w == b"stale=true"));
}

#[test]
fn replayed_nonce_count_is_stale_and_a_higher_one_passes() {
    let mut server = server();
    let t0 = Instant::from_millis(0);
    let request = register();
    let challenge = challenge(&mut server, t0, &request);
    let digest = challenge
        .headers
        .require::<WwwAuthenticate>()
        .unwrap()
        .0
        .as_digest()
        .unwrap()
        .clone();
    let with_nc = |nc| {
        let mut r = request.clone();
        let answer = answer_challenge(
            &digest,
            "REGISTER",
            "sip:pbx.example.com",
            &alice(),
            "cn",
            nc,
        )
        .unwrap();
        r.headers
            .push_typed(&Authorization(Credentials::Digest(answer)));
        r
    };
    let ok = Some(password("s3cret"));
    assert!(matches!(
        verify(&mut server, t0, &with_nc(1), ok.as_ref()),
        Verdict::Authorized { .. }
    ));
    assert_eq!(
        verify(&mut server, t0, &with_nc(1), ok.as_ref()),
        Verdict::Stale
    );
    assert!(matches!(
        verify(&mut server, t0, &with_nc(2), ok.as_ref()),
        Verdict::Authorized { .. }
    ));
}

#[test]
fn forged_foreign_and_future_nonces_are_challenged() {
    let t0 = Instant::from_millis(60_000);
    let request = register();
    let mut other = DigestServer::new(DigestServerConfig::new(REALM, b"another secret"));
    let foreign = challenge(&mut other, t0, &request);
    let retry = authorize(&request, &foreign, &alice(), "c", "z9hG4bKf").unwrap();
    let mut server = server();
    assert_eq!(
        verify(&mut server, t0, &retry, Some(&password("s3cret"))),
        Verdict::Challenge
    );

    // Flip a character of a genuine nonce.
    let genuine = challenge(&mut server, t0, &request);
    let mut tampered = genuine.clone();
    let value = tampered
        .headers
        .raw(&sip_proto::HeaderName::WwwAuthenticate)
        .unwrap()
        .to_owned();
    let start = value.find("nonce=\"").unwrap() + 7;
    let mut bytes = value.into_bytes();
    bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
    tampered.headers.set(
        sip_proto::HeaderName::WwwAuthenticate,
        String::from_utf8(bytes).unwrap(),
    );
    let retry = authorize(&request, &tampered, &alice(), "c", "z9hG4bKf").unwrap();
    assert_eq!(
        verify(&mut server, t0, &retry, Some(&password("s3cret"))),
        Verdict::Challenge
    );

    // A nonce issued "later" than now (clock origin changed): not ours to trust.
    let retry = authorize(&request, &genuine, &alice(), "c", "z9hG4bKf").unwrap();
    assert_eq!(
        verify(
            &mut server,
            Instant::from_millis(59_999),
            &retry,
            Some(&password("s3cret"))
        ),
        Verdict::Challenge
    );

    // Garbage in every field never panics.
    let mut garbage = request.clone();
    garbage.headers.push(
        sip_proto::HeaderName::Authorization,
        format!(r#"Digest username="101", realm="{REALM}", nonce="{}", uri="sip:x", response="zz", qop=auth, nc=00000001, cnonce="c", algorithm=SHA-256"#, "é".repeat(100)),
    );
    assert_eq!(verify(&mut server, t0, &garbage, None), Verdict::Challenge);
}

#[test]
fn missing_qop_uri_mismatch_and_other_realms() {
    let mut server = server();
    let t0 = Instant::from_millis(0);
    let request = register();
    let challenge = challenge(&mut server, t0, &request);
    let mut digest = challenge
        .headers
        .require::<WwwAuthenticate>()
        .unwrap()
        .0
        .as_digest()
        .unwrap()
        .clone();
    digest.qop.clear();
    let answer =
        answer_challenge(&digest, "REGISTER", "sip:pbx.example.com", &alice(), "c", 1).unwrap();
    assert_eq!(answer.qop, None);
    let mut no_qop = request.clone();
    no_qop
        .headers
        .push_typed(&Authorization(Credentials::Digest(answer)));
    let ok = Some(password("s3cret"));
    assert_eq!(
        verify(&mut server, t0, &no_qop, ok.as_ref()),
        Verdict::Challenge
    );
    let mut lenient_config = DigestServerConfig::new(REALM, SECRET);
    lenient_config.require_qop = false;
    let mut lenient = DigestServer::new(lenient_config);
    assert!(matches!(
        verify(&mut lenient, t0, &no_qop, ok.as_ref()),
        Verdict::Authorized { .. }
    ));

    // Credentials computed for another Request-URI are refused with 400.
    let mut elsewhere = register();
    elsewhere.uri = "sip:other.example.com".parse().unwrap();
    let moved = authorize(&elsewhere, &challenge, &alice(), "c", "z9hG4bKm").unwrap();
    let mut replayed = request.clone();
    replayed.headers.push(
        sip_proto::HeaderName::Authorization,
        moved
            .headers
            .raw(&sip_proto::HeaderName::Authorization)
            .unwrap(),
    );
    let verdict = verify(&mut server, t0, &replayed, ok.as_ref());
    assert_eq!(verdict, Verdict::UriMismatch);
    assert_eq!(
        server
            .respond(t0, &replayed, &verdict, ChallengeKind::Www, "t")
            .unwrap()
            .status,
        StatusCode::BAD_REQUEST
    );

    // Credentials for another realm are not ours.
    let mut foreign = request.clone();
    foreign.headers.push(
        sip_proto::HeaderName::Authorization,
        r#"Digest username="a", realm="elsewhere", nonce="n", uri="sip:pbx.example.com", response="r""#,
    );
    assert_eq!(server.credentials(&foreign, ChallengeKind::Www), None);
}

#[test]
fn proxy_challenge_is_answered_in_proxy_authorization() {
    let mut server = server();
    let t0 = Instant::from_millis(0);
    let mut invite = register();
    invite.method = Method::Invite;
    invite.headers.set_typed(&CSeq {
        seq: 7,
        method: Method::Invite,
    });
    let challenge = server
        .respond(t0, &invite, &Verdict::Challenge, ChallengeKind::Proxy, "t")
        .unwrap();
    assert_eq!(challenge.status, StatusCode::PROXY_AUTHENTICATION_REQUIRED);
    let retry = authorize(&invite, &challenge, &alice(), "c", "z9hG4bKp2").unwrap();
    assert!(retry
        .headers
        .contains(&sip_proto::HeaderName::ProxyAuthorization));
    assert!(!retry
        .headers
        .contains(&sip_proto::HeaderName::Authorization));
    assert_eq!(retry.headers.require::<CSeq>().unwrap().seq, 8);
    let creds = server.credentials(&retry, ChallengeKind::Proxy).unwrap();
    assert!(matches!(
        server.verify(t0, &retry, &creds, Some(&password("s3cret"))),
        Verdict::Authorized { .. }
    ));
    // Answering a 200 is an error, not a panic.
    let ok = invite.make_response(StatusCode::OK, Some("t"));
    assert!(authorize(&invite, &ok, &alice(), "c", "z9hG4bKp3").is_err());
}

/// A replay guard full of live nonces keeps authorizing fresh nonces (it forgets the one
/// issued first) and still catches replays of the nonces it remembers.
#[test]
fn a_full_replay_guard_never_turns_a_fresh_nonce_away() {
    let mut config = DigestServerConfig::new(REALM, SECRET);
    config.replay_cache_size = 2;
    let mut server = DigestServer::new(config);
    let request = register();
    let ok = Some(password("s3cret"));
    let answered = |server: &mut DigestServer, now: Instant| {
        let challenge = challenge(server, now, &request);
        let digest = challenge
            .headers
            .require::<WwwAuthenticate>()
            .unwrap()
            .0
            .as_digest()
            .unwrap()
            .clone();
        let answer = answer_challenge(
            &digest,
            "REGISTER",
            "sip:pbx.example.com",
            &alice(),
            "cn",
            1,
        )
        .unwrap();
        let mut r = request.clone();
        r.headers
            .push_typed(&Authorization(Credentials::Digest(answer)));
        r
    };
    let first = answered(&mut server, Instant::from_millis(0));
    let second = answered(&mut server, Instant::from_millis(10));
    let third = answered(&mut server, Instant::from_millis(20));
    let now = Instant::from_millis(30);
    for r in [&first, &second, &third] {
        assert!(matches!(
            verify(&mut server, now, r, ok.as_ref()),
            Verdict::Authorized { .. }
        ));
    }
    // `first` was forgotten to make room for `third`; the other two are remembered.
    assert_eq!(
        verify(&mut server, now, &second, ok.as_ref()),
        Verdict::Stale
    );
    assert_eq!(
        verify(&mut server, now, &third, ok.as_ref()),
        Verdict::Stale
    );
}

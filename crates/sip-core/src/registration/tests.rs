//! The registration client against a provider played by [`DigestServer`], on a virtual
//! clock: every transition and every timer value is asserted.

use super::*;
use crate::digest::{ChallengeKind, DigestServer, DigestServerConfig, UserSecret, Verdict};
use crate::{TransactionConfig, TransactionEvent};
use sip_proto::typed::{CSeq, CallId, Challenge};
use sip_proto::{parse_message, Message};

const PROVIDER: &str = "203.0.113.5:5060";

/// The provider's registrar: challenges, verifies with the real digest server, answers.
struct Net {
    layer: TransactionLayer,
    now: Instant,
    client: RegistrationClient,
    server: DigestServer,
    password: String,
}

impl Net {
    fn new() -> Net {
        Net::with(config())
    }

    fn with(config: RegistrationConfig) -> Net {
        let mut server_config = DigestServerConfig::new("provider.example", &[7; 32]);
        server_config.algorithms = vec![crate::digest::DigestAlgorithm::Md5];
        Net {
            layer: TransactionLayer::new(TransactionConfig::default()),
            now: Instant::ZERO,
            client: RegistrationClient::new(config, Instant::ZERO),
            server: DigestServer::new(server_config),
            password: "secret".into(),
        }
    }

    /// Runs the client's and the layer's timers up to `at`, delivering transaction events.
    fn advance_to(&mut self, at: Instant) {
        loop {
            let next = [self.layer.poll_timeout(), self.client.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= at => {
                    self.now = self.now.max(t);
                    self.layer.handle_timeout(self.now);
                    self.client.handle_timeout(self.now, &mut self.layer);
                    self.deliver();
                }
                _ => break,
            }
        }
        self.now = at;
    }

    fn advance(&mut self, d: Duration) {
        self.advance_to(self.now + d);
    }

    fn deliver(&mut self) {
        while let Some(event) = self.layer.poll_event() {
            match event {
                TransactionEvent::Response { key, response } => {
                    assert!(self.client.handle_response(
                        self.now,
                        &mut self.layer,
                        &key,
                        &response
                    ));
                }
                TransactionEvent::Timeout { key, .. }
                | TransactionEvent::TransportError { key } => {
                    assert!(self.client.handle_failure(self.now, &key));
                }
                _ => {}
            }
        }
    }

    /// The REGISTERs sent since the last call (retransmissions included).
    fn sent(&mut self) -> Vec<Request> {
        let mut out = Vec::new();
        while let Some(t) = self.layer.poll_transmit() {
            assert_eq!(t.destination, Peer::udp(PROVIDER.parse().unwrap()));
            match parse_message(&t.payload).unwrap() {
                Message::Request(r) => out.push(r),
                Message::Response(r) => panic!("unexpected response {}", r.status.as_u16()),
            }
        }
        out
    }

    /// The one new REGISTER.
    fn one_sent(&mut self) -> Request {
        let mut sent = self.sent();
        assert_eq!(sent.len(), 1, "expected one REGISTER");
        sent.remove(0)
    }

    fn answer(&mut self, response: Response) {
        self.layer
            .handle_message(
                self.now,
                Peer::udp(PROVIDER.parse().unwrap()),
                Message::Response(response),
            )
            .unwrap();
        self.deliver();
    }

    fn challenge(&mut self, request: &Request, stale: bool) {
        let mut response = request.make_response(StatusCode::UNAUTHORIZED, Some("p1"));
        for c in self.server.challenges(self.now, stale) {
            response
                .headers
                .push_typed(&WwwAuthenticate(Challenge::Digest(c)));
        }
        self.answer(response);
    }

    /// 200 when the credentials verify with the provider's password, else 403.
    fn verify_and_answer(&mut self, request: &Request, expires: u32) {
        let credentials = self
            .server
            .credentials(request, ChallengeKind::Www)
            .expect("the retry carries credentials");
        let secret = UserSecret::Password(self.password.clone());
        let verdict = self
            .server
            .verify(self.now, request, &credentials, Some(&secret));
        let response = if matches!(verdict, Verdict::Authorized { .. }) {
            let mut ok = request.make_response(StatusCode::OK, Some("p1"));
            ok.headers.push_typed(&Expires(expires));
            ok
        } else {
            request.make_response(StatusCode::FORBIDDEN, Some("p1"))
        };
        self.answer(response);
    }

    fn state(&self) -> RegistrationState {
        self.client.status().state
    }
}

fn config() -> RegistrationConfig {
    RegistrationConfig {
        aor: "sip:alice@provider.example".parse().unwrap(),
        registrar: "sip:provider.example".parse().unwrap(),
        contact: "sip:alice@192.0.2.1:5060".parse().unwrap(),
        destination: Peer::udp(PROVIDER.parse().unwrap()),
        via: "192.0.2.1:5060".parse().unwrap(),
        credentials: Some(ClientCredentials {
            username: "alice".into(),
            password: "secret".into(),
        }),
        expires: 3600,
        instance: "ri1".into(),
        retry: RetryPolicy::default(),
        user_agent: Some("Ringbase/test".into()),
    }
}

fn secs(s: u64) -> Instant {
    Instant::from_duration(Duration::from_secs(s))
}

fn cseq(r: &Request) -> u32 {
    r.headers.require::<CSeq>().unwrap().seq
}

fn call_id(r: &Request) -> String {
    r.headers.require::<CallId>().unwrap().0
}

fn expires(r: &Request) -> u32 {
    r.headers.require::<Expires>().unwrap().0
}

#[test]
fn challenge_answered_then_registered_and_refreshed_at_ninety_percent() {
    let mut net = Net::new();
    assert_eq!(net.state(), RegistrationState::Pending);
    assert_eq!(net.client.poll_timeout(), Some(Instant::ZERO));
    net.advance_to(Instant::ZERO);
    let first = net.one_sent();
    assert_eq!(first.method, Method::Register);
    assert_eq!(first.uri.to_string(), "sip:provider.example");
    assert_eq!(expires(&first), 3600);
    assert!(first.headers.raw(&HeaderName::Authorization).is_none());
    // Nothing to do while the REGISTER is in flight.
    assert_eq!(net.client.poll_timeout(), None);

    net.advance(Duration::from_millis(20));
    net.challenge(&first, false);
    let second = net.one_sent();
    assert_eq!(cseq(&second), cseq(&first) + 1);
    assert_eq!(call_id(&second), call_id(&first));
    assert_eq!(net.state(), RegistrationState::Pending);

    net.advance(Duration::from_millis(20));
    net.verify_and_answer(&second, 3600);
    let registered_at = net.now;
    assert_eq!(net.state(), RegistrationState::Registered);
    assert_eq!(net.client.status().since, registered_at);
    assert_eq!(
        net.client.status().expires_at,
        Some(registered_at + Duration::from_secs(3600))
    );
    // 3600 s granted: refreshed after 3240 s (90 %).
    assert_eq!(
        net.client.poll_timeout(),
        Some(registered_at + Duration::from_secs(3240))
    );
    net.advance(Duration::from_secs(3239));
    assert!(net.sent().is_empty());
    net.advance(Duration::from_secs(1));
    let refresh = net.one_sent();
    assert_eq!(call_id(&refresh), call_id(&first));
    assert_eq!(cseq(&refresh), cseq(&second) + 1);
    net.challenge(&refresh, false);
    let refresh = net.one_sent();
    net.verify_and_answer(&refresh, 1800);
    // Still registered since the first 200; the new grant counts from now.
    assert_eq!(net.state(), RegistrationState::Registered);
    assert_eq!(net.client.status().since, registered_at);
    assert_eq!(
        net.client.status().expires_at,
        Some(net.now + Duration::from_secs(1800))
    );
    assert_eq!(
        net.client.poll_timeout(),
        Some(net.now + Duration::from_secs(1620))
    );
}

#[test]
fn short_grant_keeps_a_transaction_timeout_of_margin() {
    // 64*T1 = 32 s of margin: a 100 s grant is refreshed after 68 s; at most half the grant:
    // 60 s after 30 s, 20 s after 10 s.
    let timeout = TransactionConfig::default().timeout();
    assert_eq!(
        refresh_after(Duration::from_secs(100), timeout),
        Duration::from_secs(68)
    );
    assert_eq!(
        refresh_after(Duration::from_secs(60), timeout),
        Duration::from_secs(30)
    );
    assert_eq!(
        refresh_after(Duration::from_secs(20), timeout),
        Duration::from_secs(10)
    );
    assert_eq!(
        refresh_after(Duration::from_secs(3600), timeout),
        Duration::from_secs(3240)
    );
    let mut net = Net::new();
    net.advance_to(Instant::ZERO);
    let first = net.one_sent();
    net.challenge(&first, false);
    let second = net.one_sent();
    // The Contact's expires wins over the Expires header.
    let mut ok = second.make_response(StatusCode::OK, Some("p1"));
    ok.headers
        .push(HeaderName::Contact, "<sip:alice@192.0.2.1:5060>;expires=60");
    ok.headers.push_typed(&Expires(3600));
    net.answer(ok);
    assert_eq!(net.client.status().expires_at, Some(secs(60)));
    assert_eq!(net.client.poll_timeout(), Some(secs(30)));
}

#[test]
fn wrong_password_fails_with_403_and_retries_with_backoff() {
    let mut net = Net::new();
    net.password = "other".into();
    net.advance_to(Instant::ZERO);
    let first = net.one_sent();
    net.challenge(&first, false);
    let second = net.one_sent();
    net.verify_and_answer(&second, 3600);
    assert_eq!(net.state(), RegistrationState::Failed);
    assert_eq!(net.client.status().detail, "403 Forbidden");
    assert_eq!(net.client.status().expires_at, None);
    // 30 s, then 60 s, then 120 s.
    assert_eq!(net.client.poll_timeout(), Some(secs(30)));
    net.advance(Duration::from_secs(29));
    assert!(net.sent().is_empty());
    net.advance_to(secs(30));
    let retry = net.one_sent();
    assert!(retry.headers.raw(&HeaderName::Authorization).is_none());
    net.challenge(&retry, false);
    let retry = net.one_sent();
    net.verify_and_answer(&retry, 3600);
    assert_eq!(net.state(), RegistrationState::Failed);
    assert_eq!(net.client.status().since, Instant::ZERO);
    assert_eq!(net.client.poll_timeout(), Some(secs(90)));
    // The password is fixed: the next attempt registers and the backoff starts over.
    net.password = "secret".into();
    net.advance_to(secs(90));
    let retry = net.one_sent();
    net.challenge(&retry, false);
    let retry = net.one_sent();
    net.verify_and_answer(&retry, 600);
    assert_eq!(net.state(), RegistrationState::Registered);
    assert_eq!(net.client.status().since, secs(90));
}

#[test]
fn a_second_challenge_is_a_refusal_unless_stale() {
    let mut net = Net::new();
    net.advance_to(Instant::ZERO);
    let first = net.one_sent();
    net.challenge(&first, false);
    let second = net.one_sent();
    // stale=true: the nonce expired, the credentials were right; answered again.
    net.challenge(&second, true);
    let third = net.one_sent();
    assert_eq!(cseq(&third), cseq(&second) + 1);
    assert_eq!(net.state(), RegistrationState::Pending);
    // Not stale: refused.
    net.challenge(&third, false);
    assert!(net.sent().is_empty());
    assert_eq!(net.state(), RegistrationState::Failed);
    assert_eq!(
        net.client.status().detail,
        "401: username or password refused"
    );
    assert_eq!(net.client.poll_timeout(), Some(secs(30)));
}

#[test]
fn no_credentials_and_a_challenge_fails() {
    let mut config = config();
    config.credentials = None;
    let mut net = Net::with(config);
    net.advance_to(Instant::ZERO);
    let first = net.one_sent();
    net.challenge(&first, false);
    assert!(net.sent().is_empty());
    assert_eq!(net.state(), RegistrationState::Failed);
    assert!(net
        .client
        .status()
        .detail
        .contains("no username and password"));
}

#[test]
fn no_response_fails_after_timer_f_and_server_errors_fail() {
    let mut net = Net::new();
    net.advance_to(Instant::ZERO);
    let first = net.one_sent();
    // Retransmissions at 0.5, 1.5, 3.5, 7.5, 11.5 ... then Timer F at 32 s.
    net.advance_to(Instant::from_millis(31_999));
    assert!(net.sent().iter().all(|r| cseq(r) == cseq(&first)));
    assert_eq!(net.state(), RegistrationState::Pending);
    net.advance_to(secs(32));
    assert_eq!(net.state(), RegistrationState::Failed);
    assert_eq!(
        net.client.status().detail,
        "no response from 203.0.113.5:5060"
    );
    assert_eq!(net.client.status().since, secs(32));
    assert_eq!(net.client.poll_timeout(), Some(secs(62)));
    net.advance_to(secs(62));
    let retry = net.one_sent();
    assert_eq!(cseq(&retry), cseq(&first) + 1);
    let mut busy = retry.make_response(StatusCode::SERVICE_UNAVAILABLE, Some("p1"));
    busy.reason = "Maintenance".into();
    net.answer(busy);
    assert_eq!(net.client.status().detail, "503 Maintenance");
    // Second consecutive failure: 60 s.
    assert_eq!(net.client.poll_timeout(), Some(secs(122)));
}

#[test]
fn interval_too_brief_raises_the_expiry_once() {
    let mut config = config();
    config.expires = 60;
    let mut net = Net::with(config);
    net.advance_to(Instant::ZERO);
    let first = net.one_sent();
    let mut brief = first.make_response(StatusCode::INTERVAL_TOO_BRIEF, Some("p1"));
    brief.headers.push(HeaderName::MinExpires, "300");
    net.answer(brief);
    let second = net.one_sent();
    assert_eq!(expires(&second), 300);
    net.challenge(&second, false);
    let third = net.one_sent();
    assert_eq!(expires(&third), 300);
    net.verify_and_answer(&third, 300);
    assert_eq!(net.state(), RegistrationState::Registered);
}

#[test]
fn unregister_sends_expires_zero_and_finishes() {
    let mut net = Net::new();
    net.advance_to(Instant::ZERO);
    let first = net.one_sent();
    net.challenge(&first, false);
    let second = net.one_sent();
    net.verify_and_answer(&second, 3600);
    assert_eq!(net.state(), RegistrationState::Registered);
    net.advance(Duration::from_secs(10));
    net.client.unregister(net.now, &mut net.layer);
    let bye = net.one_sent();
    assert_eq!(expires(&bye), 0);
    assert_eq!(call_id(&bye), call_id(&first));
    net.challenge(&bye, false);
    let bye = net.one_sent();
    assert_eq!(expires(&bye), 0);
    net.verify_and_answer(&bye, 0);
    assert!(net.client.is_finished());
    assert_eq!(net.state(), RegistrationState::Unregistered);
    assert_eq!(net.client.poll_timeout(), None);
    net.advance(Duration::from_secs(7200));
    assert!(net.sent().is_empty());
}

#[test]
fn unregister_before_any_binding_sends_nothing() {
    let mut net = Net::new();
    net.advance_to(Instant::ZERO);
    let first = net.one_sent();
    net.answer(first.make_response(StatusCode::FORBIDDEN, Some("p1")));
    assert_eq!(net.state(), RegistrationState::Failed);
    net.client.unregister(net.now, &mut net.layer);
    assert!(net.sent().is_empty());
    assert!(net.client.is_finished());
}

#[test]
fn unregister_after_a_failed_refresh_still_removes_the_binding_that_stands() {
    let mut net = Net::new();
    net.advance_to(Instant::ZERO);
    let first = net.one_sent();
    net.challenge(&first, false);
    let second = net.one_sent();
    net.verify_and_answer(&second, 3600);
    assert_eq!(net.state(), RegistrationState::Registered);
    // The refresh at 90 % is refused: failed, but the binding granted for 3600 s stands.
    net.advance_to(secs(3240));
    let refresh = net.one_sent();
    net.answer(refresh.make_response(StatusCode::SERVER_INTERNAL_ERROR, Some("p2")));
    assert_eq!(net.state(), RegistrationState::Failed);
    net.client.unregister(net.now, &mut net.layer);
    let remove = net.one_sent();
    assert_eq!(expires(&remove), 0, "the standing binding is removed");
}

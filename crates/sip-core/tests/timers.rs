//! RFC 3261 §17 timer values, asserted to the millisecond on a simulated network.

mod common;

use common::{at_ms, ms, request, request_to, Sim};
use sip_core::transaction::{
    ClientInviteState, ServerInviteState, Timer, TransactionConfig, TransactionEvent,
    TransactionKey,
};
use sip_core::{Instant, Peer};
use sip_proto::typed::{CSeq, Via};
use sip_proto::{Method, Request, StatusCode, TypedHeader};
use std::net::SocketAddr;
use std::time::Duration;

const UAC: &str = "192.0.2.1:5060";
const UAS: &str = "192.0.2.2:5060";

fn black_hole() -> SocketAddr {
    "192.0.2.99:5060".parse().unwrap()
}

fn cfg() -> TransactionConfig {
    TransactionConfig::default()
}

fn pair(mut sim: Sim, uas_config: TransactionConfig) -> (Sim, usize, usize) {
    let uac = sim.add_node("uac", UAC, cfg());
    let uas = sim.add_node("uas", UAS, uas_config);
    (sim, uac, uas)
}

fn timeouts(events: &[(Instant, TransactionEvent)]) -> Vec<(u64, Timer)> {
    events
        .iter()
        .filter_map(|(at, e)| match e {
            TransactionEvent::Timeout { timer, .. } => Some((ms(*at), *timer)),
            _ => None,
        })
        .collect()
}

fn terminated_ms(events: &[(Instant, TransactionEvent)], key: &TransactionKey) -> Option<u64> {
    events.iter().find_map(|(at, e)| match e {
        TransactionEvent::Terminated { key: k } if k == key => Some(ms(*at)),
        _ => None,
    })
}

/// The server transactions created at the UAS, with their requests, in order.
fn new_requests(events: &[(Instant, TransactionEvent)]) -> Vec<(TransactionKey, Request)> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            TransactionEvent::Request { key, request, .. } => Some((key.clone(), request.clone())),
            _ => None,
        })
        .collect()
}

fn responses(events: &[(Instant, TransactionEvent)]) -> Vec<(u64, u16)> {
    events
        .iter()
        .filter_map(|(at, e)| match e {
            TransactionEvent::Response { response, .. } => {
                Some((ms(*at), response.status.as_u16()))
            }
            _ => None,
        })
        .collect()
}

/// Lets the UAS answer the one request it has received.
fn answer(sim: &mut Sim, uas: usize, status: StatusCode) -> TransactionKey {
    let events = sim.take_events(uas);
    let (key, req) = new_requests(&events).pop().expect("the UAS got a request");
    let response = req.make_response(status, Some("uastag"));
    let now = sim.now;
    sim.layer(uas).send_response(now, &key, &response).unwrap();
    key
}

#[test]
fn invite_client_retransmits_with_timer_a_and_gives_up_at_timer_b() {
    let mut sim = Sim::udp();
    let uac = sim.add_node("uac", UAC, cfg());
    let invite = request_to(&sim, Method::Invite, uac, black_hole(), "z9hG4bKa1");
    let key = sim
        .layer(uac)
        .send_request(Instant::ZERO, invite, Peer::udp(black_hole()))
        .unwrap();
    sim.run_until(at_ms(60_000));
    assert_eq!(
        sim.sent_ms(uac, "INVITE"),
        [0, 500, 1500, 3500, 7500, 15500, 31500]
    );
    let events = sim.take_events(uac);
    assert_eq!(timeouts(&events), [(32_000, Timer::B)]);
    assert_eq!(terminated_ms(&events, &key), Some(32_000));
    assert!(sim.layer(uac).is_empty());
}

#[test]
fn invite_client_on_tcp_sends_once_and_still_times_out() {
    let mut sim = Sim::tcp();
    let uac = sim.add_node("uac", UAC, cfg());
    let invite = request_to(&sim, Method::Invite, uac, black_hole(), "z9hG4bKa2");
    sim.layer(uac)
        .send_request(Instant::ZERO, invite, Peer::tcp(black_hole()))
        .unwrap();
    sim.run_until(at_ms(60_000));
    assert_eq!(sim.sent_ms(uac, "INVITE"), [0]);
    assert_eq!(timeouts(&sim.take_events(uac)), [(32_000, Timer::B)]);
}

#[test]
fn timer_values_follow_a_configured_t1() {
    let mut sim = Sim::udp();
    let config = TransactionConfig {
        t1: Duration::from_millis(100),
        t2: Duration::from_millis(400),
        ..cfg()
    };
    let uac = sim.add_node("uac", UAC, config);
    let invite = request_to(&sim, Method::Invite, uac, black_hole(), "z9hG4bKa3");
    sim.layer(uac)
        .send_request(Instant::ZERO, invite, Peer::udp(black_hole()))
        .unwrap();
    let options = request_to(&sim, Method::Options, uac, black_hole(), "z9hG4bKa4");
    sim.layer(uac)
        .send_request(Instant::ZERO, options, Peer::udp(black_hole()))
        .unwrap();
    sim.run_until(at_ms(10_000));
    assert_eq!(
        sim.sent_ms(uac, "INVITE"),
        [0, 100, 300, 700, 1500, 3100, 6300]
    );
    assert_eq!(
        sim.sent_ms(uac, "OPTIONS"),
        [
            0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300, 4700, 5100,
            5500, 5900, 6300
        ]
    );
    assert_eq!(
        timeouts(&sim.take_events(uac)),
        [(6_400, Timer::B), (6_400, Timer::F)]
    );
}

#[test]
fn non_invite_client_doubles_up_to_t2_and_gives_up_at_timer_f() {
    let mut sim = Sim::udp();
    let uac = sim.add_node("uac", UAC, cfg());
    let options = request_to(&sim, Method::Options, uac, black_hole(), "z9hG4bKb1");
    let key = sim
        .layer(uac)
        .send_request(Instant::ZERO, options, Peer::udp(black_hole()))
        .unwrap();
    sim.run_until(at_ms(60_000));
    assert_eq!(
        sim.sent_ms(uac, "OPTIONS"),
        [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    let events = sim.take_events(uac);
    assert_eq!(timeouts(&events), [(32_000, Timer::F)]);
    assert_eq!(terminated_ms(&events, &key), Some(32_000));
}

#[test]
fn non_invite_client_retransmits_every_t2_once_proceeding() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    let options = request(&sim, Method::Options, uac, uas, "z9hG4bKb2");
    let dest = sim.peer(uas);
    sim.layer(uac)
        .send_request(Instant::ZERO, options, dest)
        .unwrap();
    sim.run_until(at_ms(100));
    let events = sim.take_events(uas);
    let (key, req) = new_requests(&events).pop().unwrap();
    sim.layer(uas)
        .send_response(
            at_ms(100),
            &key,
            &req.make_response(StatusCode::TRYING, None),
        )
        .unwrap();
    sim.run_until(at_ms(20_000));
    // Timer E was started with T1 in Trying; it fires in Proceeding and is reset to T2.
    assert_eq!(
        sim.sent_ms(uac, "OPTIONS"),
        [0, 500, 4500, 8500, 12500, 16500]
    );
    // Each retransmission is absorbed by the server transaction, which repeats its 100.
    assert_eq!(
        sim.sent_ms(uas, "SIP/2.0 100"),
        [100, 500, 4500, 8500, 12500, 16500]
    );
    assert!(new_requests(&sim.take_events(uas)).is_empty());
    sim.run_until(at_ms(40_000));
    assert_eq!(timeouts(&sim.take_events(uac)), [(32_000, Timer::F)]);
}

#[test]
fn timer_k_is_t4_on_udp_and_zero_on_tcp() {
    for (sim, k) in [(Sim::udp(), 5_000), (Sim::tcp(), 0)] {
        let (mut sim, uac, uas) = pair(sim, cfg());
        let options = request(&sim, Method::Options, uac, uas, "z9hG4bKk1");
        let dest = sim.peer(uas);
        let key = sim
            .layer(uac)
            .send_request(Instant::ZERO, options, dest)
            .unwrap();
        sim.run_until(at_ms(300));
        answer(&mut sim, uas, StatusCode::OK);
        sim.run_until(at_ms(60_000));
        let events = sim.take_events(uac);
        assert_eq!(responses(&events), [(300, 200)]);
        assert_eq!(terminated_ms(&events, &key), Some(300 + k));
    }
}

#[test]
fn non_invite_server_timer_j_resends_final_to_retransmissions() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    // The first 200 is lost: the client's retransmission at 500 ms gets it again.
    let mut dropped = false;
    sim.drop_when(move |d| {
        let drop = !dropped && d.is("SIP/2.0 200");
        dropped |= drop;
        drop
    });
    let options = request(&sim, Method::Options, uac, uas, "z9hG4bKj1");
    let dest = sim.peer(uas);
    let client_key = sim
        .layer(uac)
        .send_request(Instant::ZERO, options, dest)
        .unwrap();
    sim.run_until(at_ms(200));
    let server_key = answer(&mut sim, uas, StatusCode::OK);
    sim.run_until(at_ms(60_000));
    assert_eq!(sim.sent_ms(uac, "OPTIONS"), [0, 500]);
    assert_eq!(sim.sent_ms(uas, "SIP/2.0 200"), [200, 500]);
    assert_eq!(responses(&sim.take_events(uac)), [(500, 200)]);
    let uas_events = sim.take_events(uas);
    assert_eq!(new_requests(&uas_events).len(), 0, "taken by answer()");
    assert_eq!(terminated_ms(&uas_events, &server_key), Some(200 + 32_000));
    let _ = client_key;

    let (mut sim, uac, uas) = pair(Sim::tcp(), cfg());
    let options = request(&sim, Method::Options, uac, uas, "z9hG4bKj2");
    let dest = sim.peer(uas);
    sim.layer(uac)
        .send_request(Instant::ZERO, options, dest)
        .unwrap();
    sim.run_until(at_ms(200));
    let server_key = answer(&mut sim, uas, StatusCode::OK);
    sim.run_until(at_ms(1_000));
    assert_eq!(terminated_ms(&sim.take_events(uas), &server_key), Some(200));
}

#[test]
fn invite_server_sends_100_trying_after_200_ms_unless_the_tu_answers_first() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKt1");
    let dest = sim.peer(uas);
    sim.layer(uac)
        .send_request(Instant::ZERO, invite, dest)
        .unwrap();
    sim.run_until(at_ms(5_000));
    assert_eq!(sim.sent_ms(uas, "SIP/2.0 100"), [200]);
    // The 100 stopped Timer A before its first firing at 500 ms.
    assert_eq!(sim.sent_ms(uac, "INVITE"), [0]);
    assert_eq!(responses(&sim.take_events(uac)), [(200, 100)]);

    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKt2");
    let dest = sim.peer(uas);
    sim.layer(uac)
        .send_request(Instant::ZERO, invite, dest)
        .unwrap();
    sim.run_until(at_ms(150));
    answer(&mut sim, uas, StatusCode::RINGING);
    sim.run_until(at_ms(5_000));
    assert!(sim.sent_ms(uas, "SIP/2.0 100").is_empty());
    assert_eq!(sim.sent_ms(uas, "SIP/2.0 180"), [150]);

    let immediate = TransactionConfig {
        trying_delay: Duration::ZERO,
        ..cfg()
    };
    let (mut sim, uac, uas) = pair(Sim::udp(), immediate);
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKt3");
    let dest = sim.peer(uas);
    sim.layer(uac)
        .send_request(Instant::ZERO, invite, dest)
        .unwrap();
    sim.run_until(at_ms(1_000));
    assert_eq!(sim.sent_ms(uas, "SIP/2.0 100"), [0]);
}

#[test]
fn retransmitted_invite_is_absorbed_and_gets_the_last_provisional() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    // The first 100 Trying is lost, so the client retransmits at 500 ms.
    let mut dropped = false;
    sim.drop_when(move |d| {
        let drop = !dropped && d.is("SIP/2.0 100");
        dropped |= drop;
        drop
    });
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKr1");
    let dest = sim.peer(uas);
    let key = sim
        .layer(uac)
        .send_request(Instant::ZERO, invite, dest)
        .unwrap();
    sim.run_until(at_ms(10_000));
    assert_eq!(sim.sent_ms(uac, "INVITE"), [0, 500]);
    assert_eq!(sim.sent_ms(uas, "SIP/2.0 100"), [200, 500]);
    assert_eq!(new_requests(&sim.take_events(uas)).len(), 1);
    assert_eq!(
        sim.layer(uac).client_invite_state(&key),
        Some(ClientInviteState::Proceeding)
    );
}

#[test]
fn invite_server_retransmits_non_2xx_by_timer_g_until_timer_h() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    sim.drop_when(|d| d.is("ACK"));
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKg1");
    let dest = sim.peer(uas);
    let client_key = sim
        .layer(uac)
        .send_request(Instant::ZERO, invite, dest)
        .unwrap();
    sim.run_until(at_ms(1_000));
    let server_key = answer(&mut sim, uas, StatusCode::BUSY_HERE);
    sim.run_until(at_ms(60_000));
    let t0 = 1_000;
    let expected: Vec<u64> = [
        0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]
    .iter()
    .map(|t| t0 + t)
    .collect();
    assert_eq!(sim.sent_ms(uas, "SIP/2.0 486"), expected);
    let uas_events = sim.take_events(uas);
    assert_eq!(timeouts(&uas_events), [(t0 + 32_000, Timer::H)]);
    assert_eq!(terminated_ms(&uas_events, &server_key), Some(t0 + 32_000));
    // The client passed the 486 up once and ACKed every copy (all of them lost here).
    let uac_events = sim.take_events(uac);
    assert_eq!(responses(&uac_events), [(200, 100), (t0, 486)]);
    assert_eq!(sim.sent_ms(uac, "ACK"), expected);
    // Timer D: at least 32 s after the first 486 on UDP.
    assert_eq!(terminated_ms(&uac_events, &client_key), Some(t0 + 32_000));
}

#[test]
fn invite_server_absorbs_ack_and_waits_timer_i() {
    for (sim, timer_i, timer_d) in [(Sim::udp(), 5_000, 32_000), (Sim::tcp(), 0, 0)] {
        let reliable = sim.protocol.is_reliable();
        let (mut sim, uac, uas) = pair(sim, cfg());
        // Lose the first 486 on UDP: Timer G repeats it at +500 ms.
        let mut dropped = reliable;
        sim.drop_when(move |d| {
            let drop = !dropped && d.is("SIP/2.0 486");
            dropped |= drop;
            drop
        });
        let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKi1");
        let dest = sim.peer(uas);
        let client_key = sim
            .layer(uac)
            .send_request(Instant::ZERO, invite, dest)
            .unwrap();
        sim.run_until(at_ms(1_000));
        let server_key = answer(&mut sim, uas, StatusCode::BUSY_HERE);
        let first_ack = if reliable { 1_000 } else { 1_500 };
        sim.run_until(at_ms(first_ack));
        assert_eq!(
            sim.layer(uas).server_invite_state(&server_key),
            if reliable {
                None
            } else {
                Some(ServerInviteState::Confirmed)
            }
        );
        sim.run_until(at_ms(60_000));
        assert_eq!(
            sim.sent_ms(uas, "SIP/2.0 486"),
            if reliable {
                vec![1_000]
            } else {
                vec![1_000, 1_500]
            }
        );
        assert_eq!(sim.sent_ms(uac, "ACK"), [first_ack]);
        let uas_events = sim.take_events(uas);
        assert!(timeouts(&uas_events).is_empty());
        assert_eq!(
            terminated_ms(&uas_events, &server_key),
            Some(first_ack + timer_i)
        );
        let uac_events = sim.take_events(uac);
        assert_eq!(
            terminated_ms(&uac_events, &client_key),
            Some(first_ack + timer_d)
        );
        // The ACK the client built follows §17.1.1.3: same branch, CSeq ACK, To tag of the 486.
        let ack = sim.log.iter().find(|d| d.is("ACK")).unwrap();
        let ack = sip_proto::parse_message(&ack.payload).unwrap();
        let via: Via = ack.headers().require().unwrap();
        assert_eq!(via.branch(), Some("z9hG4bKi1"));
        assert_eq!(ack.headers().require::<CSeq>().unwrap().method, Method::Ack);
        let to: sip_proto::typed::To = ack.headers().require().unwrap();
        assert_eq!(to.tag(), Some("uastag"));
    }
}

#[test]
fn invite_2xx_is_accepted_then_ends_after_64_t1() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKl1");
    let dest = sim.peer(uas);
    let client_key = sim
        .layer(uac)
        .send_request(Instant::ZERO, invite.clone(), dest)
        .unwrap();
    sim.run_until(at_ms(1_000));
    let server_key = answer(&mut sim, uas, StatusCode::OK);
    sim.run_until(at_ms(1_000));
    assert_eq!(
        sim.layer(uas).server_invite_state(&server_key),
        Some(ServerInviteState::Accepted)
    );
    assert_eq!(
        sim.layer(uac).client_invite_state(&client_key),
        Some(ClientInviteState::Accepted)
    );
    // A late copy of the INVITE is absorbed, and the TU's own 2xx retransmission goes out
    // through the transaction and reaches the UAC's TU again (RFC 6026).
    let uas_peer = sim.peer(uas);
    let uac_peer = sim.peer(uac);
    sim.run_until(at_ms(2_000));
    sim.layer(uas)
        .handle_message(at_ms(2_000), uac_peer, invite.into())
        .unwrap();
    let ok = sip_proto::parse_message(
        &sim.log
            .iter()
            .find(|d| d.is("SIP/2.0 200"))
            .unwrap()
            .payload,
    )
    .unwrap();
    sim.layer(uas)
        .send_response(at_ms(2_000), &server_key, ok.as_response().unwrap())
        .unwrap();
    sim.run_until(at_ms(2_000));
    assert_eq!(sim.sent_ms(uas, "SIP/2.0 200"), [1_000, 2_000]);
    // The ACK for a 2xx has its own branch and belongs to no transaction.
    let mut ack =
        sip_proto::parse_message(&sim.log.iter().find(|d| d.is("INVITE")).unwrap().payload)
            .unwrap()
            .as_request()
            .unwrap()
            .clone();
    ack.method = Method::Ack;
    ack.headers.set(
        sip_proto::HeaderName::Via,
        format!("SIP/2.0/UDP {UAC};branch=z9hG4bKack"),
    );
    ack.headers.set_typed(&CSeq {
        seq: 1,
        method: Method::Ack,
    });
    sim.layer(uac).send_stateless(uas_peer, &ack.into());
    sim.run_until(at_ms(60_000));
    let uas_events = sim.take_events(uas);
    assert_eq!(new_requests(&uas_events).len(), 0);
    assert!(uas_events.iter().any(|(at, e)| ms(*at) == 2_000
        && matches!(
            e,
            TransactionEvent::Ack {
                transaction: None,
                ..
            }
        )));
    assert_eq!(
        terminated_ms(&uas_events, &server_key),
        Some(1_000 + 32_000)
    );
    let uac_events = sim.take_events(uac);
    assert_eq!(
        responses(&uac_events),
        [(200, 100), (1_000, 200), (2_000, 200)]
    );
    assert_eq!(
        terminated_ms(&uac_events, &client_key),
        Some(1_000 + 32_000)
    );
    assert!(sim.layer(uac).is_empty() && sim.layer(uas).is_empty());
}

#[test]
fn cancel_matches_the_invite_server_transaction() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKc1");
    let dest = sim.peer(uas);
    let invite_key = sim
        .layer(uac)
        .send_request(Instant::ZERO, invite, dest)
        .unwrap();
    // Cancelling before any provisional response: the CANCEL waits for the 100 (§9.1).
    let cancel_key = sim
        .layer(uac)
        .cancel(at_ms(50), &invite_key)
        .unwrap()
        .expect("something to cancel");
    assert_eq!(cancel_key.method, Method::Cancel);
    sim.run_until(at_ms(1_000));
    // Sent with the 100 at 200 ms, retransmitted by Timer E until the UAS answers at 1 s.
    assert_eq!(sim.sent_ms(uac, "CANCEL"), [200, 700]);

    let uas_events = sim.take_events(uas);
    let server_invite = new_requests(&uas_events).pop().unwrap().0;
    let (server_cancel, cancel) = uas_events
        .iter()
        .find_map(|(_, e)| match e {
            TransactionEvent::Cancel {
                key,
                request,
                invite,
                ..
            } => {
                assert_eq!(invite.as_ref(), Some(&server_invite));
                Some((key.clone(), request.clone()))
            }
            _ => None,
        })
        .expect("a Cancel event");
    let now = sim.now;
    sim.layer(uas)
        .send_response(
            now,
            &server_cancel,
            &cancel.make_response(StatusCode::OK, Some("uastag")),
        )
        .unwrap();
    let invite_request = sip_proto::parse_message(&sim.log[0].payload).unwrap();
    let terminated = invite_request
        .as_request()
        .unwrap()
        .make_response(StatusCode::REQUEST_TERMINATED, Some("uastag"));
    sim.layer(uas)
        .send_response(now, &server_invite, &terminated)
        .unwrap();
    sim.run_until(at_ms(60_000));
    let uac_events = sim.take_events(uac);
    let by_key = |k: &TransactionKey| {
        uac_events
            .iter()
            .filter_map(|(_, e)| match e {
                TransactionEvent::Response { key, response } if key == k => {
                    Some(response.status.as_u16())
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(by_key(&cancel_key), [200]);
    assert_eq!(by_key(&invite_key), [100, 487]);
    assert_eq!(sim.sent_ms(uac, "ACK"), [1_000]);
    assert!(timeouts(&sim.take_events(uas)).is_empty());
}

#[test]
fn cancel_without_invite_transaction_is_reported_as_such() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKc2");
    let cancel = invite.make_cancel();
    let dest = sim.peer(uas);
    sim.layer(uac)
        .send_request(Instant::ZERO, cancel, dest)
        .unwrap();
    sim.run_until(at_ms(100));
    let uas_events = sim.take_events(uas);
    assert!(matches!(
        uas_events.as_slice(),
        [(_, TransactionEvent::Cancel { invite: None, .. })]
    ));
}

#[test]
fn stray_responses_and_bad_requests() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKs1");
    let response = invite.make_response(StatusCode::OK, Some("x"));
    let uas_peer = sim.peer(uas);
    sim.layer(uac)
        .handle_message(Instant::ZERO, uas_peer, response.into())
        .unwrap();
    assert!(matches!(
        sim.layer(uac).poll_event(),
        Some(TransactionEvent::StrayResponse { .. })
    ));

    // A request without Call-ID is answered 400 statelessly, to the rport source.
    let mut bad = request(&sim, Method::Options, uac, uas, "z9hG4bKs2");
    bad.headers.remove(&sip_proto::HeaderName::CallId);
    let uac_peer = sim.peer(uac);
    let err = sim
        .layer(uas)
        .handle_message(Instant::ZERO, uac_peer, bad.into())
        .unwrap_err();
    assert!(err.to_string().contains("Call-ID"), "{err}");
    let t = sim.layer(uas).poll_transmit().unwrap();
    assert_eq!(t.destination, uac_peer);
    assert!(t
        .payload
        .starts_with(b"SIP/2.0 400 Missing Call-ID header\r\n"));
    assert!(sim.layer(uas).is_empty());

    // RFC 2543 branches are refused, and garbage is an error, never a panic.
    let old = request(&sim, Method::Options, uac, uas, "1234");
    assert!(sim
        .layer(uas)
        .handle_message(Instant::ZERO, uac_peer, old.into())
        .is_err());
    assert!(sim
        .layer(uas)
        .handle_datagram(Instant::ZERO, uac_peer, b"\x00\xffgarbage")
        .is_err());
}

#[test]
fn send_errors_are_typed() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    let dest = sim.peer(uas);
    let options = request(&sim, Method::Options, uac, uas, "z9hG4bKe1");
    let key = sim
        .layer(uac)
        .send_request(Instant::ZERO, options.clone(), dest)
        .unwrap();
    assert!(matches!(
        sim.layer(uac)
            .send_request(Instant::ZERO, options.clone(), dest),
        Err(sip_core::TransactionError::DuplicateTransaction(_))
    ));
    assert!(matches!(
        sim.layer(uac).send_response(
            Instant::ZERO,
            &key,
            &options.make_response(StatusCode::OK, None)
        ),
        Err(sip_core::TransactionError::WrongKind { .. })
    ));
    let mut ack = options.clone();
    ack.method = Method::Ack;
    assert!(matches!(
        sim.layer(uac).send_request(Instant::ZERO, ack, dest),
        Err(sip_core::TransactionError::AckWithoutTransaction)
    ));
    let mut no_branch = options;
    no_branch.headers.set(
        sip_proto::HeaderName::Via,
        Via::parse("SIP/2.0/UDP a.example").unwrap().to_value(),
    );
    assert!(matches!(
        sim.layer(uac).send_request(Instant::ZERO, no_branch, dest),
        Err(sip_core::TransactionError::MissingBranch)
    ));
    sim.layer(uac)
        .handle_transport_error(Instant::ZERO, &key)
        .unwrap();
    assert!(sim.layer(uac).is_empty());
}

/// The UAS's server transaction for the CANCEL it received, and the CANCEL.
fn received_cancel(events: &[(Instant, TransactionEvent)]) -> (TransactionKey, Request) {
    events
        .iter()
        .find_map(|(_, e)| match e {
            TransactionEvent::Cancel { key, request, .. } => Some((key.clone(), request.clone())),
            _ => None,
        })
        .expect("the UAS got a CANCEL")
}

fn terminated_count(events: &[(Instant, TransactionEvent)], key: &TransactionKey) -> usize {
    events
        .iter()
        .filter(|(_, e)| matches!(e, TransactionEvent::Terminated { key: k } if k == key))
        .count()
}

/// §9.1: a UAS that answers the CANCEL 200 but never sends the 487 (nor any final) must not
/// keep the INVITE client transaction alive forever: it ends exactly 64*T1 after the CANCEL.
#[test]
fn cancelled_invite_without_final_response_ends_64_t1_after_the_cancel() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKx1");
    let dest = sim.peer(uas);
    let invite_key = sim
        .layer(uac)
        .send_request(Instant::ZERO, invite, dest)
        .unwrap();
    sim.run_until(at_ms(1_000));
    // The UAS's own 100 Trying (200 ms) stopped Timer B; the INVITE is Proceeding.
    assert_eq!(
        sim.layer(uac).client_invite_state(&invite_key),
        Some(ClientInviteState::Proceeding)
    );
    let cancel_key = sim
        .layer(uac)
        .cancel(at_ms(1_000), &invite_key)
        .unwrap()
        .expect("something to cancel");
    sim.run_until(at_ms(2_000));
    assert_eq!(sim.sent_ms(uac, "CANCEL"), [1_000, 1_500]);
    let (server_cancel, cancel) = received_cancel(&sim.take_events(uas));
    let now = sim.now;
    sim.layer(uas)
        .send_response(
            now,
            &server_cancel,
            &cancel.make_response(StatusCode::OK, Some("uastag")),
        )
        .unwrap();

    sim.run_until(at_ms(32_999));
    assert_eq!(
        sim.layer(uac).client_invite_state(&invite_key),
        Some(ClientInviteState::Proceeding)
    );
    sim.run_until(at_ms(40_000));
    let events = sim.take_events(uac);
    assert_eq!(timeouts(&events), [(1_000 + 32_000, Timer::Cancel)]);
    assert_eq!(terminated_ms(&events, &invite_key), Some(33_000));
    assert_eq!(terminated_count(&events, &invite_key), 1);
    // The CANCEL's own transaction got its 200 at 2 s and ended by Timer K (T4).
    assert_eq!(terminated_ms(&events, &cancel_key), Some(2_000 + 5_000));
    assert!(sim.layer(uac).is_empty());
    assert_eq!(sim.layer(uac).len(), 0);
    assert_eq!(sim.layer(uac).poll_timeout(), None);
    // The INVITE was never retransmitted after the 100, and nothing else went out.
    assert_eq!(sim.sent_ms(uac, "INVITE"), [0]);
    assert_eq!(sim.sent_ms(uac, "ACK"), Vec::<u64>::new());
}

/// A CANCEL asked for before any provisional goes out with the first one; the 64*T1 wait
/// counts from then, not from the TU's call. Here the CANCEL is lost every time, so the
/// CANCEL transaction (Timer F) and the INVITE transaction end together. Over TCP, with a
/// configured T1, the same rule holds.
#[test]
fn deferred_cancel_counts_64_t1_from_when_it_was_sent() {
    for (mut sim, t1) in [(Sim::udp(), 500), (Sim::tcp(), 100)] {
        let config = TransactionConfig {
            t1: Duration::from_millis(t1),
            ..cfg()
        };
        let uac = sim.add_node("uac", UAC, config);
        let uas = sim.add_node("uas", UAS, cfg());
        sim.drop_when(|d| d.is("CANCEL"));
        let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKx2");
        let dest = sim.peer(uas);
        let invite_key = sim
            .layer(uac)
            .send_request(Instant::ZERO, invite, dest)
            .unwrap();
        let cancel_key = sim
            .layer(uac)
            .cancel(at_ms(50), &invite_key)
            .unwrap()
            .expect("something to cancel");
        sim.run_until(at_ms(120_000));
        // The UAS's 100 Trying arrives at 200 ms and releases the CANCEL.
        assert_eq!(sim.sent_ms(uac, "CANCEL")[0], 200);
        let events = sim.take_events(uac);
        let gone = 200 + 64 * t1;
        let mut got = timeouts(&events);
        got.sort();
        assert_eq!(got, [(gone, Timer::F), (gone, Timer::Cancel)]);
        assert_eq!(terminated_ms(&events, &invite_key), Some(gone));
        assert_eq!(terminated_ms(&events, &cancel_key), Some(gone));
        assert!(sim.layer(uac).is_empty());
        // The UAS still holds its INVITE transaction: it never sent a final. Not our case.
        assert_eq!(sim.layer(uas).len(), 1);
    }
}

/// A final response after the CANCEL stops the wait: no Timeout, the INVITE transaction
/// ends by Timer D as usual.
#[test]
fn a_late_487_after_cancel_stops_the_cancel_timer() {
    let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKx3");
    let dest = sim.peer(uas);
    let invite_key = sim
        .layer(uac)
        .send_request(Instant::ZERO, invite, dest)
        .unwrap();
    sim.run_until(at_ms(1_000));
    sim.layer(uac).cancel(at_ms(1_000), &invite_key).unwrap();
    sim.run_until(at_ms(20_000));
    let uas_events = sim.take_events(uas);
    let (server_invite, invite_request) = new_requests(&uas_events).pop().unwrap();
    let now = sim.now;
    sim.layer(uas)
        .send_response(
            now,
            &server_invite,
            &invite_request.make_response(StatusCode::REQUEST_TERMINATED, Some("uastag")),
        )
        .unwrap();
    sim.run_until(at_ms(120_000));
    let events = sim.take_events(uac);
    assert_eq!(responses(&events).last(), Some(&(20_000, 487)));
    // Only the never-answered CANCEL times out (Timer F); the INVITE does not.
    assert_eq!(timeouts(&events), [(1_000 + 32_000, Timer::F)]);
    assert_eq!(terminated_ms(&events, &invite_key), Some(20_000 + 32_000));
    assert!(sim.layer(uac).is_empty());
}

/// Cancelling an INVITE that already has its final response does nothing: no CANCEL, no
/// new transaction, no timer, the INVITE transaction's course unchanged (§9.1: "If the
/// original request has generated a final response, the CANCEL SHOULD NOT be sent").
#[test]
fn cancel_after_a_final_response_is_a_no_op() {
    for (status, state) in [
        (StatusCode::OK, ClientInviteState::Accepted),
        (StatusCode::BUSY_HERE, ClientInviteState::Completed),
    ] {
        let (mut sim, uac, uas) = pair(Sim::udp(), cfg());
        let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bKx4");
        let dest = sim.peer(uas);
        let invite_key = sim
            .layer(uac)
            .send_request(Instant::ZERO, invite, dest)
            .unwrap();
        sim.run_until(at_ms(10));
        answer(&mut sim, uas, status);
        sim.run_until(at_ms(100));
        assert_eq!(sim.layer(uac).client_invite_state(&invite_key), Some(state));
        let deadline = sim.layer(uac).poll_timeout();

        assert_eq!(sim.layer(uac).cancel(at_ms(100), &invite_key), Ok(None));
        assert_eq!(sim.layer(uac).cancel(at_ms(200), &invite_key), Ok(None));
        assert_eq!(sim.layer(uac).len(), 1);
        assert_eq!(sim.layer(uac).poll_timeout(), deadline);
        assert_eq!(sim.layer(uac).client_invite_state(&invite_key), Some(state));
        assert!(!sim
            .layer(uac)
            .contains(&invite_key.with_method(Method::Cancel)));
        sim.run_until(at_ms(60_000));
        assert!(sim.sent_ms(uac, "CANCEL").is_empty());
        let events = sim.take_events(uac);
        assert!(timeouts(&events).is_empty());
        // Timer M (2xx) or Timer D (non-2xx) ends it, both 32 s here, as without the CANCEL.
        assert_eq!(terminated_ms(&events, &invite_key), Some(10 + 32_000));
        assert!(sim.layer(uac).is_empty());
    }
}

/// A finished INVITE transaction lingers 32 s (Timer L, M, H) for retransmissions; it keeps
/// what those need (the last response, the ACK) but not the INVITE, which under call load
/// would hold tens of thousands of parsed requests.
#[test]
fn finished_invite_transactions_let_go_of_the_request() {
    use sip_core::transaction::{ClientInvite, ServerInvite};
    let (sim, uac, uas) = pair(Sim::udp(), cfg());
    let invite = request(&sim, Method::Invite, uac, uas, "z9hG4bK-keep");
    for status in [StatusCode::OK, StatusCode::BUSY_HERE] {
        let mut out = Vec::new();
        let mut server = ServerInvite::new(invite.clone(), sim.peer(uac), cfg(), &mut out);
        let ringing = invite.make_response(StatusCode::RINGING, Some("t"));
        server.send_response(&ringing, &mut out).unwrap();
        assert!(server.request().is_some(), "a 100 Trying may still be due");
        server
            .send_response(&invite.make_response(status, Some("t")), &mut out)
            .unwrap();
        assert!(server.request().is_none(), "after {status:?}");

        let mut client = ClientInvite::start(invite.clone(), sim.peer(uas), cfg(), &mut out);
        client.on_response(ringing.clone(), &mut out);
        assert!(
            client.request().is_some(),
            "a CANCEL may still be made from it"
        );
        out.clear();
        client.on_response(invite.make_response(status, Some("t")), &mut out);
        assert!(client.request().is_none(), "after {status:?}");
        if status == StatusCode::BUSY_HERE {
            // The ACK for the error went out, and goes out again for a retransmitted 486.
            let acks = |out: &[sip_core::transaction::Output]| {
                out.iter()
                    .filter(|o| matches!(o, sip_core::transaction::Output::Transmit(t) if t.payload.starts_with(b"ACK ")))
                    .count()
            };
            assert_eq!(acks(&out), 1);
            out.clear();
            client.on_response(invite.make_response(status, Some("t")), &mut out);
            assert_eq!(acks(&out), 1);
        }
    }
}

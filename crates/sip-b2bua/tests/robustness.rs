//! Races, lost messages and odd peers: the B2BUA keeps every call's record exactly once and
//! leaves nothing behind.

mod common;

use common::{ms, secs, Behaviour, Sim, CUSTOMER, LINE};
use routing::AgentId;
use sip_b2bua::CallStatus;
use sip_core::digest::ClientCredentials;
use sip_proto::Method;

const SETTINGS: &str = r#"
[[agents]]
id = 101
name = "Anna"

[[agents]]
id = 102
name = "Ben"

[[lines]]
number = "+493012345678"
name = "Sales"
queue = "sales"

[[queues]]
name = "sales"
strategy = "all_at_once"
members = [101, 102]
rings = 4
no_answer = { action = "voicemail" }
"#;

#[test]
fn anna_and_ben_answer_at_the_same_instant_ben_lost_and_gets_ack_then_bye() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(3)),
    );
    let ben = sim.add_phone(
        "ben",
        "192.0.2.22:5060",
        102,
        Behaviour::AnswerAfter(secs(3)),
    );

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(5));
    // Anna's 200 was handled first: she is connected, Ben's 200 crossed our CANCEL.
    assert!(sim.got(anna, "ACK"));
    assert!(!sim.got(anna, "BYE"));
    assert!(sim.got(ben, "CANCEL"));
    assert!(sim.got(ben, "ACK"), "{:?}", sim.lines_to(ben));
    assert!(
        sim.got(ben, "BYE"),
        "the late answer is hung up: {:?}",
        sim.lines_to(ben)
    );
    assert_eq!(sim.count(trunk, "SIP/2.0 200"), 1);
    sim.hang_up(trunk);
    sim.run_for(secs(40));
    let record = sim.the_record();
    assert_eq!(record.agent, Some(AgentId(101)));
    sim.assert_idle();
}

#[test]
fn anna_has_a_desk_phone_and_a_softphone_both_ring_the_softphone_answers_the_desk_phone_stops() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let desk = sim.add_phone("desk", "192.0.2.21:5060", 101, Behaviour::RingForever);
    let soft = sim.add_phone(
        "soft",
        "192.0.2.31:5060",
        101,
        Behaviour::AnswerAfter(secs(2)),
    );

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(4));
    assert!(sim.got(desk, "INVITE"));
    assert!(sim.got(soft, "INVITE"));
    assert!(sim.got(desk, "CANCEL"));
    assert!(!sim.got(soft, "CANCEL"));
    sim.hang_up(trunk);
    sim.run_for(secs(40));
    assert_eq!(sim.the_record().agent, Some(AgentId(101)));
    sim.assert_idle();
}

#[test]
fn the_callers_ack_is_lost_200_is_retransmitted_at_rfc_3261_intervals_then_both_legs_end() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );
    let trunk_addr = sim.uas[trunk].addr;
    sim.drop_when(move |d| d.from == trunk_addr && d.start_line().starts_with("ACK"));

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(40));
    let oks: Vec<u64> = sim
        .sent_to(trunk)
        .into_iter()
        .filter(|(_, l)| l.starts_with("SIP/2.0 200"))
        .map(|(t, _)| t)
        .collect();
    let first = oks[0];
    let gaps: Vec<u64> = oks.iter().map(|t| t - first).collect();
    // T1 = 500 ms doubling to T2 = 4 s (§13.3.1.4), given up after 64*T1 = 32 s.
    assert_eq!(
        gaps,
        [0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    let bye_anna: Vec<u64> = sim
        .sent_to(anna)
        .into_iter()
        .filter(|(_, l)| l.starts_with("BYE"))
        .map(|(t, _)| t)
        .collect();
    assert_eq!(bye_anna, [first + 32_000]);
    assert!(sim.got(trunk, "BYE"));
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Answered);
    assert!(record
        .notes
        .iter()
        .any(|n| n.contains("never acknowledged")));
    assert_eq!(ms(sim.now), 40_000);
}

#[test]
fn the_provider_asks_for_credentials_the_outbound_call_answers_the_407_once() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::AnswerAfter(secs(1)));
    sim.uas[trunk].challenge = Some(("acct42", "s3cret"));
    sim.pbx.directory.trunk_credentials = Some(ClientCredentials {
        username: "acct42".to_owned(),
        password: "s3cret".to_owned(),
    });
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);

    sim.call(anna, "101", "+4917612345678", &[]);
    sim.run_for(secs(3));
    assert_eq!(sim.count(trunk, "INVITE"), 2, "{:?}", sim.lines_to(trunk));
    assert_eq!(sim.uas[trunk].authenticated, 1);
    assert_eq!(sim.uas[anna].finals[0].status.as_u16(), 200);
    sim.hang_up(anna);
    sim.run_for(secs(40));
    assert_eq!(sim.the_record().status, CallStatus::Answered);
    sim.assert_idle();
}

#[test]
fn the_trunks_account_is_our_from_user_when_the_provider_wants_it() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::AnswerAfter(secs(1)));
    sim.uas[trunk].challenge = Some(("acct42", "s3cret"));
    sim.pbx.directory.trunk_credentials = Some(ClientCredentials {
        username: "acct42".to_owned(),
        password: "s3cret".to_owned(),
    });
    sim.pbx.directory.trunk_from_user = Some("acct42".to_owned());
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);

    sim.call(anna, "101", "+4917612345678", &[]);
    sim.run_for(secs(3));
    let invites = &sim.uas[trunk].incoming;
    assert!(!invites.is_empty());
    for (_, invite, _, _) in invites {
        let from = invite
            .headers
            .typed::<sip_proto::typed::From>()
            .unwrap()
            .unwrap();
        let user = from.uri().as_sip().and_then(|u| u.user.clone());
        assert_eq!(user.as_deref(), Some("acct42"));
    }
    assert_eq!(sim.uas[anna].finals[0].status.as_u16(), 200);
    sim.hang_up(anna);
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn the_provider_refuses_our_credentials_the_phone_gets_403_record_failed() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::AnswerAfter(secs(1)));
    sim.uas[trunk].challenge = Some(("acct42", "s3cret"));
    sim.pbx.directory.trunk_credentials = Some(ClientCredentials {
        username: "acct42".to_owned(),
        password: "wrong".to_owned(),
    });
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);

    sim.call(anna, "101", "+4917612345678", &[]);
    sim.run_for(secs(3));
    assert_eq!(sim.uas[anna].finals[0].status.as_u16(), 403);
    assert_eq!(sim.the_record().status, CallStatus::Failed);
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn a_phone_that_is_gone_is_given_up_by_the_ring_timer_and_forgotten_after_timer_b() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);
    // Ben's phone is registered but gone: nothing reaches it.
    let ben = sim.add_phone("ben", "192.0.2.22:5060", 102, Behaviour::RingForever);
    let ben_addr = sim.uas[ben].addr;
    sim.drop_when(move |d| d.to == ben_addr);

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(19));
    // Routing's ring timer (4 rings = 20 s) ends the offer; then voicemail (480).
    assert!(sim.got(anna, "INVITE"));
    assert!(sim.uas[trunk].finals.is_empty());
    sim.run_for(secs(2));
    assert!(sim.got(anna, "CANCEL"));
    assert_eq!(sim.uas[trunk].finals[0].status.as_u16(), 480);
    sim.run_for(secs(60));
    assert_eq!(sim.the_record().status, CallStatus::Missed);
    sim.assert_idle();
}

#[test]
fn an_invite_without_contact_is_refused_400_and_still_logged() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    sim.call(trunk, CUSTOMER, LINE, &[]);
    // Remove the Contact before it leaves: rebuild the INVITE by hand.
    let (_, mut invite) = sim.uas[trunk].outgoing.clone().unwrap();
    invite.headers.remove(&sip_proto::HeaderName::Contact);
    let branch_via = common::via(sim.uas[trunk].addr, "z9hG4bKnocontact");
    invite.headers.remove(&sip_proto::HeaderName::Via);
    invite.headers.push_front_typed(&branch_via);
    invite
        .headers
        .set(sip_proto::HeaderName::CallId, "no-contact-call".to_owned());
    let now = sim.now;
    let pbx = sip_core::Peer::udp(sim.pbx.addr);
    let key = sim.uas[trunk]
        .layer
        .send_request(now, invite.clone(), pbx)
        .unwrap();
    sim.uas[trunk].outgoing = Some((key, invite));
    sim.run_for(secs(1));
    assert!(sim.got(trunk, "SIP/2.0 400"));
    // The proper INVITE sent first is routed too (nobody is registered: voicemail, 480).
    let refused: Vec<_> = sim
        .pbx
        .records
        .iter()
        .filter(|r| r.notes.iter().any(|n| n.contains("Contact")))
        .collect();
    assert_eq!(refused.len(), 1, "{:#?}", sim.pbx.records);
    assert_eq!(refused[0].status, CallStatus::Failed);
    assert_eq!(sim.pbx.records.len(), 2, "one record per call");
}

#[test]
fn a_bye_for_a_dialog_we_do_not_know_goes_back_to_the_shell() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let _anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );
    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(3));
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    // The same BYE again (a new transaction): the call is gone, so it is not ours.
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert!(sim.pbx.unhandled.iter().any(|e| matches!(
        e,
        sip_core::TransactionEvent::Request { request, .. } if request.method == Method::Bye
    )));
    assert_eq!(sim.pbx.records.len(), 1);
}

#[test]
fn a_trunk_that_sends_no_sdp_in_the_invite_gets_the_phones_offer_and_its_ack_answer_reaches_the_phone(
) {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    sim.uas[trunk].late_offer = true;
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(3));
    assert!(sim.first_to(anna, "INVITE").body().is_empty());
    let offer = sim.first_to(trunk, "SIP/2.0 200");
    assert_eq!(String::from_utf8_lossy(offer.body()), sim.uas[anna].sdp);
    let ack = sim.first_to(anna, "ACK");
    assert_eq!(String::from_utf8_lossy(ack.body()), sim.uas[trunk].sdp);
    assert_eq!(sim.count(anna, "ACK"), 1);
    sim.hang_up(trunk);
    sim.run_for(secs(40));
    assert_eq!(sim.the_record().status, CallStatus::Answered);
    sim.assert_idle();
}

#[test]
fn a_call_that_loops_back_through_the_trunk_ends_with_483_not_a_storm() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);
    sim.call(trunk, CUSTOMER, LINE, &[("Max-Forwards", "1")]);
    sim.run_for(secs(1));
    // Our leg to Anna carries one hop less.
    let invite = sim.first_to(anna, "INVITE");
    assert_eq!(
        invite.headers().raw(&sip_proto::HeaderName::MaxForwards),
        Some("0")
    );
    sim.give_up(trunk);
    sim.run_for(secs(1));

    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    sim.call(trunk, CUSTOMER, LINE, &[("Max-Forwards", "0")]);
    sim.run_for(secs(1));
    assert_eq!(sim.uas[trunk].finals[0].status.as_u16(), 483);
    // The transaction layer refuses it before it is a call: there is nothing to log.
    assert!(sim.pbx.records.is_empty());
    sim.assert_idle();
}

#[test]
fn an_invite_that_requires_100rel_is_answered_420_with_unsupported() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    sim.call(trunk, CUSTOMER, LINE, &[("Require", "100rel")]);
    sim.run_for(secs(1));
    let refusal = sim.first_to(trunk, "SIP/2.0 420");
    assert_eq!(
        refusal.headers().raw(&sip_proto::HeaderName::Unsupported),
        Some("100rel")
    );
    assert_eq!(sim.the_record().status, CallStatus::Failed);
}

#[test]
fn a_call_whose_bye_never_comes_is_hung_up_after_the_maximum_duration() {
    let mut sim = Sim::with_config(SETTINGS, |config| {
        config.max_call_duration = Some(secs(3600));
    });
    let (trunk, anna) = trunk_call_anna_answers_after_a_second(&mut sim);
    sim.run_for(secs(3599));
    assert!(!sim.got(anna, "BYE"));
    sim.run_for(secs(3));
    assert!(sim.got(anna, "BYE"));
    assert!(sim.got(trunk, "BYE"));
    let record = sim.the_record();
    assert_eq!(record.talk_seconds(), Some(3600));
    assert!(record
        .notes
        .iter()
        .any(|n| n.contains("maximum call duration")));
}

/// A trunk call that Anna answers after 1 s: the trunk, Anna.
fn trunk_call_anna_answers_after_a_second(sim: &mut Sim) -> (usize, usize) {
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );
    sim.call(trunk, CUSTOMER, LINE, &[]);
    (trunk, anna)
}

#[test]
fn a_caller_gone_without_a_bye_is_found_by_the_keepalive_and_the_call_is_hung_up() {
    let mut sim = Sim::with_config(SETTINGS, |config| {
        config.keepalive_interval = Some(secs(60));
    });
    let (trunk, anna) = trunk_call_anna_answers_after_a_second(&mut sim);
    sim.run_for(secs(3));
    // The caller's network drops: nothing reaches it any more, and it sends nothing.
    let gone = sim.uas[trunk].addr;
    sim.drop_when(move |d| d.to == gone);
    sim.run_for(secs(59));
    assert_eq!(sim.count(anna, "OPTIONS"), 1, "the phone is asked at 61 s");
    assert!(!sim.got(anna, "BYE"));
    // The caller never answers its OPTIONS: after 64*T1 the call is over.
    sim.run_for(secs(31));
    assert!(!sim.got(anna, "BYE"), "Timer F has not fired yet");
    sim.run_for(secs(2));
    assert!(sim.got(anna, "BYE"), "the agent's phone is hung up");
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.talk_seconds(), Some(61 + 32 - 1));
    assert!(
        record.notes.iter().any(|n| n.contains("caller was gone")),
        "{:?}",
        record.notes
    );
    sim.assert_idle();
}

#[test]
fn a_connected_call_whose_sides_answer_the_keepalive_stays_up() {
    let mut sim = Sim::with_config(SETTINGS, |config| {
        config.keepalive_interval = Some(secs(60));
    });
    let (trunk, anna) = trunk_call_anna_answers_after_a_second(&mut sim);
    sim.run_for(secs(10 * 60 + 2));
    assert_eq!(
        sim.count(trunk, "OPTIONS"),
        10,
        "one a minute to the caller"
    );
    assert_eq!(sim.count(anna, "OPTIONS"), 10, "and to the agent's phone");
    assert!(!sim.got(anna, "BYE"));
    assert!(!sim.got(trunk, "BYE"));
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert!(sim.got(anna, "BYE"));
    assert_eq!(sim.the_record().talk_seconds(), Some(10 * 60));
    // The call's next keepalive went with it.
    sim.run_for(secs(120));
    assert_eq!(sim.count(anna, "OPTIONS"), 10);
    sim.assert_idle();
}

#[test]
fn a_re_invite_after_the_call_ended_is_not_a_new_call() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let _anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );
    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(3));
    sim.hang_up(trunk);
    sim.in_dialog(trunk, Method::Invite, Some("v=0\r\n"));
    sim.run_for(secs(1));
    assert!(sim.got(trunk, "SIP/2.0 481"));
    assert_eq!(sim.pbx.records.len(), 1);
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn over_tcp_the_answer_is_sent_once_and_our_contact_asks_for_tcp() {
    let mut sim = Sim::new(SETTINGS);
    sim.use_tcp();
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );
    let trunk_addr = sim.uas[trunk].addr;
    // A lost ACK would be the transport's problem on TCP: no 2xx retransmission from us.
    sim.drop_when(move |d| d.from == trunk_addr && d.start_line().starts_with("ACK"));

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(10));
    assert_eq!(sim.count(trunk, "SIP/2.0 200"), 1);
    let invite = sim.first_to(anna, "INVITE");
    let via = invite
        .headers()
        .raw(&sip_proto::HeaderName::Via)
        .unwrap()
        .to_owned();
    assert!(via.starts_with("SIP/2.0/TCP"), "{via}");
    let contact = invite
        .headers()
        .raw(&sip_proto::HeaderName::Contact)
        .unwrap()
        .to_owned();
    assert!(contact.contains("transport=tcp"), "{contact}");
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert!(sim.got(anna, "BYE"));
    assert_eq!(sim.the_record().status, CallStatus::Answered);
}

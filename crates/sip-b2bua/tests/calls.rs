//! Whole calls through the B2BUA on a simulated network with a virtual clock: a trunk, the
//! agents' phones and Ringbase. Each test is one scenario, named as the product behaves.

mod common;

use common::{secs, Behaviour, Sim, CUSTOMER, LINE};
use routing::{AgentId, Caller, Outcome};
use sip_b2bua::{CallDirection, CallStatus};
use sip_proto::Method;

/// Sales rings Anna and Ben at once; Support tries Anna, then Ben, 10 s each, then
/// voicemail; the Hotline rings Cem for 10 s, then forwards to the backup number.
const SETTINGS: &str = r#"
[[agents]]
id = 101
name = "Anna"

[[agents]]
id = 102
name = "Ben"
extension = "102"

[[agents]]
id = 103
name = "Cem"

[[lines]]
number = "+493012345678"
name = "Sales"
queue = "sales"

[[lines]]
number = "+493012345679"
name = "Support"
queue = "support"

[[lines]]
number = "+493012345670"
name = "Hotline"
queue = "hotline"

[[queues]]
name = "sales"
strategy = "all_at_once"
members = [101, 102]
rings = 4
no_answer = { action = "voicemail" }

[[queues]]
name = "support"
strategy = "in_order"
members = [101, 102]
rings = 2
no_answer = { action = "voicemail" }

[[queues]]
name = "hotline"
strategy = "in_order"
members = [103]
rings = 2
no_answer = { action = "forward", number = "+4930555000" }

[outbound]
forbidden_country_codes = [53]
"#;

const SUPPORT: &str = "+493012345679";
const HOTLINE: &str = "+493012345670";

fn body_of(message: &sip_proto::Message) -> String {
    String::from_utf8_lossy(message.body()).into_owned()
}

#[test]
fn two_phones_ring_in_parallel_anna_answers_ben_gets_cancel_caller_hangs_up_record_answered() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(3)),
    );
    let ben = sim.add_phone("ben", "192.0.2.22:5060", 102, Behaviour::RingForever);

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(1));
    assert_eq!(
        sim.lines_to(anna)[0],
        "INVITE sip:101@192.0.2.21:5060 SIP/2.0"
    );
    assert_eq!(
        sim.lines_to(ben)[0],
        "INVITE sip:102@192.0.2.22:5060 SIP/2.0"
    );
    // Both phones get the caller's SDP unchanged, and the caller hears ringback.
    let offer = sim.uas[trunk].sdp.clone();
    assert_eq!(body_of(&sim.first_to(anna, "INVITE")), offer);
    assert_eq!(body_of(&sim.first_to(ben, "INVITE")), offer);
    assert!(sim.got(trunk, "SIP/2.0 180"));
    assert!(!sim.got(ben, "CANCEL"));
    // Both agents get the screen pop while their phones ring.
    let popped: Vec<AgentId> = sim.pbx.screen_pops.iter().map(|(_, a)| *a).collect();
    assert_eq!(popped, [AgentId(101), AgentId(102)]);

    sim.run_for(secs(3));
    assert!(
        sim.got(ben, "CANCEL"),
        "the loser is cancelled: {:?}",
        sim.lines_to(ben)
    );
    assert!(sim.got(anna, "ACK"));
    let ok = sim.first_to(trunk, "SIP/2.0 200");
    assert_eq!(
        body_of(&ok),
        sim.uas[anna].sdp,
        "Anna's SDP reaches the caller unchanged"
    );
    assert!(sim.pbx.records.is_empty(), "no record while the call lasts");
    assert_eq!(sim.pbx.answered.len(), 1);
    assert_eq!(sim.pbx.answered[0].1, Some(AgentId(101)));

    sim.run_for(secs(56));
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert!(sim.got(anna, "BYE"));
    assert_eq!(sim.uas[trunk].finals[0].status.as_u16(), 200);

    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.direction, CallDirection::Inbound);
    assert_eq!(record.agent, Some(AgentId(101)));
    assert_eq!(record.queue.as_deref(), Some("sales"));
    assert_eq!(record.line.as_deref(), Some("Sales"));
    assert_eq!(record.caller, Caller::Number(CUSTOMER.into()));
    assert_eq!(record.called, LINE);
    // Answered at 3.03 s (Anna's 200 reaches Ringbase), BYE at 60.01 s.
    assert_eq!(record.talk_seconds(), Some(56));
    sim.run_for(secs(40));
    sim.assert_idle();
    // The 8-hour limit of the finished call is gone too.
    assert_eq!(sim.pbx.b2bua.pending_timers(), 0);
}

#[test]
fn anna_is_busy_so_support_rings_ben_next_who_answers() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::BusyAfter(secs(1)),
    );
    let ben = sim.add_phone(
        "ben",
        "192.0.2.22:5060",
        102,
        Behaviour::AnswerAfter(secs(2)),
    );

    sim.call(trunk, CUSTOMER, SUPPORT, &[]);
    sim.run_for(secs(1) / 2);
    assert!(sim.got(anna, "INVITE"));
    assert!(!sim.got(ben, "INVITE"), "in order: Ben waits for Anna");

    sim.run_for(secs(1));
    assert!(sim.got(anna, "ACK"), "the 486 is acknowledged");
    assert!(sim.got(ben, "INVITE"), "busy → next member at once");
    assert!(
        !sim.got(trunk, "SIP/2.0 486"),
        "the caller never hears the busy agent"
    );

    sim.run_for(secs(3));
    assert!(sim.got(trunk, "SIP/2.0 200"));
    sim.hang_up(ben);
    sim.run_for(secs(1));
    assert!(sim.got(trunk, "BYE"));
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.agent, Some(AgentId(102)));
    assert_eq!(record.queue.as_deref(), Some("support"));
}

#[test]
fn nobody_answers_support_each_phone_rings_ten_seconds_then_voicemail_fallback_record_missed() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);
    let ben = sim.add_phone("ben", "192.0.2.22:5060", 102, Behaviour::RingForever);

    sim.call(trunk, CUSTOMER, SUPPORT, &[]);
    sim.run_for(secs(25));
    // Ring timers come from routing: 2 rings = 10 s per member.
    let cancel_anna: Vec<u64> = sim
        .sent_to(anna)
        .into_iter()
        .filter(|(_, l)| l.starts_with("CANCEL"))
        .map(|(t, _)| t)
        .collect();
    assert_eq!(cancel_anna, [10_010]);
    let invite_ben: Vec<u64> = sim
        .sent_to(ben)
        .into_iter()
        .filter(|(_, l)| l.starts_with("INVITE"))
        .map(|(t, _)| t)
        .collect();
    assert_eq!(invite_ben, [10_010]);
    assert!(sim.got(ben, "CANCEL"));

    // No media yet: voicemail ends in "temporarily unavailable" for the caller.
    assert_eq!(sim.uas[trunk].finals[0].status.as_u16(), 480);
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Missed);
    assert!(matches!(record.outcome, Some(Outcome::Voicemail { .. })));
    assert!(
        record.notes.iter().any(|n| n.contains("voicemail")),
        "{:?}",
        record.notes
    );
    assert_eq!(record.agent, None);
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn cem_does_not_answer_so_the_hotline_forwards_to_the_backup_number_through_the_trunk() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::AnswerAfter(secs(2)));
    let cem = sim.add_phone("cem", "192.0.2.23:5060", 103, Behaviour::RingForever);

    sim.call(trunk, CUSTOMER, HOTLINE, &[]);
    sim.run_for(secs(11));
    assert!(sim.got(cem, "CANCEL"));
    let forward = sim.first_to(trunk, "INVITE");
    let forward = forward.as_request().unwrap();
    assert_eq!(
        forward.uri.to_string(),
        format!("sip:+4930555000@{}", common::TRUNK)
    );
    assert_eq!(body_of(&forward.clone().into()), sim.uas[trunk].sdp);

    sim.run_for(secs(3));
    assert_eq!(sim.uas[trunk].finals[0].status.as_u16(), 200);
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.forwarded_to.as_deref(), Some("+4930555000"));
    assert!(matches!(record.outcome, Some(Outcome::Forwarded { .. })));
}

#[test]
fn caller_hangs_up_while_two_phones_ring_both_get_cancel_caller_gets_487_record_missed() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);
    let ben = sim.add_phone("ben", "192.0.2.22:5060", 102, Behaviour::RingForever);

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(5));
    sim.cancel(trunk);
    sim.run_for(secs(1));
    assert!(sim.got(anna, "CANCEL"));
    assert!(sim.got(ben, "CANCEL"));
    assert_eq!(sim.uas[trunk].finals[0].status.as_u16(), 487);
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Missed);
    assert_eq!(record.outcome, Some(Outcome::CallerHungUp));
    sim.run_for(secs(40));
    sim.assert_idle();
    assert_eq!(sim.pbx.records.len(), 1, "no second record");
}

#[test]
fn the_agent_hangs_up_first_caller_gets_bye_record_has_talk_time() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(2)),
    );

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(32));
    sim.hang_up(anna);
    sim.run_for(secs(1));
    assert!(sim.got(trunk, "BYE"));
    assert!(sim.uas[trunk]
        .in_dialog
        .iter()
        .any(|r| r.method == Method::Bye));
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.agent, Some(AgentId(101)));
    // Answered at 2.03 s, BYE from Anna at 32.01 s.
    assert_eq!(record.talk_seconds(), Some(29));
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn caller_puts_the_agent_on_hold_the_re_invite_passes_through_with_its_sdp() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(5));
    let hold = "v=0\r\no=trunk 1 2 IN IP4 198.51.100.1\r\ns=-\r\na=sendonly\r\n";
    sim.in_dialog(trunk, Method::Invite, Some(hold));
    sim.run_for(secs(1));
    let reinvite = sim.uas[anna]
        .in_dialog
        .iter()
        .find(|r| r.method == Method::Invite)
        .expect("Anna gets the re-INVITE");
    assert_eq!(String::from_utf8_lossy(&reinvite.body), hold);
    // Anna's 200 comes back to the caller; both 2xx are acknowledged.
    assert_eq!(
        sim.count(trunk, "SIP/2.0 200"),
        2,
        "{:?}",
        sim.lines_to(trunk)
    );
    assert_eq!(sim.count(anna, "ACK"), 2);
    sim.run_for(secs(10));
    assert_eq!(
        sim.count(trunk, "SIP/2.0 200"),
        2,
        "no retransmission after the ACK"
    );
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert_eq!(sim.the_record().status, CallStatus::Answered);
}

#[test]
fn anonymous_caller_forwarded_by_the_carrier_is_routed_by_the_diversion_number() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );

    // Dialed the company's old number; the carrier forwarded from the Support line.
    sim.call(
        trunk,
        "anonymous",
        "+4930999999",
        &[
            (
                "Diversion",
                "<sip:+493012345679@carrier.example>;reason=unconditional",
            ),
            ("Privacy", "id"),
        ],
    );
    sim.run_for(secs(3));
    assert!(sim.got(anna, "INVITE"));
    let invite = sim.first_to(anna, "INVITE");
    let from = invite
        .headers()
        .raw(&sip_proto::HeaderName::From)
        .unwrap()
        .to_owned();
    assert!(from.contains("anonymous"), "{from}");
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    let record = sim.the_record();
    assert_eq!(record.caller, Caller::Anonymous);
    assert_eq!(record.called, SUPPORT);
    assert_eq!(record.line.as_deref(), Some("Support"));
    assert_eq!(record.to.as_deref(), Some("+4930999999"));
}

#[test]
fn an_agent_without_a_registered_phone_is_skipped_as_unreachable() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    // Anna has no phone registered; Ben answers.
    let ben = sim.add_phone(
        "ben",
        "192.0.2.22:5060",
        102,
        Behaviour::AnswerAfter(secs(1)),
    );

    sim.call(trunk, CUSTOMER, SUPPORT, &[]);
    sim.run_for(secs(3));
    assert_eq!(sim.count(ben, "INVITE"), 1, "Ben is rung at once");
    assert_eq!(sim.sent_to(ben)[0].0, 10, "no ring time lost on Anna");
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    let record = sim.the_record();
    assert_eq!(record.agent, Some(AgentId(102)));
    assert!(record.log.iter().any(|entry| matches!(
        entry,
        routing::LogEntry::Missed {
            agent: AgentId(101),
            ..
        }
    )));
}

#[test]
fn a_number_no_line_has_is_answered_404_with_one_record() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    sim.call(trunk, CUSTOMER, "+4940123123", &[]);
    sim.run_for(secs(1));
    assert_eq!(sim.uas[trunk].finals[0].status.as_u16(), 404);
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Missed);
    assert_eq!(record.called, "+4940123123");
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn anna_calls_a_customer_from_her_desk_phone_through_the_trunk() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::AnswerAfter(secs(4)));
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);

    sim.call(anna, "101", "01701234567", &[]);
    sim.run_for(secs(1));
    let out = sim.first_to(trunk, "INVITE");
    let out = out.as_request().unwrap();
    assert_eq!(
        out.uri.to_string(),
        format!("sip:+491701234567@{}", common::TRUNK)
    );
    assert!(sim.got(anna, "SIP/2.0 180"));
    sim.run_for(secs(4));
    assert_eq!(sim.uas[anna].finals[0].status.as_u16(), 200);
    assert_eq!(
        body_of(&sim.first_to(anna, "SIP/2.0 200")),
        sim.uas[trunk].sdp
    );
    sim.run_for(secs(20));
    sim.hang_up(anna);
    sim.run_for(secs(1));
    assert!(sim.got(trunk, "BYE"));
    let record = sim.the_record();
    assert_eq!(record.direction, CallDirection::Outbound);
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.agent, Some(AgentId(101)));
    assert_eq!(record.called, "+491701234567");
}

#[test]
fn a_call_to_a_forbidden_country_is_refused_403_and_never_reaches_the_trunk() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::AnswerAfter(secs(1)));
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);

    sim.call(anna, "101", "005371234567", &[]);
    sim.run_for(secs(1));
    assert_eq!(sim.uas[anna].finals[0].status.as_u16(), 403);
    assert!(sim.lines_to(trunk).is_empty());
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Failed);
    assert_eq!(record.direction, CallDirection::Outbound);
    assert!(
        record.notes.iter().any(|n| n.contains("forbidden")),
        "{:?}",
        record.notes
    );
}

#[test]
fn the_customer_is_busy_on_an_outbound_call_record_busy() {
    let mut sim = Sim::new(SETTINGS);
    let _trunk = sim.add_trunk(Behaviour::BusyAfter(secs(1)));
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);

    sim.call(anna, "101", "01701234567", &[]);
    sim.run_for(secs(3));
    assert_eq!(sim.uas[anna].finals[0].status.as_u16(), 486);
    assert_eq!(sim.the_record().status, CallStatus::Busy);
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn anna_dials_bens_extension_his_phone_rings_he_answers_record_internal() {
    let mut sim = Sim::new(SETTINGS);
    let _trunk = sim.add_trunk(Behaviour::AnswerAfter(secs(1)));
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);
    let ben = sim.add_phone(
        "ben",
        "192.0.2.22:5060",
        102,
        Behaviour::AnswerAfter(secs(2)),
    );

    sim.call(anna, "101", "102", &[]);
    sim.run_for(secs(3));
    let invite = sim.first_to(ben, "INVITE");
    let from = invite
        .headers()
        .raw(&sip_proto::HeaderName::From)
        .unwrap()
        .to_owned();
    assert!(from.contains("sip:101@"), "Ben sees Anna's number: {from}");
    assert_eq!(sim.uas[anna].finals[0].status.as_u16(), 200);
    assert!(
        sim.lines_to(_trunk).is_empty(),
        "internal calls never touch the trunk"
    );
    sim.hang_up(anna);
    sim.run_for(secs(1));
    assert!(sim.got(ben, "BYE"));
    let record = sim.the_record();
    assert_eq!(record.direction, CallDirection::Internal);
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.agent, Some(AgentId(101)));
    assert_eq!(record.called, "102");
}

#[test]
fn anna_dials_bens_extension_while_he_is_busy_record_busy() {
    let mut sim = Sim::new(SETTINGS);
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);
    let _ben = sim.add_phone("ben", "192.0.2.22:5060", 102, Behaviour::BusyAfter(secs(1)));

    sim.call(anna, "101", "102", &[]);
    sim.run_for(secs(3));
    assert_eq!(sim.uas[anna].finals[0].status.as_u16(), 486);
    assert_eq!(sim.the_record().status, CallStatus::Busy);
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn the_only_member_is_paused_the_caller_waits_and_is_rung_through_when_she_is_back() {
    let settings = r#"
[[agents]]
id = 101
name = "Anna"

[[lines]]
number = "+493012345678"
name = "Sales"
queue = "sales"

[[queues]]
name = "sales"
strategy = "in_order"
members = [101]
no_answer = { action = "wait_in_queue", music = "hold-music", max_wait_seconds = 300 }
"#;
    let mut sim = Sim::new(settings);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(2)),
    );
    sim.agent_state(101, routing::AgentState::Paused);

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(20));
    assert!(!sim.got(anna, "INVITE"), "a paused agent is not rung");
    assert!(
        sim.uas[trunk].finals.is_empty(),
        "the caller waits (ringback: no music yet)"
    );
    sim.agent_state(101, routing::AgentState::Free);
    sim.run_for(secs(3));
    assert!(sim.got(anna, "INVITE"));
    assert_eq!(sim.uas[trunk].finals[0].status.as_u16(), 200);
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Answered);
    assert!(
        record.notes.iter().any(|n| n.contains("hold-music")),
        "{:?}",
        record.notes
    );
}

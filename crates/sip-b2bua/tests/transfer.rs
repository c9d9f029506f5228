//! Blind transfer with REFER: the agent hands the caller on and leaves; the caller's media
//! is pointed at the new party with a re-INVITE (no media relay yet).

mod common;

use common::{secs, Behaviour, Sim, CUSTOMER, LINE};
use routing::AgentId;
use sip_b2bua::CallStatus;
use sip_proto::Method;

const SETTINGS: &str = r#"
[[agents]]
id = 101
name = "Anna"
extension = "101"

[[agents]]
id = 102
name = "Ben"
extension = "102"

[[lines]]
number = "+493012345678"
name = "Sales"
queue = "sales"

[[queues]]
name = "sales"
strategy = "in_order"
members = [101]
rings = 4
no_answer = { action = "voicemail" }
"#;

fn body(message: &sip_proto::Message) -> String {
    String::from_utf8_lossy(message.body()).into_owned()
}

#[test]
fn anna_transfers_the_caller_to_ben_ben_answers_and_talks_with_the_caller() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );
    let ben = sim.add_phone(
        "ben",
        "192.0.2.22:5060",
        102,
        Behaviour::AnswerAfter(secs(2)),
    );

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(5));
    assert!(!sim.got(ben, "INVITE"), "Ben is not in the queue");
    sim.refer(anna, "sip:102@pbx.example");
    sim.run_for(secs(1));
    assert!(sim.got(anna, "SIP/2.0 202"));
    let notify = sim.first_to(anna, "NOTIFY");
    assert_eq!(body(&notify), "SIP/2.0 200 OK\r\n");
    // Ben is called without SDP: his answer makes the offer the caller will get.
    assert!(sim.first_to(ben, "INVITE").body().is_empty());
    sim.hang_up(anna);
    sim.run_for(secs(1) / 2);
    assert!(
        !sim.got(trunk, "BYE"),
        "the caller stays when the agent leaves"
    );

    sim.run_for(secs(3));
    let reinvite = sim.uas[trunk]
        .in_dialog
        .iter()
        .find(|r| r.method == Method::Invite)
        .expect("the caller gets a re-INVITE");
    assert_eq!(String::from_utf8_lossy(&reinvite.body), sim.uas[ben].sdp);
    let ack = sim.first_to(ben, "ACK");
    assert_eq!(
        body(&ack),
        sim.uas[trunk].sdp,
        "the caller's answer reaches Ben"
    );

    sim.run_for(secs(30));
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert!(sim.got(ben, "BYE"));
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.agent, Some(AgentId(101)));
    assert!(
        record
            .notes
            .iter()
            .any(|n| n.contains("transferred to agent 102")),
        "{:?}",
        record.notes
    );
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn ben_is_busy_so_the_blind_transfer_fails_and_the_caller_is_hung_up() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );
    let _ben = sim.add_phone("ben", "192.0.2.22:5060", 102, Behaviour::BusyAfter(secs(1)));

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(5));
    sim.refer(anna, "sip:102@pbx.example");
    sim.run_for(secs(1) / 2);
    sim.hang_up(anna);
    sim.run_for(secs(3));
    assert!(sim.got(trunk, "BYE"));
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Answered);
    assert!(
        record.notes.iter().any(|n| n.contains("failed")),
        "{:?}",
        record.notes
    );
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn a_transfer_to_an_unknown_extension_is_refused_and_the_call_goes_on() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );
    // No trunk route either: an external number cannot be reached.
    sim.pbx.directory.trunk = None;

    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(5));
    sim.refer(anna, "sip:999@pbx.example");
    sim.run_for(secs(1));
    assert!(sim.got(anna, "SIP/2.0 480"));
    assert!(!sim.got(trunk, "BYE"));
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert!(sim.got(anna, "BYE"));
    assert_eq!(sim.the_record().status, CallStatus::Answered);
}

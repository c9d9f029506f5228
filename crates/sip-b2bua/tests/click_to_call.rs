//! Click-to-call (`POST /api/v1/calls/originate`): the agent's phone rings first; when he
//! picks up, the customer is called through the trunk.

mod common;

use common::{secs, Behaviour, Sim};
use routing::AgentId;
use sip_b2bua::{CallDirection, CallStatus, OriginateError};
use sip_proto::Method;

const SETTINGS: &str = r#"
[[agents]]
id = 101
name = "Anna"

[[lines]]
number = "+493012345678"
name = "Sales"

[outbound]
forbidden_country_codes = [53]
"#;

fn body(message: &sip_proto::Message) -> String {
    String::from_utf8_lossy(message.body()).into_owned()
}

#[test]
fn anna_clicks_a_number_her_phone_rings_she_picks_up_the_customer_is_called_and_answers() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::AnswerAfter(secs(3)));
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(2)),
    );

    sim.originate(101, "0170 1234567").unwrap();
    sim.run_for(secs(1));
    let ring = sim.first_to(anna, "INVITE");
    assert!(ring.body().is_empty(), "the phone makes the offer");
    let from = ring
        .headers()
        .raw(&sip_proto::HeaderName::From)
        .unwrap()
        .to_owned();
    assert!(
        from.contains("+491701234567"),
        "the phone shows whom it calls: {from}"
    );
    assert!(
        sim.lines_to(trunk).is_empty(),
        "the customer waits for Anna"
    );

    sim.run_for(secs(2));
    let out = sim.first_to(trunk, "INVITE");
    assert!(out
        .as_request()
        .unwrap()
        .uri
        .to_string()
        .starts_with("sip:+491701234567@"));
    assert_eq!(
        body(&out),
        sim.uas[anna].sdp,
        "Anna's offer goes to the customer"
    );
    assert!(
        !sim.got(anna, "ACK"),
        "Anna's ACK waits for the customer's answer"
    );

    sim.run_for(secs(4));
    let ack = sim.first_to(anna, "ACK");
    assert_eq!(
        body(&ack),
        sim.uas[trunk].sdp,
        "the customer's answer reaches Anna"
    );
    assert!(sim.got(trunk, "ACK"));
    assert_eq!(sim.pbx.answered.len(), 1);

    // Anna puts the customer on hold: the re-INVITE passes through.
    let hold = "v=0\r\no=anna 1 2 IN IP4 192.0.2.21\r\ns=-\r\na=sendonly\r\n";
    sim.in_dialog(anna, Method::Invite, Some(hold));
    sim.run_for(secs(1));
    let reinvite = sim.uas[trunk]
        .in_dialog
        .iter()
        .find(|r| r.method == Method::Invite)
        .expect("the customer gets the hold");
    assert_eq!(String::from_utf8_lossy(&reinvite.body), hold);

    sim.run_for(secs(20));
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert!(sim.got(anna, "BYE"));
    let record = sim.the_record();
    assert_eq!(record.direction, CallDirection::Outbound);
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.agent, Some(AgentId(101)));
    assert_eq!(record.called, "+491701234567");
    assert_eq!(record.line.as_deref(), Some("Sales"));
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn anna_does_not_pick_up_the_customer_is_never_called_record_missed() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::AnswerAfter(secs(1)));
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);

    sim.originate(101, "+4917612345678").unwrap();
    sim.run_for(secs(29));
    assert!(!sim.got(anna, "CANCEL"));
    sim.run_for(secs(2));
    assert!(sim.got(anna, "CANCEL"), "given up after 30 s");
    assert!(sim.lines_to(trunk).is_empty());
    assert_eq!(sim.the_record().status, CallStatus::Missed);
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn the_customer_is_busy_anna_is_hung_up_record_busy() {
    let mut sim = Sim::new(SETTINGS);
    let _trunk = sim.add_trunk(Behaviour::BusyAfter(secs(1)));
    let anna = sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );

    sim.originate(101, "+4917612345678").unwrap();
    sim.run_for(secs(5));
    // Her 2xx is ACKed (a 2xx always is), then the call is over.
    assert!(sim.got(anna, "ACK"));
    assert!(sim.got(anna, "BYE"));
    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Busy);
    assert!(record.answered_at.is_none());
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn a_forbidden_number_or_an_unregistered_agent_is_an_error_not_a_call() {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::AnswerAfter(secs(1)));
    assert!(matches!(
        sim.originate(101, "005371234567"),
        Err(OriginateError::Refused(_))
    ));
    assert!(matches!(
        sim.originate(101, "+4917612345678"),
        Err(OriginateError::NotRegistered(AgentId(101)))
    ));
    sim.run_for(secs(5));
    assert!(sim.lines_to(trunk).is_empty());
    assert!(sim.pbx.records.is_empty());
    sim.assert_idle();
}

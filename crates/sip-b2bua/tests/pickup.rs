//! Call pickup on a simulated network with a virtual clock: a customer's call rings at Anna,
//! Ben dials the pickup code and takes it. Both INVITEs carry offers; each side is answered
//! with SDP built from the other's offer.

mod common;

use common::{secs, Behaviour, Sim, CUSTOMER, LINE};
use routing::{AgentId, LogEntry};
use sip_b2bua::{CallDirection, CallStatus};
use sip_proto::Method;

/// Sales rings Anna, then Ben (30 s each); Cem is in no group with them.
const SETTINGS: &str = r#"
[[agents]]
id = 101
name = "Anna"

[[agents]]
id = 102
name = "Ben"

[[agents]]
id = 103
name = "Cem"

[[lines]]
number = "+493012345678"
name = "Sales"
queue = "sales"

[[queues]]
name = "sales"
strategy = "in_order"
members = [101, 102]
rings = 6
no_answer = { action = "voicemail" }

[[queues]]
name = "hotline"
strategy = "in_order"
members = [103]
"#;

/// The carrier offers G.722, PCMA, PCMU and DTMF.
const CUSTOMER_SDP: &str = "v=0\r\n\
o=carrier 1000 1 IN IP4 198.51.100.1\r\n\
s=call\r\n\
c=IN IP4 198.51.100.1\r\n\
t=0 0\r\n\
m=audio 30000 RTP/AVP 9 8 0 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=sendrecv\r\n";

/// Ben's desk phone offers PCMU, Opus and DTMF (on the carrier's number: with another number
/// DTMF could not be kept without a relay, see `sdp`).
const BEN_SDP: &str = "v=0\r\n\
o=ben 2000 7 IN IP4 192.0.2.22\r\n\
s=-\r\n\
c=IN IP4 192.0.2.22\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 111 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n";

/// A phone that speaks only G.729.
const G729_SDP: &str = "v=0\r\n\
o=ben 2000 7 IN IP4 192.0.2.22\r\n\
s=-\r\n\
c=IN IP4 192.0.2.22\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 18\r\n";

fn body_of(message: &sip_proto::Message) -> String {
    String::from_utf8_lossy(message.body()).into_owned()
}

struct Office {
    sim: Sim,
    trunk: usize,
    anna: usize,
    ben: usize,
    cem: usize,
}

fn office(anna: Behaviour) -> Office {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    sim.uas[trunk].sdp = CUSTOMER_SDP.to_owned();
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, anna);
    let ben = sim.add_phone("ben", "192.0.2.22:5060", 102, Behaviour::RingForever);
    sim.uas[ben].sdp = BEN_SDP.to_owned();
    let cem = sim.add_phone("cem", "192.0.2.23:5060", 103, Behaviour::RingForever);
    Office {
        sim,
        trunk,
        anna,
        ben,
        cem,
    }
}

/// The customer calls Sales, Anna's phone rings; 5 s later Ben dials `*8`.
fn picked_up_by_ben() -> Office {
    let mut o = office(Behaviour::RingForever);
    o.sim.call(o.trunk, CUSTOMER, LINE, &[]);
    o.sim.run_for(secs(5));
    assert!(o.sim.got(o.anna, "INVITE"));
    assert!(!o.sim.got(o.ben, "INVITE"), "Ben is second in line");
    o.sim.call(o.ben, "102", "*8", &[]);
    o.sim.run_for(secs(1));
    o
}

#[test]
fn ben_picks_up_the_call_ringing_at_anna_each_side_gets_an_answer_built_from_the_others_offer() {
    let mut o = picked_up_by_ben();
    let (sim, trunk, anna, ben) = (&mut o.sim, o.trunk, o.anna, o.ben);

    assert_eq!(sim.uas[ben].finals.len(), 1);
    assert_eq!(sim.uas[ben].finals[0].status.as_u16(), 200);
    assert!(sim.got(anna, "CANCEL"), "Anna's phone stops ringing");
    assert_eq!(sim.count(trunk, "SIP/2.0 200"), 1);

    // The caller's media goes to Ben's phone: PCMU and DTMF under the carrier's numbers.
    let to_caller = body_of(&sim.first_to(trunk, "SIP/2.0 200"));
    assert_eq!(
        to_caller,
        "v=0\r\n\
o=ben 2000 7 IN IP4 192.0.2.22\r\n\
s=-\r\n\
c=IN IP4 192.0.2.22\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 101\r\n\
c=IN IP4 192.0.2.22\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n"
    );
    // Ben's media goes to the carrier: PCMU and DTMF, in the order of his offer.
    let to_ben = body_of(&sim.first_to(ben, "SIP/2.0 200"));
    assert!(
        to_ben.contains("m=audio 30000 RTP/AVP 0 101\r\nc=IN IP4 198.51.100.1\r\n"),
        "{to_ben}"
    );
    assert!(to_ben.contains("a=fmtp:101 0-16\r\n"), "{to_ben}");
    let answered: Vec<_> = sim.pbx.answered.iter().map(|(_, a)| *a).collect();
    assert_eq!(answered, [Some(AgentId(102))]);
    assert!(sim.pbx.records.is_empty(), "no record while the call lasts");

    // Ben's phone ACKed its 200: no retransmissions after the first half second.
    sim.run_for(secs(10));
    assert_eq!(sim.count(ben, "SIP/2.0 200"), 1);

    sim.hang_up(ben);
    sim.run_for(secs(1));
    assert!(sim.got(trunk, "BYE"), "Ben's BYE reaches the caller");

    let record = sim.the_record();
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.direction, CallDirection::Inbound);
    assert_eq!(record.agent, Some(AgentId(102)));
    assert_eq!(record.queue.as_deref(), Some("sales"));
    // Picked up at 5.01 s (Ben's INVITE reaches Ringbase), his BYE at 16.01 s.
    assert_eq!(record.talk_seconds(), Some(11));
    assert!(
        record
            .log
            .contains(&LogEntry::PickedUp { by: AgentId(102) }),
        "{:?}",
        record.log
    );
    assert!(
        record.notes.iter().any(|n| n.contains("picked up")),
        "{:?}",
        record.notes
    );
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn the_caller_hangs_up_after_the_pickup_and_bens_phone_gets_bye() {
    let mut o = picked_up_by_ben();
    let (sim, trunk, ben) = (&mut o.sim, o.trunk, o.ben);
    sim.run_for(secs(20));
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert!(sim.got(ben, "BYE"));
    assert_eq!(sim.uas[trunk].finals[0].status.as_u16(), 200);
    let record = sim.the_record();
    assert_eq!(record.agent, Some(AgentId(102)));
    assert_eq!(record.status, CallStatus::Answered);
    assert_eq!(record.talk_seconds(), Some(21));
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn re_invites_pass_both_ways_between_the_caller_and_the_picked_up_leg() {
    let mut o = picked_up_by_ben();
    let (sim, trunk, ben) = (&mut o.sim, o.trunk, o.ben);

    // The caller puts Ben on hold.
    let hold = CUSTOMER_SDP.replace("a=sendrecv", "a=sendonly");
    sim.in_dialog(trunk, Method::Invite, Some(&hold));
    sim.run_for(secs(1));
    let relayed = sim.uas[ben]
        .in_dialog
        .iter()
        .find(|r| r.method == Method::Invite)
        .expect("Ben's phone gets the re-INVITE");
    assert_eq!(String::from_utf8_lossy(&relayed.body), hold);
    // Ben's phone answers with its SDP, which reaches the caller unchanged.
    let oks: Vec<String> = sim
        .log
        .iter()
        .filter(|d| d.to == sim.uas[trunk].addr && d.start_line().starts_with("SIP/2.0 200"))
        .map(|d| body_of(&d.message()))
        .collect();
    assert_eq!(oks.last().map(String::as_str), Some(BEN_SDP));

    // Ben takes the caller off hold from his side.
    sim.in_dialog(ben, Method::Invite, Some(BEN_SDP));
    sim.run_for(secs(1));
    let to_caller = sim.uas[trunk]
        .in_dialog
        .iter()
        .find(|r| r.method == Method::Invite)
        .expect("the caller gets Ben's re-INVITE");
    assert_eq!(String::from_utf8_lossy(&to_caller.body), BEN_SDP);
    assert!(
        sim.uas[ben].finals.len() == 1,
        "the re-INVITE is not a new call"
    );

    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert!(sim.got(ben, "BYE"));
    assert_eq!(sim.the_record().agent, Some(AgentId(102)));
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn nothing_ringing_in_the_group_is_480_and_no_record() {
    let mut o = office(Behaviour::RingForever);
    let (sim, ben) = (&mut o.sim, o.ben);
    sim.call(ben, "102", "*8", &[]);
    sim.run_for(secs(1));
    assert_eq!(sim.uas[ben].finals[0].status.as_u16(), 480);
    sim.run_for(secs(40));
    assert!(sim.pbx.records.is_empty(), "{:?}", sim.pbx.records);
    sim.assert_idle();
}

#[test]
fn an_agent_outside_the_group_cannot_pick_up_and_the_call_rings_on() {
    let mut o = office(Behaviour::AnswerAfter(secs(10)));
    let (sim, trunk, anna, cem) = (&mut o.sim, o.trunk, o.anna, o.cem);
    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(3));
    sim.call(cem, "103", "*8", &[]);
    sim.run_for(secs(1));
    assert_eq!(sim.uas[cem].finals[0].status.as_u16(), 480);
    assert!(!sim.got(anna, "CANCEL"));
    assert!(!sim.got(trunk, "SIP/2.0 200"));
    sim.run_for(secs(10));
    assert!(sim.got(trunk, "SIP/2.0 200"), "Anna answers as usual");
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    assert_eq!(sim.the_record().agent, Some(AgentId(101)));
}

#[test]
fn no_codec_in_common_is_488_the_call_rings_on_and_anna_answers_it() {
    let mut o = office(Behaviour::AnswerAfter(secs(12)));
    let (sim, trunk, anna, ben) = (&mut o.sim, o.trunk, o.anna, o.ben);
    sim.uas[ben].sdp = G729_SDP.to_owned();
    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(5));
    sim.call(ben, "102", "*8", &[]);
    sim.run_for(secs(1));
    assert_eq!(sim.uas[ben].finals[0].status.as_u16(), 488);
    assert!(!sim.got(anna, "CANCEL"), "Anna's phone rings on");
    assert!(!sim.got(trunk, "SIP/2.0 200"));
    assert!(sim.pbx.records.is_empty());

    sim.run_for(secs(8));
    let ok = sim.first_to(trunk, "SIP/2.0 200");
    assert_eq!(body_of(&ok), sim.uas[anna].sdp, "Anna's SDP, unchanged");
    sim.hang_up(anna);
    sim.run_for(secs(1));
    assert!(sim.got(trunk, "BYE"));
    let record = sim.the_record();
    assert_eq!(record.agent, Some(AgentId(101)));
    assert_eq!(record.status, CallStatus::Answered);
    assert!(!record.notes.iter().any(|n| n.contains("picked up")));
    assert!(!record
        .log
        .iter()
        .any(|e| matches!(e, LogEntry::PickedUp { .. })));
    sim.run_for(secs(40));
    sim.assert_idle();
}

#[test]
fn a_second_pickup_of_the_same_call_is_480() {
    let mut o = picked_up_by_ben();
    let (sim, anna) = (&mut o.sim, o.anna);
    // Anna is in the group too, but the call rings nowhere any more.
    sim.call(anna, "101", "*8", &[]);
    sim.run_for(secs(1));
    assert_eq!(sim.uas[anna].finals[0].status.as_u16(), 480);
    assert!(sim.pbx.records.is_empty());
}

#[test]
fn the_pickup_code_comes_from_the_settings() {
    let settings = format!("{SETTINGS}\n[outbound]\npickup_code = \"#9\"\n");
    let mut sim = Sim::new(&settings);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    sim.uas[trunk].sdp = CUSTOMER_SDP.to_owned();
    let anna = sim.add_phone("anna", "192.0.2.21:5060", 101, Behaviour::RingForever);
    let ben = sim.add_phone("ben", "192.0.2.22:5060", 102, Behaviour::RingForever);
    sim.uas[ben].sdp = BEN_SDP.to_owned();
    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(2));
    // `#` is escaped in a SIP URI's user part.
    sim.call(ben, "102", "%239", &[]);
    sim.run_for(secs(1));
    assert_eq!(sim.uas[ben].finals[0].status.as_u16(), 200);
    assert!(sim.got(anna, "CANCEL"));
    assert!(sim.got(trunk, "SIP/2.0 200"));
}

#[test]
fn a_picker_that_never_acks_its_200_ends_the_call_after_64_t1() {
    let mut o = office(Behaviour::RingForever);
    let (sim, trunk, anna, ben) = (&mut o.sim, o.trunk, o.anna, o.ben);
    let ben_addr = sim.uas[ben].addr;
    sim.drop_when(move |d| d.from == ben_addr && d.start_line().starts_with("ACK"));
    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(5));
    sim.call(ben, "102", "*8", &[]);
    sim.run_for(secs(1));
    assert!(sim.got(anna, "CANCEL"));
    sim.run_for(secs(31));
    assert!(
        sim.count(ben, "SIP/2.0 200") > 1,
        "retransmitted until the ACK"
    );
    assert!(sim.pbx.records.is_empty());
    sim.run_for(secs(2));
    assert!(sim.got(trunk, "BYE"), "no ACK within 64*T1: the call ends");
    let record = sim.the_record();
    assert_eq!(record.agent, Some(AgentId(102)));
    assert!(
        record
            .notes
            .iter()
            .any(|n| n.contains("the picker's phone never acknowledged")),
        "{:?}",
        record.notes
    );
    sim.run_for(secs(40));
    sim.assert_idle();
}

//! Two user agents and a B2BUA on one simulated network: a call is set up across two legs,
//! answered, and hung up from the far side, with dialogs and leg pairing doing the routing.

mod common;

use common::{at_ms, Sim};
use sip_core::b2bua::{LegKey, LegPairs};
use sip_core::dialog::{Dialog, DialogId, DialogState};
use sip_core::transaction::{Timer, TransactionConfig, TransactionEvent, TransactionKey};
use sip_core::{Instant, Peer};
use sip_proto::typed::{CSeq, Contact, From, To, Transport, Via};
use sip_proto::{Host, Method, Request, RequestBuilder, Response, StatusCode, Uri};
use std::net::SocketAddr;
use std::time::Duration;

const CALLER: &str = "192.0.2.1:5060";
const PBX: &str = "192.0.2.10:5060";
const AGENT: &str = "192.0.2.20:5060";

fn via(addr: &str, branch: &str) -> Via {
    let a: SocketAddr = addr.parse().unwrap();
    let std::net::IpAddr::V4(ip) = a.ip() else {
        unreachable!()
    };
    Via::new(Transport::Udp, Host::Ipv4(ip), Some(a.port()), branch)
}

fn uri(s: &str) -> Uri {
    s.parse().unwrap()
}

/// The UDP peer a sip URI with an IP host points at.
fn peer_of(target: &Uri) -> Peer {
    let sip = target.as_sip().unwrap();
    let ip = sip.host.ip().unwrap();
    Peer::udp(SocketAddr::new(ip, sip.port.unwrap_or(5060)))
}

fn invite(
    from_addr: &str,
    from_user: &str,
    from_tag: &str,
    target: &str,
    call_id: &str,
    branch: &str,
) -> Request {
    let mut from = From::new(uri(&format!("sip:{from_user}@{from_addr}")));
    from.set_tag(from_tag);
    RequestBuilder::new(Method::Invite, uri(target))
        .via(via(from_addr, branch))
        .from(from)
        .to(To::new(uri(target)))
        .call_id(call_id)
        .cseq(10)
        .contact(Contact::new(uri(&format!("sip:{from_user}@{from_addr}"))))
        .build()
}

fn with_contact(mut r: Response, contact: &str) -> Response {
    r.headers.push_typed(&Contact::new(uri(contact)));
    r
}

/// Events of `node` since the last call.
fn events(sim: &mut Sim, node: usize) -> Vec<TransactionEvent> {
    sim.take_events(node).into_iter().map(|(_, e)| e).collect()
}

fn the_request(events: &[TransactionEvent], method: Method) -> (TransactionKey, Request) {
    events
        .iter()
        .find_map(|e| match e {
            TransactionEvent::Request { key, request, .. } if request.method == method => {
                Some((key.clone(), request.clone()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {method} in {events:#?}"))
}

fn responses(events: &[TransactionEvent]) -> Vec<Response> {
    events
        .iter()
        .filter_map(|e| match e {
            TransactionEvent::Response { response, .. } => Some(response.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn call_through_the_b2bua_is_answered_and_hung_up_by_the_agent() {
    let mut sim = Sim::new(sip_core::TransportProtocol::Udp, Duration::from_millis(10));
    let config = TransactionConfig::default();
    let caller = sim.add_node("caller", CALLER, config);
    let pbx = sim.add_node("pbx", PBX, config);
    let agent = sim.add_node("agent", AGENT, config);
    let mut legs = LegPairs::new();

    // Caller → PBX: INVITE.
    let inbound_invite = invite(
        CALLER,
        "alice",
        "a1",
        &format!("sip:sales@{PBX}"),
        "call-a",
        "z9hG4bKa-inv",
    );
    let pbx_peer = sim.peer(pbx);
    sim.layer(caller)
        .send_request(Instant::ZERO, inbound_invite, pbx_peer)
        .unwrap();
    sim.run_until(at_ms(10));
    let (in_key, in_invite) = the_request(&events(&mut sim, pbx), Method::Invite);
    let inbound_leg = LegKey::new("call-a", "pbx-in");
    let bridge = legs.open(inbound_leg.clone()).unwrap();

    // PBX → agent: a new leg with its own Call-ID and tag.
    let out_invite = invite(
        PBX,
        "pbx",
        "pbx-out",
        &format!("sip:101@{AGENT}"),
        "call-b",
        "z9hG4bKb-inv",
    );
    let outbound_leg = LegKey::new("call-b", "pbx-out");
    legs.add_outbound(bridge, outbound_leg.clone()).unwrap();
    let agent_peer = sim.peer(agent);
    sim.layer(pbx)
        .send_request(at_ms(10), out_invite.clone(), agent_peer)
        .unwrap();
    sim.run_until(at_ms(20));

    // Agent rings, then answers.
    let (agent_key, agent_invite) = the_request(&events(&mut sim, agent), Method::Invite);
    let ringing = with_contact(
        agent_invite.make_response(StatusCode::RINGING, Some("ag1")),
        &format!("sip:101@{AGENT}"),
    );
    sim.layer(agent)
        .send_response(at_ms(20), &agent_key, &ringing)
        .unwrap();
    sim.run_until(at_ms(30));

    // PBX relays the 180 to the caller's leg, found through the pairing.
    let got = responses(&events(&mut sim, pbx));
    assert_eq!(
        got.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>(),
        [180]
    );
    let early = Dialog::from_uac(&out_invite, &got[0]).unwrap();
    assert_eq!(early.state, DialogState::Early);
    let leg = LegKey::of_incoming_response(&got[0]).unwrap();
    assert_eq!(legs.peers(&leg), std::slice::from_ref(&inbound_leg));
    let relay = in_invite.make_response(StatusCode::RINGING, Some("pbx-in"));
    sim.layer(pbx)
        .send_response(at_ms(30), &in_key, &relay)
        .unwrap();

    sim.run_until(at_ms(2_000));
    let mut agent_dialog =
        Dialog::from_uas(&agent_invite, "ag1", uri(&format!("sip:101@{AGENT}")), true).unwrap();
    let ok = with_contact(
        agent_invite.make_response(StatusCode::OK, Some("ag1")),
        &format!("sip:101@{AGENT}"),
    );
    sim.layer(agent)
        .send_response(at_ms(2_000), &agent_key, &ok)
        .unwrap();
    sim.run_until(at_ms(2_010));

    // PBX: 200 on the outbound leg → dialog confirmed, ACK it, answer the caller.
    let got = responses(&events(&mut sim, pbx));
    assert_eq!(
        got.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>(),
        [200]
    );
    let mut out_dialog = Dialog::from_uac(&out_invite, &got[0]).unwrap();
    assert_eq!(out_dialog.state, DialogState::Confirmed);
    assert!(legs.answer(&outbound_leg).unwrap().is_empty());
    let ack = out_dialog.ack_for_2xx(10, via(PBX, "z9hG4bKb-ack"));
    assert_eq!(
        ack.headers.require::<CSeq>().unwrap(),
        CSeq {
            seq: 10,
            method: Method::Ack
        }
    );
    let next = peer_of(out_dialog.next_hop());
    assert_eq!(next, agent_peer);
    sim.layer(pbx).send_stateless(next, &ack.into());
    let mut in_dialog =
        Dialog::from_uas(&in_invite, "pbx-in", uri(&format!("sip:sales@{PBX}")), true).unwrap();
    let answer = with_contact(
        in_invite.make_response(StatusCode::OK, Some("pbx-in")),
        &format!("sip:sales@{PBX}"),
    );
    sim.layer(pbx)
        .send_response(at_ms(2_010), &in_key, &answer)
        .unwrap();
    sim.run_until(at_ms(2_020));

    // The agent's TU sees the ACK for its 2xx (no transaction), in its dialog.
    let agent_events = events(&mut sim, agent);
    let agent_ack = agent_events
        .iter()
        .find_map(|e| match e {
            TransactionEvent::Ack {
                request,
                transaction: None,
                ..
            } => Some(request.clone()),
            _ => None,
        })
        .expect("ACK reached the agent's TU");
    agent_dialog.on_request(&agent_ack).unwrap();

    // Caller: 180 then 200; it ACKs through its dialog.
    let got = responses(&events(&mut sim, caller));
    assert_eq!(
        got.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>(),
        [180, 200]
    );
    let caller_invite = sip_proto::parse_message(&sim.log[0].payload).unwrap();
    let caller_dialog = Dialog::from_uac(caller_invite.as_request().unwrap(), &got[1]).unwrap();
    assert_eq!(
        caller_dialog.id,
        DialogId {
            call_id: "call-a".into(),
            local_tag: "a1".into(),
            remote_tag: "pbx-in".into()
        }
    );
    let ack = caller_dialog.ack_for_2xx(10, via(CALLER, "z9hG4bKa-ack"));
    sim.layer(caller)
        .send_stateless(peer_of(caller_dialog.next_hop()), &ack.into());
    sim.run_until(at_ms(2_030));
    let pbx_ack = events(&mut sim, pbx)
        .into_iter()
        .find_map(|e| match e {
            TransactionEvent::Ack { request, .. } => Some(request),
            _ => None,
        })
        .expect("caller's ACK reached the PBX");
    assert_eq!(
        LegKey::of_incoming_request(&pbx_ack),
        Some(inbound_leg.clone())
    );
    in_dialog.on_request(&pbx_ack).unwrap();

    // The agent hangs up: BYE on its dialog, relayed by the PBX to the caller.
    let bye = agent_dialog
        .create_request(Method::Bye, via(AGENT, "z9hG4bKc-bye"))
        .unwrap();
    assert_eq!(
        bye.headers.require::<CSeq>().unwrap().seq,
        1,
        "a UAS starts its own CSeq"
    );
    assert_eq!(bye.uri, uri(&format!("sip:pbx@{PBX}")));
    let to_pbx = peer_of(agent_dialog.next_hop());
    sim.layer(agent)
        .send_request(at_ms(60_000), bye, to_pbx)
        .unwrap();
    sim.run_until(at_ms(60_010));
    let (bye_key, bye) = the_request(&events(&mut sim, pbx), Method::Bye);
    let leg = LegKey::of_incoming_request(&bye).unwrap();
    assert_eq!(leg, outbound_leg);
    out_dialog.on_request(&bye).unwrap();
    assert_eq!(out_dialog.state, DialogState::Terminated);
    sim.layer(pbx)
        .send_response(
            at_ms(60_010),
            &bye_key,
            &bye.make_response(StatusCode::OK, None),
        )
        .unwrap();
    let peers = legs.peers(&leg);
    assert_eq!(peers, std::slice::from_ref(&inbound_leg));
    let relay_bye = in_dialog
        .create_request(Method::Bye, via(PBX, "z9hG4bKa-bye"))
        .unwrap();
    assert_eq!(relay_bye.uri, uri(&format!("sip:alice@{CALLER}")));
    let relay_bye_key = sim
        .layer(pbx)
        .send_request(at_ms(60_010), relay_bye, peer_of(in_dialog.next_hop()))
        .unwrap();
    assert!(legs.remove_leg(&outbound_leg).is_empty());
    assert!(legs.remove_leg(&inbound_leg).is_empty());
    assert!(legs.is_empty());
    sim.run_until(at_ms(60_020));
    let (caller_bye_key, caller_bye) = the_request(&events(&mut sim, caller), Method::Bye);
    sim.layer(caller)
        .send_response(
            at_ms(60_020),
            &caller_bye_key,
            &caller_bye.make_response(StatusCode::OK, None),
        )
        .unwrap();
    sim.run_until(at_ms(60_030));
    let pbx_events = events(&mut sim, pbx);
    assert!(pbx_events.iter().any(|e| matches!(e, TransactionEvent::Response { key, response } if *key == relay_bye_key && response.status == StatusCode::OK)));
    let agent_events = events(&mut sim, agent);
    assert_eq!(
        responses(&agent_events)
            .iter()
            .map(|r| r.status.as_u16())
            .collect::<Vec<_>>(),
        [200]
    );

    // Everything winds down by itself and nothing ever timed out; on a lossless network
    // each INVITE crossed the wire once.
    sim.run_until(at_ms(200_000));
    for node in [caller, pbx, agent] {
        assert!(
            sim.layer(node).is_empty(),
            "{} still has transactions",
            sim.nodes[node].name
        );
        let timeouts: Vec<Timer> = events(&mut sim, node)
            .into_iter()
            .filter_map(|e| match e {
                TransactionEvent::Timeout { timer, .. } => Some(timer),
                _ => None,
            })
            .collect();
        assert!(timeouts.is_empty(), "{timeouts:?}");
    }
    assert_eq!(sim.log.iter().filter(|d| d.is("INVITE")).count(), 2);
}

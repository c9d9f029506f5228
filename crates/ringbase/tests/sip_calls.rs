//! Calls through `ringbase serve --sip` with real peers: a SIPp "trunk" calls a company line,
//! SIPp "phones" registered as agents answer, answer busy or only ring; the call log is read
//! back over the HTTP API. Every call must end with exactly one record, and an INVITE from an
//! address that is no trunk must be refused without one.
//!
//! SIPp must be installed: a missing `sipp` fails this test (scripts/test.sh installs it).

mod sip_harness;
use serde_json::{json, Value};
use sip_harness::*;
use std::time::Duration;

const CALLER: &str = "+4917612345678";
const SALES: &str = "+493012345678";
const SUPPORT: &str = "+493012345679";
const LATE: &str = "+493012345670";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_calls_reach_agents_and_every_call_is_logged_once() {
    require_sipp();
    let trunk_port = free_port();
    let server = start_server(Some(trunk_port)).await;
    let alice = server.phone_user("alice", "101", "alice-secret-1").await;
    let bob = server.phone_user("bob", "102", "bob-secret-22").await;
    let carol = server.phone_user("carol", "103", "carol-secret-3").await;
    // Agents in routing are CRM user ids.
    server
        .call(
            reqwest::Method::PUT,
            "/api/v1/settings/routing",
            Some(json!({
                "agents": [
                    {"id": alice, "name": "Alice"},
                    {"id": bob, "name": "Bob"},
                    {"id": carol, "name": "Carol"},
                ],
                "lines": [
                    {"number": SALES, "name": "Sales", "queue": "sales"},
                    {"number": SUPPORT, "name": "Support", "queue": "support"},
                    {"number": LATE, "name": "Late", "queue": "late"},
                ],
                "queues": [
                    {"name": "sales", "strategy": "in_order", "members": [alice]},
                    {"name": "support", "strategy": "in_order", "members": [bob, alice]},
                    {"name": "late", "strategy": "in_order", "members": [carol]},
                ],
            })),
        )
        .await;

    let (alice_port, bob_port, carol_port) = (free_port(), free_port(), free_port());
    for (login, password, port) in [
        ("alice", "alice-secret-1", alice_port),
        ("bob", "bob-secret-22", bob_port),
        ("carol", "carol-secret-3", carol_port),
    ] {
        assert!(sipp(
            &server,
            "register.xml",
            &[auth(login, password, 300)],
            port,
            false
        ));
    }
    assert_eq!(server.registrations().await.len(), 3);
    // The SIP service picks up stored routing settings within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The live event stream the web app's screen pop listens to.
    let mut events = server
        .client
        .get(format!("http://{}/api/v1/events", server.http))
        .bearer_auth(&server.key)
        .send()
        .await
        .expect("event stream");
    assert!(events.status().is_success());
    let ringing = tokio::spawn(async move {
        let mut text = String::new();
        // The first `call.ringing` (the screen pop) and the first `call.answered` after it
        // (the talk timer, the board's "talking").
        let data_of = |text: &str, event: &str| -> Option<Value> {
            let at = text.find(&format!("event: {event}"))?;
            let data = text[at..].lines().find_map(|l| l.strip_prefix("data:"))?;
            serde_json::from_str::<Value>(data.trim()).ok()
        };
        while let Ok(Some(chunk)) = events.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if let (Some(ringing), Some(answered)) = (
                data_of(&text, "call.ringing"),
                data_of(&text, "call.answered"),
            ) {
                return Some((ringing, answered));
            }
        }
        None
    });

    // (a) Answered by alice; the caller hangs up.
    let answering = phone(&server, "uas-answer.xml", alice_port);
    std::thread::sleep(Duration::from_millis(300));
    let before_invite = unix_micros();
    assert!(sipp(
        &server,
        "calls/trunk-call.xml",
        &[format!("{SALES};{CALLER}")],
        trunk_port,
        false
    ));
    assert!(finished(answering, "alice answers"));
    let calls = server.calls(1).await;
    let c = &calls[0];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["direction"], "incoming");
    assert_eq!(c["agent_id"], alice);
    assert_eq!(c["called"]["e164"], SALES);
    assert_eq!(c["caller"]["e164"], CALLER);
    assert_eq!(c["queue"], "sales");
    assert_eq!(c["origin"]["kind"], "sip");
    assert!(c["line_id"].is_i64(), "the line is tracked: {c:#}");
    // alice's screen popped while her phone rang.
    let (pop, answered) = tokio::time::timeout(Duration::from_secs(5), ringing)
        .await
        .expect("call.ringing and call.answered within 5 s")
        .unwrap()
        .expect("a call.ringing and a call.answered event");
    let pop = &pop["data"];
    // When she picked up, her panel's timer and the supervisor's board heard of it.
    let answered = &answered["data"];
    assert_eq!(answered["agent_ids"], json!([alice]), "{answered:#}");
    assert_eq!(answered["number"], CALLER, "{answered:#}");
    assert_eq!(answered["card"]["number"], CALLER, "{answered:#}");
    assert_eq!(answered["origin"], "sip");
    assert_eq!(
        answered["session"], pop["call"],
        "the same call: {answered:#}"
    );
    assert_eq!(pop["agent_ids"], json!([alice]), "{pop:#}");
    assert_eq!(pop["number"], CALLER);
    assert_eq!(pop["origin"], "sip");
    // When the trunk's INVITE was read (the web benchmark measures from it): during the call.
    let received = pop["invite_received_at_us"]
        .as_u64()
        .expect("invite_received_at_us");
    assert!(
        (before_invite..=unix_micros()).contains(&received),
        "{received} not between {before_invite} and now"
    );

    // (b) bob is busy, the next member (alice) answers.
    let busy = phone(&server, "uas-busy.xml", bob_port);
    let answering = phone(&server, "uas-answer.xml", alice_port);
    std::thread::sleep(Duration::from_millis(300));
    assert!(sipp(
        &server,
        "calls/trunk-call.xml",
        &[format!("{SUPPORT};{CALLER}")],
        trunk_port,
        false
    ));
    assert!(finished(busy, "bob busy"));
    assert!(finished(answering, "alice answers after bob"));
    let calls = server.calls(2).await;
    let c = &calls[1];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["agent_id"], alice);
    assert_eq!(c["called"]["e164"], SUPPORT);
    assert_eq!(c["queue"], "support");

    // (c) The caller gives up while carol's phone rings: 487 to him, CANCEL to her, missed.
    let ringing = phone(&server, "uas-ring.xml", carol_port);
    std::thread::sleep(Duration::from_millis(300));
    assert!(sipp(
        &server,
        "calls/trunk-cancel.xml",
        &[format!("{LATE};{CALLER}")],
        trunk_port,
        false
    ));
    assert!(finished(ringing, "carol rings"));
    let calls = server.calls(3).await;
    let c = &calls[2];
    assert_eq!(c["status"], "missed", "{c:#}");
    assert_eq!(c["called"]["e164"], LATE);
    assert_eq!(c["duration_s"], 0);

    // (d) The same INVITE from a port that is not the trunk's: 403 and no record.
    assert!(sipp(
        &server,
        "calls/invite-refused.xml",
        &[format!("{SALES};{CALLER}")],
        free_port(),
        false
    ));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.calls(3).await;

    // (e) alice calls a customer from her registered phone: 407, then with her SIP password
    // the call goes out through the trunk (played by a SIPp server that answers).
    let customer = phone(&server, "uas-answer.xml", trunk_port);
    std::thread::sleep(Duration::from_millis(300));
    // SIPp's digest uri defaults to the server's address; ours must be the Request-URI
    // (RFC 3261 §22.4), so it is given.
    assert!(sipp_with(
        &server,
        "calls/phone-call.xml",
        &[auth_line("alice", "alice-secret-1", "015112345678")],
        alice_port,
        false,
        &["-auth_uri".into(), format!("015112345678@{}", server.sip)],
    ));
    assert!(finished(customer, "the customer answers"));
    let calls = server.calls(4).await;
    let c = &calls[3];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["direction"], "outgoing");
    assert_eq!(c["agent_id"], alice);
    assert_eq!(c["called"]["e164"], "+4915112345678", "{c:#}");

    // (f) From alice's registered address with a wrong password: 403, nothing placed or logged.
    assert!(sipp_with(
        &server,
        "calls/phone-call-refused.xml",
        &[auth_line("alice", "not-her-password", "015112345678")],
        alice_port,
        false,
        &["-auth_uri".into(), format!("015112345678@{}", server.sip)],
    ));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.calls(4).await;

    // (g) Every call has ended: the service holds no call or leg any more (timers and
    // transactions may linger for their RFC 3261 wait states, up to 32 s).
    let mut load = Value::Null;
    for _ in 0..50 {
        load = server
            .call(reqwest::Method::GET, "/api/v1/sip/load", None)
            .await;
        if load["calls"] == 0 && load["legs"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(load["calls"], 0, "{load}");
    assert_eq!(load["legs"], 0, "{load}");
    assert!(
        load["transactions"].is_u64() && load["timers"].is_u64(),
        "{load}"
    );
}

fn unix_micros() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    u64::try_from(since.as_micros()).expect("fits")
}

//! Parallel ringing through `ringbase serve --sip` with real peers: a queue offers a trunk's
//! call to two SIPp phones at once; the first to answer gets the call, the other is sent CANCEL
//! (answers 200 to it and 487 to the INVITE), and the call log holds exactly one answered
//! record with the winner as agent.
//!
//! SIPp must be installed: a missing `sipp` fails this test (scripts/test.sh installs it).

mod sip_harness;
use serde_json::json;
use sip_harness::*;
use std::time::Duration;

const CALLER: &str = "+4917612345678";
const SALES: &str = "+493012345678";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_at_once_rings_both_phones_and_cancels_the_loser() {
    require_sipp();
    let trunk_port = free_port();
    let server = start_server(Some(trunk_port)).await;
    let alice = server.phone_user("alice", "101", "alice-secret-1").await;
    let bob = server.phone_user("bob", "102", "bob-secret-22").await;
    server
        .call(
            reqwest::Method::PUT,
            "/api/v1/settings/routing",
            Some(json!({
                "agents": [
                    {"id": alice, "name": "Alice"},
                    {"id": bob, "name": "Bob"},
                ],
                "lines": [
                    {"number": SALES, "name": "Sales", "queue": "sales"},
                ],
                "queues": [
                    {"name": "sales", "strategy": "all_at_once", "members": [alice, bob]},
                ],
            })),
        )
        .await;

    let (alice_port, bob_port) = (free_port(), free_port());
    for (login, password, port) in [
        ("alice", "alice-secret-1", alice_port),
        ("bob", "bob-secret-22", bob_port),
    ] {
        assert!(sipp(
            &server,
            "register.xml",
            &[auth(login, password, 300)],
            port,
            false
        ));
    }
    assert_eq!(server.registrations().await.len(), 2);
    // The SIP service picks up stored routing settings within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Both phones ring; alice answers after a second (so bob's phone is surely ringing by
    // then), bob's scenario passes only if it is sent CANCEL (200 to it, 487 to the INVITE,
    // then the ACK of the 487).
    let answering = phone(&server, "uas-answer-late.xml", alice_port);
    let cancelled = phone(&server, "uas-ring.xml", bob_port);
    std::thread::sleep(Duration::from_millis(300));
    assert!(sipp(
        &server,
        "calls/trunk-call.xml",
        &[format!("{SALES};{CALLER}")],
        trunk_port,
        false
    ));
    assert!(finished(answering, "alice answers"));
    assert!(finished(cancelled, "bob is cancelled"));

    let calls = server.calls(1).await;
    let c = &calls[0];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["direction"], "incoming");
    assert_eq!(c["agent_id"], alice, "{c:#}");
    assert_eq!(c["called"]["e164"], SALES);
    assert_eq!(c["caller"]["e164"], CALLER);
    assert_eq!(c["queue"], "sales");
    assert_eq!(c["origin"]["kind"], "sip");
    // No second record turns up for bob's cancelled leg.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.calls(1).await;
}

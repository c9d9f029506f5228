//! Call pickup through `ringbase serve --sip` with real peers: a SIPp trunk calls a line whose
//! queue rings alice first; bob, in the same queue, dials `*8` from his registered SIPp phone
//! (digest challenge and all) and takes the call. Alice's phone is sent CANCEL, the trunk and
//! bob each get a 200 whose SDP was built from the other's offer (the scenarios check the
//! port, the payload numbers and the DTMF events), bob hangs up, and the call log holds
//! exactly one answered record with bob as the agent and a note that he picked it up. A
//! second `*8` with nothing ringing is refused 480 and logged nowhere.
//!
//! SIPp must be installed: a missing `sipp` fails this test (scripts/test.sh installs it).

mod sip_harness;
use serde_json::json;
use sip_harness::*;
use std::time::Duration;

const CALLER: &str = "+4917612345678";
const SALES: &str = "+493012345678";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_picks_up_the_call_ringing_at_alice_with_star_8() {
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
                    // Alice rings first, for 25 s: long enough for bob to pick up.
                    {"name": "sales", "strategy": "in_order", "members": [alice, bob], "rings": 5},
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

    // Nothing rings yet: bob's *8 is answered 480 (after the digest challenge), unlogged.
    assert!(sipp_with(
        &server,
        "calls/phone-pickup-nothing.xml",
        &[auth_line("bob", "bob-secret-22", "*8")],
        bob_port,
        false,
        &["-auth_uri".into(), format!("*8@{}", server.sip)],
    ));

    let ringing = phone(&server, "uas-ring.xml", alice_port);
    std::thread::sleep(Duration::from_millis(300));
    let (trunk_ok, pickup_ok) = std::thread::scope(|scope| {
        let trunk = scope.spawn(|| {
            sipp(
                &server,
                "calls/trunk-call-picked-up.xml",
                &[format!("{SALES};{CALLER}")],
                trunk_port,
                false,
            )
        });
        // Alice's phone rings by now; bob dials the pickup code.
        std::thread::sleep(Duration::from_millis(1500));
        let pickup = sipp_with(
            &server,
            "calls/phone-pickup.xml",
            &[auth_line("bob", "bob-secret-22", "*8")],
            bob_port,
            false,
            &["-auth_uri".into(), format!("*8@{}", server.sip)],
        );
        (trunk.join().unwrap(), pickup)
    });
    assert!(pickup_ok, "bob's pickup: 200 with the answer to his offer");
    assert!(
        trunk_ok,
        "the caller: 200 with the answer to its offer, bob's BYE"
    );
    assert!(finished(ringing, "alice's phone is cancelled"));

    let calls = server.calls(1).await;
    let c = &calls[0];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["direction"], "incoming");
    assert_eq!(c["agent_id"], bob, "{c:#}");
    assert_eq!(c["called"]["e164"], SALES);
    assert_eq!(c["caller"]["e164"], CALLER);
    assert_eq!(c["queue"], "sales");
    assert!(
        c["notes"].as_str().unwrap_or("").contains("picked up"),
        "{c:#}"
    );
    // Neither the refused *8 nor bob's pickup INVITE made a record of its own.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.calls(1).await;
}
